"""Detector simulation: per-particle smearing of the transverse momentum."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from .. import kinematics
from .._random import as_seed
from ..events import feature_names, to_particles, validate_events
from ._common import map_row_blocks

__all__ = [
    "MomentumSmearer",
    "DetectorResolution",
    "relative_resolution",
    "check_resolution",
    "is_detector_model",
    "is_zero_resolution",
]

#: A smearing factor below this is clipped to it: a draw that would make pT zero or negative.
MIN_FACTOR = 1e-3

# splitmix64 constants (Steele, Lea & Flood 2014): the golden-ratio increment and the finalizer.
_GOLDEN = 0x9E3779B97F4A7C15
_MASK = 2**64 - 1
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer, in place on a uint64 array (numpy wraps uint64 arithmetic);
    ``tmp`` is scratch space of the same shape."""
    for shift, mult in ((30, _M1), (27, _M2)):
        np.right_shift(z, np.uint64(shift), out=tmp)
        z ^= tmp
        z *= mult
    np.right_shift(z, np.uint64(31), out=tmp)
    z ^= tmp
    return z


def _row_hash(X: np.ndarray, seed: int) -> np.ndarray:
    """A 64-bit hash of each row's float64 values and the seed, shape (n_events,) uint64.

    Hashing the float64 value (not the stored bytes) makes a float32 event hash like the same
    event stored as float64; adding 0.0 maps -0.0 to 0.0 so both zeros hash alike.
    """
    h = np.full(X.shape[0], (seed * _GOLDEN + _GOLDEN) & _MASK, dtype=np.uint64)
    word = np.empty(X.shape[0], dtype=np.float64)
    tmp = np.empty_like(h)
    _mix(h, tmp)
    for k in range(X.shape[1]):
        np.add(X[:, k], 0.0, out=word)
        h ^= word.view(np.uint64)
        h += np.uint64(_GOLDEN)
        _mix(h, tmp)
    return h


def _uniform53(h: np.ndarray, stream: int, out: np.ndarray) -> np.ndarray:
    """The ``stream``-th splitmix64 output from state ``h``, as 53-bit floats in [0, 1)
    (``out``: uint64 scratch space shaped like ``h``, overwritten)."""
    bits = np.add(h, np.uint64((stream * _GOLDEN) & _MASK), out=out)
    _mix(bits, np.empty_like(bits))
    bits >>= np.uint64(11)
    return bits.astype(np.float64) * 2.0**-53


