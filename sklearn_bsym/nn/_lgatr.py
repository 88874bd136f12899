"""L-GATr, the Lorentz-equivariant geometric-algebra transformer, as a classifier of events.

L-GATr (Spinner, Bresó, de Haan, Plehn, Thaler, Brehmer 2024; the optional package ``lgatr``,
``pip install "sklearn-bsym[lgatr]"``) is Lorentz equivariant by construction and breaks the
symmetry on purpose with reference multivectors given as inputs, "spurions": here the beam
plane (the xy-plane bivector) and the time direction, the two references the detector's
frame singles out. It is the strongest neural peer of the hybrid: the same question (how much
of the symmetry to keep) answered by architecture rather than by a learned mixture.

Each particle is one token: its four-momentum (in units of ``input_scale``) is a vector
multivector channel, each spurion one more channel, and the particle's slot in the event (for
two muons, its charge) a one-hot scalar. The transformer's output scalar, averaged over the
particles, is the logit. The network trains with the package's one training loop
(:class:`LGATrClassifier` is one of the package's skorch classifiers): the fast preset's
AdamW with a one-cycle schedule, per-event weights, ``random_state``, ``n_threads``.
"""

from __future__ import annotations

from numbers import Integral

import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from ._classifiers import _EventClassifier
from ._modules import DEFAULT_INPUT_SCALE, _as_particles
from ._recipes import BySize

__all__ = ["LGATrNetwork", "LGATrClassifier", "lgatr_available"]

#: What a fit without the optional package says, and how to get it.
LGATR_MISSING = ("L-GATr needs the optional package lgatr (2.0 or newer): "
                 "pip install 'sklearn-bsym[lgatr]'.")


def lgatr_available() -> bool:
    """Whether the optional package ``lgatr`` can be imported."""
    try:
        _import_lgatr()
    except ImportError:
        return False
    return True


def _import_lgatr():
    try:
        import lgatr
    except ImportError as exc:
        raise ImportError(LGATR_MISSING) from exc
    return lgatr


class LGATrNetwork(nn.Module):
    """L-GATr on an event's particles: one token per particle and a global token, whose output
    scalar is the logit (the L-GATr authors' tagger).

    Parameters
    ----------
    n_particles : int
        Particles per event (tokens).
    num_blocks : int
        Transformer blocks.
    hidden_mv_channels : int
        Multivector channels of the hidden layers.
    hidden_s_channels : int
        Scalar channels of the hidden layers.
    num_heads : int
        Attention heads.
    spurions : bool
        Give each token the beam plane and the time direction as extra multivector channels
        (the symmetry broken to rotations about the beam and boosts along it, as the detector
        breaks it); False keeps the network Lorentz invariant.
    input_scale : float
        GeV per unit of the four-momenta (a linear scale: the multivectors must transform as
        four-vectors do).
    """

    def __init__(self, n_particles: int = 2, num_blocks: int = 2, hidden_mv_channels: int = 8,
                 hidden_s_channels: int = 16, num_heads: int = 2, spurions: bool = True,
                 input_scale: float = DEFAULT_INPUT_SCALE, global_token: bool = True):
        super().__init__()
        lgatr = _import_lgatr()
        self.n_particles = int(n_particles)
        self.global_token = bool(global_token)
        self.n_tokens = self.n_particles + self.global_token
        self.input_scale = float(input_scale)
        spurion_mv = (lgatr.get_spurions("xyplane", add_time_spurion=True) if spurions
                      else torch.empty(0, 16))
        # (n_spurions, 16): constants, moved with the module, saved with its state.
        self.register_buffer("spurions", spurion_mv)
        self.net = lgatr.LGATr(
            num_blocks=int(num_blocks), in_mv_channels=1 + len(spurion_mv), out_mv_channels=1,
            hidden_mv_channels=int(hidden_mv_channels), in_s_channels=self.n_tokens,
            out_s_channels=0, hidden_s_channels=int(hidden_s_channels),
            attention={"num_heads": int(num_heads)}, mlp={})
        self._embed_vector = lgatr.embed_vector
        self._extract_scalar = lgatr.extract_scalar

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (N, 4 * P) or (N, P, 4) [px, py, pz, E] in GeV -> logits (N,)
        p = _as_particles(x)
        n, n_part, _ = p.shape
        # L-GATr's vectors are (t, x, y, z). A global token comes first, carrying the event's
        # total four-momentum (a four-vector too: the network stays equivariant), whose square
        # is the invariant mass the particles' tokens alone reach only through attention.
        v = torch.cat([p[..., 3:], p[..., :3]], dim=-1) / self.input_scale
        if self.global_token:
            v = torch.cat([v.sum(1, keepdim=True), v], dim=1)  # (N, 1 + P, 4)
        n_tok = v.shape[1]
        mv = self._embed_vector(v).unsqueeze(-2)  # (N, 1 + P, 1, 16)
        if len(self.spurions):
            mv = torch.cat([mv, self.spurions.to(mv.dtype).expand(n, n_tok, -1, -1)], dim=-2)
        # Each token's place: the global token, or the particle's slot in the event.
        scalars = torch.eye(n_tok, self.n_tokens, dtype=mv.dtype,
                            device=mv.device).expand(n, -1, -1)
        present = (p != 0).any(-1)  # (N, P); padding slots False
        if self.global_token:
            present = torch.cat([torch.ones_like(present[:, :1]), present], dim=1)
        # Padding slots are not attended to.
        out_mv, _ = self.net(mv, scalars, attn_mask=present[:, None, None, :])
        logit = self._extract_scalar(out_mv)[..., 0, 0]  # (N, tokens)
        if self.global_token:
            return logit[:, 0]
        weights = present.to(logit.dtype)
        return (logit * weights).sum(-1) / weights.sum(-1).clamp_min(1.0)


