"""The Bayes-optimal classifier of the built-in generator: the exact likelihood ratio.

For events from :func:`sklearn_bsym.datasets.make_dimuon_events` in its default configuration
(leading order, ``boson_pt=False``) measured with the paper's "transverse" smearing
(:class:`sklearn_bsym.preprocessing.MomentumSmearer`: each muon's px and py scaled by its own
``f = 1 + r_i z``, pz kept), the likelihood of a measured event under each class is known, and
by Neyman-Pearson their ratio is the best possible discriminant: no classifier trained on these
events can have a higher AUC. The relative resolution ``r_i = sigma / pT`` of a muon may be the
paper's constant ``r``, or depend on the muon's true pT, pseudorapidity and azimuth: every
resolution the smearer takes (the ``(a, b)`` pair, a callable ``sigma(pT)``, a detector model
such as :class:`~sklearn_bsym.preprocessing.DetectorResolution`).

The computation. At LO both true muons have the same pT ``p`` and opposite azimuths; smearing
keeps pz and the azimuths, so given the measured event only ``p`` is unknown. With
``eta_i = asinh(pz_i / p)``, ``y = (eta_1 + eta_2) / 2``, ``y* = (eta_1 - eta_2) / 2``,
``cos theta* = tanh y*`` and ``m = 2 p cosh y*``, the true-level density of class k in
``(p, pz_1, pz_2)`` is::

    g_k = f_k(m) f_y(y) f_c(cos theta*) / (cosh(y*) E_1 E_2) / A_k      (inside the cuts)

(``E_i = sqrt(p^2 + pz_i^2)``; the Jacobian of ``(m, y, cos theta*) -> (p, pz_1, pz_2)``), where
``f_k``, ``f_y``, ``f_c`` are the generator's densities and ``A_k`` the class's cut acceptance,
computed once by numerical integration. The measured likelihood is
``L_k = int dp g_k(p) N(pT_1'; p, r_1 p) N(pT_2'; p, r_2 p)`` with ``r_i = r(p, eta_i(p),
phi_i)``. Substituting ``t = 1/p`` turns each Gaussian factor into
``exp(-(pT_i' t - 1)^2 / (2 r_i^2)) t / r_i``, a Gaussian in ``t`` where ``r_i`` is constant (the
paper's model, or one that depends on the azimuth alone); a resolution that depends on pT or on
the pseudorapidity changes along the integral through ``p`` and ``eta_i = asinh(pz_i t)``, and
is evaluated at every node, with its normalisation ``1 / (r_1 r_2)``. The integral runs over a
window of +-8 widths of the Gaussian around its peak, the width that of the largest ``r_i`` in
the window (found in two passes), intersected with the cuts (all of which are lower bounds on
``p`` at fixed pz's), on a trapezoid grid that is the union of nodes uniform in ``t`` and nodes
at quantiles of the Breit-Wigner in ``m`` (so the narrow Z peak is resolved), with the integrand
scaled to 1 at its largest node (no underflow).
Terms common to both classes (the azimuth densities, the ``pT' -> (px', py')`` Jacobians)
cancel in the ratio and are left out. At ``r = 0`` the true event is measured and the ratio is
that of the true-level densities, which reduces to the ratio of the mass densities.

A resolution that depends on the azimuth breaks the longitudinal symmetry (rotations about the
beam): the ratio then depends on each muon's azimuth, which a classifier invariant under that
symmetry does not see. An efficiency that depends on the azimuth alone would not: at LO the
azimuth is independent of the class and of everything else, so its factor
``eps(phi_1) eps(phi_2)`` and its effect on the acceptances are the same for both classes and
cancel in the ratio; it is not modelled.

Not covered: ``boson_pt=True`` (the unknowns are then the boson pT vector as well, a 3-D
integral per event; no exact ceiling is provided for that option: use a large trained model as
an empirical ceiling and label it so), the smearer's "momentum" mode, and the authors'
one-draw-per-event smearing.

With pT weights (``reweighter``), the weighted background density is ``w(x) p_b(x)``, so the
Bayes-optimal discriminant of the weighted problem is ``log(p_s / p_b) - log w(x)``.
"""

