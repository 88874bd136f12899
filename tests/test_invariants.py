"""MinkowskiInvariants, SymmetryInvariants, DimuonFeatures, ColliderFeatures, and the one
invariant definition for numpy and torch."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.events import to_particles
from sklearn_bsym.preprocessing import (
    ColliderFeatures,
    DimuonFeatures,
    MinkowskiInvariants,
    SymmetryInvariants,
)
from sklearn_bsym.symmetries import Symmetry

# two hand-made muons: p1 = (3, 4, 0; 5), p2 = (-3, 0, 4; 5)
HAND = np.array([[3.0, 4.0, 0.0, 5.0, -3.0, 0.0, 4.0, 5.0]])
# p1.p2 = 25 - (-9 + 0 + 0) = 34; (p1 + p2)^2 = 100 - (0 + 16 + 16) = 68


@pytest.fixture(scope="module")
def events():
    return make_dimuon_events(500, random_state=6)[0]


def test_hand_computed_invariants():
    out = MinkowskiInvariants(log_scale=False).fit_transform(HAND)
    assert_allclose(out, [[34.0, 0.0, 0.0, 68.0]], atol=1e-12)
    logged = MinkowskiInvariants().fit_transform(HAND)
    assert_allclose(logged, [[np.log(35.0), 0.0, 0.0, np.log(69.0)]], atol=1e-12)


def test_hand_computed_dimuon_features():
    assert_allclose(DimuonFeatures().fit_transform(HAND), [[np.sqrt(68.0), 5.0, 3.0]])


def test_feature_names():
    assert MinkowskiInvariants().fit(HAND).get_feature_names_out().tolist() == [
        "dot_01", "m2_0", "m2_1", "m2_01"
    ]
    assert DimuonFeatures().fit(HAND).get_feature_names_out().tolist() == ["mass", "pt_0", "pt_1"]
    three = np.hstack([HAND, HAND[:, :4]])
    assert MinkowskiInvariants().fit(three).get_feature_names_out().tolist() == [
        "dot_01", "dot_02", "dot_12", "m2_0", "m2_1", "m2_2", "m2_012"
    ]


def test_invariants_are_lorentz_invariant(events):
    p = to_particles(events)
    boosted = kinematics.boost(p, np.array([0.3, -0.2, 0.5]))
    a = MinkowskiInvariants(log_scale=False).fit_transform(events)
    b = MinkowskiInvariants(log_scale=False).fit_transform(boosted.reshape(len(events), 8))
    assert_allclose(b[:, [0, 3]], a[:, [0, 3]], rtol=1e-9)
    assert_allclose(b[:, 1:3], 0.0, atol=1e-6 * np.abs(a[:, [0]]).max())


def test_dimuon_features_match_kinematics(events):
    out = DimuonFeatures().fit_transform(events)
    p = to_particles(events)
    assert_allclose(out[:, 0], kinematics.mass(p.sum(axis=1)))
    assert_allclose(out[:, 1:], kinematics.pt(p))
    # m^2 = 2 p1.p2 for massless muons: the two transformers agree
    inv = MinkowskiInvariants(log_scale=False).fit_transform(events)
    assert_allclose(out[:, 0] ** 2, inv[:, 3], rtol=1e-9)


def test_padding_slots_give_zero():
    X = np.hstack([HAND, np.zeros((1, 4))])
    out = MinkowskiInvariants(log_scale=False).fit_transform(X)
    assert_allclose(out, [[34.0, 0.0, 0.0, 0.0, 0.0, 0.0, 68.0]], atol=1e-12)
    feats = DimuonFeatures().fit_transform(X)
    assert_allclose(feats, [[np.sqrt(68.0), 5.0, 3.0, 0.0]])
    assert np.all(np.isfinite(feats))


@pytest.mark.parametrize("transformer",
                         [MinkowskiInvariants(), DimuonFeatures(), ColliderFeatures(),
                          SymmetryInvariants(symmetry="longitudinal")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_kept(events, transformer, dtype):
    out = transformer.fit_transform(events.astype(dtype))
    assert out.dtype == dtype
    # float32 inputs: E and |p| of a massless muon differ by rounding, ~1e-7 E, so m2_i is
    # known to ~1e-7 E^2 (up to 0.2 in log scale for TeV muons)
    tol = {"rtol": 1e-5, "atol": 0.2} if dtype == np.float32 else {"rtol": 0}
    assert_allclose(out, transformer.fit_transform(events), **tol)


def test_numpy_and_torch_invariants_agree(events):
    torch = pytest.importorskip("torch")
    p = to_particles(events)
    for log_scale in (False, True):
        ours = kinematics.minkowski_invariants(p, log_scale=log_scale)
        theirs = kinematics.minkowski_invariants(torch.from_numpy(p), log_scale=log_scale)
        assert isinstance(theirs, torch.Tensor) and theirs.dtype == torch.float64
        # massless m2_i are 0 up to float64 rounding of E^2 ~ 1e4 GeV^2
        assert_allclose(theirs.numpy(), ours, rtol=1e-12, atol=1e-9)
        assert_array_equal(
            MinkowskiInvariants(log_scale=log_scale).fit_transform(events), ours
        )


@pytest.mark.parametrize("transformer",
                         [MinkowskiInvariants(), DimuonFeatures(), ColliderFeatures(),
                          SymmetryInvariants()])
@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.ones((2, 5)), "not a positive multiple of 4"),
        (np.array([[3.0, 4.0, 0.0, 4.0, 3.0, 4.0, 0.0, 5.0]]), r"E < \|p\|"),
        (np.array([[3.0, 4.0, 0.0, np.inf, 3.0, 4.0, 0.0, 5.0]]), "NaN or inf in 1 event"),
    ],
)
def test_bad_events(transformer, X, match):
    with pytest.raises(ValueError, match=match):
        transformer.fit(X)


def test_bad_log_scale():
    with pytest.raises(ValueError, match="The 'log_scale' parameter of MinkowskiInvariants"):
        MinkowskiInvariants(log_scale="yes").fit(HAND)


def test_hand_computed_collider_features():
    # p1 = (3, 4, 0; 5): pT 5, eta 0, phi atan2(4, 3); p2 = (-3, 0, 4; 5): pT 3, eta asinh(4/3),
    # phi pi; pair (0, 4, 4; 10): m sqrt(68), pT 4, y = 0.5 log(14 / 6)
    out = ColliderFeatures().fit_transform(HAND)
    dphi = np.pi - np.arctan2(4.0, 3.0)
    m = np.sqrt(68.0)
    expected = [m, 5.0, 3.0, 0.0, np.arcsinh(4.0 / 3.0), dphi, 4.0, 0.5 * np.log(14.0 / 6.0),
                5.0 / m, 3.0 / m]
    assert_allclose(out, [expected])
    assert ColliderFeatures().fit(HAND).get_feature_names_out().tolist() == [
        "mass", "pt_0", "pt_1", "eta_0", "eta_1", "delta_phi_01", "pt_pair", "y_pair",
        "pt_0_over_mass", "pt_1_over_mass"]


def test_collider_features_match_kinematics(events):
    out = ColliderFeatures().fit_transform(events)
    p = to_particles(events)
    pair = p.sum(axis=1)
    assert_allclose(out[:, :3], DimuonFeatures().fit_transform(events))
    assert_allclose(out[:, 3:5], kinematics.eta(p))
    assert np.all((out[:, 5] >= 0) & (out[:, 5] <= np.pi))
    assert_allclose(out[:, 6], kinematics.pt(pair))
    assert_allclose(out[:, 7], kinematics.rapidity(pair))
    assert_allclose(out[:, 8:], kinematics.pt(p) / out[:, :1])
    # The generator is leading order: back to back with one pT, so the pair has no pT.
    assert_allclose(out[:, 5], np.pi)
    assert_allclose(out[:, 6], 0.0, atol=1e-9)


def test_collider_features_wrap_delta_phi_and_pad():
    # phi 170 and -170 degrees: 20 degrees apart, not 340
    a, b = np.deg2rad(170.0), np.deg2rad(-170.0)
    X = np.array([[np.cos(a), np.sin(a), 0.0, 1.0, np.cos(b), np.sin(b), 0.0, 1.0]]) * 10
    assert_allclose(ColliderFeatures().fit_transform(X)[0, 5], np.deg2rad(20.0))
    padded = ColliderFeatures().fit_transform(np.hstack([HAND, np.zeros((1, 4))]))
    names = ColliderFeatures().fit(np.hstack([HAND, np.zeros((1, 4))])).get_feature_names_out()
    row = dict(zip(names, padded[0], strict=True))
    assert row["pt_2"] == row["eta_2"] == row["pt_2_over_mass"] == 0.0
    assert np.all(np.isfinite(padded))


def test_collider_features_need_a_pair():
    with pytest.raises(ValueError, match="at least two particles"):
        ColliderFeatures().fit(HAND[:, :4])


@pytest.mark.parametrize("log_scale", [False, True])
def test_lorentz_symmetry_invariants_are_the_minkowski_invariants(events, log_scale):
    ours = SymmetryInvariants(symmetry="lorentz", log_scale=log_scale).fit(events)
    assert_array_equal(ours.transform(events),
                       MinkowskiInvariants(log_scale=log_scale).fit_transform(events))
    assert_array_equal(ours.get_feature_names_out(),
                       MinkowskiInvariants().fit(events).get_feature_names_out())


def test_longitudinal_symmetry_invariants(events):
    lon = SymmetryInvariants(symmetry="longitudinal", log_scale=False).fit(events)
    out = lon.transform(events)
    particles = to_particles(events)
    assert_array_equal(out[:, :7], kinematics.longitudinal_invariants(particles))
    # then the Lorentz invariants but the masses: dot_01, m2_01
    assert_array_equal(out[:, 7:], kinematics.minkowski_invariants(particles)[:, [0, 3]])
    # leading order: one pT, back to back
    assert_allclose(out[:, 0], out[:, 1], rtol=1e-9)
    assert_allclose(out[:, 5:7], np.tile([-1.0, 0.0], (len(events), 1)), atol=1e-9)
    frame = lon.set_output(transform="pandas").transform(events)
    assert frame.columns.tolist() == kinematics.longitudinal_feature_names(2) + ["dot_01",
                                                                                 "m2_01"]


def _pair_mass_and_pts(p):
    # (..., 2, 4) -> (..., 3): numpy only (np.stack), which is what the transformer passes
    mass = kinematics.mass(kinematics.system(p))
    return np.stack([mass, kinematics.pt(p[..., 0, :]), kinematics.pt(p[..., 1, :])], axis=-1)


def test_user_symmetry(events):
    sym = Symmetry("pair", _pair_mass_and_pts,
                   feature_names=lambda n: ["mass", "pt_0", "pt_1"])
    out = SymmetryInvariants(symmetry=sym, log_scale=False).fit_transform(events)
    assert_allclose(out, DimuonFeatures().fit_transform(events))
    names = SymmetryInvariants(symmetry=sym).fit(events).get_feature_names_out()
    assert names.tolist() == ["mass", "pt_0", "pt_1"]


def test_user_symmetry_of_the_wrong_shape_is_refused_at_fit(events):
    sym = Symmetry("pair", _pair_mass_and_pts, feature_names=lambda n: ["mass"])
    with pytest.raises(ValueError, match=r"Symmetry 'pair' returned shape \(2, 3\) for 2 events "
                                         r"of 2 particles; expected \(n_events, 1\)"):
        SymmetryInvariants(symmetry=sym).fit(events)


def test_unknown_symmetry_is_refused(events):
    with pytest.raises(ValueError, match="The 'symmetry' parameter of SymmetryInvariants must be"):
        SymmetryInvariants(symmetry="galilean").fit(events)
