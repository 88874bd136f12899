"""
Your own ROOT file to a fitted pipeline
=======================================

:func:`~sklearn_bsym.datasets.load_root` reads NanoAOD-style muon collections (``Muon_pt``,
``Muon_eta``, ``Muon_phi``, ``Muon_mass``, ``Muon_charge``; a TTree or an RNTuple) into the
event layout: one mu+ mu- pair per event, the mu+ first. This example writes two small files
with `uproot <https://uproot.readthedocs.io>`_, signal and background, as a stand-in for yours,
reads them back as labelled events and fits a smeared, pT-reweighted invariant network.
"""

import tempfile
from pathlib import Path

import awkward as ak
import matplotlib.pyplot as plt
import numpy as np
import uproot
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_bsym import events, kinematics
from sklearn_bsym.datasets import load_root, make_dimuon_events, make_labelled_dataset
from sklearn_bsym.nn import InvariantClassifier
from sklearn_bsym.preprocessing import MomentumSmearer, PtReweightedClassifier, weighted_roc_auc

folder = Path(tempfile.mkdtemp())
X_gen, y_gen = make_dimuon_events(4000, random_state=0)
p = events.to_particles(X_gen)  # (n_events, 2, 4)
muon = {
    "pt": kinematics.pt(p), "eta": kinematics.eta(p), "phi": kinematics.phi(p),
    "mass": kinematics.mass(p), "charge": np.ones((len(p), 2)) * [1, -1],
}
for name, label in (("signal", 1), ("background", 0)):
    with uproot.recreate(folder / f"{name}.root") as f:
        # jagged per-event collections, as in NanoAOD (here two muons in every event)
        f["Events"] = {f"Muon_{k}": ak.from_regular(v[y_gen == label]) for k, v in muon.items()}
print(sorted(uproot.open(folder / "signal.root")["Events"].keys()))

# %%
# Reading the files
# -----------------
X_sig, info = load_root(folder / "signal.root", lepton="mu", return_info=True)
print(X_sig.shape, info["n_selected"], "events selected")
X, y = make_labelled_dataset(folder / "signal.root", folder / "background.root", random_state=0)
print(X.shape, f"signal fraction {y.mean():.2f}")

# %%
# A fitted pipeline
# -----------------
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0,
                                                    stratify=y)
model = make_pipeline(MomentumSmearer(0.10, random_state=0),
                      PtReweightedClassifier(InvariantClassifier(random_state=0)))
model.fit(X_train, y_train)
X_test_smeared = model[0].transform(X_test)
score = model.predict_proba(X_test)[:, 1]
print(f"pT-weighted test AUC: {weighted_roc_auc(y_test, score, X_test_smeared):.3f}")

fig, ax = plt.subplots(figsize=(6, 4))
bins = np.linspace(0, 1, 31)
ax.hist(score[y_test == 1], bins, histtype="step", color="tab:red", label="signal")
ax.hist(score[y_test == 0], bins, histtype="step", color="tab:blue", label="background")
ax.set_xlabel("classifier output")
ax.set_ylabel("test events")
ax.legend()
fig.tight_layout()
