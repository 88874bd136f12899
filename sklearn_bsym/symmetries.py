"""Symmetries of events, each named by the map that keeps only what its group leaves unchanged.

A :class:`Symmetry` is a group acting on the four-momenta of an event together with its
*invariant map*: a function of the particles ``(..., n_particles, 4)`` whose features do not
change when every particle of the event is transformed by the same group element. A network (or
a tree) fed only those features cannot tell two events of one orbit apart: it has the symmetry
built in. Where the data break the symmetry it has a ceiling, which a general network does not.

The library's symmetries, by name in :data:`SYMMETRIES`:

``"lorentz"``
    The Lorentz group (rotations and boosts). Features: the pairwise Minkowski products, the
    particles' and the system's squared masses
    (:func:`~sklearn_bsym.kinematics.minkowski_invariants`). The detector's pT resolution
    breaks it.
``"longitudinal"``
    Its subgroup of rotations about the beam axis times boosts along it, which a resolution that
    depends on pT alone keeps. Features: each particle's pT and squared mass, and per pair the
    rapidity difference and the cosine and sine of the azimuthal difference
    (:func:`~sklearn_bsym.kinematics.longitudinal_invariants`), then the Lorentz invariants
    that these leave out, the pairwise Minkowski products and the system's squared mass
    (:func:`longitudinal_map`). A resolution that depends on the azimuth or the pseudorapidity
    (:class:`~sklearn_bsym.preprocessing.DetectorResolution`) breaks it.

Every Lorentz invariant is also a longitudinal invariant (the subgroup is smaller), so the chain
from the most constrained to no constraint is Lorentz, longitudinal, none.

A symmetry of your own is a :class:`Symmetry` built from your invariant map, a function or a
``torch.nn.Module``; :func:`invariance_error` checks it against its group's transformations.

>>> import numpy as np
>>> from sklearn_bsym.datasets import make_dimuon_events
>>> from sklearn_bsym.events import to_particles
>>> particles = to_particles(make_dimuon_events(200, random_state=0)[0])
>>> lon = get_symmetry("longitudinal")
>>> lon.get_feature_names(2)
['pt_0', 'pt_1', 'm2_0', 'm2_1', 'dy_01', 'cos_dphi_01', 'sin_dphi_01', 'dot_01', 'm2_01']
>>> bool(invariance_error(lon, particles, random_state=0).max() < 1e-9)
True
>>> # a transverse boost is a Lorentz transformation outside the longitudinal group: the
>>> # pTs change (by more than 1e-3 of the largest feature, the pair's squared mass)
>>> error = invariance_error(lon, particles, transformation="lorentz", random_state=0)
>>> bool(error.max() > 1e-3)
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from . import kinematics
from ._random import as_seed

__all__ = [
    "Symmetry",
    "SYMMETRIES",
    "get_symmetry",
    "longitudinal_map",
    "longitudinal_map_names",
    "invariance_error",
    "random_lorentz_transformation",
    "random_longitudinal_transformation",
]


def _is_torch_module(obj) -> bool:
    """A ``torch.nn.Module``, recognised without importing torch."""
    return any(cls.__module__ == "torch.nn.modules.module" and cls.__name__ == "Module"
               for cls in type(obj).__mro__)


@dataclass(frozen=True)
class Symmetry:
    """A symmetry of events: a name, the invariant map, and (for tests) the group's action.

    Parameters
    ----------
    name : str
        A short name (it labels the features when ``feature_names`` is None, and studies).
    invariants : callable
        The invariant map: particles ``(..., n_particles, 4)`` with ``(px, py, pz, E)`` in GeV
        to features ``(..., n_features)``, unchanged when all the particles of an event are
        transformed by one element of the group. Either a function that takes numpy arrays
        and torch tensors alike and returns the same kind (write it with
        :mod:`sklearn_bsym.kinematics` or plain operators), or a ``torch.nn.Module`` (numpy
        input reaches it as a tensor and its output comes back as numpy). Padding slots are
        all-zero four-vectors; the map should give features that do not depend on them.
    feature_names : callable or None, default=None
        ``n_particles -> list of str``, the names of the features in order. None: ``name_0``,
        ``name_1``, ... (the count from evaluating the map on one all-padding event).
    random_transformation : callable or None, default=None
        ``(particles (n_events, n_particles, 4) ndarray, numpy Generator) -> ndarray`` of the
        same shape: each event transformed by its own random element of the group. Used by
        :func:`invariance_error`; None if you have none (the map can then be checked against
        another symmetry's transformations only).

    Examples
    --------
    Some invariants of rotations about the beam axis, which keep each particle's pz and E
    (the same code runs on numpy arrays and torch tensors):

    >>> import numpy as np
    >>> def pz_and_energy(p):  # (..., P, 4) -> (..., 2 P)
    ...     return p[..., 2:].reshape(p.shape[:-2] + (-1,))
    >>> sym = Symmetry("azimuthal", pz_and_energy)
    >>> sym.transform(np.array([[[3.0, 4.0, 1.0, 6.0], [0.0, 1.0, 2.0, 3.0]]])).tolist()
    [[1.0, 6.0, 2.0, 3.0]]
    >>> sym.get_feature_names(2)
    ['azimuthal_0', 'azimuthal_1', 'azimuthal_2', 'azimuthal_3']
    >>> bool(invariance_error(sym, np.ones((5, 2, 4)) * [1.0, 2.0, 3.0, 9.0],
    ...                       transformation=lambda p, rng: kinematics.rotate_z(p, 0.3)).max()
    ...      < 1e-15)
    True
    """

    name: str
    invariants: Callable[[Any], Any]
    feature_names: Callable[[int], list[str]] | None = None
    random_transformation: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"A Symmetry's name must be a non-empty str, got {self.name!r}.")
        for field in ("invariants", "feature_names", "random_transformation"):
            value = getattr(self, field)
            if field == "invariants" and value is None or value is not None and not callable(value):
                raise TypeError(
                    f"Symmetry({self.name!r}): {field} must be a callable"
                    f"{'' if field == 'invariants' else ' or None'}, got "
                    f"{type(value).__name__}. See help(sklearn_bsym.symmetries.Symmetry)."
                )

    def transform(self, particles):
        """The invariant features of ``particles`` (..., n_particles, 4): numpy in, numpy out
        (float64); a torch tensor in, a tensor out."""
        if kinematics._is_torch(particles) or not _is_torch_module(self.invariants):
            return self.invariants(particles)
        import torch

        params = [*self.invariants.parameters(), *self.invariants.buffers()]
        dtype = params[0].dtype if params else torch.float64
        with torch.no_grad():
            out = self.invariants(torch.as_tensor(np.asarray(particles), dtype=dtype))
        return out.detach().cpu().numpy().astype(np.float64, copy=False)

    def get_feature_names(self, n_particles: int) -> list[str]:
        """Names of the features of events with ``n_particles`` particles, in order."""
        if self.feature_names is not None:
            return list(self.feature_names(n_particles))
        n_features = np.shape(self.transform(np.zeros((1, n_particles, 4))))[-1]
        return [f"{self.name}_{k}" for k in range(n_features)]


def _uniform_rotations(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` rotation matrices (n, 3, 3), uniform on SO(3): unit quaternions from 4-D normals."""
    q = rng.normal(size=(n, 4))
    w, x, y, z = (q / np.linalg.norm(q, axis=1, keepdims=True)).T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], axis=1)


