"""Relativistic kinematics, written once for numpy arrays and torch tensors alike.

Every function takes four-vectors with the components ``(px, py, pz, E)`` on the last axis and
any leading batch shape, and returns an array of the same library (numpy in, numpy out; torch
in, torch out). The metric is Minkowski (+, -, -, -): ``a.b = Ea Eb - pa . pb``.

All-zero four-vectors (padding slots, see :mod:`sklearn_bsym.events`) give 0 for every
quantity here, never NaN.

>>> import numpy as np
>>> p = np.array([3.0, 4.0, 0.0, 13.0])
>>> float(pt(p)), float(m2(p)), float(mass(p))
(5.0, 144.0, 12.0)
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

__all__ = [
    "pt",
    "p_abs",
    "eta",
    "phi",
    "rapidity",
    "dot",
    "m2",
    "mass",
    "system",
    "boost",
    "boost_z",
    "rotate_z",
    "from_pt_eta_phi_mass",
    "signed_log",
    "minkowski_invariants",
    "invariant_feature_names",
    "longitudinal_invariants",
    "longitudinal_feature_names",
]

Array = Any  # numpy.ndarray or torch.Tensor


def _is_torch(x: Array) -> bool:
    return type(x).__module__.startswith("torch")


def _xp(x: Array):
    """The array namespace of ``x``: the torch module for tensors, numpy otherwise."""
    if _is_torch(x):
        import torch

        return torch
    return np


def _stack(arrays: list[Array], like: Array) -> Array:
    """Stack on a new last axis, in the namespace of ``like``."""
    if _is_torch(like):
        import torch

        return torch.stack(arrays, dim=-1)
    return np.stack(arrays, axis=-1)


def _nan_to_zero(x: Array) -> Array:
    """0/0 only arises for all-zero (padding) four-vectors, whose quantities are defined as 0."""
    xp = _xp(x)
    return xp.where(xp.isnan(x), xp.zeros_like(x), x)


def _asarray(p: Array) -> Array:
    return p if _is_torch(p) else np.asarray(p, dtype=np.result_type(p, np.float64))


def pt(p: Array) -> Array:
    """Transverse momentum sqrt(px^2 + py^2)."""
    p = _asarray(p)
    return _xp(p).sqrt(p[..., 0] ** 2 + p[..., 1] ** 2)


def p_abs(p: Array) -> Array:
    """Magnitude of the three-momentum ``|p|``."""
    p = _asarray(p)
    return _xp(p).sqrt(p[..., 0] ** 2 + p[..., 1] ** 2 + p[..., 2] ** 2)


def phi(p: Array) -> Array:
    """Azimuthal angle arctan2(py, px) in (-pi, pi]."""
    p = _asarray(p)
    return _xp(p).arctan2(p[..., 1], p[..., 0])


def eta(p: Array) -> Array:
    """Pseudorapidity arcsinh(pz / pT); +-inf along the beam axis, 0 for padding."""
    p = _asarray(p)
    xp = _xp(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _nan_to_zero(xp.arcsinh(p[..., 2] / pt(p)))


def rapidity(p: Array) -> Array:
    """Rapidity 0.5 * log((E + pz) / (E - pz)); 0 for padding."""
    p = _asarray(p)
    xp = _xp(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _nan_to_zero(0.5 * xp.log((p[..., 3] + p[..., 2]) / (p[..., 3] - p[..., 2])))


def from_pt_eta_phi_mass(pt: Array, eta: Array, phi: Array, mass: Array) -> Array:
    """Four-vectors ``(px, py, pz, E)`` from collider coordinates, stacked on a new last axis.

    ``E = sqrt((pT cosh eta)^2 + m^2)``; a zero ``pT`` and mass give the all-zero padding vector.

    >>> [round(float(c), 6) for c in from_pt_eta_phi_mass(3.0, 0.0, 0.0, 4.0)]
    [3.0, 0.0, 0.0, 5.0]
    """
    like = pt if _is_torch(pt) else None
    if like is None:
        pt, eta, phi, mass = (np.asarray(a, dtype=np.float64) for a in (pt, eta, phi, mass))
        like = pt
    xp = _xp(like)
    p_z = pt * xp.sinh(eta)
    p_mag2 = pt * pt + p_z * p_z
    return _stack(
        [pt * xp.cos(phi), pt * xp.sin(phi), p_z, xp.sqrt(p_mag2 + mass * mass)], like
    )


def dot(a: Array, b: Array) -> Array:
    """Minkowski product a.b = Ea Eb - pxa pxb - pya pyb - pza pzb."""
    a, b = _asarray(a), _asarray(b)
    spatial = a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]
    return a[..., 3] * b[..., 3] - spatial


def m2(p: Array) -> Array:
    """Squared mass ``E^2 - |p|^2``, computed as ``(E - |p|)(E + |p|)`` to limit cancellation."""
    p = _asarray(p)
    pa = p_abs(p)
    return (p[..., 3] - pa) * (p[..., 3] + pa)


def mass(p: Array) -> Array:
    """Signed mass ``copysign(sqrt(|m^2|), m^2)``: negative for spacelike vectors, never NaN."""
    m2_ = m2(p)
    xp = _xp(m2_)
    return xp.copysign(xp.sqrt(xp.abs(m2_)), m2_)


def system(particles: Array) -> Array:
    """Four-vector of the whole system: the sum over the particle axis (-2)."""
    particles = _asarray(particles)
    return particles.sum(-2) if _is_torch(particles) else particles.sum(axis=-2)


def boost(p: Array, beta: Array) -> Array:
    """Lorentz boost of ``p`` by the velocity ``beta`` (shape (..., 3), ``|beta| < 1``).

    A particle at rest in a frame moving with velocity ``beta`` ends up with velocity ``beta``.
    """
    p, beta = _asarray(p), _asarray(beta)
    xp = _xp(p)
    b2 = (beta**2).sum(-1)
    gamma = 1.0 / xp.sqrt(1.0 - b2)
    bp = (beta * p[..., :3]).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        g2 = _nan_to_zero((gamma - 1.0) / b2)
    coef = (g2 * bp + gamma * p[..., 3])[..., None]
    p3 = p[..., :3] + coef * beta
    energy = gamma * (p[..., 3] + bp)
    return _stack([p3[..., 0], p3[..., 1], p3[..., 2], energy], like=p)


def boost_z(p: Array, y: Array) -> Array:
    """Boost along the z axis by rapidity ``y`` (broadcast against p's batch shape)."""
    p = _asarray(p)
    xp = _xp(p)
    ch, sh = xp.cosh(y), xp.sinh(y)
    pz = p[..., 2] * ch + p[..., 3] * sh
    energy = p[..., 3] * ch + p[..., 2] * sh
    return _stack([p[..., 0], p[..., 1], pz, energy], like=p)


def rotate_z(p: Array, angle: Array) -> Array:
    """Rotation about the z (beam) axis by ``angle`` in radians (broadcast against p's batch
    shape): the azimuth grows by ``angle``; pT, pz and E are kept.

    >>> [round(float(c), 6) for c in rotate_z(np.array([1.0, 0.0, 2.0, 3.0]), np.pi / 2)]
    [0.0, 1.0, 2.0, 3.0]
    """
    p = _asarray(p)
    xp = _xp(p)
    c, s = xp.cos(angle), xp.sin(angle)
    return _stack([p[..., 0] * c - p[..., 1] * s, p[..., 0] * s + p[..., 1] * c,
                   p[..., 2], p[..., 3]], like=p)


def signed_log(x: Array) -> Array:
    """``sign(x) * log(1 + |x|)``, the paper's compression of invariants."""
    xp = _xp(x)
    return xp.sign(x) * xp.log1p(xp.abs(x))


def _pair_labels(n_particles: int) -> list[str]:
    """``"01"`` for the pair (0, 1); ``"0_1"`` when there are more than 10 particles."""
    sep = "" if n_particles <= 10 else "_"
    return [f"{i}{sep}{j}" for i, j in combinations(range(n_particles), 2)]


def invariant_feature_names(n_particles: int) -> list[str]:
    """Names of :func:`minkowski_invariants`' outputs, in order.

    >>> invariant_feature_names(2)
    ['dot_01', 'm2_0', 'm2_1', 'm2_01']
    """
    pairs = [f"dot_{pair}" for pair in _pair_labels(n_particles)]
    masses = [f"m2_{i}" for i in range(n_particles)]
    sep = "" if n_particles <= 10 else "_"
    total = "m2_" + sep.join(str(i) for i in range(n_particles))
    return pairs + masses + ([total] if n_particles > 1 else [])


def minkowski_invariants(particles: Array, *, log_scale: bool = False) -> Array:
    """All Lorentz invariants of an event: the pairwise products p_i.p_j (i < j), the squared
    masses p_i^2, and the squared mass of the whole system.

    Parameters
    ----------
    particles : array or tensor of shape (..., n_particles, 4)
        Four-vectors (px, py, pz, E); padding slots are all zero and contribute 0.
    log_scale : bool
        Apply :func:`signed_log` to every feature, as the paper does.

    Returns
    -------
    array or tensor of shape (..., n_features), in the order of :func:`invariant_feature_names`.
    """
    particles = _asarray(particles)
    n = particles.shape[-2]
    feats = [dot(particles[..., i, :], particles[..., j, :]) for i, j in combinations(range(n), 2)]
    feats += [m2(particles[..., i, :]) for i in range(n)]
    if n > 1:
        feats.append(m2(system(particles)))
    out = _stack(feats, like=particles)
    return signed_log(out) if log_scale else out



def longitudinal_feature_names(n_particles: int) -> list[str]:
    """Names of :func:`longitudinal_invariants`' outputs, in order.

    >>> longitudinal_feature_names(2)
    ['pt_0', 'pt_1', 'm2_0', 'm2_1', 'dy_01', 'cos_dphi_01', 'sin_dphi_01']
    """
    pairs = _pair_labels(n_particles)
    return ([f"pt_{i}" for i in range(n_particles)] + [f"m2_{i}" for i in range(n_particles)]
            + [f"dy_{pair}" for pair in pairs] + [f"cos_dphi_{pair}" for pair in pairs]
            + [f"sin_dphi_{pair}" for pair in pairs])


def longitudinal_invariants(particles: Array, *, log_scale: bool = False) -> Array:
    """All invariants of an event under the longitudinal group: rotations about the beam axis
    times boosts along it (the symmetry that a detector measuring pT alone keeps).

    Each particle's transverse momentum ``pt_i`` and squared mass ``m2_i``, then for every pair
    ``i < j`` its rapidity difference ``dy_ij = y_i - y_j`` and the cosine and sine of its
    azimuthal difference ``phi_i - phi_j``.

    Rapidity, not pseudorapidity: a boost along z shifts every rapidity by the same amount, so
    rapidity differences are exact invariants for massive particles too, whereas
    pseudorapidity differences are invariant only for massless ones (for which the two agree).
    The azimuthal difference as its cosine and sine: continuous across +-pi, where back-to-back
    pairs sit (a wrapped angle would jump there between -pi and pi), and computed from the
    components ``(px_i px_j + py_i py_j) / (pT_i pT_j)`` without trigonometric functions.
    A pair with a padding slot (or a particle of pT 0, which has no azimuth) gives 0.

    Parameters
    ----------
    particles : array or tensor of shape (..., n_particles, 4)
        Four-vectors (px, py, pz, E); padding slots are all zero and give 0.
    log_scale : bool
        Apply :func:`signed_log` to every feature (as :func:`minkowski_invariants` does).

    Returns
    -------
    array or tensor of shape (..., n_features), in the order of
    :func:`longitudinal_feature_names`.

    >>> p = np.array([[3.0, 4.0, 0.0, 5.0], [-3.0, -4.0, 0.0, 5.0]])
    >>> longitudinal_invariants(p).round(6).tolist()
    [5.0, 5.0, 0.0, 0.0, 0.0, -1.0, 0.0]
    """
    particles = _asarray(particles)
    xp = _xp(particles)
    n = particles.shape[-2]
    pts = [pt(particles[..., i, :]) for i in range(n)]
    ys = [rapidity(particles[..., i, :]) for i in range(n)]
    real = [particles[..., i, 3] != 0 for i in range(n)]  # padding is all zero, a particle E > 0
    feats = pts + [m2(particles[..., i, :]) for i in range(n)]
    pairs = list(combinations(range(n), 2))
    zero = xp.zeros_like(pts[0])
    feats += [xp.where(real[i] & real[j], ys[i] - ys[j], zero) for i, j in pairs]
    cosines, sines = [], []
    for i, j in pairs:
        a, b = particles[..., i, :], particles[..., j, :]
        norm = pts[i] * pts[j]
        has_angle = norm > 0
        safe = xp.where(has_angle, norm, xp.ones_like(norm))
        cosines.append(xp.where(has_angle, (a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1]) / safe,
                                zero))
        sines.append(xp.where(has_angle, (a[..., 1] * b[..., 0] - a[..., 0] * b[..., 1]) / safe,
                              zero))
    out = _stack(feats + cosines + sines, like=particles)
    return signed_log(out) if log_scale else out
