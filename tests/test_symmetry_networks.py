"""The symmetry as a parameter of the networks (issue 36): each invariant branch unchanged under
its group's transformations to float precision and changed under the others, the chain hybrid
and its symmetry factor over K branches, a symmetry of the user's own, model files and ONNX."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.deploy import load_model, save_model
from sklearn_bsym.events import to_particles
from sklearn_bsym.nn import (
    EnsembleClassifier,
    HybridClassifier,
    HybridNetwork,
    InvariantClassifier,
    InvariantNetwork,
    ParticleFlowNetwork,
    n_invariants,
    plot_symmetry_factor,
    symmetry_factor_table,
)
from sklearn_bsym.nn._modules import symmetry_chain
from sklearn_bsym.preprocessing import (
    DetectorResolution,
    MomentumSmearer,
    PtReweightedClassifier,
    SymmetryInvariants,
)
from sklearn_bsym.symmetries import SYMMETRIES, Symmetry

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CHAIN = ("lorentz", "longitudinal")
#: Tiny networks: the tests check the plumbing and the symmetry, not the physics.
TINY_HYBRID = {"Phi_sizes": (16, 8), "invariant_sizes": (16, 8), "weight_sizes": (8,),
               "F_sizes": (16,)}


@pytest.fixture(scope="module")
def data():
    return make_dimuon_events(1500, random_state=0)


@pytest.fixture(scope="module")
def events():
    """Float64 particles of generated events, measured (so no symmetry of the events themselves
    hides a network's dependence)."""
    X = MomentumSmearer(0.1, random_state=1).fit_transform(make_dimuon_events(400,
                                                                              random_state=2)[0])
    return to_particles(X)


def _scale_px(p, rng):
    """Not a symmetry of either group: px scaled by 1.3 (E kept)."""
    out = p.copy()
    out[..., 0] *= 1.3
    return out


#: The transformations each branch must see through, and those it must not.
GROUPS = {
    "lorentz": SYMMETRIES["lorentz"].random_transformation,
    "longitudinal": SYMMETRIES["longitudinal"].random_transformation,
    "outside": _scale_px,
}
INVARIANT_UNDER = {
    "lorentz": ("lorentz", "longitudinal"),  # the longitudinal group is a subgroup
    "longitudinal": ("longitudinal",),
    "general": (),
}


def _branch_output(branch, particles):
    """A branch's output in float64 (evaluation mode), (N, width)."""
    with torch.no_grad():
        return branch(torch.as_tensor(particles)).numpy()


@pytest.fixture(scope="module")
def branches():
    """Every branch of the chain hybrid (float64, evaluation mode) by its group's name, after
    a few training steps so that BatchNorm statistics and weights are not the initial ones."""
    torch.manual_seed(0)
    net = HybridNetwork(**TINY_HYBRID, symmetry=CHAIN)
    X, y = make_dimuon_events(512, random_state=5)
    x, t = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(5):
        optimizer.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(net(x), t).backward()
        optimizer.step()
    net = net.double().eval()
    return {"general": net.general, "lorentz": net.invariant, "longitudinal": net.chain[0]}


@pytest.mark.parametrize("branch", ["general", "lorentz", "longitudinal"])
@pytest.mark.parametrize("group", list(GROUPS))
def test_each_branch_is_invariant_under_its_group_only(branches, events, branch, group):
    module = branches[branch]
    before = _branch_output(module, events)
    after = _branch_output(module, GROUPS[group](events, np.random.default_rng(3)))
    change = np.abs(after - before).max() / np.abs(before).max()
    if group in INVARIANT_UNDER[branch]:
        assert change < 1e-9, change  # float64 rounding of the invariants, through the MLP
    else:
        assert change > 1e-3, change


@pytest.mark.parametrize("symmetry", list(SYMMETRIES))
def test_an_invariant_network_is_invariant_under_its_group(events, symmetry):
    torch.manual_seed(0)
    net = InvariantNetwork(hidden_sizes=(16, 16), symmetry=symmetry).double().eval()
    assert net.net.n_features == n_invariants(2, symmetry)
    before = _branch_output(net, events)
    for group, transform in GROUPS.items():
        after = _branch_output(net, transform(events, np.random.default_rng(4)))
        change = np.abs(after - before).max() / np.abs(before).max()
        assert (change < 1e-9) == (group in INVARIANT_UNDER[symmetry]), (group, change)


def test_the_general_network_sees_every_transformation(events):
    torch.manual_seed(0)
    net = ParticleFlowNetwork(Phi_sizes=(16, 8), F_sizes=(16,)).double().eval()
    before = _branch_output(net, events)
    for transform in GROUPS.values():
        after = _branch_output(net, transform(events, np.random.default_rng(4)))
        assert np.abs(after - before).max() / np.abs(before).max() > 1e-3


def test_the_paper_hybrid_has_no_chain_and_two_weights(data):
    net = HybridNetwork(**TINY_HYBRID)
    assert not any(key.startswith("chain") for key in net.state_dict())
    assert net.branch_names == ("general", "lorentz")
    _, weights = net.eval()(torch.as_tensor(data[0][:50], dtype=torch.float32),
                            return_weights=True)
    assert weights.shape == (50, 2)


@pytest.mark.parametrize("init", [0.88, 0.99])
def test_the_chain_starts_on_its_most_constrained_branch(data, init):
    net = HybridNetwork(**TINY_HYBRID, symmetry=CHAIN, invariant_weight_init=init).eval()
    assert net.branch_names == ("general", "lorentz", "longitudinal")
    _, weights = net(torch.as_tensor(data[0][:200], dtype=torch.float32), return_weights=True)
    assert weights.shape == (200, 3)
    assert_allclose(weights.sum(1).detach().numpy(), 1.0, rtol=1e-6)
    # the first invariant branch gets init, the two others share the rest
    mean = weights.mean(0).detach().numpy()
    assert_allclose(mean, [(1 - init) / 2, init, (1 - init) / 2], atol=0.02)


@pytest.mark.parametrize("pooling", ["weighted", "concat", "concat_weight", "concat_context"])
def test_the_chain_pools_every_branch(data, pooling):
    net = HybridNetwork(**TINY_HYBRID, symmetry=CHAIN, pooling=pooling,
                        context="pt_eta_phi").eval()
    width = {"weighted": 8, "concat": 24, "concat_weight": 26, "concat_context": 28}[pooling]
    assert net.F[0].in_features == width
    assert net(torch.as_tensor(data[0][:5], dtype=torch.float32)).shape == (5,)


def test_the_phi_context_is_the_first_particles_direction(data):
    net = HybridNetwork(**TINY_HYBRID, context="pt_eta_phi")
    p = torch.as_tensor(to_particles(data[0][:20]))
    context = net.context_of(p).numpy()
    phi = kinematics.phi(p[:, 0]).numpy()
    assert context.shape == (20, 4)
    assert_allclose(context[:, 2:], np.column_stack([np.cos(phi), np.sin(phi)]), atol=1e-12)


@pytest.mark.parametrize("symmetry, match", [
    ((), "at least one symmetry"),
    (("lorentz", "lorentz"), "twice"),
    (("lorentz", "sideways"), "symmetry must be one of"),
])
def test_a_bad_chain_is_refused(symmetry, match):
    with pytest.raises(ValueError, match=match):
        symmetry_chain(symmetry)


def test_a_bad_symmetry_gets_the_parameter_message(data):
    with pytest.raises(ValueError, match="The 'symmetry' parameter of InvariantClassifier"):
        InvariantClassifier(symmetry="sideways").fit(*data)


def test_precomputed_invariants_are_those_of_the_transformer(data):
    X, _ = data
    torch.manual_seed(0)
    precomputed = InvariantNetwork(hidden_sizes=(8,), symmetry="longitudinal",
                                   precomputed=True, log_scale=False).eval()
    torch.manual_seed(0)
    direct = InvariantNetwork(hidden_sizes=(8,), symmetry="longitudinal",
                              log_scale=False).eval()
    features = SymmetryInvariants(symmetry="longitudinal", log_scale=False).fit_transform(X)
    assert features.shape == (len(X), 9)
    # the direct network removes the float32 rounding of the massless muons' m^2 first
    features[:, 2:4] = 0.0
    with torch.no_grad():
        b = direct(torch.as_tensor(X[:5], dtype=torch.float32))
        c = precomputed(torch.as_tensor(features[:5], dtype=torch.float32))
    assert_allclose(b.numpy(), c.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"SymmetryInvariants\(symmetry='longitudinal'"):
        precomputed(torch.as_tensor(X[:5], dtype=torch.float32))


# ------------------------------------------------------------ classifiers and the factor
@pytest.fixture(scope="module")
def chain(data):
    return HybridClassifier(**TINY_HYBRID, symmetry=CHAIN, max_epochs=3,
                            random_state=0).fit(*data)


def test_the_chain_symmetry_factor_has_a_column_per_branch(chain, data):
    X, _ = data
    weights = chain.symmetry_factor(X)
    assert chain.branches_ == ("general", "lorentz", "longitudinal")
    assert weights.shape == (len(X), 3)
    assert_allclose(weights.sum(1), 1.0, rtol=1e-6)
    table = symmetry_factor_table(chain, X, bins=4)
    assert table.columns.tolist() == [
        "pt_low", "pt_high", "pt_center", "w_general_mean", "w_general_std", "w_lorentz_mean",
        "w_lorentz_std", "w_longitudinal_mean", "w_longitudinal_std", "count"]
    assert_allclose(table[["w_general_mean", "w_lorentz_mean", "w_longitudinal_mean"]]
                    .sum(axis=1), 1.0, rtol=1e-6)
    assert table.attrs["branches"] == chain.branches_
    ax = plot_symmetry_factor(table)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"w_general (mean per bin)", "w_longitudinal (mean per bin)"} <= set(labels)
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_the_paper_hybrid_keeps_its_table(data):
    clf = HybridClassifier(**TINY_HYBRID, max_epochs=1, random_state=0).fit(*data)
    assert clf.branches_ == ("general", "lorentz")
    assert symmetry_factor_table(clf, data[0], bins=3).columns.tolist() == [
        "pt_low", "pt_high", "pt_center", "w_general_mean", "w_general_std", "count"]


