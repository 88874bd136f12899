"""Feature maps of events: the invariants of a symmetry, and the physics features of the trees."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from .. import kinematics
from ..events import to_particles, validate_events
from ..symmetries import SYMMETRIES, Symmetry, get_symmetry
from ._common import map_row_blocks

__all__ = ["MinkowskiInvariants", "SymmetryInvariants", "DimuonFeatures", "ColliderFeatures"]


class _EventFeatures(TransformerMixin, BaseEstimator):
    """Shared plumbing: validate events in fit, check them again in transform, keep the dtype."""

    def __init__(self):
        pass

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate ``X`` (canonical event layout, :mod:`sklearn_bsym.events`).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_events, 4 * n_particles)
        y : ignored

        Returns
        -------
        self
        """
        validate_events(self, X, reset=True)
        return self

    def transform(self, X):
        """Compute the features.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_events, 4 * n_particles)

        Returns
        -------
        ndarray of shape (n_events, n_features_out), same dtype as ``X`` (float32 or float64)
        """
        check_is_fitted(self)
        X = validate_events(self, X, reset=False)
        n_out = len(self._names(self.n_features_in_ // 4))
        return map_row_blocks(lambda block: self._features(to_particles(block)), X, n_out)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns (they do not depend on the input names)."""
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray(self._names(self.n_features_in_ // 4), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class MinkowskiInvariants(_EventFeatures):
    """All Lorentz invariants of each event (metric +, -, -, -).

    For ``n`` particles: the pairwise products ``p_i.p_j`` (``i < j``), the squared masses
    ``p_i**2``, and the squared mass of the whole system, in that order; for two muons
    ``dot_01, m2_0, m2_1, m2_01``. The maths is
    :func:`sklearn_bsym.kinematics.minkowski_invariants`, the same function the torch networks
    call, so both see identical features. Padding slots contribute 0.

    Parameters
    ----------
    log_scale : bool, default=True
        Apply ``sign(x) * log(1 + |x|)`` to every invariant, as the paper does (the raw
        invariants span several orders of magnitude, in GeV**2).

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_bsym.preprocessing import MinkowskiInvariants
    >>> X = np.array([[30.0, 40.0, 0.0, 50.0, -30.0, -40.0, 0.0, 50.0]])
    >>> MinkowskiInvariants(log_scale=False).fit_transform(X)
    array([[ 5000.,     0.,     0., 10000.]])
    >>> MinkowskiInvariants().fit(X).get_feature_names_out().tolist()
    ['dot_01', 'm2_0', 'm2_1', 'm2_01']
    """

    _parameter_constraints: dict = {"log_scale": ["boolean"]}

    def __init__(self, *, log_scale=True):
        self.log_scale = log_scale

    def _features(self, particles):
        return kinematics.minkowski_invariants(particles, log_scale=self.log_scale)

    def _names(self, n_particles):
        return kinematics.invariant_feature_names(n_particles)


class SymmetryInvariants(_EventFeatures):
    """The invariants of each event under a symmetry that you name: the features a classifier
    with that symmetry built in sees.

    Parameters
    ----------
    symmetry : {"lorentz", "longitudinal"} or Symmetry, default="lorentz"
        The symmetry (:mod:`sklearn_bsym.symmetries`): ``"lorentz"``, the Lorentz invariants
        (the same features as :class:`MinkowskiInvariants`); ``"longitudinal"``, the invariants
        of rotations about the beam axis and boosts along it (each particle's pT and squared
        mass, each pair's rapidity difference and the cosine and sine of its azimuthal
        difference, :func:`sklearn_bsym.kinematics.longitudinal_invariants`, then the pair
        products and the system's squared mass, :func:`sklearn_bsym.symmetries.longitudinal_map`);
        or a
        :class:`~sklearn_bsym.symmetries.Symmetry` built from your own invariant map.
    log_scale : bool, default=True
        Apply ``sign(x) * log(1 + |x|)`` to every feature, as :class:`MinkowskiInvariants`
        does (a monotonic map: a tree gives the same splits either way).

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    A separate transformer rather than a ``symmetry`` parameter of :class:`MinkowskiInvariants`,
    whose name says what it computes (and whose features and parameters stay as they were).
    The features are computed in float64 and returned in the input's dtype. The fitted
    transformer holds the symmetry as given: a library symmetry by its name, so that a model
    file (:mod:`sklearn_bsym.deploy`) can hold it; a model file refuses a symmetry of your
    own, whose map is code it would have to run to load.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_bsym.preprocessing import SymmetryInvariants
    >>> X = np.array([[30.0, 40.0, 0.0, 50.0, -30.0, -40.0, 0.0, 50.0]])
    >>> lon = SymmetryInvariants(symmetry="longitudinal", log_scale=False).fit(X)
    >>> lon.transform(X).tolist()
    [[50.0, 50.0, 0.0, 0.0, 0.0, -1.0, 0.0, 5000.0, 10000.0]]
    >>> lon.get_feature_names_out().tolist()
    ['pt_0', 'pt_1', 'm2_0', 'm2_1', 'dy_01', 'cos_dphi_01', 'sin_dphi_01', 'dot_01', 'm2_01']
    """

    _parameter_constraints: dict = {
        "symmetry": [StrOptions(set(SYMMETRIES)), Symmetry],
        "log_scale": ["boolean"],
    }

    def __init__(self, *, symmetry="lorentz", log_scale=True):
        self.symmetry = symmetry
        self.log_scale = log_scale

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate ``X`` (canonical event layout) and the symmetry's map on its first events.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_events, 4 * n_particles)
        y : ignored

        Returns
        -------
        self
        """
        X = validate_events(self, X, reset=True)
        n_particles = self.n_features_in_ // 4
        names = self._names(n_particles)
        sample = self._features(to_particles(X[:2]))
        if np.shape(sample) != (min(len(X), 2), len(names)):
            raise ValueError(
                f"The invariant map of Symmetry {get_symmetry(self.symmetry).name!r} returned "
                f"shape "
                f"{np.shape(sample)} for {min(len(X), 2)} events of {n_particles} particles; "
                f"expected (n_events, {len(names)}), one column per feature name. Make it map "
                "(..., n_particles, 4) to (..., n_features)."
            )
        return self

    def _features(self, particles):
        symmetry = get_symmetry(self.symmetry)
        out = np.asarray(symmetry.transform(particles.astype(np.float64, copy=False)),
                         dtype=np.float64)
        return kinematics.signed_log(out) if self.log_scale else out

    def _names(self, n_particles):
        return get_symmetry(self.symmetry).get_feature_names(n_particles)


class DimuonFeatures(_EventFeatures):
    """The physics features of the gradient-boosted-tree baseline: ``(mass, pt_0, pt_1)``.

    ``mass`` is the (signed, never NaN) invariant mass of the whole system, ``pt_i`` the
    transverse momentum of particle slot ``i``. For events with more slots the output has one
    ``pt_i`` per slot (0 for padding).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_bsym.preprocessing import DimuonFeatures
    >>> X = np.array([[30.0, 40.0, 0.0, 50.0, -30.0, -40.0, 0.0, 50.0]])
    >>> DimuonFeatures().fit_transform(X)
    array([[100.,  50.,  50.]])
    """

    _parameter_constraints: dict = {}

    def _features(self, particles):
        out = np.empty(particles.shape[:1] + (1 + particles.shape[1],), dtype=np.float64)
        out[:, 0] = kinematics.mass(kinematics.system(particles))
        out[:, 1:] = kinematics.pt(particles)
        return out

    def _names(self, n_particles):
        return ["mass"] + [f"pt_{i}" for i in range(n_particles)]


class ColliderFeatures(_EventFeatures):
    """The standard collider variables of a dimuon analysis, the input of the strongest
    conventional classifier (a gradient-boosted tree on them).

    Per event: the invariant mass of the whole system, each particle's pT and pseudorapidity,
    the azimuthal separation of the first two particles, the pT and rapidity of the whole system
    (the pair), and each particle's pT divided by the mass, in that order; for two muons
    ``mass, pt_0, pt_1, eta_0, eta_1, delta_phi_01, pt_pair, y_pair, pt_0_over_mass,
    pt_1_over_mass``. ``mass`` is signed and never NaN (:func:`sklearn_bsym.kinematics.mass`),
    ``delta_phi_01`` is in [0, pi], and a padding slot (or a system of mass <= 0) gives 0 for
    the quantities it has no value for. Unlike :class:`MinkowskiInvariants` these are not
    Lorentz invariant: a classifier on them can use the detector's pT-dependent resolution
    (the broken symmetry), and the pT imbalance of the two muons, which at leading order
    comes from the smearing alone.

    Raises
    ------
    ValueError
        In ``fit``, for events with fewer than two particles (no pair).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_bsym.preprocessing import ColliderFeatures
    >>> X = np.array([[30.0, 40.0, 0.0, 50.0, -30.0, -40.0, 0.0, 50.0]])
    >>> ColliderFeatures().fit_transform(X).round(4).tolist()
    [[100.0, 50.0, 50.0, 0.0, 0.0, 3.1416, 0.0, 0.0, 0.5, 0.5]]
    >>> ColliderFeatures().fit(X).get_feature_names_out().tolist()[5:8]
    ['delta_phi_01', 'pt_pair', 'y_pair']
    """

    _parameter_constraints: dict = {}

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate ``X`` (canonical event layout, at least two particles).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_events, 4 * n_particles), n_particles >= 2
        y : ignored

        Returns
        -------
        self
        """
        validate_events(self, X, reset=True)
        if self.n_features_in_ < 8:
            raise ValueError(
                f"ColliderFeatures needs events of at least two particles (8 columns), got "
                f"{self.n_features_in_} columns; for one particle use its pT and eta directly."
            )
        return self

    def _features(self, particles):
        n_particles = particles.shape[1]
        pair = kinematics.system(particles)
        mass = kinematics.mass(pair)
        pt = kinematics.pt(particles)  # (N, P)
        dphi = np.abs(kinematics.phi(particles[:, 0]) - kinematics.phi(particles[:, 1]))
        dphi = np.where(dphi > np.pi, 2 * np.pi - dphi, dphi)
        real = (pt[:, 0] > 0) & (pt[:, 1] > 0)  # phi of a padding slot is meaningless
        over_mass = np.divide(pt, mass[:, None], out=np.zeros_like(pt),
                              where=mass[:, None] > 0)
        out = np.empty((len(particles), 4 + 3 * n_particles), dtype=np.float64)
        out[:, 0] = mass
        out[:, 1:1 + n_particles] = pt
        out[:, 1 + n_particles:1 + 2 * n_particles] = kinematics.eta(particles)
        out[:, 1 + 2 * n_particles] = np.where(real, dphi, 0.0)
        out[:, 2 + 2 * n_particles] = kinematics.pt(pair)
        out[:, 3 + 2 * n_particles] = kinematics.rapidity(pair)
        out[:, 4 + 2 * n_particles:] = over_mass
        return out

    def _names(self, n_particles):
        slots = range(n_particles)
        return (["mass", *(f"pt_{i}" for i in slots), *(f"eta_{i}" for i in slots),
                 "delta_phi_01", "pt_pair", "y_pair", *(f"pt_{i}_over_mass" for i in slots)])