from __future__ import annotations

from functools import cache
from numbers import Real

import numpy as np
from scipy import integrate
from scipy.special import expit, logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from . import datasets as gen
from . import kinematics
from .events import to_particles, validate_events
from .preprocessing import (
    DetectorResolution,
    check_resolution,
    is_detector_model,
    is_zero_resolution,
    relative_resolution,
)

__all__ = ["optimal_discriminant", "BayesOptimalClassifier", "class_acceptance"]

# Half-width of the integration window, in standard deviations of the Gaussian in t = 1/p.
_WINDOW = 8.0
# Smallest t = 1/p on the grid, as a fraction of the Gaussian's peak (p up to 20x the measured).
_T_FLOOR = 0.05
_CHUNK = 20_000
# Rotations about the beam averaged over by the azimuthally invariant discriminant.
_N_AZIMUTHS = 32
# log of the smallest background weight used (a weight 0 would make the ratio infinite).
_LOG_TINY = np.log(np.finfo(np.float64).tiny)


@cache
def class_acceptance(label: int) -> float:
    """Fraction of the generator's events of class ``label`` (1 signal, 0 background) that pass
    the muon pT and eta cuts at leading order (the mass cut is part of the mass density).

    ``A_k = int dm f_k(m) int dy f_y(y) lo_acceptance(m, y)``, computed once and cached.
    """
    pdf = gen.signal_mass_pdf if label == 1 else gen.background_mass_pdf
    y = np.linspace(-gen.ETA_MAX, gen.ETA_MAX, 4001)
    fy = gen.rapidity_pdf(y)

    def over_y(m):
        return float(pdf(m)) * integrate.trapezoid(gen.lo_acceptance(m, y) * fy, y)

    edges = [gen.MASS_MIN, gen.Z_MASS - 10, gen.Z_MASS, gen.Z_MASS + 10, 200.0, 1000.0, 1e5]
    return sum(
        integrate.quad(over_y, a, b, limit=200, epsrel=1e-10)[0]
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    )


def _log_mass_ratio_term(m):
    """log f_s(m) / A_s - log f_b(m) / A_b (NaN where both densities vanish)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.log(gen.signal_mass_pdf(m)) - np.log(class_acceptance(1))
                - np.log(gen.background_mass_pdf(m)) + np.log(class_acceptance(0)))


def _p_of_mass(m, pz1, pz2):
    """True muon pT that gives dimuon mass ``m`` at LO with the given pz's (0 if none does).

    From ``m^2 = 2 (E_1 E_2 - pz_1 pz_2 + p^2)``, increasing in ``p``.
    """
    k = 0.5 * m * m + pz1 * pz2
    num = k * k - (pz1 * pz2) ** 2
    den = 2.0 * k + pz1 * pz1 + pz2 * pz2
    with np.errstate(divide="ignore", invalid="ignore"):
        p2 = np.where((k > 0) & (den > 0), num / den, 0.0)
    return np.sqrt(np.clip(p2, 0.0, None))


def _lo_mass(p, pz1, pz2):
    """True dimuon mass at LO from the common pT and the two pz's (massless muons)."""
    return np.sqrt(2.0 * (np.sqrt((p * p + pz1 * pz1) * (p * p + pz2 * pz2)) - pz1 * pz2 + p * p))


def _depends_on_phi(resolution) -> bool:
    """Whether sigma/pT may depend on the azimuth: a detector model's may (unless it is a
    DetectorResolution without azimuthal modulation)."""
    if isinstance(resolution, DetectorResolution):
        return resolution.strength != 0
    return is_detector_model(resolution)