def test_an_ensemble_of_chains_predicts_as_its_members(data):
    X, y = data
    ensemble = EnsembleClassifier(HybridClassifier(**TINY_HYBRID, symmetry=CHAIN, max_epochs=2),
                                  n_members=2, random_state=0).fit(X, y)
    mean = np.mean([m.predict_proba(X)[:, 1] for m in ensemble.members_], axis=0)
    assert_allclose(ensemble.predict_proba(X)[:, 1], mean, atol=1e-5)
    assert ensemble.members_[1].symmetry_factor(X[:5]).shape == (5, 3)


# ------------------------------------------------------------ a symmetry of one's own
class _AzimuthalMap(torch.nn.Module):
    """Invariants of rotations about the beam: each particle's pT, pz and E."""

    def forward(self, p):
        return torch.cat([kinematics.pt(p), p[..., 2], p[..., 3]], dim=-1)


def _azimuthal_function(p):
    parts = [kinematics.pt(p), p[..., 2], p[..., 3]]
    return torch.cat(parts, dim=-1) if torch.is_tensor(p) else np.concatenate(parts, axis=-1)


@pytest.fixture(scope="module", params=["module", "function"])
def own(request):
    invariants = _AzimuthalMap() if request.param == "module" else _azimuthal_function
    return Symmetry("azimuthal", invariants)


