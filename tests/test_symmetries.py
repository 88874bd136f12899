"""The symmetry registry and the invariant maps: each map unchanged under its group's
transformations to float precision and changed by transformations outside it, the same in numpy
and torch, and exported to ONNX."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.events import to_particles
from sklearn_bsym.preprocessing import DetectorResolution, MomentumSmearer
from sklearn_bsym.symmetries import (
    SYMMETRIES,
    Symmetry,
    get_symmetry,
    invariance_error,
    random_longitudinal_transformation,
    random_lorentz_transformation,
)

#: Float64 rounding of an invariant feature, relative to the largest feature (see
#: invariance_error); every change the tests call a change is above 1e-3.
ROUNDING = 1e-10


def _massive(n, n_particles, seed):
    """Events of massive particles (masses 0.1 to 10 GeV) with random momenta, one padding slot
    in every fifth event."""
    rng = np.random.default_rng(seed)
    p = np.empty((n, n_particles, 4))
    p[..., :3] = rng.normal(0.0, 40.0, (n, n_particles, 3))
    p[..., 3] = np.sqrt((p[..., :3] ** 2).sum(-1) + rng.uniform(0.1, 10.0, (n, n_particles)) ** 2)
    p[::5, -1] = 0.0
    return p


@pytest.fixture(scope="module")
def dimuons():
    return to_particles(make_dimuon_events(500, random_state=3)[0])


@pytest.fixture(scope="module", params=["dimuons", "massive"])
def particles(request, dimuons):
    return dimuons if request.param == "dimuons" else _massive(300, 3, seed=1)


def _transverse_boost(p, rng):
    """A boost along x by rapidity 0.5: a Lorentz transformation outside the longitudinal
    group."""
    return kinematics.boost(p, np.array([np.tanh(0.5), 0.0, 0.0]))


def _scale_px(p, rng):
    """px scaled by 1.2: a linear map outside the Lorentz group (and its subgroups)."""
    out = p.copy()
    out[..., 0] *= 1.2
    return out


def _smear_phi_dependent(p, rng):
    """The phi-dependent detector: it changes pT, so it is outside both groups."""
    flat = p.reshape(len(p), -1)
    smearer = MomentumSmearer(DetectorResolution(0.1, strength=0.5), random_state=0)
    return to_particles(smearer.fit_transform(flat))


@pytest.mark.parametrize("name", list(SYMMETRIES))
def test_each_map_is_invariant_under_its_group(particles, name):
    assert invariance_error(name, particles, random_state=0).max() < ROUNDING


def test_lorentz_invariants_are_invariant_under_the_longitudinal_subgroup(particles):
    assert invariance_error("lorentz", particles, transformation="longitudinal",
                            random_state=1).max() < ROUNDING


def test_longitudinal_invariants_change_under_lorentz_transformations(particles):
    # kinematics' longitudinal invariants alone (the library's map adds Lorentz invariants,
    # whose scale would hide the angles' changes in invariance_error's one scale)
    minimal = Symmetry("minimal", kinematics.longitudinal_invariants,
                       kinematics.longitudinal_feature_names)
    names = minimal.get_feature_names(particles.shape[1])
    for transformation in ("lorentz", _transverse_boost):
        error = dict(zip(names, invariance_error(minimal, particles,
                                                 transformation=transformation,
                                                 random_state=2), strict=True))
        # pT, rapidity differences and azimuthal differences all change; masses do not
        assert min(error["pt_0"], error["dy_01"], error["cos_dphi_01"]) > 1e-3, error
        assert max(v for k, v in error.items() if k.startswith("m2_")) < ROUNDING


def test_longitudinal_map_adds_the_lorentz_invariants(particles):
    n = particles.shape[1]
    names = SYMMETRIES["longitudinal"].get_feature_names(n)
    features = SYMMETRIES["longitudinal"].transform(particles)
    assert names == kinematics.longitudinal_feature_names(n) + [
        name for name in kinematics.invariant_feature_names(n)
        if name not in kinematics.longitudinal_feature_names(n)]
    frame = dict(zip(names, features.T, strict=True))
    lorentz = dict(zip(kinematics.invariant_feature_names(n),
                       kinematics.minkowski_invariants(particles).T, strict=True))
    for name, values in lorentz.items():
        assert_allclose(frame[name], values, rtol=0, atol=0)
    error = dict(zip(names, invariance_error("longitudinal", particles, transformation="lorentz",
                                             random_state=2), strict=True))
    # its Lorentz invariants do not change, its pTs do
    assert max(error[name] for name in lorentz) < ROUNDING
    assert error["pt_0"] > 1e-3


@pytest.mark.parametrize("name", list(SYMMETRIES))
@pytest.mark.parametrize("outside", [_scale_px, _smear_phi_dependent])
def test_every_map_changes_outside_its_group(dimuons, name, outside):
    error = invariance_error(name, dimuons, transformation=outside)
    names = SYMMETRIES[name].get_feature_names(2)
    changed = {n for n, e in zip(names, error, strict=True) if e > 1e-3}
    # the pair's mass (Lorentz) or the pTs (longitudinal) see what the map outside does
    assert changed & {"m2_01", "dot_01", "pt_0", "pt_1"}, dict(zip(names, error, strict=True))


def test_rapidity_differences_are_exact_where_pseudorapidity_differences_are_not():
    p = _massive(200, 2, seed=4)[1::5]  # no padding
    p[:, :, :3] *= 0.05  # slow particles: pT ~ 2 GeV against masses up to 10 GeV
    boosted = kinematics.boost_z(p, np.full((len(p), 1), 1.5))
    dy = kinematics.longitudinal_invariants(p)[:, 4]
    assert_allclose(kinematics.longitudinal_invariants(boosted)[:, 4], dy, rtol=0, atol=1e-12)
    deta = kinematics.eta(p[:, 0]) - kinematics.eta(p[:, 1])
    deta_boosted = kinematics.eta(boosted[:, 0]) - kinematics.eta(boosted[:, 1])
    assert np.abs(deta_boosted - deta).max() > 0.1


def test_longitudinal_invariants_by_hand():
    # p1: pT 5, phi atan2(4, 3), y = 0.5 log(18 / 8); p2: pT 3, phi pi, y = 0; both m2 = 9
    p = np.array([[3.0, 4.0, 6.0, np.sqrt(25 + 36 + 9.0)], [-3.0, 0.0, 0.0, np.sqrt(18.0)]])
    y1 = 0.5 * np.log((p[0, 3] + 6.0) / (p[0, 3] - 6.0))
    expected = [5.0, 3.0, 9.0, 9.0, y1, -3 / 5, -4 / 5]  # phi_1 - phi_2 = atan2(4, 3) - pi
    assert_allclose(kinematics.longitudinal_invariants(p), expected, rtol=1e-12)
    assert_allclose(kinematics.longitudinal_invariants(p, log_scale=True),
                    kinematics.signed_log(np.array(expected)), rtol=1e-12)


def test_longitudinal_invariants_of_padding_and_names():
    p = np.zeros((1, 3, 4))
    p[0, 0] = [3.0, 4.0, 0.0, 5.0]
    p[0, 1] = [0.0, -2.0, 1.0, np.sqrt(5.0)]
    out = kinematics.longitudinal_invariants(p)
    names = kinematics.longitudinal_feature_names(3)
    assert len(names) == out.shape[-1] == 3 + 3 + 3 * 3
    row = dict(zip(names, out[0], strict=True))
    assert row["pt_2"] == row["m2_2"] == row["dy_02"] == row["dy_12"] == 0.0
    assert row["cos_dphi_02"] == row["sin_dphi_12"] == 0.0
    assert_allclose([row["cos_dphi_01"], row["sin_dphi_01"]], [-0.8, 0.6])  # 3*0 + 4*(-2) / 10
    assert kinematics.longitudinal_feature_names(11)[-1] == "sin_dphi_9_10"


def test_rotate_z():
    p = _massive(50, 2, seed=5)[1::5]  # no padding (its phi is 0 by definition)
    angle = np.random.default_rng(0).uniform(-3, 3, (len(p), 1))
    out = kinematics.rotate_z(p, angle)
    assert_allclose(kinematics.phi(out), np.angle(np.exp(1j * (kinematics.phi(p) + angle))),
                    atol=1e-12)
    assert_allclose(out[..., 2:], p[..., 2:])
    assert_allclose(kinematics.pt(out), kinematics.pt(p), rtol=1e-12)


@pytest.mark.parametrize("transformation",
                         [random_lorentz_transformation, random_longitudinal_transformation])
def test_random_transformations_are_lorentz_and_random(transformation):
    p = _massive(200, 2, seed=6)
    out = transformation(p, np.random.default_rng(0))
    assert_allclose(kinematics.m2(out), kinematics.m2(p), atol=1e-9)
    assert_allclose(kinematics.dot(out[:, 0], out[:, 1]), kinematics.dot(p[:, 0], p[:, 1]),
                    rtol=1e-9)
    assert np.all(out[::5, -1] == 0.0)  # padding stays padding
    moved = np.abs(out - p).max(axis=(1, 2))
    assert (moved > 1e-3).all()
    again = transformation(p, np.random.default_rng(0))
    assert_allclose(again, out)
    if transformation is random_longitudinal_transformation:
        assert_allclose(kinematics.pt(out), kinematics.pt(p), rtol=1e-12)


@pytest.mark.parametrize("name", list(SYMMETRIES))
def test_numpy_and_torch_agree(particles, name):
    sym = SYMMETRIES[name]
    ours = sym.transform(particles)
    theirs = sym.transform(torch.from_numpy(particles))
    assert isinstance(theirs, torch.Tensor) and theirs.dtype == torch.float64
    assert_allclose(theirs.numpy(), ours, rtol=1e-12, atol=1e-9)
    assert ours.shape[-1] == len(sym.get_feature_names(particles.shape[1]))


def test_lorentz_is_minkowski_invariants(dimuons):
    sym = get_symmetry("lorentz")
    assert sym.transform(dimuons).tolist() == kinematics.minkowski_invariants(dimuons).tolist()
    assert sym.get_feature_names(3) == kinematics.invariant_feature_names(3)
    assert get_symmetry(sym) is sym


class _PairMass(torch.nn.Module):
    """A user's invariant map as a torch module: the pair's mass and the muons' pT."""

    def forward(self, p):
        # p: (..., 2, 4) -> (..., 3)
        pair = p.sum(-2)
        return torch.stack([kinematics.mass(pair), kinematics.pt(p[..., 0, :]),
                            kinematics.pt(p[..., 1, :])], dim=-1)


