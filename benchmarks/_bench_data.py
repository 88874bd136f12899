"""Shared data of the classifier benchmarks: generated, smeared, pT-weighted events."""

from __future__ import annotations

from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.preprocessing import MomentumSmearer, PtReweighter


def smeared_split(n_train: int, n_test: int, *, resolution: float = 0.10, seed: int = 0):
    """(X_train, y_train, w_train, X_test, y_test): 10 % smearing, pT weights from train."""
    X, y = make_dimuon_events(n_train + n_test, random_state=seed)
    X = MomentumSmearer(resolution, random_state=seed + 1).fit_transform(X)
    Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    w = PtReweighter().fit(Xtr, ytr).compute_sample_weight(Xtr, ytr)
    return Xtr, ytr, w, Xte, yte


def smeared_test_and_pool(n_test: int, n_pool: int, *, resolution: float = 0.10, seed: int = 0):
    """(X_test, y_test, X_pool, y_pool): generated with ``seed``, smeared with ``seed + 1``, the
    first ``n_test`` events the fixed test set and the rest a pool to draw training sets from."""
    X, y = make_dimuon_events(n_test + n_pool, random_state=seed)
    X = MomentumSmearer(resolution, random_state=seed + 1).fit_transform(X)
    return X[:n_test], y[:n_test], X[n_test:], y[n_test:]