class LGATrClassifier(_EventClassifier):
    """L-GATr (the Lorentz-equivariant geometric-algebra transformer) as a classifier of
    events, with the beam plane and the time direction as spurions: the strongest neural peer
    of the hybrid. Needs the optional package ``lgatr`` (``pip install
    "sklearn-bsym[lgatr]"``); without it, ``fit`` says so.

    Its fast recipe was chosen by a grid (blocks, channels, learning rate, with and without
    spurions) on a validation split at 2,000 and 8,000 events (``benchmarks/peers.py
    --grid``). A fit costs about 2 ms of CPU per event and epoch, some hundred times the
    hybrid's.

    Parameters
    ----------
    num_blocks : int, default 2
        Transformer blocks.
    hidden_mv_channels : int, default 8
        Hidden multivector channels.
    hidden_s_channels : int, default 16
        Hidden scalar channels.
    num_heads : int, default 2
        Attention heads.
    spurions : bool, default True
        The beam plane and the time direction as extra multivector channels of each token;
        False: a Lorentz-invariant network.
    <training parameters>
    """

    _module_params = ("num_blocks", "hidden_mv_channels", "hidden_s_channels", "num_heads",
                      "spurions")
    _parameter_constraints: dict = {
        **_EventClassifier._parameter_constraints,
        "num_blocks": [Interval(Integral, 1, None, closed="left")],
        "hidden_mv_channels": [Interval(Integral, 1, None, closed="left")],
        "hidden_s_channels": [Interval(Integral, 1, None, closed="left")],
        "num_heads": [Interval(Integral, 1, None, closed="left")],
        "spurions": ["boolean"],
    }
    # benchmarks/peers.py --grid (validation split, 2,000 and 8,000 events): two blocks of 8
    # multivector and 16 scalar channels, lr 3e-3, batch 128, 60 epochs at 2,000 and 20 at
    # 8,000 (30 epochs at 2,000 stayed on the first plateau). Below 2,000 events the epochs keep
    # the optimizer steps of 2,000 (about 720; not tuned there).
    preset_recipe = {
        "fast": {"lr": 3e-3, "batch_size": 128,
                 "max_epochs": BySize(((0, 180), (1_000, 120), (2_000, 60), (8_000, 20)))},
        # The paper preset is the hybrid paper's protocol (batch 128, 100 epochs, constant
        # learning rate) at a rate usual for transformers trained with AdamW.
        "paper": {"lr": 3e-4},
    }

    def __init__(self, *, num_blocks=2, hidden_mv_channels=8, hidden_s_channels=16,
                 num_heads=2, spurions=True, module=LGATrNetwork, **kwargs):
        super().__init__(module=module, **kwargs)
        self.num_blocks = num_blocks
        self.hidden_mv_channels = hidden_mv_channels
        self.hidden_s_channels = hidden_s_channels
        self.num_heads = num_heads
        self.spurions = spurions

    def initialize_fit(self, X, y, sample_weight=None):
        _import_lgatr()  # without the package, the message before any work on the data
        return super().initialize_fit(X, y, sample_weight)