def test_a_network_of_ones_own_symmetry_is_invariant_under_it(own, data, events):
    X, y = data
    clf = InvariantClassifier(symmetry=own, hidden_sizes=(16,), max_epochs=2,
                              random_state=0).fit(X, y)
    net = clf.module_.double().eval()
    rotated = kinematics.rotate_z(events, np.random.default_rng(0).uniform(-np.pi, np.pi,
                                                                          (len(events), 1)))
    before, after = _branch_output(net, events), _branch_output(net, rotated)
    assert np.abs(after - before).max() < 1e-9 * np.abs(before).max()
    boosted = kinematics.boost_z(events, np.full((len(events), 1), 0.7))
    assert np.abs(_branch_output(net, boosted) - before).max() > 1e-3


def test_a_symmetry_of_ones_own_is_refused_by_model_files_in_one_line(own, data, tmp_path):
    clf = HybridClassifier(**TINY_HYBRID, symmetry=("lorentz", own), max_epochs=1,
                           random_state=0).fit(*data)
    with pytest.raises(ValueError, match=r"^Cannot save the HybridClassifier: its symmetry "
                                         r"Symmetry\('azimuthal'\) is an invariant map of "
                                         r"your own[^\n]*to_onnx\)\.$"):
        save_model(clf, tmp_path / "m.skops")
    with pytest.raises(ValueError, match=r"Symmetry\('azimuthal'\)"):
        save_model(SymmetryInvariants(symmetry=own), tmp_path / "t.skops")
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------ model files and ONNX
def test_model_files_keep_the_symmetry(chain, data, tmp_path):
    X, y = data
    models = {
        "chain": chain,
        "longitudinal": InvariantClassifier(symmetry="longitudinal", hidden_sizes=(8,),
                                            max_epochs=1, random_state=0).fit(X, y),
        # a library symmetry given as its Symmetry is stored by its name
        "object": InvariantClassifier(symmetry=SYMMETRIES["longitudinal"], hidden_sizes=(8,),
                                      max_epochs=1, random_state=0).fit(X, y),
        "ensemble": EnsembleClassifier(
            HybridClassifier(**TINY_HYBRID, symmetry=CHAIN, max_epochs=1), n_members=2,
            random_state=0).fit(X, y),
    }
    for name, model in models.items():
        loaded = load_model(save_model(model, tmp_path / f"{name}.skops"))
        assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert load_model(tmp_path / "object.skops").symmetry == "longitudinal"
    assert load_model(tmp_path / "chain.skops").symmetry == CHAIN
    members = load_model(tmp_path / "ensemble.skops").members_
    assert [m.symmetry for m in members] == [CHAIN, CHAIN]


