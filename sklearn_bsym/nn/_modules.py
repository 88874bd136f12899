"""Torch modules of the three networks: particle flow (general), invariant, and hybrid.

Every module takes events in the canonical layout, either flat ``(N, 4 * P)`` or as particles
``(N, P, 4)`` with ``(px, py, pz, E)`` in GeV, and returns one logit per event ``(N,)``. Input
scaling lives inside the modules, so a fitted module needs no preprocessing:

- every momentum a network reads (four-vector components, pT, the symmetry factor's context)
  goes through :func:`momentum_inputs`, ``sign(p) log(1 + |p| / input_scale)`` with
  ``input_scale`` 100 GeV: nearly linear for the bulk of muons (40 GeV reads 0.34) and
  logarithmic in the tails, so that one event of several TeV (a high-mass Drell-Yan event, a
  mis-measured track) is a few units away from the bulk rather than a hundred. Divided by a
  fixed scale alone, such an event dominated the variance of its batch at every BatchNorm, and
  so the running statistics that prediction uses: one 6.5 TeV event in 8,000 took a PFN from
  AUC 0.76 to 0.55 (``benchmarks/default_recipe.py --tail``);
- invariants go through ``signed_log`` as in the paper (they span several orders of magnitude).

Every Linear but the last of a network is followed by BatchNorm1d and ReLU (the authors'
choice). In the particle flow map the BatchNorm normalizes over the flattened particle rows
``(N * P, C)``, never over the particle axis, so Phi is the same function for every particle and
the network is permutation invariant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .. import kinematics
from ..symmetries import SYMMETRIES, Symmetry, get_symmetry

__all__ = [
    "make_mlp",
    "momentum_inputs",
    "ParticleFlowNetwork",
    "InvariantNetwork",
    "HybridNetwork",
    "n_invariants",
    "symmetry_chain",
    "CONTEXTS",
    "POOLINGS",
    "PARTICLE_INPUTS",
]

#: Named context variables of the hybrid's weight network.
CONTEXTS = ("first", "leading", "pt_eta", "pt_eta_phi")
#: Ways the hybrid combines its two latent vectors.
POOLINGS = ("weighted", "concat", "concat_weight", "concat_context")
#: Per-particle inputs of a particle flow map: the four-vector alone ("momenta", the paper's),
#: with its pT, log pT and pseudorapidity appended ("collider"), and the same in the event's frame
#: with the particle's place in its event appended ("event": its share of the event's scalar pT
#: sum, its pseudorapidity relative to the pT-weighted axis and the event's pT balance, the way
#: particle flow networks of jets see their constituents). None of them imposes a symmetry.
PARTICLE_INPUTS = {"momenta": 4, "collider": 7, "event": 10}

#: GeV where the networks' momentum inputs turn from linear to logarithmic.
DEFAULT_INPUT_SCALE = 100.0


def momentum_inputs(p: torch.Tensor, scale: float = DEFAULT_INPUT_SCALE) -> torch.Tensor:
    """Momenta in GeV (components, pT, any column of X) as a network reads them:
    ``sign(p) log(1 + |p| / scale)``, elementwise.

    The one input map of momenta in every network of the package. Odd (a mirrored event stays
    mirrored) and nearly linear below ``scale``, it grows as a logarithm above: no single event
    of the tails can dominate the batch statistics of a BatchNorm, whatever its energy (see the
    module notes).

    >>> momentum_inputs(torch.tensor([-40.0, 0.0, 40.0, 6500.0])).round(decimals=3)
    tensor([-0.3360,  0.0000,  0.3360,  4.1900])
    """
    return kinematics.signed_log(p / scale)


def make_mlp(
    in_features: int,
    sizes: Sequence[int],
    *,
    batch_norm: bool = True,
    activate_last: bool = False,
    dropout: float = 0.0,
) -> nn.Sequential:
    """The one multilayer-perceptron builder of the package.

    Parameters
    ----------
    in_features : int
        Width of the input.
    sizes : sequence of int
        Output width of each Linear layer, in order; the last one is the output width.
    batch_norm : bool
        Follow each activated Linear by ``BatchNorm1d`` (before the ReLU, as the authors do).
    activate_last : bool
        Also follow the last Linear by BatchNorm and ReLU (for latent maps such as the particle
        flow Phi); by default the last Linear is left plain, giving logits.
    dropout : float
        Dropout probability after each hidden activation.

    Returns
    -------
    torch.nn.Sequential

    >>> [type(layer).__name__ for layer in make_mlp(4, [8, 1])]
    ['Linear', 'BatchNorm1d', 'ReLU', 'Linear']
    """
    sizes = [int(s) for s in sizes]
    if not sizes or min(sizes) < 1 or in_features < 1:
        raise ValueError(
            f"An MLP needs positive layer sizes, got in_features={in_features}, sizes={sizes}. "
            "Pass at least one positive width, e.g. (64, 16)."
        )
    layers: list[nn.Module] = []
    width = in_features
    for i, size in enumerate(sizes):
        last = i == len(sizes) - 1
        # A BatchNorm right after a Linear makes the Linear's bias redundant.
        activated = not last or activate_last
        layers.append(nn.Linear(width, size, bias=not (activated and batch_norm)))
        if activated:
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(nn.ReLU())
            if dropout and not last:
                layers.append(nn.Dropout(dropout))
        width = size
    return nn.Sequential(*layers)


def n_invariants(n_particles: int, symmetry="lorentz") -> int:
    """Number of invariant features of events of ``n_particles`` particles under
    ``symmetry`` (a name in :data:`~sklearn_bsym.symmetries.SYMMETRIES` or a
    :class:`~sklearn_bsym.symmetries.Symmetry`; default: those of
    :func:`sklearn_bsym.kinematics.minkowski_invariants`).

    >>> n_invariants(2), n_invariants(2, "longitudinal")
    (4, 9)
    """
    return len(get_symmetry(symmetry).get_feature_names(n_particles))


def symmetry_chain(symmetry) -> tuple[Symmetry, ...]:
    """The symmetries of a hybrid's invariant branches: one (a name or a
    :class:`~sklearn_bsym.symmetries.Symmetry`), or a sequence of them, a chain from the most
    constrained group to the least (e.g. ``("lorentz", "longitudinal")``), each checked.

    >>> [s.name for s in symmetry_chain(("lorentz", "longitudinal"))]
    ['lorentz', 'longitudinal']
    """
    chain = (symmetry,) if isinstance(symmetry, str | Symmetry) else tuple(symmetry)
    if not chain:
        raise ValueError("symmetry must name at least one symmetry, e.g. 'lorentz' or "
                         "('lorentz', 'longitudinal').")
    chain = tuple(get_symmetry(s) for s in chain)
    names = [s.name for s in chain]
    if len(set(names)) != len(names):
        raise ValueError(f"symmetry names a symmetry twice: {names}; each branch of the chain "
                         "needs its own group.")
    return chain


def _as_particles(x: torch.Tensor) -> torch.Tensor:
    # x: (N, 4 * P) or (N, P, 4) -> (N, P, 4)
    if x.dim() == 2:
        if x.shape[1] % 4:
            raise ValueError(
                f"Expected 4 columns (px, py, pz, E) per particle, got {x.shape[1]} columns."
            )
        return x.reshape(x.shape[0], -1, 4)
    if x.dim() != 3 or x.shape[-1] != 4:
        raise ValueError(f"Expected events of shape (N, 4 * P) or (N, P, 4), got {tuple(x.shape)}.")
    return x


class _ParticleMap(nn.Module):
    """Per-particle map Phi, masked for padding slots and summed over particles."""

    def __init__(self, sizes: Sequence[int], input_scale: float, dropout: float = 0.0,
                 inputs: str = "momenta"):
        super().__init__()
        if inputs not in PARTICLE_INPUTS:
            raise ValueError(
                f"particle_inputs must be one of {sorted(PARTICLE_INPUTS)}, got {inputs!r}."
            )
        self.inputs = inputs
        self.phi = make_mlp(PARTICLE_INPUTS[inputs], sizes, activate_last=True)
        self.input_scale = float(input_scale)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.latent_size = int(sizes[-1])

    def features(self, p: torch.Tensor) -> torch.Tensor:
        # p: (N, P, 4) [px, py, pz, E] in GeV -> (N, P, F) inputs of Phi
        if self.inputs == "event":
            # pp collisions are symmetric under z -> -z, and so is the smearing (it scales pT):
            # each event is mirrored so that its total pz >= 0, and the network need not learn
            # every function twice.
            sign = torch.where(p[..., 2].sum(-1, keepdim=True) < 0, -1.0, 1.0)  # (N, 1)
            p = torch.cat([p[..., :2], p[..., 2:3] * sign.unsqueeze(-1), p[..., 3:]], dim=-1)
        x = momentum_inputs(p, self.input_scale)
        if self.inputs == "momenta":
            return x
        # A ReLU network needs many units to build sqrt(px^2 + py^2) or arcsinh(pz / pT) from
        # the components, yet the detector's resolution (the broken symmetry) is a function of
        # pT and the generator's angular structure of eta: handing them over directly makes the
        # general subnet learn from far fewer events. Padding slots get 0 (masked anyway).
        pt = kinematics.pt(p)  # (N, P) in GeV
        eta = kinematics.eta(p).clamp(-10.0, 10.0)
        columns = [momentum_inputs(pt, self.input_scale),
                   torch.log((pt / self.input_scale).clamp_min(1e-4)), eta]
        if self.inputs == "event":
            # Where each particle sits in its event, which a sum over particles cannot see:
            # at leading order both muons have one true pT, so their pT shares differ by the
            # smearing alone; the pseudorapidities relative to the axis are +-delta eta / 2,
            # which with the pT sum fixes the true mass; the balance |sum pT| / sum |pT| is the
            # event's recoil (0 at leading order before smearing).
            total = pt.sum(-1, keepdim=True).clamp_min(1e-6)  # (N, 1)
            share = pt / total
            axis = (share * eta).sum(-1, keepdim=True)
            balance = kinematics.pt(p.sum(-2)).unsqueeze(-1) / total  # (N, 1)
            columns += [share, eta - axis, balance.expand_as(pt)]
        extra = torch.stack(columns, dim=-1)
        return torch.cat([x, torch.where(pt.unsqueeze(-1) > 0, extra, 0.0)], dim=-1)

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        # p: (N, P, 4) [px, py, pz, E] in GeV
        n, n_part, _ = p.shape
        mask = (p != 0).any(-1, keepdim=True)  # (N, P, 1), False for padding
        # Phi sees (N * P, F) rows, so BatchNorm statistics are shared by all particles.
        x = self.features(p)
        z = self.phi(x.reshape(n * n_part, x.shape[-1])).reshape(n, n_part, -1)
        # Masking after Phi: biases and BatchNorm shifts of padding rows cannot leak into the sum.
        return self.dropout((z * mask).sum(1))  # (N, latent)


class ParticleFlowNetwork(nn.Module):
    """Particle Flow Network (Komiske, Metodiev, Thaler): F(sum_i Phi(p_i)).

    Parameters
    ----------
    Phi_sizes : sequence of int
        Widths of the per-particle map; the last one is the latent dimension.
    F_sizes : sequence of int
        Hidden widths of the classifier after the sum (a final Linear to 1 logit is added).
    latent_dropout : float
        Dropout on the summed latent vector.
    input_scale : float
        GeV where the momentum inputs turn from linear to logarithmic
        (:func:`momentum_inputs`).
    particle_inputs : {"momenta", "collider"}
        Per-particle inputs of Phi: the four-vector (the paper's PFN), or the four-vector with
        pT, log pT and eta appended (see ``PARTICLE_INPUTS``).
    """

    def __init__(
        self,
        Phi_sizes: Sequence[int] = (128, 128, 16),
        F_sizes: Sequence[int] = (512, 256, 128),
        latent_dropout: float = 0.0,
        input_scale: float = DEFAULT_INPUT_SCALE,
        particle_inputs: str = "momenta",
    ):
        super().__init__()
        self.particle_map = _ParticleMap(Phi_sizes, input_scale, latent_dropout,
                                         inputs=particle_inputs)
        self.F = make_mlp(self.particle_map.latent_size, [*F_sizes, 1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (N, 4 * P) or (N, P, 4) [px, py, pz, E] in GeV -> logits (N,)
        z = self.particle_map(_as_particles(x))  # (N, latent)
        return self.F(z).squeeze(-1)


class _InvariantMap(nn.Module):
    """The invariant features of a symmetry (or precomputed ones) through an MLP.

    The symmetry's map is a fixed function of the events, not a layer: a map written as a
    ``torch.nn.Module`` is kept as an attribute of the symmetry, not as a submodule, so its
    parameters (if any) are neither trained, nor in the network's ``state_dict``, nor moved
    by ``.to()`` (it is called on the events' device in float64 unless its own parameters
    say otherwise).
    """

    def __init__(self, n_particles: int, sizes, log_scale: bool, precomputed: bool,
                 symmetry="lorentz", **mlp_kw):
        super().__init__()
        self.symmetry = get_symmetry(symmetry)
        names = self.symmetry.get_feature_names(n_particles)
        self.n_features = len(names)
        self.log_scale = bool(log_scale)
        self.precomputed = bool(precomputed)
        # The single-particle squared masses of the library's maps (one contiguous run, named
        # m2_<i>), whose float32 rounding is removed; a map of your own is taken as it is.
        masses = [names.index(f"m2_{i}") for i in range(n_particles)] if (
            SYMMETRIES.get(self.symmetry.name) is self.symmetry) else []
        self.mass_start = masses[0] if masses else None
        self.mlp = make_mlp(self.n_features, sizes, **mlp_kw)

    def invariants(self, p: torch.Tensor) -> torch.Tensor:
        # p: (N, P, 4) float64 in GeV -> (N, n_features) float64
        fn = self.symmetry.invariants
        if isinstance(fn, nn.Module):
            weights = [*fn.parameters(), *fn.buffers()]
            if weights:  # the map's own dtype and device; features back in float64
                return fn(p.to(weights[0].device, weights[0].dtype)).to(p.device, p.dtype)
        inv = fn(p)
        if self.mass_start is not None:
            inv = _without_mass_rounding(inv, p, self.mass_start)
        return inv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (N, n_features) when precomputed, else (N, 4 * P) or (N, P, 4) in GeV
        if self.precomputed:
            if x.dim() != 2 or x.shape[1] != self.n_features:
                raise ValueError(
                    f"Expected precomputed invariants of shape (N, {self.n_features}), got "
                    f"{tuple(x.shape)}. Compute them with SymmetryInvariants(symmetry="
                    f"{self.symmetry.name!r}, log_scale=False) or the symmetry's transform."
                )
            inv = x
        else:
            # In float64: a single muon's squared mass (E - |p|)(E + |p|) cancels to a part in
            # 1e5 of E, so in float32 it would depend on the last bit of the square root, which
            # torch and ONNX Runtime (or two CPUs) round differently, and so would the network's
            # output, by up to 0.15 in probability (measured); in float64 the invariants are a
            # function of the float32 events alone.
            p = _as_particles(x).double()
            inv = self.invariants(p)
            if self.log_scale:
                inv = kinematics.signed_log(inv)
            inv = inv.to(x.dtype)
        return self.mlp(inv)  # (N, sizes[-1])


#: What rounding the float32 components of a four-vector can make of its squared mass, as a
#: share of E^2 (each component is known to 2^-24 of itself; E^2 - |p|^2 doubles it, twice).
MASS_ROUNDING = 2.0**-21


def _without_mass_rounding(inv: torch.Tensor, p: torch.Tensor,
                           first: int | None = None) -> torch.Tensor:
    """The invariants ``inv`` of ``p`` (N, P, 4), whose P single-particle squared masses are
    the columns from ``first`` on (None: ``minkowski_invariants``' layout, after the pair
    products), with each of those moved towards 0 by its rounding floor,
    ``MASS_ROUNDING * E^2`` (soft thresholding: continuous, and exactly 0 within the floor).

    Events arrive as float32. A massless muon's m^2 is then rounding noise that grows as E^2:
    +-1e-3 GeV^2 for a 50 GeV muon, +-1 GeV^2 at 6.5 TeV, so a single tail event was hundreds
    of standard deviations away from the bulk in these inputs, and took over the running
    variance of the first BatchNorm of the invariant net. Masses above the floor (a muon's
    0.011 GeV^2 below 150 GeV, any jet's) pass, less the floor.
    """
    n = p.shape[-2]
    if first is None:
        first = n * (n - 1) // 2
    m2 = inv[..., first:first + n]
    floor = MASS_ROUNDING * p[..., 3] ** 2  # (N, P)
    m2 = m2 - torch.maximum(torch.minimum(m2, floor), -floor)
    return torch.cat([inv[..., :first], m2, inv[..., first + n:]], dim=-1)


class InvariantNetwork(nn.Module):
    """MLP on the invariants of a symmetry: by default the Lorentz invariants of the event
    (``kinematics.minkowski_invariants``), the paper's network.

    Parameters
    ----------
    n_particles : int
        Particles per event (fixes the number of invariants: 4 Lorentz invariants for two
        muons).
    hidden_sizes : sequence of int
        Hidden widths; a final Linear to 1 logit is added.
    log_scale : bool
        Compress the invariants with ``signed_log`` (the paper's choice).
    precomputed : bool
        Take the invariants ``(N, n_invariants)`` as input instead of the four-vectors.
    symmetry : str or Symmetry
        The symmetry built in: a name in :data:`~sklearn_bsym.symmetries.SYMMETRIES`
        (``"lorentz"``, ``"longitudinal"``) or a :class:`~sklearn_bsym.symmetries.Symmetry`
        of your own invariant map. The network sees only its invariant features, so its
        output is unchanged when the events are transformed by the symmetry's group.
    """

    def __init__(
        self,
        n_particles: int = 2,
        hidden_sizes: Sequence[int] = (512, 256, 256, 128),
        log_scale: bool = True,
        precomputed: bool = False,
        symmetry="lorentz",
    ):
        super().__init__()
        self.net = _InvariantMap(n_particles, [*hidden_sizes, 1], log_scale, precomputed,
                                 symmetry=symmetry)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (N, 4 * P) or (N, P, 4) in GeV, or (N, n_invariants) when precomputed -> (N,)
        return self.net(x).squeeze(-1)


def context_size(context, n_particles: int) -> int:
    """Width of the hybrid's context variable."""
    if isinstance(context, str):
        if context not in CONTEXTS:
            raise ValueError(
                f"context must be one of {CONTEXTS} or a list of column indices of X, got "
                f"{context!r}."
            )
        return {"pt_eta": 2, "pt_eta_phi": 4}.get(context, 1)
    cols = list(context)
    if not cols or any(not 0 <= int(c) < 4 * n_particles for c in cols):
        raise ValueError(
            f"context columns must be indices into the {4 * n_particles} columns of X, got "
            f"{cols}."
        )
    return len(cols)


class HybridNetwork(nn.Module):
    """The paper's hybrid: a general (particle flow) and an invariant subnet, mixed by a
    weight network on a context variable that learns where the symmetry holds.

    With a chain of symmetries (``symmetry=("lorentz", "longitudinal")``) it has one invariant
    subnet per symmetry beside the general one, K = 1 + len(chain) branches in all, and the
    weight network's softmax over the K branches mixes them event by event: the symmetry
    factor then says, per event, how much of the most constrained symmetry holds, how much of
    the next, and how much of none.

    Parameters
    ----------
    n_particles : int
        Particles per event.
    Phi_sizes : sequence of int
        Widths of the general subnet's per-particle map (last = latent size).
    invariant_sizes : sequence of int
        Widths of each invariant subnet (last = latent size).
    weight_sizes : sequence of int
        Hidden widths of the weight network (a final Linear to K is added, then softmax).
    F_sizes : sequence of int
        Hidden widths of the classifier (a final Linear to 1 logit is added).
    pooling : {"weighted", "concat", "concat_weight", "concat_context"}
        ``"weighted"``: w_general * z_general + w_invariant * z_invariant (the paper; with a
        chain, the sum over all branches); ``"concat"``: [z_general, z_invariant, ...];
        ``"concat_weight"``: that plus the weights of all branches but the last (w_general for
        two); ``"concat_context"``: that plus the context (the paper's Appendix C).
    context : {"first", "leading", "pt_eta", "pt_eta_phi"} or list of int
        Input of the weight network: pT of the first particle (the paper), the leading pT,
        pT and eta of the first particle, those and the cosine and sine of its azimuth (where
        the detector's resolution depends on phi, the factor can follow it only if it sees
        phi), or these columns of the flat X (momenta all read through
        :func:`momentum_inputs`).
    latent_dropout : float
        Dropout on the pooled latent vector.
    input_scale : float
        GeV where the momentum inputs turn from linear to logarithmic
        (:func:`momentum_inputs`).
    particle_inputs : {"collider", "momenta"}
        Per-particle inputs of the general subnet (see :class:`ParticleFlowNetwork`); the
        paper's hybrid uses ``"momenta"``.
    invariant_weight_init : float in (0, 1) or None
        The symmetry factor's starting point: the weight network starts out giving the
        (first, most constrained) invariant subnet this weight for every event, the rest
        shared equally by the other branches (its last layer's weights are shrunk and its bias
        set), so the hybrid starts as its invariant branch and moves weight to the others only
        where the data show that the symmetry is broken. None keeps torch's default
        initialization (weights near 1 / K, the paper's).
    symmetry : str, Symmetry or sequence of them
        The symmetry of the invariant subnet (a name in
        :data:`~sklearn_bsym.symmetries.SYMMETRIES` or a
        :class:`~sklearn_bsym.symmetries.Symmetry`), or a chain of them from the most
        constrained group to the least, one invariant subnet each (see
        :func:`symmetry_chain`).

    Notes
    -----
    The authors multiply the weighted latent by 2; the classifier's first BatchNorm makes a
    constant factor irrelevant, so it is left out.
    """

    def __init__(
        self,
        n_particles: int = 2,
        Phi_sizes: Sequence[int] = (64, 16),
        invariant_sizes: Sequence[int] = (64, 16),
        weight_sizes: Sequence[int] = (64, 64),
        F_sizes: Sequence[int] = (512, 256, 128),
        pooling: str = "weighted",
        context="first",
        latent_dropout: float = 0.0,
        input_scale: float = DEFAULT_INPUT_SCALE,
        particle_inputs: str = "collider",
        invariant_weight_init: float | None = 0.88,
        symmetry="lorentz",
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        if pooling == "weighted" and Phi_sizes[-1] != invariant_sizes[-1]:
            raise ValueError(
                f"pooling='weighted' adds the latent vectors, so Phi_sizes[-1] "
                f"({Phi_sizes[-1]}) must equal invariant_sizes[-1] ({invariant_sizes[-1]}); "
                "make them equal or use a 'concat' pooling."
            )
        chain = symmetry_chain(symmetry)
        n_branches = 1 + len(chain)
        self.pooling = pooling
        self.context = context if isinstance(context, str) else [int(c) for c in context]
        self.input_scale = float(input_scale)
        n_context = context_size(context, n_particles)
        if invariant_weight_init is not None and not 0 < invariant_weight_init < 1:
            raise ValueError(
                "invariant_weight_init must be None or a weight in (0, 1), got "
                f"{invariant_weight_init!r}; 0.88 starts the hybrid close to its invariant subnet."
            )
        self.general = _ParticleMap(Phi_sizes, input_scale, inputs=particle_inputs)
        self.invariant = _InvariantMap(
            n_particles, invariant_sizes, log_scale=True, precomputed=False, activate_last=True,
            symmetry=chain[0],
        )
        # The chain's further branches (none for the paper's two-branch hybrid, whose
        # parameters and initialization stay as they were).
        self.chain = nn.ModuleList([
            _InvariantMap(n_particles, invariant_sizes, log_scale=True, precomputed=False,
                          activate_last=True, symmetry=sym)
            for sym in chain[1:]
        ])
        # Only the poolings that use the weights get a weight network (no dead parameters).
        self.weight_net = (
            make_mlp(n_context, [*weight_sizes, n_branches])
            if pooling in ("weighted", "concat_weight") else None
        )
        if self.weight_net is not None and invariant_weight_init is not None:
            last = self.weight_net[-1]  # Linear to the K logits (w_general, w_invariant, ...)
            # softmax gives the first invariant branch w and each of the K - 1 others
            # (1 - w) / (K - 1).
            bias = [0.0] * n_branches
            bias[1] = math.log(invariant_weight_init / (1 - invariant_weight_init)
                               * (n_branches - 1))
            with torch.no_grad():
                last.weight.mul_(0.1)  # nearly the same starting weight for every event
                last.bias.copy_(torch.tensor(bias))
        invariant_latent = len(chain) * invariant_sizes[-1]
        latent = {
            "weighted": Phi_sizes[-1],
            "concat": Phi_sizes[-1] + invariant_latent,
            "concat_weight": Phi_sizes[-1] + invariant_latent + n_branches - 1,
            "concat_context": Phi_sizes[-1] + invariant_latent + n_context,
        }[pooling]
        self.dropout = nn.Dropout(latent_dropout) if latent_dropout else nn.Identity()
        self.F = make_mlp(latent, [*F_sizes, 1])

    @property
    def symmetries(self) -> tuple[Symmetry, ...]:
        """The symmetries of the invariant branches, in the order of the weights after
        w_general."""
        return (self.invariant.symmetry, *(branch.symmetry for branch in self.chain))

    @property
    def branch_names(self) -> tuple[str, ...]:
        """The names of the K branches, in the order of the weights: ``"general"``, then the
        symmetries' names."""
        return ("general", *(sym.name for sym in self.symmetries))

    def context_of(self, p: torch.Tensor) -> torch.Tensor:
        # p: (N, P, 4) in GeV -> context (N, n_context), momenta through momentum_inputs
        if self.context == "first":
            return momentum_inputs(kinematics.pt(p[:, 0]).unsqueeze(-1), self.input_scale)
        if self.context == "leading":
            return momentum_inputs(kinematics.pt(p).amax(1, keepdim=True), self.input_scale)
        if self.context in ("pt_eta", "pt_eta_phi"):
            first = p[:, 0]
            pt = kinematics.pt(first)
            columns = [momentum_inputs(pt, self.input_scale),
                       kinematics.eta(first).clamp(-10.0, 10.0)]
            if self.context == "pt_eta_phi":
                # cos and sin of the azimuth, from the components (continuous at +-pi).
                safe = torch.where(pt > 0, pt, 1.0)
                columns += [torch.where(pt > 0, first[:, 0] / safe, 0.0),
                            torch.where(pt > 0, first[:, 1] / safe, 0.0)]
            return torch.stack(columns, dim=-1)
        return momentum_inputs(p.reshape(p.shape[0], -1)[:, self.context], self.input_scale)

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        # x: (N, 4 * P) or (N, P, 4) [px, py, pz, E] in GeV
        # -> logits (N,), or (logits (N,), weights (N, K) [w_general, w_invariant, ...])
        p = _as_particles(x)
        z_general = self.general(p)  # (N, L)
        latents = [z_general, self.invariant(p), *(branch(p) for branch in self.chain)]
        context = self.context_of(p)  # (N, C)
        if self.weight_net is None:
            if return_weights:
                raise ValueError(
                    f"pooling={self.pooling!r} has no symmetry weights; use pooling='weighted' "
                    "or 'concat_weight' to learn them."
                )
            weights = None
        else:
            weights = torch.softmax(self.weight_net(context), dim=-1)  # (N, K)
        if self.pooling == "weighted":
            z = weights[:, :1] * z_general
            for k, z_k in enumerate(latents[1:], start=1):
                z = z + weights[:, k:k + 1] * z_k
        elif self.pooling == "concat":
            z = torch.cat(latents, dim=-1)
        elif self.pooling == "concat_weight":
            z = torch.cat([*latents, weights[:, :-1]], dim=-1)
        else:
            z = torch.cat([*latents, context], dim=-1)
        logits = self.F(self.dropout(z)).squeeze(-1)
        return (logits, weights) if return_weights else logits