def event_normals(X: np.ndarray, seed: int) -> np.ndarray:
    """Standard-normal draws, shape (n_events, n_particles), one per particle slot.

    Each draw is a deterministic function of (seed, the event's own values, the particle index)
    only, so an event gets the same draw whatever its row, fold or batch. Box-Muller on two
    53-bit uniforms of a splitmix64 stream started at the row hash; its two independent
    normals (cosine and sine) go to the particle slots 2k and 2k + 1.
    """
    n_particles = X.shape[1] // 4
    h = _row_hash(X, seed)
    z = np.empty((X.shape[0], n_particles), dtype=np.float64)
    scratch = np.empty_like(h)
    for pair in range((n_particles + 1) // 2):
        radius = _uniform53(h, 2 * pair + 1, scratch)
        np.subtract(1.0, radius, out=radius)  # (0, 1]: the log is finite
        np.log(radius, out=radius)
        radius *= -2.0
        np.sqrt(radius, out=radius)
        angle = _uniform53(h, 2 * pair + 2, scratch)
        angle *= 2.0 * np.pi
        z[:, 2 * pair] = radius * np.cos(angle)
        if 2 * pair + 1 < n_particles:
            z[:, 2 * pair + 1] = radius * np.sin(angle)
    return z


class MomentumSmearer(TransformerMixin, BaseEstimator):
    """Simulate the detector's momentum resolution, particle by particle.

    Each particle's measured transverse momentum is ``pT' = f pT`` with
    ``f = 1 + (sigma(pT) / pT) * z`` and ``z ~ N(0, 1)`` drawn independently for every particle
    of every event (the paper's ``resolution=0.10``; user guide: :ref:`physics-smearing`).

    Parameters
    ----------
    resolution : float, tuple (a, b) or callable, default=0.10
        The momentum resolution.

        - float ``r`` in [0, 1]: ``sigma = r * pT`` (the paper's model), a fraction of pT
          (0.10 for 10 %; a value above 1 is refused as a percentage written as a number).
        - tuple ``(a, b)``: ``sigma / pT = sqrt(a**2 + (b * pT)**2)`` with ``b`` in 1/GeV, the
          usual constant (multiple scattering, ``a`` at most 1) and linear (curvature) terms in
          quadrature.
        - callable ``sigma(pT)``: called once per particle slot with a 1-D float64 array of the
          (positive) pT values in GeV; must return sigma in GeV, same shape, finite, >= 0.
        - a detector model: an object with a method ``relative_resolution(pt, eta, phi)``
          that returns ``sigma / pT`` (finite, >= 0, the shape of ``pt``) for particles of
          true transverse momentum ``pt`` (GeV), pseudorapidity ``eta`` and azimuth ``phi``,
          such as :class:`DetectorResolution` (a resolution that depends on the azimuth and
          the pseudorapidity, which breaks the longitudinal symmetry as well).

        ``resolution=0`` returns the input unchanged (a copy).
    mode : {"transverse", "momentum"}, default="transverse"
        ``"transverse"`` (the paper): px and py are scaled by ``f``, pz is kept, and E is
        recomputed from the particle's mass, ``E' = sqrt(m**2 + pT'**2 + pz**2)``. This is what
        makes the resolution of the pair mass depend on pT. ``"momentum"``: the whole
        three-momentum is scaled (direction kept), E recomputed from the mass. The mass is the
        one before smearing, ``m**2 = E**2 - |p|**2`` clipped at 0 (massless particles within
        rounding stay massless).
    random_state : int, RandomState instance or None, default=None
        Seed of the draws. None draws a fresh seed at each ``fit`` (kept in ``seed_``, so
        ``transform`` after ``fit`` is reproducible); an int fixes the draws.

    Attributes
    ----------
    seed_ : int
        The seed used by :meth:`transform`.
    n_features_in_ : int
        Number of input columns (4 per particle slot).
    feature_names_in_ : ndarray of str
        Input column names, when ``X`` was a DataFrame with string column names.

    Notes
    -----
    *Negative pT.* A draw with ``f < 1e-3`` (which would make pT zero or flip its sign) is
    clipped to ``f = 1e-3``. Its probability is ``Phi(-(1 - 1e-3) / r)``: below 1e-20 at
    ``r = 0.10``, about 3e-7 at ``r = 0.20``.

    *Reproducibility.* The draw ``z`` of a particle is a deterministic function of the seed,
    of the event's own (float64) values and of the particle's slot, never of the event's row
    position: the same event is smeared the same way in any fold, batch or order, and two
    different events (for instance a training row and a test row at the same position) get
    independent draws. Identical events get identical draws. Smearing is by design a function
    of the event, so ``fit_transform(X)`` equals ``fit(X).transform(X)``.

    Particles with ``pT = 0`` (padding slots, or a particle along the beam) are not smeared;
    padding slots stay exactly zero.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_bsym.preprocessing import MomentumSmearer
    >>> X = np.array([[30.0, 40.0, 0.0, 50.0, -30.0, -40.0, 120.0, 130.0]])
    >>> Xs = MomentumSmearer(0.10, random_state=0).fit_transform(X)
    >>> float(Xs[0, 2]), float(Xs[0, 6])  # pz is kept
    (0.0, 120.0)
    >>> bool(np.all(MomentumSmearer(0.0).fit_transform(X) == X))
    True
    """

    _parameter_constraints: dict = {
        "resolution": [Interval(Real, 0, None, closed="left"), tuple, callable,
                       HasMethods(["relative_resolution"])],
        "mode": [StrOptions({"transverse", "momentum"})],
        "random_state": ["random_state"],
    }

    def __init__(self, resolution=0.10, *, mode="transverse", random_state=None):
        self.resolution = resolution
        self.mode = mode
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate ``X`` and fix the seed.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_events, 4 * n_particles)
            Events in the canonical layout (:mod:`sklearn_bsym.events`).
        y : ignored

        Returns
        -------
        self
        """
        check_resolution(self.resolution)
        validate_events(self, X, reset=True)
        self.seed_ = as_seed(self.random_state)
        return self

    def transform(self, X):
        """Smear every particle of every event.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_events, 4 * n_particles)

        Returns
        -------
        ndarray of shape (n_events, 4 * n_particles), same dtype as ``X`` (float32 or float64)
        """
        check_is_fitted(self)
        X = validate_events(self, X, reset=False)
        if is_zero_resolution(self.resolution):
            return X.copy()
        return map_row_blocks(self._smear_block, X, X.shape[1])

    def _smear_block(self, X: np.ndarray) -> np.ndarray:
        z = event_normals(X, self.seed_)
        particles = to_particles(X)
        out = np.empty(particles.shape, dtype=np.float64)
        for i in range(particles.shape[1]):
            out[:, i, :] = self._smear_particle(particles[:, i, :], z[:, i])
        return out.reshape(X.shape)

    def _smear_particle(self, p: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Smeared four-vectors (n, 4) float64 of one particle slot ``p`` (n, 4)."""
        p = p.astype(np.float64, copy=False)
        pt = kinematics.pt(p)
        rel = relative_resolution(self.resolution, pt, p)
        factor = 1.0 + rel * z
        np.maximum(factor, MIN_FACTOR, out=factor)
        factor[pt == 0] = 1.0
        mass2 = np.maximum(kinematics.m2(p), 0.0)
        out = np.empty_like(p)
        out[:, 0] = p[:, 0] * factor
        out[:, 1] = p[:, 1] * factor
        out[:, 2] = p[:, 2] * factor if self.mode == "momentum" else p[:, 2]
        p2 = out[:, 0] ** 2
        p2 += out[:, 1] ** 2
        p2 += out[:, 2] ** 2
        p2 += mass2
        out[:, 3] = np.sqrt(p2)
        return out

    def get_feature_names_out(self, input_features=None):
        """Output column names: the input's (the layout is unchanged).

        Returns the input DataFrame's column names, ``input_features`` when given, else the
        canonical ``mu0_px, ..., mu{n-1}_E`` (:func:`sklearn_bsym.events.feature_names`).
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features, generate_names=False)
        if names is None:
            names = feature_names(self.n_features_in_ // 4)
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def is_zero_resolution(resolution) -> bool:
    """Whether a ``resolution`` of :class:`MomentumSmearer` smears nothing: 0, ``(0, 0)`` or a
    :class:`DetectorResolution` of resolution 0 (a callable never counts as zero)."""
    if isinstance(resolution, tuple):
        return all(v == 0 for v in resolution)
    if isinstance(resolution, DetectorResolution):
        return resolution.resolution == 0
    return not callable(resolution) and not is_detector_model(resolution) and resolution == 0


def is_detector_model(resolution) -> bool:
    """Whether a ``resolution`` of :class:`MomentumSmearer` is a detector model: an object
    with a method ``relative_resolution(pt, eta, phi)``, such as :class:`DetectorResolution`
    (its sigma/pT may depend on where the particle goes)."""
    return callable(getattr(resolution, "relative_resolution", None))


def check_relative(value, written: str = "resolution={}") -> None:
    """A relative resolution sigma/pT above 1 (sigma larger than pT itself) is a percentage
    written as a number (10 for 10 %): a one-line ValueError with the fraction it means.
    ``written`` spells the argument with ``{}`` for the value."""
    if isinstance(value, Real) and not isinstance(value, bool) and value > 1:
        raise ValueError(
            f"{written.format(repr(value))} is a relative resolution sigma/pT above 1 (sigma "
            f"larger than pT itself); it is a fraction of pT: for {value:g} % write "
            f"{written.format(f'{value / 100:g}')}."
        )


def check_resolution(resolution) -> None:
    """Check a ``resolution`` of :class:`MomentumSmearer` for what its parameter constraints
    cannot say: a float or the pair's constant term above 1 (a percentage), the (a, b) pair's
    values, a :class:`DetectorResolution`'s parameters; a one-line ValueError that says what to
    write instead.

    >>> from sklearn_bsym.preprocessing import check_resolution
    >>> check_resolution((0.01, 0.0005))  # a pair (a, b): sigma/pT = a (+) b pT
    >>> check_resolution(10)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: resolution=10 is a relative resolution sigma/pT above 1 ... write resolution=0.1.
    """
    check_relative(resolution)
    if isinstance(resolution, DetectorResolution):
        resolution.validate()
    if isinstance(resolution, tuple):
        ok = len(resolution) == 2 and all(
            isinstance(v, Real) and not isinstance(v, bool) and np.isfinite(v) and v >= 0
            for v in resolution
        )
        if not ok:
            raise ValueError(
                f"resolution=(a, b) must be two finite numbers >= 0 (sigma/pT = a (+) b*pT, b in "
                f"1/GeV), got {resolution!r}. Example: resolution=(0.01, 0.0005)."
            )
        check_relative(resolution[0], f"resolution=({{}}, {resolution[1]!r})")


def relative_resolution(resolution, pt: np.ndarray, particles: np.ndarray | None = None, *,
                        eta: np.ndarray | None = None, phi: np.ndarray | None = None):
    """sigma / pT for particles of true transverse momentum ``pt`` (any shape) under any
    ``resolution`` that :class:`MomentumSmearer` takes; 0 where pT == 0 (nothing to smear
    there). A constant resolution comes back as a float.

    A detector model also needs each particle's pseudorapidity and azimuth: from the
    four-vectors ``particles`` (``pt.shape + (4,)``), or given as ``eta`` and ``phi``.

    >>> import numpy as np
    >>> from sklearn_bsym.preprocessing import relative_resolution
    >>> relative_resolution((0.01, 0.0005), np.array([40.0, 200.0])).round(4)
    array([0.0224, 0.1005])
    """
    if isinstance(resolution, tuple):
        a, b = resolution
        return np.sqrt(a**2 + (b * pt) ** 2)
    if not callable(resolution) and not is_detector_model(resolution):
        return float(resolution)
    rel = np.zeros_like(pt)
    positive = pt > 0
    if not positive.any():
        return rel
    pt_pos = pt[positive]
    if is_detector_model(resolution):
        if eta is None:
            eta, phi = kinematics.eta(particles), kinematics.phi(particles)
        value = np.asarray(resolution.relative_resolution(pt_pos, eta[positive], phi[positive]),
                           dtype=np.float64)
        what = (f"{type(resolution).__name__}.relative_resolution(pt, eta, phi) must return "
                "sigma/pT")
        example = ""
    else:
        value = np.asarray(resolution(pt_pos), dtype=np.float64)
        if value.shape == pt_pos.shape:
            value = value / pt_pos
        what = "The resolution callable must map a 1-D array of pT values to sigma in GeV"
        example = (". Write it with numpy operations, e.g. lambda pt: 0.01 * pt + 0.0001 * "
                   "pt**2")
    if value.shape != pt_pos.shape or not np.all(np.isfinite(value)) or np.any(value < 0):
        raise ValueError(
            f"{what} of the same shape ({pt_pos.shape}), finite and >= 0; got shape "
            f"{value.shape}"
            + ("" if value.shape != pt_pos.shape else " with negative or non-finite values")
            + f"{example}."
        )
    rel[positive] = value
    return rel


class DetectorResolution:
    """A momentum resolution that depends on where the particle goes: its azimuth and its
    pseudorapidity. A detector model for :class:`MomentumSmearer` and the Bayes-optimal
    discriminant (:func:`sklearn_bsym.optimal.optimal_discriminant`).

    ``sigma / pT = resolution * (1 + strength * cos(phi_periods * phi)) * (1 + endcap * eta**2)``

    for a particle of true azimuth ``phi`` and pseudorapidity ``eta``. The azimuthal term stands
    for what makes real detectors differ around the beam (dead or misaligned modules, the
    magnetic field's structure): at ``strength > 0`` the resolution, and with it the measured
    event, depends on the azimuth, so the measurement breaks the longitudinal symmetry
    (rotations about the beam and boosts along it) that a pT-only resolution keeps, and a
    classifier invariant under it has a ceiling. The ``endcap`` term makes forward particles
    (the endcaps) worse measured than central ones (the barrel), which breaks the boosts
    along the beam as well. At ``strength = endcap = 0`` it is the paper's constant ``sigma =
    resolution * pT``.

    Like a scikit-learn kernel it has ``get_params`` and ``set_params``, so a scan reaches its
    parameters through the smearer: ``smearer.set_params(resolution__strength=0.5)``.

    Parameters
    ----------
    resolution : float in [0, 1], default=0.10
        The relative resolution sigma/pT averaged over the azimuth, at ``eta = 0``.
    strength : float in [0, 1), default=0.5
        Amplitude of the azimuthal modulation: sigma/pT ranges over ``resolution * (1 +-
        strength)`` around the beam.
    phi_periods : int >= 1, default=1
        Periods of the modulation around the beam. With an odd number the two muons of a
        back-to-back pair sit at opposite phases: one is measured better, the other worse.
    endcap : float >= 0, default=0.0
        Growth of sigma/pT with the pseudorapidity (0.16 doubles it at ``|eta| = 2.5``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_bsym.preprocessing import DetectorResolution, MomentumSmearer
    >>> detector = DetectorResolution(0.10, strength=0.5)
    >>> detector.relative_resolution(np.array([40.0, 40.0]), np.zeros(2),
    ...                              np.array([0.0, np.pi])).round(3).tolist()
    [0.15, 0.05]
    >>> smearer = MomentumSmearer(detector, random_state=0)
    >>> smearer.set_params(resolution__strength=0.8).resolution
    DetectorResolution(resolution=0.1, strength=0.8, phi_periods=1, endcap=0.0)
    """

    _parameter_constraints: dict = {
        "resolution": [Interval(Real, 0, 1, closed="both")],
        "strength": [Interval(Real, 0, 1, closed="left")],
        "phi_periods": [Interval(Integral, 1, None, closed="left")],
        "endcap": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, resolution=0.10, *, strength=0.5, phi_periods=1, endcap=0.0):
        self.resolution = resolution
        self.strength = strength
        self.phi_periods = phi_periods
        self.endcap = endcap

    def validate(self) -> None:
        """Check the parameters (the scikit-learn message for a bad one)."""
        check_relative(self.resolution, "DetectorResolution(resolution={})")
        validate_parameter_constraints(self._parameter_constraints, self.get_params(),
                                       caller_name=type(self).__name__)

    def relative_resolution(self, pt, eta, phi):
        """sigma / pT of particles of true transverse momentum ``pt`` (GeV; unused here),
        pseudorapidity ``eta`` and azimuth ``phi``, arrays of one shape."""
        azimuthal = 1.0 + self.strength * np.cos(self.phi_periods * np.asarray(phi))
        forward = 1.0 + self.endcap * np.square(eta)
        return np.broadcast_to(self.resolution * azimuthal * forward, np.shape(pt)).copy()

    def get_params(self, deep=True):
        """The parameters by name (``deep`` is ignored: there are no nested objects)."""
        return {name: getattr(self, name) for name in self._parameter_constraints}

    def set_params(self, **params):
        """Set parameters by name; returns self."""
        for name, value in params.items():
            if name not in self._parameter_constraints:
                raise ValueError(
                    f"Invalid parameter {name!r} for DetectorResolution; valid parameters: "
                    f"{sorted(self._parameter_constraints)}."
                )
            setattr(self, name, value)
        return self

    def __eq__(self, other):
        return type(other) is type(self) and other.get_params() == self.get_params()

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
