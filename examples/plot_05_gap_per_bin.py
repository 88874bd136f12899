"""
Where a model loses against the Bayes limit
===========================================

The gap between a classifier's AUC and the Bayes-optimal AUC says how much is left to learn, but
not where. :func:`~sklearn_bsym.preprocessing.roc_auc_contributions` gives each event's share of
the weighted AUC (the shares add up to the AUC), so the optimal score's shares minus a model's,
summed in bins of any variable, split the gap exactly. Here: a gradient-boosted tree on
(mass, pT1, pT2) and the hybrid network, in bins of the leading muon's pT.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.events import to_particles
from sklearn_bsym.nn import HybridClassifier
from sklearn_bsym.optimal import optimal_discriminant
from sklearn_bsym.preprocessing import (
    DimuonFeatures,
    MomentumSmearer,
    PtReweightedClassifier,
    PtReweighter,
    roc_auc_contributions,
)

X, y = make_dimuon_events(12_000, random_state=0)
X = MomentumSmearer(0.10, random_state=1).fit_transform(X)
X_train, y_train, X_test, y_test = X[:6000], y[:6000], X[6000:], y[6000:]

models = {
    "tree": PtReweightedClassifier(
        make_pipeline(DimuonFeatures(), HistGradientBoostingClassifier(random_state=0))),
    "hybrid": PtReweightedClassifier(HybridClassifier(random_state=0)),
}
w = PtReweighter().fit(X_test, y_test).compute_sample_weight(X_test, y_test)  # the scorer's
best = optimal_discriminant(X_test, resolution=0.10,
                            reweighter=PtReweighter().fit(X_train, y_train))
best_shares = roc_auc_contributions(y_test, best, w)
print(f"Bayes-optimal AUC: {best_shares.sum():.4f}")

edges = [30, 40, 45, 50]  # leading-muon pT bins in GeV
lead = kinematics.pt(to_particles(X_test)).max(axis=1)
in_bin = np.digitize(lead, edges)
lost = {}
for name, model in models.items():
    score = model.fit(X_train, y_train).predict_proba(X_test)[:, 1]
    shares = best_shares - roc_auc_contributions(y_test, score, w)
    lost[name] = np.bincount(in_bin, shares, minlength=len(edges) + 1)
    print(f"{name}: AUC lost {shares.sum():.4f}, per bin (x 0.001)", np.round(1e3 * lost[name], 1))

# %%
# The AUC each model loses per bin (the bars of a model add up to its whole gap):
labels = ["< 30", "30-40", "40-45", "45-50", "> 50"]
fig, ax = plt.subplots(figsize=(6, 4))
for i, (name, per_bin) in enumerate(lost.items()):
    ax.bar(np.arange(len(labels)) + 0.4 * (i - 0.5), 1e3 * per_bin, width=0.4, label=name)
ax.set_xticks(range(len(labels)), labels)
ax.set_xlabel("leading-muon pT [GeV]")
ax.set_ylabel("AUC lost to the Bayes limit (x 0.001)")
ax.legend()
fig.tight_layout()
