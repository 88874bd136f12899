"""
Learning curves of the three networks and the Bayes limit
=========================================================

The paper's Fig. 4 in miniature: the test AUC of the general network (PFN), the invariant
network and the hybrid against the number of training events, drawn with scikit-learn's own
:func:`~sklearn.model_selection.learning_curve`, beside the Bayes-optimal AUC of the built-in
generator (:func:`~sklearn_bsym.optimal.optimal_discriminant`), which no classifier can beat.

The networks train for a few epochs here to keep the example short; with their default recipe
and more events the curves rise further (:doc:`/user_guide/results`).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import learning_curve

from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.nn import HybridClassifier, InvariantClassifier, PFNClassifier
from sklearn_bsym.optimal import optimal_discriminant
from sklearn_bsym.preprocessing import (
    MomentumSmearer,
    PtReweightedClassifier,
    PtReweighter,
    pt_weighted_roc_auc,
    weighted_roc_auc,
)

X, y = make_dimuon_events(8000, random_state=0)
X = MomentumSmearer(0.10, random_state=1).fit_transform(X)
train, test = np.arange(6000), np.arange(6000, 8000)  # one fixed test split, as in the study
sizes = [300, 1000, 3000, 6000]

networks = {
    "PFN (general)": PFNClassifier(max_epochs=8, random_state=0),
    "invariant": InvariantClassifier(max_epochs=8, random_state=0),
    "hybrid": HybridClassifier(max_epochs=8, random_state=0),
}
curves = {}
for name, net in networks.items():
    n_train, _, test_scores = learning_curve(
        PtReweightedClassifier(net), X, y, train_sizes=sizes, cv=[(train, test)],
        scoring=pt_weighted_roc_auc, shuffle=False,
    )
    curves[name] = test_scores[:, 0]
    print(name, np.round(curves[name], 3))

# %%
# The Bayes-optimal AUC of the same weighted problem: the exact likelihood ratio of the smeared
# events, with the background weights fitted on the training events.
reweighter = PtReweighter().fit(X[train], y[train])
best = optimal_discriminant(X[test], resolution=0.10, reweighter=reweighter)
limit = weighted_roc_auc(y[test], best, X[test])
print(f"Bayes-optimal AUC: {limit:.3f}")

fig, ax = plt.subplots(figsize=(6, 4))
for (name, auc), colour in zip(curves.items(), ("tab:blue", "tab:green", "tab:red"), strict=True):
    ax.plot(n_train, auc, "o-", color=colour, label=name)
ax.axhline(limit, color="k", ls="--", label="Bayes-optimal")
ax.set_xscale("log")
# Ticks at the training sizes, written out: the log axis' own minor labels (3x10^2, 4x10^2, ...)
# crowd into each other over a range this short.
ax.set_xticks(n_train, [f"{n:,}" for n in n_train])
ax.minorticks_off()
ax.set_xlabel("training events")
ax.set_ylabel("pT-weighted test AUC")
ax.legend()
fig.tight_layout()