def random_lorentz_transformation(particles: np.ndarray, rng: np.random.Generator,
                                  max_rapidity: float = 2.0) -> np.ndarray:
    """Each event of ``particles`` (n_events, n_particles, 4) rotated by a uniform random
    rotation, then boosted in a uniform random direction by a rapidity uniform in
    ``[0, max_rapidity]``: a random proper orthochronous Lorentz transformation per event."""
    particles = np.asarray(particles, dtype=np.float64)
    n = particles.shape[0]
    rotated = particles.copy()
    rotated[..., :3] = np.einsum("nij,npj->npi", _uniform_rotations(rng, n), particles[..., :3])
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    beta = np.tanh(rng.uniform(0.0, max_rapidity, n))[:, None] * direction
    return kinematics.boost(rotated, beta[:, None, :])


def random_longitudinal_transformation(particles: np.ndarray, rng: np.random.Generator,
                                       max_rapidity: float = 2.0) -> np.ndarray:
    """Each event of ``particles`` (n_events, n_particles, 4) rotated about the beam axis by a
    uniform angle, then boosted along it by a rapidity uniform in
    ``[-max_rapidity, max_rapidity]``."""
    particles = np.asarray(particles, dtype=np.float64)
    n = particles.shape[0]
    angle = rng.uniform(-np.pi, np.pi, (n, 1))
    shift = rng.uniform(-max_rapidity, max_rapidity, (n, 1))
    return kinematics.boost_z(kinematics.rotate_z(particles, angle), shift)


