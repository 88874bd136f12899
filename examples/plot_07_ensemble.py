"""
Many seeds as one ensemble
==========================

A network's result moves with its random seed. :class:`~sklearn_bsym.nn.EnsembleClassifier`
trains several seeds of one classifier in a single vectorized loop (each member gets exactly the
gradient of its own fit) and predicts their mean. Each member is an ordinary fitted classifier;
here five hybrids, each scored alone and averaged.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.nn import EnsembleClassifier, HybridClassifier
from sklearn_bsym.preprocessing import MomentumSmearer, PtReweighter, weighted_roc_auc

X, y = make_dimuon_events(8000, random_state=0)
X = MomentumSmearer(0.10, random_state=1).fit_transform(X)
X_train, y_train, X_test, y_test = X[:4000], y[:4000], X[4000:], y[4000:]
weights = PtReweighter().fit(X_train, y_train).compute_sample_weight(X_train, y_train)

# max_epochs=6 keeps this example short; leave it out for the default recipe.
ensemble = EnsembleClassifier(HybridClassifier(max_epochs=6), n_members=5, random_state=0)
ensemble.fit(X_train, y_train, sample_weight=weights)

members = ensemble.predict_proba_members(X_test)[:, :, 1]  # (5, n_events)
member_auc = [weighted_roc_auc(y_test, s, X_test) for s in members]
mean_auc = weighted_roc_auc(y_test, ensemble.predict_proba(X_test)[:, 1], X_test)
print("members:", np.round(member_auc, 4))
print(f"their mean: {mean_auc:.4f}")

# %%
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(range(1, 6), member_auc, "o", color="tab:red", label="each member")
ax.axhline(mean_auc, color="purple", label="the members' mean")
ax.set_xticks(range(1, 6))
ax.set_xlabel("member (seed)")
ax.set_ylabel("pT-weighted test AUC")
ax.legend()
fig.tight_layout()