def _relative(resolution, p, pz, phi):
    """sigma/pT of a muon of true pT ``p`` (any shape), with ``pz`` and ``phi`` broadcast to
    it: its pseudorapidity is ``asinh(pz / p)``. A constant resolution stays a float."""
    if isinstance(resolution, float):
        return resolution
    p = np.asarray(p, dtype=np.float64)
    pz, phi = np.broadcast_to(pz, p.shape), np.broadcast_to(phi, p.shape)
    rel = relative_resolution(resolution, p, eta=np.arcsinh(pz / p), phi=phi)
    return np.broadcast_to(rel, p.shape)


def _peak(a, b, r1, r2):
    """Peak and width in t = 1/p of exp(-(a t - 1)^2 / (2 r1^2) - (b t - 1)^2 / (2 r2^2))."""
    w1, w2 = 1.0 / (r1 * r1), 1.0 / (r2 * r2)
    precision = a * a * w1 + b * b * w2
    return (a * w1 + b * w2) / precision, 1.0 / np.sqrt(precision)


def _window(t0, sd, t_max):
    """The integration window [lo, hi] in t: +-_WINDOW widths around the peak within the cuts.
    A peak beyond the cuts puts the integrand at the edge t_max, falling on the scale
    sd^2 / distance."""
    lo = np.maximum(t0 - _WINDOW * sd, _T_FLOOR * t0)
    hi = np.minimum(t0 + _WINDOW * sd, t_max)
    outside = lo >= hi
    width = _WINDOW * np.minimum(sd, sd * sd / np.maximum(t0 - t_max, 1e-300))
    hi = np.where(outside, t_max, hi)
    lo = np.where(outside, np.maximum(t_max - width, 0.5 * t_max), lo)
    return lo, hi