def longitudinal_map(particles):
    """The invariant map of the ``"longitudinal"`` symmetry: the features of
    :func:`~sklearn_bsym.kinematics.longitudinal_invariants` (each particle's pT and squared
    mass; per pair the rapidity difference, the cosine and sine of the azimuthal difference),
    then the pairwise Minkowski products and the squared mass of the system.

    The Lorentz invariants are invariants of the longitudinal subgroup too; the pT, rapidity
    and azimuthal differences determine them, but through ``2 pT_i pT_j (cosh dy - cos dphi)``,
    which a network or a tree has to learn from many events. Handed over, they take a network
    of this symmetry from AUC 0.727 to 0.785 at 2,000 training events and from 0.783 to 0.798
    at 80,000 (10 % smearing, 3 seeds; ``benchmarks/symmetry_chain.py``, the user guide's
    "Your own symmetry").

    numpy in, numpy out; torch in, torch out.

    >>> import numpy as np
    >>> p = np.array([[3.0, 4.0, 0.0, 5.0], [-3.0, -4.0, 0.0, 5.0]])
    >>> longitudinal_map(p).round(6).tolist()
    [5.0, 5.0, 0.0, 0.0, 0.0, -1.0, 0.0, 50.0, 100.0]
    """
    particles = kinematics._asarray(particles)
    n = particles.shape[-2]
    lon = kinematics.longitudinal_invariants(particles)
    lorentz = kinematics.minkowski_invariants(particles)
    # The Lorentz features but the single-particle squared masses (already in lon).
    pairs, total = lorentz[..., : n * (n - 1) // 2], lorentz[..., n * (n - 1) // 2 + n:]
    if kinematics._is_torch(lon):
        import torch

        return torch.cat([lon, pairs, total], dim=-1)
    return np.concatenate([lon, pairs, total], axis=-1)


def longitudinal_map_names(n_particles: int) -> list[str]:
    """Names of :func:`longitudinal_map`'s features, in order.

    >>> longitudinal_map_names(2)[-2:]
    ['dot_01', 'm2_01']
    """
    lorentz = kinematics.invariant_feature_names(n_particles)
    first = n_particles * (n_particles - 1) // 2
    return (kinematics.longitudinal_feature_names(n_particles) + lorentz[:first]
            + lorentz[first + n_particles:])


#: The library's symmetries by name, from the most constrained (largest group) to the least.
SYMMETRIES = MappingProxyType({
    "lorentz": Symmetry("lorentz", kinematics.minkowski_invariants,
                        kinematics.invariant_feature_names, random_lorentz_transformation),
    "longitudinal": Symmetry("longitudinal", longitudinal_map, longitudinal_map_names,
                             random_longitudinal_transformation),
})


def get_symmetry(symmetry) -> Symmetry:
    """The :class:`Symmetry` that ``symmetry`` names: a name in :data:`SYMMETRIES`, or a
    :class:`Symmetry` (returned as is).

    >>> get_symmetry("lorentz").get_feature_names(2)
    ['dot_01', 'm2_0', 'm2_1', 'm2_01']
    """
    if isinstance(symmetry, Symmetry):
        return symmetry
    if isinstance(symmetry, str) and symmetry in SYMMETRIES:
        return SYMMETRIES[symmetry]
    raise ValueError(
        f"symmetry must be one of {', '.join(map(repr, SYMMETRIES))} or a "
        f"sklearn_bsym.symmetries.Symmetry built from your invariant map, got {symmetry!r}."
    )


def invariance_error(symmetry, particles, *, transformation=None, random_state=None):
    """How much each invariant feature changes under random group transformations.

    Every event is transformed by its own random element of the group (``transformation``),
    and the features before and after are compared.

    Parameters
    ----------
    symmetry : str or Symmetry
        The invariant map to check.
    particles : ndarray of shape (n_events, n_particles, 4)
        Events as particles (:func:`sklearn_bsym.events.to_particles`).
    transformation : str, Symmetry, callable or None, default=None
        The group to transform by: a symmetry (its ``random_transformation``), or a callable
        ``(particles, numpy Generator) -> particles``. None: ``symmetry``'s own group.
    random_state : int, RandomState instance or None, default=None
        Seed of the random transformations.

    Returns
    -------
    ndarray of shape (n_features,)
        Per feature, the largest absolute change over the events divided by the largest
        absolute value of any feature of any event (one scale for all, so features that are 0
        up to rounding, such as a massless particle's squared mass, do not count as changed).
        Float64 rounding gives 1e-16 to 1e-11 for an invariant feature (the largest for
        the squared mass of a massless particle after a large boost, whose energy then
        reaches TeV); a feature the group changes gives 1e-3 or more.
    """
    symmetry = get_symmetry(symmetry)
    if transformation is None:
        transformation = symmetry
    if isinstance(transformation, str):
        transformation = get_symmetry(transformation)
    if isinstance(transformation, Symmetry):
        if transformation.random_transformation is None:
            raise ValueError(
                f"Symmetry {transformation.name!r} has no random_transformation; pass "
                "transformation= a symmetry that has one, or a callable (particles, rng) -> "
                "particles."
            )
        transformation = transformation.random_transformation
    particles = np.asarray(particles, dtype=np.float64)
    if particles.ndim != 3 or particles.shape[-1] != 4:
        raise ValueError(
            f"particles must have shape (n_events, n_particles, 4), got {particles.shape}; "
            "convert flat events with sklearn_bsym.events.to_particles."
        )
    rng = np.random.default_rng(as_seed(random_state))
    before = np.asarray(symmetry.transform(particles), dtype=np.float64)
    after = np.asarray(symmetry.transform(transformation(particles, rng)), dtype=np.float64)
    scale = np.abs(before).max()
    change = np.abs(after - before).max(axis=0)
    return change / scale if scale > 0 else change