def test_a_model_that_smears_with_a_detector_is_stored(data, tmp_path):
    import skops.io
    from sklearn.pipeline import Pipeline

    from sklearn_bsym.deploy import measured_model
    from sklearn_bsym.deploy._persist import _trusted_types

    X, y = data
    detector = DetectorResolution(0.1, strength=0.9, phi_periods=2, endcap=0.1)
    model = Pipeline([
        ("smear", MomentumSmearer(detector, random_state=0)),
        ("clf", PtReweightedClassifier(InvariantClassifier(hidden_sizes=(8,), max_epochs=1,
                                                           random_state=0))),
    ]).fit(X, y)
    path = save_model(model, tmp_path / "m.skops")
    # the file holds the smearer with its detector
    stored = skops.io.load(path, trusted=_trusted_types())
    assert stored.steps[0][1].resolution.get_params() == detector.get_params()
    measured = model[:1].transform(X)
    assert_array_equal(measured_model(load_model(path)).predict_proba(measured),
                       measured_model(model).predict_proba(measured))


@pytest.fixture(scope="module")
def onnxruntime():
    pytest.importorskip("onnxscript")
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("name", ["longitudinal", "chain", "chain_ensemble", "own"])
def test_onnx_of_each_symmetry_matches_predict_proba(onnxruntime, data, tmp_path, name):
    from sklearn_bsym.deploy import ONNX_INPUT, to_onnx

    X, y = data
    tiny = {"max_epochs": 2, "random_state": 0}
    model = {
        "longitudinal": lambda: InvariantClassifier(symmetry="longitudinal", hidden_sizes=(16,),
                                                    **tiny),
        "chain": lambda: HybridClassifier(**TINY_HYBRID, symmetry=CHAIN, context="pt_eta_phi",
                                          **tiny),
        "chain_ensemble": lambda: EnsembleClassifier(
            HybridClassifier(**TINY_HYBRID, symmetry=CHAIN, max_epochs=2), n_members=2,
            random_state=0),
        # a map of one's own exports where torch can trace it
        "own": lambda: InvariantClassifier(symmetry=Symmetry("azimuthal", _AzimuthalMap()),
                                           hidden_sizes=(16,), **tiny),
    }[name]().fit(X, y)
    events = make_dimuon_events(20_000, random_state=7)[0].astype(np.float32)
    session = onnxruntime.InferenceSession(str(to_onnx(model, tmp_path / f"{name}.onnx")))
    p = session.run(None, {ONNX_INPUT: events})[0]
    # float32 sums in another order: a few 1e-6 (see test_deploy's parity test)
    assert np.abs(p - model.predict_proba(events)[:, 1]).max() <= 2e-5