def _log_likelihoods(a, b, pz1, pz2, phi1, phi2, resolution, n_nodes):
    """log L_s, log L_b up to one additive constant per event that depends on the measured pTs
    alone (not on the azimuths), for events with measured pT a, b."""
    n = a.size
    sinh_eta = np.sinh(gen.ETA_MAX)
    p_min = np.maximum.reduce([
        np.full(n, gen.PT_MIN),
        np.abs(pz1) / sinh_eta,
        np.abs(pz2) / sinh_eta,
        _p_of_mass(gen.MASS_MIN, pz1, pz2),
    ])
    t_max = (1.0 - 1e-12) / p_min

    # The peak from each muon's resolution at its measured pT, then at the peak's true pT.
    r1, r2 = _relative(resolution, a, pz1, phi1), _relative(resolution, b, pz2, phi2)
    if np.any(np.asarray(r1) <= 0) or np.any(np.asarray(r2) <= 0):
        raise ValueError(
            "The resolution is 0 for some muons and not for others; the optimal discriminant "
            "needs sigma/pT > 0 for every muon (or a resolution that is 0 everywhere)."
        )
    t0, sd = _peak(a, b, r1, r2)
    if not isinstance(resolution, float):
        r1 = _relative(resolution, 1.0 / t0, pz1, phi1)
        r2 = _relative(resolution, 1.0 / t0, pz2, phi2)
        t0, sd = _peak(a, b, r1, r2)
    # The window is as wide as the widest Gaussian in it: where sigma/pT grows away from the
    # peak (with |eta| or pT), the integrand's tail does too.
    probe = np.linspace(0.0, 1.0, 17)
    for _ in range(0 if isinstance(resolution, float) else 2):
        lo, hi = _window(t0, sd, t_max)
        p_probe = 1.0 / (lo[:, None] + (hi - lo)[:, None] * probe)
        r1 = np.maximum(r1, _relative(resolution, p_probe, pz1[:, None], phi1[:, None]).max(1))
        r2 = np.maximum(r2, _relative(resolution, p_probe, pz2[:, None], phi2[:, None]).max(1))
        sd = _peak(a, b, r1, r2)[1]
    lo, hi = _window(t0, sd, t_max)

    u = np.linspace(0.0, 1.0, n_nodes)
    t_uniform = lo[:, None] + (hi - lo)[:, None] * u
    # Breit-Wigner quantile nodes over the same window, mapped from m to t.
    half = 0.5 * gen.Z_WIDTH
    s_lo = np.arctan((_lo_mass(1.0 / hi, pz1, pz2) - gen.Z_MASS) / half)
    s_hi = np.arctan((_lo_mass(1.0 / lo, pz1, pz2) - gen.Z_MASS) / half)
    m_nodes = gen.Z_MASS + half * np.tan(s_lo[:, None] + (s_hi - s_lo)[:, None] * u[1:-1])
    p_nodes = _p_of_mass(m_nodes, pz1[:, None], pz2[:, None])
    with np.errstate(divide="ignore"):
        t_bw = np.clip(1.0 / p_nodes, lo[:, None], hi[:, None])
    t = np.sort(np.concatenate([t_uniform, t_bw], axis=1), axis=1)

    # Kinematics of the true LO event at each node, without hyperbolic functions:
    # E1 E2 - pz1 pz2 = p^2 cosh(2 y*), cos theta* = tanh y*, cosh y* = m / (2 p).
    p = 1.0 / t
    pz1_, pz2_ = pz1[:, None], pz2[:, None]
    energy1 = np.sqrt(p * p + pz1_ * pz1_)
    energy2 = np.sqrt(p * p + pz2_ * pz2_)
    denom = energy1 * energy2 - pz1_ * pz2_ + p * p
    m = np.sqrt(2.0 * denom)
    cos_theta = (pz1_ * energy2 - pz2_ * energy1) / denom
    r1 = _relative(resolution, p, pz1_, phi1[:, None])
    r2 = _relative(resolution, p, pz2_, phi2[:, None])
    gauss = (((a[:, None] * t - 1.0) / r1) ** 2 + ((b[:, None] * t - 1.0) / r2) ** 2) / 2.0
    gauss += np.log(r1 * r2)  # each Gaussian's normalisation, where r varies along t
    offset = gauss.min(axis=1, keepdims=True)
    gauss -= offset
    # Inside the cuts |y| < ETA_MAX, where the rapidity density is constant.
    common = (np.exp(-gauss) * gen.rapidity_pdf(0.0) * gen.cos_theta_pdf(cos_theta)
              * 2.0 * p / (m * energy1 * energy2))
    like_s = integrate.trapezoid(common * gen.signal_mass_pdf(m), t, axis=1)
    like_b = integrate.trapezoid(common * gen.background_mass_pdf(m), t, axis=1)
    with np.errstate(divide="ignore"):
        return (np.log(like_s / class_acceptance(1)) - offset[:, 0],
                np.log(like_b / class_acceptance(0)) - offset[:, 0])


def _background_log_weight(reweighter, X):
    if hasattr(reweighter, "density_ratio") and hasattr(reweighter, "density_ratio_"):
        # A fitted PtReweighter: its background weight as a function of the measured event (the
        # overall scale it applies per sample is a constant and does not change the ordering).
        weight = reweighter.density_ratio(X)
    elif callable(reweighter):
        weight = np.asarray(reweighter(X), dtype=np.float64)
        if weight.shape != (X.shape[0],) or not np.all(np.isfinite(weight)) or np.any(weight < 0):
            raise ValueError(
                "The reweighter callable must map the events X to one finite background weight "
                f">= 0 per event (shape ({X.shape[0]},)); got shape {weight.shape}. Pass e.g. "
                "fitted_pt_reweighter.density_ratio."
            )
    else:
        raise ValueError(
            f"reweighter must be a fitted PtReweighter or a callable X -> background weights, got "
            f"{type(reweighter).__name__}. Fit it first: PtReweighter().fit(X_train, y_train)."
        )
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(weight), _LOG_TINY)


def _check_optimal_resolution(resolution) -> None:
    if isinstance(resolution, Real) and not isinstance(resolution, bool):
        known = bool(np.isfinite(resolution) and resolution >= 0)
    else:
        known = (isinstance(resolution, tuple) or callable(resolution)
                 or is_detector_model(resolution))
    if not known:
        raise ValueError(
            f"resolution must be a finite float >= 0, a pair (a, b), a callable sigma(pT) or a "
            f"detector model such as DetectorResolution (what MomentumSmearer takes), got "
            f"{resolution!r}. The events must be smeared in the 'transverse' mode."
        )
    check_resolution(resolution)


