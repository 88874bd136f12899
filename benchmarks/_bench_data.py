"""Shared data of the classifier benchmarks: generated, smeared, pT-weighted events."""

from __future__ import annotations

import numpy as np

from sklearn_bsym import kinematics
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


def extended_pool(pool_X, pool_y, n_pool: int, *, resolution: float = 0.10):
    """``pool_X, pool_y`` extended to ``n_pool`` events by events generated with seed 2 and
    smeared with seed 3: the events already in the pool (and a test set drawn before them) stay
    as they are, so sizes above the pool can be added to a benchmark without changing its test
    set, its ceiling or its smaller training sets."""
    extra = n_pool - len(pool_X)
    if extra <= 0:
        return pool_X, pool_y
    X, y = make_dimuon_events(extra, random_state=2)
    X = MomentumSmearer(resolution, random_state=3).fit_transform(X)
    return np.concatenate([pool_X, X]), np.concatenate([pool_y, y])


def tail_event(energy: float) -> np.ndarray:
    """One event (8,) of the far tail: a muon of ``energy`` GeV at eta 2.37 (pT ``energy /
    5.4``, inside the acceptance), the other back to back in phi with the same pT at eta 0, as
    a high-mass Drell-Yan event or a mis-measured track gives (one such event in a
    training set collapsed 0.3.0's PFN)."""
    pt = energy / 5.4
    return np.concatenate([kinematics.from_pt_eta_phi_mass(pt, np.arccosh(5.4), 0.3, 0.0),
                           kinematics.from_pt_eta_phi_mass(pt, 0.0, 0.3 + np.pi, 0.0)])


def with_tail_event(X, y, energy: float, seed: int):
    """``(X, y)`` with one background event, drawn with ``seed``, replaced by
    :func:`tail_event` (label 0): the same number of events, so a fit's batches are the same
    but for that one event."""
    X, y = X.copy(), y.copy()
    at = np.random.default_rng(seed).choice(np.flatnonzero(y == 0))
    X[at], y[at] = tail_event(energy), 0
    return X, y
