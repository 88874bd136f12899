"""Torch modules of sklearn_bsym.nn: shapes, permutation invariance, padding, options."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.nn import (
    HybridNetwork,
    InvariantNetwork,
    ParticleFlowNetwork,
    make_mlp,
    n_invariants,
)
from sklearn_bsym.nn._callbacks import recalibrate_batchnorm
from sklearn_bsym.nn._modules import MASS_ROUNDING, PARTICLE_INPUTS, _without_mass_rounding
from sklearn_bsym.preprocessing import MomentumSmearer


def _events(n=16, n_particles=2, seed=0):
    """Massless four-vectors (N, P, 4) with momenta of tens of GeV."""
    g = torch.Generator().manual_seed(seed)
    p3 = 40.0 * torch.randn(n, n_particles, 3, generator=g)
    return torch.cat([p3, p3.norm(dim=-1, keepdim=True)], dim=-1)


def test_make_mlp_layers():
    mlp = make_mlp(4, [8, 6, 1])
    kinds = [type(m).__name__ for m in mlp]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert mlp[-1].bias is not None
    latent = make_mlp(4, [8, 3], activate_last=True, dropout=0.5)
    assert [type(m).__name__ for m in latent][-2:] == ["BatchNorm1d", "ReLU"]
    assert sum(isinstance(m, torch.nn.Dropout) for m in latent) == 1


@pytest.mark.parametrize("sizes", [[], [4, 0]])
def test_make_mlp_rejects_bad_sizes(sizes):
    with pytest.raises(ValueError, match="positive layer sizes"):
        make_mlp(4, sizes)


def test_default_sizes_match_the_authors():
    pfn = ParticleFlowNetwork()
    widths = [m.out_features for m in pfn.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [128, 128, 16, 512, 256, 128, 1]
    inv = InvariantNetwork()
    widths = [m.out_features for m in inv.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [512, 256, 256, 128, 1]
    hyb = HybridNetwork()
    assert [m.out_features for m in hyb.general.modules() if isinstance(m, torch.nn.Linear)] == [
        64, 16]
    assert [m.out_features for m in hyb.weight_net if isinstance(m, torch.nn.Linear)] == [
        64, 64, 2]


@pytest.mark.parametrize("module", [ParticleFlowNetwork, InvariantNetwork, HybridNetwork])
@pytest.mark.parametrize("flat", [True, False])
def test_forward_shapes(module, flat):
    net = module().eval()
    p = _events(7)
    out = net(p.reshape(7, 8) if flat else p)
    assert out.shape == (7,)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("module", [ParticleFlowNetwork, InvariantNetwork, HybridNetwork])
def test_batch_of_one_in_eval(module):
    net = module().eval()
    assert net(_events(1)).shape == (1,)


def test_pfn_is_permutation_invariant_in_training_and_eval():
    net = ParticleFlowNetwork(Phi_sizes=(16, 8), F_sizes=(16,))
    p = _events(32, n_particles=3)
    swapped = p[:, [2, 0, 1]]
    net.train()
    # BatchNorm over particle rows: the batch statistics do not depend on the particle order.
    assert_allclose(net(p).detach().numpy(), net(swapped).detach().numpy(), rtol=1e-5, atol=1e-6)
    net.eval()
    assert_allclose(net(p).detach().numpy(), net(swapped).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_pfn_ignores_padding_slots():
    net = ParticleFlowNetwork(Phi_sizes=(16, 8), F_sizes=(16,)).eval()
    p = _events(10)
    padded = torch.cat([p, torch.zeros(10, 2, 4)], dim=1)
    assert_allclose(net(p).detach().numpy(), net(padded).detach().numpy(), rtol=1e-6)


def test_invariant_network_precomputed_matches_four_vectors():
    torch.manual_seed(1)
    net = InvariantNetwork(hidden_sizes=(8,)).eval()
    pre = InvariantNetwork(hidden_sizes=(8,), precomputed=True).eval()
    pre.load_state_dict(net.state_dict())
    p = _events(9)
    # in float64, as the network computes them (a muon's m^2 cancels in float32), each
    # particle's m^2 within its rounding floor read as 0
    raw = kinematics.minkowski_invariants(p.double())
    inv = kinematics.signed_log(_without_mass_rounding(raw, p.double())).float()
    assert inv.shape == (9, n_invariants(2))
    assert_allclose(net(p).detach().numpy(), pre(inv).detach().numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="precomputed invariants"):
        pre(p.reshape(9, 8))


def test_invariant_network_is_lorentz_invariant():
    net = InvariantNetwork(hidden_sizes=(8,)).eval().double()
    p = _events(6).double()
    boosted = kinematics.boost(p, torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64))
    assert_allclose(net(p).detach().numpy(), net(boosted).detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("pooling", ["weighted", "concat", "concat_weight", "concat_context"])
@pytest.mark.parametrize("context", ["first", "leading", "pt_eta", [0, 1, 5]])
def test_hybrid_poolings_and_contexts(pooling, context):
    net = HybridNetwork(pooling=pooling, context=context).eval()
    p = _events(5)
    assert net(p).shape == (5,)
    if pooling in ("weighted", "concat_weight"):
        logits, w = net(p, return_weights=True)
        assert w.shape == (5, 2)
        assert_allclose(w.sum(1).detach().numpy(), np.ones(5), rtol=1e-6)
    else:
        with pytest.raises(ValueError, match="has no symmetry weights"):
            net(p, return_weights=True)


def test_hybrid_context_values():
    p = _events(4)

    def read(gev):  # momenta as the networks read them: sign(p) log(1 + |p| / 100 GeV)
        return np.sign(gev) * np.log1p(np.abs(gev) / 100.0)

    assert_allclose(HybridNetwork(context="first").context_of(p)[:, 0].numpy(),
                    read(kinematics.pt(p[:, 0]).numpy()), rtol=1e-6)
    assert_allclose(HybridNetwork(context="leading").context_of(p)[:, 0].numpy(),
                    read(kinematics.pt(p).amax(1).numpy()), rtol=1e-6)
    assert_allclose(HybridNetwork(context=[6]).context_of(p)[:, 0].numpy(),
                    read(p[:, 1, 2].numpy()), rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pooling": "max"}, "pooling must be one of"),
        ({"context": "eta"}, "context must be one of"),
        ({"context": [8]}, "indices into the 8 columns"),
        ({"Phi_sizes": (64, 8)}, "must equal invariant_sizes"),
    ],
)
def test_hybrid_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HybridNetwork(**kwargs)


def test_bad_input_shape():
    with pytest.raises(ValueError, match="4 columns"):
        ParticleFlowNetwork()(torch.zeros(3, 7))


@pytest.mark.parametrize("init", [0.5, 0.88, 0.99])
def test_hybrid_symmetry_factor_starts_where_asked(init):
    torch.manual_seed(0)
    net = HybridNetwork(invariant_weight_init=init).eval()
    X, _ = make_dimuon_events(500, random_state=0)
    _, weights = net(torch.as_tensor(X, dtype=torch.float32), return_weights=True)
    assert_allclose(weights[:, 1].detach(), init, atol=0.02)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.2, 1.5])
def test_hybrid_symmetry_factor_start_is_checked(bad):
    with pytest.raises(ValueError, match="invariant_weight_init must be None or a weight in"):
        HybridNetwork(invariant_weight_init=bad)


def test_particle_inputs_collider_features_and_padding():
    torch.manual_seed(0)
    net = ParticleFlowNetwork(Phi_sizes=(8, 4), F_sizes=(8,), particle_inputs="collider").eval()
    X, _ = make_dimuon_events(50, random_state=0)
    x = torch.as_tensor(X, dtype=torch.float32).reshape(-1, 2, 4)
    feats = net.particle_map.features(x)
    assert feats.shape == (50, 2, 7)
    assert_allclose(feats[..., :4], torch.sign(x) * torch.log1p(x.abs() / 100), rtol=1e-5)
    assert_allclose(feats[..., 4], torch.log1p(torch.hypot(x[..., 0], x[..., 1]) / 100),
                    rtol=1e-5)
    assert_allclose(feats[..., 6], torch.asinh(x[..., 2] / torch.hypot(x[..., 0], x[..., 1])),
                    rtol=1e-4, atol=1e-5)
    # A padded third slot changes nothing and gives finite features (no log 0, no 0/0).
    padded = torch.cat([x, torch.zeros(50, 1, 4)], dim=1)
    assert torch.isfinite(net.particle_map.features(padded)).all()
    assert_allclose(net(padded).detach(), net(x).detach(), atol=1e-5)
    with pytest.raises(ValueError, match="particle_inputs must be one of"):
        ParticleFlowNetwork(particle_inputs="polar")



def _tail_event(energy: float) -> torch.Tensor:
    """One dimuon event (1, 2, 4) whose first muon has ``energy`` GeV (pT ``energy / 5.4``, eta
    2.37, inside the acceptance), the second back to back in phi with the same pT: a high-mass
    Drell-Yan event, or a mis-measured track."""
    pt = energy / 5.4
    first = kinematics.from_pt_eta_phi_mass(pt, float(np.arccosh(5.4)), 0.3, 0.0)
    second = kinematics.from_pt_eta_phi_mass(pt, 0.0, 0.3 + np.pi, 0.0)
    return torch.as_tensor(np.stack([first, second])[None], dtype=torch.float32)


def _batchnorm_variances(net, batches) -> list[torch.Tensor]:
    """Each BatchNorm layer's running variance, recomputed over ``batches`` as a fit's last
    step does (``recalibrate_batchnorm``)."""
    recalibrate_batchnorm(net, batches)
    return [m.running_var.clone() for m in net.modules()
            if isinstance(m, torch.nn.BatchNorm1d)]


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("energy", [6_500.0, 13_000.0])
@pytest.mark.parametrize(
    ("network", "kwargs"),
    [(ParticleFlowNetwork, {}), (InvariantNetwork, {}),
     *((HybridNetwork, {"particle_inputs": inputs}) for inputs in PARTICLE_INPUTS),
     *((HybridNetwork, {"context": context}) for context in ("leading", "pt_eta", [0, 3]))],
)
def test_one_tail_event_cannot_dominate_batchnorm(network, kwargs, energy):
    # Issue 34: momenta divided by a fixed 100 GeV made one 6.5 TeV event in 2,048 hold 4 to 24
    # times the variance of all the others at the first BatchNorm of every path (the PFN, the
    # hybrid's general subnet in each mode, its symmetry factor's context; the invariant net's
    # through the rounding noise of a muon's m^2), and prediction's running statistics followed:
    # a PFN fell from AUC 0.76 to 0.55. The event must stay one among the others: with it, no
    # BatchNorm channel's variance grows by half.
    torch.manual_seed(0)
    net = network(**kwargs)
    X, _ = make_dimuon_events(2048, random_state=0)
    X = MomentumSmearer(0.10, random_state=1).fit_transform(X)
    x = torch.as_tensor(X, dtype=torch.float32).reshape(-1, 2, 4)
    batches = list(x.split(128))
    with_tail = [b.clone() for b in batches]
    with_tail[1][7] = _tail_event(energy)[0]
    bulk = _batchnorm_variances(net, batches)
    tail = _batchnorm_variances(net, with_tail)
    growth = [float((t / b.clamp_min(1e-6)).max()) for t, b in zip(tail, bulk, strict=True)]
    assert max(growth) < 1.5, growth


def test_invariant_inputs_hold_no_mass_rounding_noise():
    # A massless muon's m^2 from float32 components is rounding noise growing as E^2; within
    # its floor it reads 0, and a real mass above the floor passes (less the floor).
    net = InvariantNetwork()
    seen = []
    net.net.mlp.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    tail = _tail_event(6_500.0)
    massive = torch.tensor([[[3.0, 4.0, 0.0, 13.0], [0.0, 0.0, 20.0, 20.0]]])
    net.eval()(torch.cat([tail, massive]))
    m2 = seen[0][:, 1:3]  # signed_log of m2_0, m2_1
    assert_allclose(m2[0].numpy(), [0.0, 0.0])
    assert_allclose(m2[1, 0].numpy(), np.log1p(144.0 - MASS_ROUNDING * 169.0), rtol=1e-6)