def optimal_discriminant(X, *, resolution=0.10, reweighter=None, n_nodes=64,
                         azimuthally_invariant=False):
    """Exact log likelihood ratio ``log p_s(x) / p_b(x)`` of measured events under the built-in
    generator's default configuration (see the module notes for the model and its limits).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_events, 8)
        Measured (smeared) events, mu+ then mu-, in the canonical layout.
    resolution : float, tuple, callable or detector model, default=0.10
        The "transverse" smearing that produced ``X``, as
        :class:`~sklearn_bsym.preprocessing.MomentumSmearer` takes it: a float ``r`` for
        ``sigma = r pT`` (``0``: no smearing), a pair ``(a, b)``, a callable ``sigma(pT)``, or
        a detector model such as :class:`~sklearn_bsym.preprocessing.DetectorResolution`
        (sigma/pT depending on the muon's azimuth and pseudorapidity).
    reweighter : fitted PtReweighter, callable or None, default=None
        Background weights ``w(x)`` of the weighted problem; the result is then
        ``log p_s / p_b - log w`` (weight 0, an event the weighted background cannot produce,
        counts as the smallest positive float: a large finite value).
    n_nodes : int, default=64
        Nodes of each of the two node sets of the grid. The quadrature error falls like
        ``1 / n_nodes^2``: at 64 it is below 4e-3 in the log ratio at ``r <= 0.2`` (measured
        against 4096), at 256 below 2e-4; the AUC is unaffected.
    azimuthally_invariant : bool, default=False
        The best discriminant among those invariant under rotations about the beam axis
        instead: the likelihood ratio of the event's orbit, each class's likelihood averaged
        over rotations of the whole event (32 of them; the cost is 32 times). It is the limit
        of a classifier with that symmetry built in (an upper bound on the limit of one
        invariant under the whole longitudinal group, boosts along the beam included). It
        differs from the default only for a resolution that depends on the azimuth.

    Returns
    -------
    ndarray of shape (n_events,), float64, finite
        Higher = more signal-like. For balanced classes ``expit`` of it is P(signal | x).

    Examples
    --------
    >>> from sklearn_bsym.datasets import make_dimuon_events
    >>> X, y = make_dimuon_events(1000, random_state=0)
    >>> d = optimal_discriminant(X, resolution=0.0)
    >>> bool(d[y == 1].mean() > d[y == 0].mean())
    True
    """
    _check_optimal_resolution(resolution)
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, int) or n_nodes < 8:
        raise ValueError(f"n_nodes must be an int >= 8, got {n_nodes!r}; the default is 64.")
    if not isinstance(azimuthally_invariant, (bool, np.bool_)):
        raise ValueError(f"azimuthally_invariant must be True or False, got "
                         f"{azimuthally_invariant!r}.")
    X = validate_events("optimal_discriminant", X, dtype=np.float64, n_particles=2)
    particles = to_particles(X)
    pts = kinematics.pt(particles)
    pz1, pz2 = particles[:, 0, 2], particles[:, 1, 2]
    if is_zero_resolution(resolution):
        # The true event is measured; everything but the mass density cancels in the ratio.
        p = pts.mean(axis=1)
        m = _lo_mass(p, pz1, pz2)
        out = np.nan_to_num(_log_mass_ratio_term(m), nan=0.0)
        passes = ((p > gen.PT_MIN) & (np.abs(kinematics.eta(particles)) < gen.ETA_MAX).all(1)
                  & (m > gen.MASS_MIN))
        out = np.where(passes, out, 0.0)
    else:
        out = np.empty(X.shape[0])
        # A zero measured pT (impossible after clipped smearing) would leave t undefined.
        a, b = np.maximum(pts[:, 0], 1e-9), np.maximum(pts[:, 1], 1e-9)
        phi1, phi2 = kinematics.phi(particles[:, 0]), kinematics.phi(particles[:, 1])
        if isinstance(resolution, Real):
            resolution = float(resolution)
        # The orbit of the event under rotations about the beam: its likelihood is the mean
        # over the rotations (the trapezoid rule over a period, exact for harmonics below
        # _N_AZIMUTHS).
        rotations = (np.linspace(0.0, 2 * np.pi, _N_AZIMUTHS, endpoint=False)
                     if azimuthally_invariant and _depends_on_phi(resolution) else [0.0])
        for start in range(0, X.shape[0], _CHUNK):
            sl = slice(start, start + _CHUNK)
            logs = np.array([
                _log_likelihoods(a[sl], b[sl], pz1[sl], pz2[sl], phi1[sl] + angle,
                                 phi2[sl] + angle, resolution, n_nodes)
                for angle in rotations])  # (n_rotations, 2, n)
            with np.errstate(invalid="ignore"):
                out[sl] = np.diff(logsumexp(logs, axis=0)[::-1], axis=0)[0]
    if reweighter is not None:
        out = out - _background_log_weight(reweighter, X)
    return np.clip(np.nan_to_num(out, nan=0.0), -1e300, 1e300)