def test_user_symmetry_from_a_torch_module(dimuons):
    sym = Symmetry("pair", _PairMass())
    out = sym.transform(dimuons)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    assert_allclose(out[:, 0], kinematics.mass(kinematics.system(dimuons)), rtol=1e-12)
    assert sym.get_feature_names(2) == ["pair_0", "pair_1", "pair_2"]
    # invariant under the longitudinal group, not under Lorentz transformations (the pTs)
    assert invariance_error(sym, dimuons, transformation="longitudinal").max() < ROUNDING
    assert invariance_error(sym, dimuons, transformation="lorentz").max() > 1e-3
    with pytest.raises(ValueError, match="'pair' has no random_transformation"):
        invariance_error(sym, dimuons)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": "", "invariants": kinematics.pt}, ValueError, "name must be a non-empty str"),
        ({"name": "x", "invariants": None}, TypeError, "invariants must be a callable, got"),
        ({"name": "x", "invariants": kinematics.pt, "feature_names": ["a"]}, TypeError,
         "feature_names must be a callable or None, got list"),
    ],
)
def test_bad_symmetry(kwargs, error, match):
    with pytest.raises(error, match=match):
        Symmetry(**kwargs)


def test_bad_names_and_shapes(dimuons):
    with pytest.raises(ValueError, match="symmetry must be one of 'lorentz', 'longitudinal' or"):
        get_symmetry("galilean")
    with pytest.raises(ValueError, match=r"shape \(n_events, n_particles, 4\), got \(500, 8\)"):
        invariance_error("lorentz", dimuons.reshape(500, 8))


