"""The built-in event generator: Z -> mu mu (signal) and gamma* -> mu mu (background).

Events are drawn from closed-form densities, each normalised and exposed here, because the
Bayes-optimal classifier (:mod:`sklearn_bsym.optimal`) needs them:

* true dimuon mass ``m``: :func:`signal_mass_pdf` (relativistic Breit-Wigner at :data:`Z_MASS`,
  :data:`Z_WIDTH`) or :func:`background_mass_pdf`
  (a power law close to ``m^-3.8`` that steepens slowly), both on ``m > MASS_MIN``;
* boson rapidity ``y``: :func:`rapidity_pdf`, uniform on ``|y| < ETA_MAX`` (no event with
  ``|y| >= ETA_MAX`` can pass the muon ``|eta|`` cut), the same for both classes;
* decay angle: :func:`cos_theta_pdf` ``3/8 (1 + cos^2 theta*)`` of the mu+ in the dimuon rest
  frame, and a uniform azimuth;
* with ``boson_pt=True`` only: boson transverse momentum :func:`boson_pt_pdf`.

The variables are independent before the cuts. The generator cuts, applied to the final muons by
rejection, are ``m > MASS_MIN``, muon ``pT > PT_MIN`` and ``|eta| < ETA_MAX``. At leading order
(the default) the dimuon system is at rest in the transverse plane, so both muons have the same pT
and are back to back in phi, and the fraction of decay angles that pass the cuts at a given
``(m, y)`` is the closed form :func:`lo_acceptance`.

The shape parameters are calibrated to the quantiles of the authors' MadGraph samples (user
guide: :ref:`physics-generator`); ``benchmarks/generator_calibration.py`` prints the comparison.

Charge is carried by the order of the particles: ``X[:, 0:4]`` is the mu+, ``X[:, 4:8]`` the mu-.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
from scipy import integrate

from .. import kinematics
from .._random import as_seed

__all__ = [
    "Z_MASS",
    "Z_WIDTH",
    "MASS_MIN",
    "PT_MIN",
    "ETA_MAX",
    "make_dimuon_events",
    "signal_mass_pdf",
    "background_mass_pdf",
    "mass_pdf",
    "rapidity_pdf",
    "cos_theta_pdf",
    "boson_pt_pdf",
    "lo_acceptance",
    "REFERENCE_PERCENTILES",
    "REFERENCE_QUANTILES",
    "REFERENCE_RAPIDITY_STD",
]

#: Z boson mass and width in GeV (PDG values, as in MadGraph's default model).
Z_MASS = 91.1876
Z_WIDTH = 2.4952
#: The calibration target: percentiles of the authors' MadGraph samples
#: (:ref:`physics-generator`), per (label, quantity) with label 1 = signal, 0 = background;
#: muon pT of the first muon.
REFERENCE_PERCENTILES = (1, 5, 25, 50, 75, 95, 99)
REFERENCE_QUANTILES = {
    (1, "mass"): (76.2, 85.1, 90.0, 91.2, 92.4, 98.2, 116.3),
    (1, "pt"): (13.5, 20.1, 32.5, 40.0, 44.1, 46.4, 51.9),
    (1, "rapidity"): (-2.18, -1.83, -0.90, 0.0, 0.88, 1.82, 2.19),
    (0, "mass"): (70.3, 71.3, 77.8, 90.0, 115.8, 198.4, 345.5),
    (0, "pt"): (13.8, 20.1, 32.0, 38.4, 49.3, 85.5, 144.7),
    (0, "rapidity"): (-2.18, -1.83, -0.90, 0.0, 0.88, 1.82, 2.19),
}
REFERENCE_RAPIDITY_STD = {1: 1.13, 0: 1.14}
#: Generator cuts: dimuon mass above, muon pT above, muon |eta| below.
MASS_MIN = 70.0
PT_MIN = 10.0
ETA_MAX = 2.5

# Calibrated shape parameters (see benchmarks/generator_calibration.py). The relativistic
# Breit-Wigner alone reproduces the signal mass quantiles and a flat rapidity the rapidity ones;
# the background power law needs a slow steepening to match the 95 % and 99 % mass quantiles.
# Background: (m / MASS_MIN)^-(_BKG_POWER + _BKG_CURVATURE * log(m / MASS_MIN)).
_BKG_POWER = 3.71
_BKG_CURVATURE = 0.079
# Boson pT (boson_pt=True): f(q) = 2 (n - 1) q / q0^2 (1 + q^2 / q0^2)^-n.
_QT_SCALE = 6.0
_QT_POWER = 2.5

# Upper end of the numerical normalisation integrals; both mass densities are negligible beyond.
_MASS_INF = 1.0e5


def _signal_mass_shape(m):
    m = np.asarray(m, dtype=np.float64)
    mg2 = (Z_MASS * Z_WIDTH) ** 2
    with np.errstate(divide="ignore"):
        shape = mg2 / ((m * m - Z_MASS**2) ** 2 + mg2)
    return np.where(m > MASS_MIN, shape, 0.0)


def _background_mass_shape(m):
    m = np.asarray(m, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log(m / MASS_MIN)
        shape = np.exp(-(_BKG_POWER + _BKG_CURVATURE * lr) * lr)
    return np.where(m > MASS_MIN, shape, 0.0)


def _integral(shape, lo, hi, points=()):
    value, _ = integrate.quad(shape, lo, hi, points=points or None, limit=500,
                              epsabs=0.0, epsrel=1e-11)
    return value


@cache
def _signal_mass_norm() -> float:
    # The peak and the slow tail are integrated separately so that quad resolves both.
    edge = Z_MASS + 50 * Z_WIDTH
    return (_integral(_signal_mass_shape, MASS_MIN, edge, points=(Z_MASS,))
            + _integral(_signal_mass_shape, edge, _MASS_INF))


@cache
def _background_mass_norm() -> float:
    return _integral(_background_mass_shape, MASS_MIN, 1000.0) + _integral(
        _background_mass_shape, 1000.0, _MASS_INF)


def signal_mass_pdf(m):
    """Density of the true dimuon mass of signal events before the pT and eta cuts.

    A relativistic Breit-Wigner ``1 / ((m^2 - M^2)^2 + M^2 Gamma^2)`` at :data:`Z_MASS`,
    :data:`Z_WIDTH`, normalised to 1 on ``m > MASS_MIN`` (0 below). Its tails fall like
    ``m^-4`` above the peak and rise towards ``MASS_MIN`` below it.

    >>> round(float(signal_mass_pdf(Z_MASS) / signal_mass_pdf(Z_MASS + Z_WIDTH / 2)), 1)
    2.0
    """
    return _signal_mass_shape(m) / _signal_mass_norm()


def background_mass_pdf(m):
    """Density of the true dimuon mass of background (gamma*) events before the pT and eta cuts.

    ``(m / MASS_MIN)^-(a + b log(m / MASS_MIN))``: a power law close to ``m^-3.8`` that steepens
    slowly with mass, normalised to 1 on ``m > MASS_MIN`` (0 below).
    """
    return _background_mass_shape(m) / _background_mass_norm()


def mass_pdf(m, label):
    """:func:`signal_mass_pdf` where ``label`` is 1, :func:`background_mass_pdf` where it is 0."""
    return np.where(np.asarray(label) == 1, signal_mass_pdf(m), background_mass_pdf(m))


def rapidity_pdf(y):
    """Density of the boson rapidity before the cuts (both classes): uniform on
    ``|y| < ETA_MAX`` (0 outside); the cuts then shape it like the reference sample.

    >>> float(rapidity_pdf(0.3))
    0.2
    """
    y = np.asarray(y, dtype=np.float64)
    return np.where(np.abs(y) < ETA_MAX, 0.5 / ETA_MAX, 0.0)


def cos_theta_pdf(c):
    """Density ``3/8 (1 + c^2)`` of the cosine of the mu+ polar angle in the dimuon rest frame,
    on ``[-1, 1]``.

    >>> float(cos_theta_pdf(1.0))
    0.75
    """
    c = np.asarray(c, dtype=np.float64)
    return np.where(np.abs(c) <= 1.0, 0.375 * (1.0 + c * c), 0.0)


def boson_pt_pdf(q):
    """Density of the boson pT (used only with ``boson_pt=True``):
    ``2 (n - 1) q / q0^2 (1 + q^2 / q0^2)^-n`` on ``q >= 0``, which peaks at a few GeV."""
    q = np.asarray(q, dtype=np.float64)
    s2 = _QT_SCALE**2
    dens = 2.0 * (_QT_POWER - 1.0) * q / s2 * (1.0 + q * q / s2) ** (-_QT_POWER)
    return np.where(q >= 0.0, dens, 0.0)


def lo_acceptance(m, y):
    """Fraction of decay angles (1 + cos^2 theta*, uniform phi) that pass the muon cuts at
    leading order, for a boson of mass ``m`` and rapidity ``y``.

    At LO the muons have ``pT = m/2 sqrt(1 - c^2)`` and ``eta = y +- artanh(c)``, so the cuts
    keep ``|c| < c_max = min(sqrt(1 - (2 PT_MIN / m)^2), tanh(ETA_MAX - |y|))`` and the
    fraction is ``3/4 (c_max + c_max^3 / 3)``. The mass cut is not included.

    >>> float(lo_acceptance(1.0e9, 10.0))
    0.0
    """
    c_max = _lo_c_max(m, y)
    return 0.75 * (c_max + c_max**3 / 3.0)


def _lo_c_max(m, y):
    m = np.asarray(m, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        c_pt = np.sqrt(np.clip(1.0 - (2.0 * PT_MIN / m) ** 2, 0.0, None))
    c_eta = np.tanh(np.clip(ETA_MAX - np.abs(y), 0.0, None))
    return np.minimum(c_pt, c_eta)


@cache
def _signal_envelope() -> float:
    """Bound on Breit-Wigner / Cauchy for the rejection step (grid maximum plus a margin)."""
    m = np.concatenate([np.linspace(MASS_MIN, 200.0, 200_001), np.geomspace(200.0, 1e5, 2001)])
    return float(np.max(_signal_mass_shape(m) / _cauchy_shape(m)) * 1.02)


def _cauchy_shape(m):
    half = 0.5 * Z_WIDTH
    return half**2 / ((m - Z_MASS) ** 2 + half**2)


def _sample_signal_mass(rng, n):
    # Proposal: a Cauchy at the Z, truncated to m > MASS_MIN, by inverse CDF.
    half = 0.5 * Z_WIDTH
    lo = np.arctan((MASS_MIN - Z_MASS) / half)
    m = Z_MASS + half * np.tan(rng.uniform(lo, 0.5 * np.pi, n))
    keep = rng.uniform(0.0, _signal_envelope(), n) * _cauchy_shape(m) < _signal_mass_shape(m)
    return m[keep]


def _sample_background_mass(rng, n):
    # Proposal: the pure power law (m / MASS_MIN)^-a by inverse CDF; the curvature factor <= 1
    # is then applied by rejection.
    m = MASS_MIN * rng.uniform(0.0, 1.0, n) ** (-1.0 / (_BKG_POWER - 1.0))
    lr = np.log(m / MASS_MIN)
    keep = rng.uniform(0.0, 1.0, n) < np.exp(-_BKG_CURVATURE * lr * lr)
    return m[keep]


def _sample_cos_theta(rng, n):
    # Inverse CDF of 3/8 (1 + c^2): c^3 + 3c + 4 - 8u = 0 has one real root (Cardano).
    q = 2.0 - 4.0 * rng.uniform(0.0, 1.0, n)
    root = np.sqrt(q * q + 1.0)
    return np.cbrt(root - q) - np.cbrt(root + q)


def _sample_boson_pt(rng, n):
    u = rng.uniform(0.0, 1.0, n)
    return _QT_SCALE * np.sqrt((1.0 - u) ** (-1.0 / (_QT_POWER - 1.0)) - 1.0)


def _candidates(rng, n, signal: bool, boson_pt: bool):
    """Up to ``n`` events drawn from the densities, before the muon cuts."""
    m = _sample_signal_mass(rng, n) if signal else _sample_background_mass(rng, n)
    k = m.size
    y = rng.uniform(-ETA_MAX, ETA_MAX, k)
    c = _sample_cos_theta(rng, k)
    phi = rng.uniform(-np.pi, np.pi, k)
    if boson_pt:
        q = _sample_boson_pt(rng, k)
        phi_boson = rng.uniform(-np.pi, np.pi, k)
    else:
        # At LO the cuts are known in closed form: drop the failures before building muons
        # (the exact cut on the built muons below still decides).
        keep = np.abs(c) < _lo_c_max(m, y) * (1.0 + 1e-9)
        m, y, c, phi = m[keep], y[keep], c[keep], phi[keep]
        k = m.size
        q = np.zeros(k)

    # mu+ along (theta*, phi) in the rest frame, mu- opposite; both massless.
    s = np.sqrt(1.0 - c * c)
    half = 0.5 * m
    rest = np.empty((k, 2, 4))
    rest[:, 0, 0] = half * s * np.cos(phi)
    rest[:, 0, 1] = half * s * np.sin(phi)
    rest[:, 0, 2] = half * c
    rest[:, 0, 3] = half
    rest[:, 1, :3] = -rest[:, 0, :3]
    rest[:, 1, 3] = half
    if boson_pt:
        mt = np.sqrt(m * m + q * q)
        energy = mt * np.cosh(y)
        beta = np.stack([q * np.cos(phi_boson), q * np.sin(phi_boson), mt * np.sinh(y)], -1)
        beta /= energy[:, None]
        muons = kinematics.boost(rest, beta[:, None, :])
    else:
        muons = kinematics.boost_z(rest, y[:, None])
    truth = np.stack([m, y, q, c, phi], axis=1)
    return muons, truth


def _passes_cuts(muons):
    ok = (kinematics.pt(muons) > PT_MIN) & (np.abs(kinematics.eta(muons)) < ETA_MAX)
    return ok.all(axis=1)


def _generate_class(rng, n, signal: bool, boson_pt: bool):
    muons_parts, truth_parts, have = [], [], 0
    # A first guess at the overall efficiency; later rounds use the measured one.
    efficiency = 0.5
    while have < n:
        n_draw = int((n - have) / efficiency * 1.1) + 100
        muons, truth = _candidates(rng, n_draw, signal, boson_pt)
        ok = _passes_cuts(muons)
        efficiency = max(ok.sum() / n_draw, 1e-3)
        muons_parts.append(muons[ok])
        truth_parts.append(truth[ok])
        have += int(ok.sum())
    muons = np.concatenate(muons_parts)[:n]
    truth = np.concatenate(truth_parts)[:n]
    return muons, truth


def make_dimuon_events(
    n_events: int,
    *,
    signal_fraction: float = 0.5,
    boson_pt: bool = False,
    random_state=None,
    return_truth: bool = False,
):
    """Generate labelled dimuon events: Z -> mu+ mu- (signal, 1) and gamma* -> mu+ mu- (0).

    Parameters
    ----------
    n_events : int
        Number of events (> 0).
    signal_fraction : float
        Fraction of signal events, in (0, 1); exactly ``round(n_events * signal_fraction)``
        events are signal.
    boson_pt : bool
        False (default): leading order, the dimuon system has zero pT, both muons have the same
        pT and are back to back. True: the boson gets a pT from :func:`boson_pt_pdf` and a
        uniform azimuth, and the rest-frame muons are boosted with the full boson velocity.
    random_state : None, int or numpy.random.RandomState
        Seed; an int gives the same events every time.
    return_truth : bool
        Also return a DataFrame of the true quantities of each event.

    Returns
    -------
    X : ndarray of shape (n_events, 8), float64
        mu+ then mu- four-momenta (px, py, pz, E) in GeV, massless (``E = |p|``), after the cuts.
    y : ndarray of shape (n_events,), int64
        1 for signal, 0 for background; classes interleaved (shuffled).
    truth : DataFrame, only when ``return_truth``
        Columns ``mass`` (true dimuon mass), ``rapidity`` (boson rapidity), ``boson_pt``,
        ``cos_theta`` (cosine of the mu+ polar angle in the dimuon rest frame, reached from the
        lab by the pure boost), ``phi`` (mu+ azimuth in that frame; the lab azimuth at LO).

    Examples
    --------
    >>> X, y = make_dimuon_events(1000, random_state=0)
    >>> X.shape, int(y.sum())
    ((1000, 8), 500)
    """
    if isinstance(n_events, bool) or not isinstance(n_events, (int, np.integer)):
        raise ValueError(f"n_events must be a positive int, got {n_events!r}.")
    if n_events <= 0:
        raise ValueError(f"n_events must be > 0, got {n_events}; ask for at least one event.")
    if not 0.0 < float(signal_fraction) < 1.0:
        raise ValueError(
            f"signal_fraction must be strictly between 0 and 1, got {signal_fraction}; use "
            "e.g. 0.5 for balanced classes."
        )
    rng = np.random.default_rng(as_seed(random_state))
    n_signal = int(round(n_events * float(signal_fraction)))
    parts = [(_generate_class(rng, n, label == 1, bool(boson_pt)), label)
             for label, n in ((1, n_signal), (0, n_events - n_signal)) if n > 0]
    muons = np.concatenate([p[0][0] for p in parts])
    truth = np.concatenate([p[0][1] for p in parts])
    y = np.concatenate([np.full(p[0][0].shape[0], p[1], dtype=np.int64) for p in parts])
    order = rng.permutation(n_events)
    X = muons.reshape(n_events, 8)[order]
    # E recomputed from the three-momentum: exactly massless after the boosts' rounding.
    X[:, 3] = np.sqrt(np.sum(X[:, 0:3] ** 2, axis=1))
    X[:, 7] = np.sqrt(np.sum(X[:, 4:7] ** 2, axis=1))
    y = y[order]
    if not return_truth:
        return X, y
    truth_df = pd.DataFrame(truth[order],
                            columns=["mass", "rapidity", "boson_pt", "cos_theta", "phi"])
    return X, y, truth_df