class BayesOptimalClassifier(ClassifierMixin, BaseEstimator):
    """The Bayes-optimal classifier of the built-in generator, as a scikit-learn classifier.

    ``fit`` learns nothing: it validates the events and labels and sets ``classes_``.
    :meth:`decision_function` is :func:`optimal_discriminant` and :meth:`predict_proba` its
    sigmoid, the posterior for equal class priors. Use it as the ceiling line of a study.

    Parameters
    ----------
    resolution : float, tuple, callable or detector model, default=0.10
        The "transverse" smearing of the events it will score, as
        :class:`~sklearn_bsym.preprocessing.MomentumSmearer` takes it (see
        :func:`optimal_discriminant`).
    reweighter : fitted PtReweighter, callable or None, default=None
        Background weights of a weighted problem (see :func:`optimal_discriminant`).
    azimuthally_invariant : bool, default=False
        The limit of classifiers invariant under rotations about the beam axis instead (see
        :func:`optimal_discriminant`): the ceiling line of a network with that symmetry.

    Examples
    --------
    >>> from sklearn_bsym.datasets import make_dimuon_events
    >>> X, y = make_dimuon_events(500, random_state=0)
    >>> clf = BayesOptimalClassifier(resolution=0.0).fit(X, y)
    >>> clf.predict_proba(X).shape
    (500, 2)
    """

    _parameter_constraints: dict = {
        "resolution": [Interval(Real, 0, None, closed="left"), tuple, callable,
                       HasMethods(["relative_resolution"])],
        "reweighter": "no_validation",
        "azimuthally_invariant": ["boolean"],
    }

    def __init__(self, resolution=0.10, *, reweighter=None, azimuthally_invariant=False):
        self.resolution = resolution
        self.reweighter = reweighter
        self.azimuthally_invariant = azimuthally_invariant

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Validate ``X`` (n_events, 8) and ``y`` (0/1); nothing is learned."""
        check_resolution(self.resolution)
        validate_events(self, X, y, reset=True, n_particles=2)
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X):
        """The log likelihood ratio of each event (n_events,)."""
        check_is_fitted(self)
        X = validate_events(self, X, reset=False, n_particles=2)
        return optimal_discriminant(X, resolution=self.resolution, reweighter=self.reweighter,
                                    azimuthally_invariant=self.azimuthally_invariant)

    def predict_proba(self, X):
        """(n_events, 2): P(background), P(signal) for equal priors."""
        p = expit(self.decision_function(X))
        return np.stack([1.0 - p, p], axis=1)

    def predict(self, X):
        """1 where the likelihood ratio exceeds 1."""
        return (self.decision_function(X) > 0).astype(np.int64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.target_tags.required = True
        return tags