# ---------------------------------------------------------------- ONNX
class _Features(torch.nn.Module):
    """Flat events (N, 4 P) -> a symmetry's invariant features, as a network would compute them
    (in ``dtype``)."""

    def __init__(self, symmetry, dtype):
        super().__init__()
        self.symmetry, self.dtype = symmetry, dtype

    def forward(self, x):
        # x: (N, 4 P) [px, py, pz, E] per particle in GeV -> (N, n_features)
        return self.symmetry.transform(x.reshape(x.shape[0], -1, 4).to(self.dtype))


@pytest.mark.parametrize("name", list(SYMMETRIES))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_library_maps_export_to_onnx(tmp_path, dimuons, name, dtype):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    onnxruntime = pytest.importorskip("onnxruntime")
    module = _Features(SYMMETRIES[name], dtype).eval()
    events = np.concatenate([dimuons.reshape(len(dimuons), 8),
                             np.zeros((1, 8))])  # and an all-padding event
    x = torch.from_numpy(events).to(dtype)
    with warnings.catch_warnings():  # the exporter's own deprecations
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        program = torch.onnx.export(module, (x[:2],), input_names=["events"],
                                    output_names=["features"], opset_version=18,
                                    dynamic_shapes=({0: torch.export.Dim("n_events")},),
                                    dynamo=True, verbose=False, external_data=False)
    path = tmp_path / f"{name}.onnx"
    onnx.save(program.model_proto, path)
    session = onnxruntime.InferenceSession(str(path))
    got = session.run(None, {"events": x.numpy()})[0]
    expected = module(x).numpy()
    assert got.shape == expected.shape and np.isfinite(got).all()
    # Rounding in units of the event's energy: a massless muon's m2 is 0 up to eps * E^2.
    energy = np.maximum(events[:, 3::4].sum(axis=1, keepdims=True), 1.0)
    power = [2 if n.startswith(("dot", "m2")) else 1 if n.startswith("pt") else 0
             for n in SYMMETRIES[name].get_feature_names(2)]
    eps = 1e-14 if dtype == torch.float64 else 1e-6
    assert np.all(np.abs(got - expected) <= eps * energy ** np.array(power)), name
