"""
The symmetry factor against pT
==============================

The hybrid network mixes its general subnet and its invariant subnet with a learned weight that
depends on the event: the *symmetry factor*. Where the detector breaks the symmetry most (high
muon pT, where the resolution in GeV is worst) the paper expects the general subnet's weight,
``w_general``, to grow. :meth:`~sklearn_bsym.nn.HybridClassifier.symmetry_factor` gives the two
weights of each event, :func:`~sklearn_bsym.nn.symmetry_factor_table` their mean in bins of pT,
and :func:`~sklearn_bsym.nn.plot_symmetry_factor` draws it.
"""

import matplotlib.pyplot as plt

from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.nn import HybridClassifier, plot_symmetry_factor, symmetry_factor_table
from sklearn_bsym.preprocessing import MomentumSmearer, PtReweighter

X, y = make_dimuon_events(5000, random_state=0)
X = MomentumSmearer(0.10, random_state=1).fit_transform(X)
weights = PtReweighter().fit(X, y).compute_sample_weight(X, y)

hybrid = HybridClassifier(random_state=0).fit(X, y, sample_weight=weights)  # the default recipe
w = hybrid.symmetry_factor(X)  # (n_events, 2): w_general, w_invariant; rows sum to 1
print(w[:3].round(3))

# %%
# The mean weight of the general subnet in bins of the mu+'s pT (edges in GeV; an integer gives
# equal-population bins instead), with its spread over the events of each bin:
table = symmetry_factor_table(hybrid, X, bins=[5, 20, 30, 35, 40, 45, 50, 60, 80, 600])
print(table.round(3).to_string(index=False))

fig, ax = plt.subplots(figsize=(6, 4))
plot_symmetry_factor(table, ax=ax)
fig.tight_layout()

# %%
# A single small fit is noisy; the study averages the factor over seeds on 80,000 events
# (:doc:`/user_guide/results`), where it rises from the lowest to the highest pT bins with a
# dip where most events lie.
