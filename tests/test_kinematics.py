"""Tests of sklearn_bsym.kinematics: hand-computed values, numpy/torch agreement, and a
cross-check against the scikit-hep ``vector`` package."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from sklearn_bsym import kinematics as kin

P = np.array([3.0, 4.0, 12.0, 14.0])  # pT 5, |p| 13, m^2 = 196 - 169 = 27
ZERO = np.zeros(4)


@pytest.mark.parametrize(
    ("func", "expected"),
    [
        (kin.pt, 5.0),
        (kin.p_abs, 13.0),
        (kin.phi, np.arctan2(4.0, 3.0)),
        (kin.eta, np.arcsinh(12.0 / 5.0)),
        (kin.rapidity, 0.5 * np.log(26.0 / 2.0)),
        (kin.m2, 27.0),
        (kin.mass, np.sqrt(27.0)),
    ],
)
def test_hand_computed_values(func, expected):
    assert_allclose(func(P), expected, rtol=1e-12)


@pytest.mark.parametrize(
    "func", [kin.pt, kin.p_abs, kin.phi, kin.eta, kin.rapidity, kin.m2, kin.mass]
)
def test_padding_gives_zero_not_nan(func):
    out = func(np.stack([ZERO, P]))
    assert np.isfinite(out).all()
    assert out[0] == 0.0


def test_phi_quadrants_use_arctan2():
    p = np.array([[-1.0, 0.0, 0, 1], [0.0, -1.0, 0, 1], [-1.0, -1.0, 0, 2]])
    assert_allclose(kin.phi(p), [np.pi, -np.pi / 2, -3 * np.pi / 4])


def test_dot_and_signed_mass_of_spacelike_vector():
    a = np.array([1.0, 2.0, 3.0, 10.0])
    assert_allclose(kin.dot(a, P), 10 * 14 - 3 - 8 - 36)
    spacelike = np.array([3.0, 4.0, 0.0, 4.0])  # m^2 = 16 - 25 = -9
    assert_allclose(kin.m2(spacelike), -9.0)
    assert_allclose(kin.mass(spacelike), -3.0)
    assert_allclose(kin.dot(P, P), kin.m2(P))


def test_system_sums_particles():
    parts = np.stack([P, np.array([-3.0, -4.0, 0.0, 5.0])])[None]
    assert_allclose(kin.system(parts), [[0.0, 0.0, 12.0, 19.0]])
    assert_allclose(kin.mass(kin.system(parts)), [np.sqrt(19**2 - 12**2)])


def test_boost_of_particle_at_rest_gets_the_boost_velocity():
    rest = np.array([0.0, 0.0, 0.0, 2.0])
    beta = np.array([0.3, -0.2, 0.5])
    out = kin.boost(rest, beta)
    assert_allclose(out[:3] / out[3], beta, rtol=1e-12)
    assert_allclose(kin.mass(out), 2.0, rtol=1e-12)


def test_boost_round_trip_and_invariance():
    rng = np.random.default_rng(0)
    p = rng.normal(size=(50, 4)) * 10
    p[:, 3] = np.sqrt((p[:, :3] ** 2).sum(1) + 4.0)
    beta = rng.uniform(-0.5, 0.5, size=(50, 3))
    there = kin.boost(p, beta)
    assert_allclose(kin.boost(there, -beta), p, atol=1e-9)
    assert_allclose(kin.m2(there), kin.m2(p), rtol=1e-9)
    other = np.roll(p, 1, axis=0)
    assert_allclose(kin.dot(there, kin.boost(other, beta)), kin.dot(p, other), rtol=1e-9)


def test_boost_z_round_trip_shifts_rapidity():
    p = np.array([[1.0, 2.0, 3.0, 5.0], [0.5, -1.0, -2.0, 3.0]])
    y = np.array([0.7, -1.3])
    there = kin.boost_z(p, y)
    assert_allclose(kin.rapidity(there), kin.rapidity(p) + y, rtol=1e-12)
    assert_allclose(kin.boost_z(there, -y), p, atol=1e-12)
    assert_allclose(there[:, :2], p[:, :2])
    # boost_z equals the general boost along z with beta = tanh(y)
    beta = np.stack([np.zeros(2), np.zeros(2), np.tanh(y)], -1)
    assert_allclose(kin.boost(p, beta), there, rtol=1e-12)


def test_signed_log_and_invariants():
    assert_allclose(kin.signed_log(np.array([-np.e + 1, 0.0, np.e - 1])), [-1.0, 0.0, 1.0])
    parts = np.stack([P, np.array([-3.0, -4.0, 0.0, 5.0])])[None]
    inv = kin.minkowski_invariants(parts)
    assert inv.shape == (1, 4)
    assert_allclose(inv[0], [kin.dot(parts[0, 0], parts[0, 1]), 27.0, 0.0, 19**2 - 12**2])
    assert_allclose(kin.minkowski_invariants(parts, log_scale=True), kin.signed_log(inv))


@pytest.mark.parametrize(
    "func", [kin.pt, kin.p_abs, kin.phi, kin.eta, kin.rapidity, kin.m2, kin.mass]
)
def test_numpy_and_torch_agree(func):
    rng = np.random.default_rng(1)
    p = rng.normal(size=(20, 4)) * 20
    p[:, 3] = np.abs(p[:, 3]) + np.sqrt((p[:, :3] ** 2).sum(1))
    p[0] = 0.0  # padding
    out_t = func(torch.from_numpy(p))
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float64
    assert_allclose(out_t.numpy(), func(p), rtol=1e-12, atol=1e-12)


def test_numpy_and_torch_agree_for_boosts_and_invariants():
    rng = np.random.default_rng(2)
    p = rng.normal(size=(10, 2, 4)) * 20
    p[..., 3] = np.abs(p[..., 3]) + np.sqrt((p[..., :3] ** 2).sum(-1))
    beta = rng.uniform(-0.4, 0.4, size=(10, 1, 3))
    y = rng.normal(size=(10, 1))
    pt_ = torch.from_numpy(p)
    assert_allclose(kin.boost(pt_, torch.from_numpy(beta)).numpy(), kin.boost(p, beta), rtol=1e-12)
    assert_allclose(kin.boost_z(pt_, torch.from_numpy(y)).numpy(), kin.boost_z(p, y), rtol=1e-12)
    assert_allclose(kin.minkowski_invariants(pt_, log_scale=True).numpy(),
                    kin.minkowski_invariants(p, log_scale=True), rtol=1e-12)


def test_cross_check_with_vector_package():
    vector = pytest.importorskip("vector")
    rng = np.random.default_rng(3)
    p = rng.normal(size=(100, 4)) * 30
    p[:, 3] = np.sqrt((p[:, :3] ** 2).sum(1) + rng.uniform(0, 100, 100) ** 2)
    q = rng.normal(size=(100, 4)) * 30
    q[:, 3] = np.sqrt((q[:, :3] ** 2).sum(1) + 25.0)
    vp = vector.array({"px": p[:, 0], "py": p[:, 1], "pz": p[:, 2], "E": p[:, 3]})
    vq = vector.array({"px": q[:, 0], "py": q[:, 1], "pz": q[:, 2], "E": q[:, 3]})
    assert_allclose(kin.pt(p), vp.pt, rtol=1e-12)
    assert_allclose(kin.eta(p), vp.eta, rtol=1e-10)
    assert_allclose(kin.phi(p), vp.phi, rtol=1e-12)
    assert_allclose(kin.rapidity(p), vp.rapidity, rtol=1e-10)
    assert_allclose(kin.mass(p), vp.mass, rtol=1e-8)
    assert_allclose(kin.dot(p, q), vp.dot(vq), rtol=1e-10)
    # boost by q's velocity, both ways vector offers
    beta = q[:, :3] / q[:, 3:4]
    mine = kin.boost(p, beta)
    by_p4 = vp.boost_p4(vq)
    by_beta = vp.boost_beta3(vector.array({"x": beta[:, 0], "y": beta[:, 1], "z": beta[:, 2]}))
    for theirs in (by_p4, by_beta):
        got = np.stack([theirs.px, theirs.py, theirs.pz, theirs.E], -1)
        assert_allclose(mine, got, rtol=1e-9, atol=1e-9)
