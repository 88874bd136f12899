"""
Fit, save and score a model on measured events
==============================================

A model fitted on truth-level simulation smears its events first, as the detector would. Events
that a detector has measured must not be smeared again: they are scored by the model's steps
after the measurement, :func:`~sklearn_bsym.deploy.measured_model`, which is what
:func:`~sklearn_bsym.deploy.load_model` returns from a model file. This example fits such a
model, saves it to a model file and loads it back, shows what the wrong call (the whole fitted
pipeline's ``predict_proba`` on measured events) does to the scores, scores a file entry by entry
with :func:`~sklearn_bsym.deploy.score_files`, and runs the network in ONNX Runtime.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime
import pandas as pd
from sklearn.pipeline import Pipeline

from sklearn_bsym import events
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.deploy import (
    load_model,
    measured_model,
    read_model_info,
    save_model,
    score_files,
    to_onnx,
)
from sklearn_bsym.nn import HybridClassifier
from sklearn_bsym.preprocessing import MomentumSmearer, PtReweightedClassifier, weighted_roc_auc

folder = Path(tempfile.mkdtemp())

# %%
# Fit on simulation, save, load
# -----------------------------
# The recommended structure: the smearer simulates the detector's 10 % pT resolution on the
# truth-level events, then a pT-reweighted hybrid network.
X_sim, y_sim = make_dimuon_events(4_000, random_state=0)
model = Pipeline([
    ("smear", MomentumSmearer(0.10, random_state=0)),
    ("clf", PtReweightedClassifier(HybridClassifier(max_epochs=4, random_state=0))),
]).fit(X_sim, y_sim)
path = save_model(model, folder / "hybrid.skops")
# Loading runs no code from the file, and gives the part that scores measured events: the
# file's manifest names the smearing left out.
loaded = load_model(path)
print(f"{path.name}: {path.stat().st_size / 1e3:.0f} kB, loads as {type(loaded).__name__}; "
      f"left out: {read_model_info(path)['measured']['skipped']}")

# %%
# The double-smearing trap
# ------------------------
# Measured events: independent events that went through the detector once. The whole fitted
# pipeline smears them a second time; :func:`~sklearn_bsym.deploy.measured_model` gives its
# fitted ``"clf"`` step, which scores them as they are, and so does the loaded model.
X_true, y = make_dimuon_events(10_000, random_state=1)
X_measured = MomentumSmearer(0.10, random_state=2).fit_transform(X_true)
right = measured_model(model).predict_proba(X_measured)[:, 1]
wrong = model.predict_proba(X_measured)[:, 1]
print("the loaded model's natural call is the right one:",
      np.array_equal(loaded.predict_proba(X_measured)[:, 1], right))
for name, score in (("measured_model(model)", right), ("model (smears again)", wrong)):
    print(f"{name:>22}: pT-weighted AUC {weighted_roc_auc(y, score, X_measured):.4f}")
print(f"the second smearing moves the scores by {np.median(np.abs(wrong - right)):.3f} "
      f"(median), {np.abs(wrong - right).max():.2f} at most")

fig, ax = plt.subplots(figsize=(6, 4))
bins = np.linspace(0, 1, 41)
for label, name in ((1, "signal"), (0, "background")):
    ax.hist(right[y == label], bins, histtype="step", lw=2, label=f"{name}, measured_model")
    ax.hist(wrong[y == label], bins, histtype="step", ls="--", label=f"{name}, smeared again")
ax.set_xlabel("signal probability")
ax.set_ylabel("events")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Scores in step with a file
# --------------------------
# A table of measured events with a charge per muon; a few same-charge pairs, which the reader's
# selection drops. The output has one score per row of the input, NaN for the dropped ones
# (a ``.root`` output would hold a tree to attach as a friend of the input tree).
p = events.to_particles(X_measured)
table = pd.DataFrame({f"{c}{i}": p[:, i, k] for i in range(2)
                      for k, c in enumerate(["px", "py", "pz", "E"])})
charge = np.tile([1, -1], (len(p), 1))
charge[::50] = [1, 1]
table["q0"], table["q1"] = charge[:, 0], charge[:, 1]
table.to_parquet(folder / "data.parquet", index=False)
mapping = [{"px": f"px{i}", "py": f"py{i}", "pz": f"pz{i}", "E": f"E{i}", "charge": f"q{i}"}
           for i in range(2)]
summary = score_files(loaded, folder / "data.parquet", folder / "scores.parquet",
                      columns=mapping, chunk_size=5_000)
scores = pd.read_parquet(folder / "scores.parquet")["score"].to_numpy()
print(f"{summary.n_entries} entries, {summary.n_scored} scored, {summary.n_dropped} NaN")
print("same scores as measured_model:", np.allclose(scores[~np.isnan(scores)],
                                                    right[charge[:, 1] < 0]))

# %%
# In ONNX Runtime
# ---------------
# :func:`~sklearn_bsym.deploy.to_onnx` exports the network after the measurement: float32
# events ``(n, 8)`` in, the signal probability out.
onnx_path = to_onnx(loaded, folder / "hybrid.onnx")
session = onnxruntime.InferenceSession(str(onnx_path))
p_onnx = session.run(None, {"events": X_measured.astype(np.float32)})[0]
p_torch = measured_model(model).predict_proba(X_measured.astype(np.float32))[:, 1]
print(f"max |ONNX Runtime - predict_proba| = {np.abs(p_onnx - p_torch).max():.1e}")
