"""Vectorized ensembles: K independent copies of a network trained in one loop.

One fit of these small networks is dominated by per-step overhead (Python, autograd, kernel
launches), not arithmetic. Training K members together spends that overhead once per step for
all K, while the arithmetic grows K-fold (on a CPU it soon dominates: see
``benchmarks/ensemble_speed.py``, which also times the matrix products alone).

Member-major folding
--------------------
The member axis is folded into the batch axis: rows ``[k * R:(k + 1) * R]`` of a stacked batch
belong to member ``k``. Every network of :mod:`sklearn_bsym.nn` is made of per-row operations
plus two layers that mix rows or hold parameters, ``nn.Linear`` and ``nn.BatchNorm1d``. A K-member
ensemble of any of them is therefore the same module with each Linear replaced by an
:class:`EnsembleLinear` (weights ``(K, out, in)``, one batched matmul) and each BatchNorm1d by an
:class:`EnsembleBatchNorm1d` (statistics per member). The particle-flow map's rows
``(K * N * P, 4)`` stay member-major, because reshaping ``(K * N, P, 4)`` keeps the order.
Inside each MLP (an :class:`EnsembleSequential`) the activations are held as columns
``(K, features, R)``: the batched products then write exactly the layout that BatchNorm's
native kernel reads as ``K * features`` channels, so no activation is copied between layers.

Training
--------
The loss is the sum over members of each member's (weighted) mean loss, so each member's
gradient is the gradient of its own separate fit; AdamW acts element by element, so a stacked
parameter is updated exactly as K separate ones would be (weight decay included). Optimizer,
learning rate, schedule, batch size, epochs, validation split, early stopping and the final
BatchNorm recalibration follow the template estimator's recipe (see
:mod:`sklearn_bsym.nn._classifiers`).

Every step takes ``batch_size`` rows per member. Each member draws its batches from its own
seeded stream of permutations of its training events, so a member whose training set is not a
multiple of the batch size continues into its next permutation instead of taking a short batch.
An *epoch* is ``ceil(n_max / batch_size)`` steps, where ``n_max`` is the largest member's number
of training events; a member with fewer events cycles through its data, seeing it about
``n_max / n_k`` times per epoch. Members with equal training sizes (the seeds of one point of a
study) therefore train exactly as separate fits do, in distribution; to keep that for members of
different sizes, train them in groups of equal size (:func:`fit_ensemble_members` does this by
default).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .._random import as_seed, spawn_seeds
from ._classifiers import (
    PRESETS,
    _fused_supported,
    batch_bounds,
    onecycle_lrs,
    recalibrate_batchnorm,
    resolve_device,
)

__all__ = [
    "EnsembleLinear",
    "EnsembleBatchNorm1d",
    "EnsembleSequential",
    "stack_modules",
    "unstack_module",
    "n_members_of",
    "EnsembleClassifier",
    "fit_ensemble_members",
]


class EnsembleLinear(nn.Module):
    """K independent Linear layers.

    Works on member-major rows ``(K * R, in)`` (:meth:`forward`) and on columns
    ``(K, in, R)`` (:meth:`forward_columns`, the layout :class:`EnsembleSequential` keeps
    between layers). Member k's weight is ``weight[k]``, shaped like an ``nn.Linear`` weight.

    Parameters
    ----------
    weight : torch.Tensor of shape (K, out_features, in_features)
    bias : torch.Tensor of shape (K, out_features, 1) or None
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None):
        super().__init__()
        self.n_members, self.out_features, self.in_features = weight.shape
        self.weight = nn.Parameter(weight)
        self.bias = None if bias is None else nn.Parameter(bias)

    @classmethod
    def from_modules(cls, layers: Sequence[nn.Linear]) -> EnsembleLinear:
        """Stack K ``nn.Linear`` layers (copies of their weights)."""
        weight = torch.stack([layer.weight.detach() for layer in layers]).clone()
        has_bias = [layer.bias is not None for layer in layers]
        bias = (torch.stack([layer.bias.detach() for layer in layers]).unsqueeze(-1).clone()
                if all(has_bias) else None)
        return cls(weight, bias)

    def member(self, k: int) -> nn.Linear:
        """Member ``k`` as a plain ``nn.Linear`` with its exact weights."""
        layer = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None,
                          device=self.weight.device, dtype=self.weight.dtype)
        with torch.no_grad():
            layer.weight.copy_(self.weight[k])
            if self.bias is not None:
                layer.bias.copy_(self.bias[k, :, 0])
        return layer

    def forward_columns(self, h: torch.Tensor) -> torch.Tensor:
        """``(K, in, R) -> (K, out, R)``: one batched matrix product for all members."""
        if self.bias is None:
            return torch.bmm(self.weight, h)
        return torch.baddbmm(self.bias, self.weight, h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (K * R, in) member-major -> (K * R, out)
        return _from_columns(self.forward_columns(_to_columns(x, self.n_members)))

    def extra_repr(self) -> str:
        return (f"n_members={self.n_members}, in_features={self.in_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class EnsembleBatchNorm1d(nn.BatchNorm1d):
    """K independent BatchNorm1d layers, on member-major rows ``(K * R, C)`` or on columns
    ``(K, C, R)``.

    Parameters, running statistics and their updates are those of one ``BatchNorm1d`` over
    ``K * C`` channels, member-major (channel ``k * C + c`` is channel ``c`` of member ``k``):
    the columns ``(K, C, R)`` of all members are one ``(1, K * C, R)`` input to torch's native
    kernel, so every member is normalized with its own statistics, momentum and cumulative
    averaging (``momentum=None``) included.
    """

    def __init__(self, n_members: int, num_features: int, **kwargs):
        super().__init__(n_members * num_features, **kwargs)
        self.n_members = int(n_members)
        self.member_features = int(num_features)

    @classmethod
    def from_modules(cls, norms: Sequence[nn.BatchNorm1d]) -> EnsembleBatchNorm1d:
        """Stack K ``nn.BatchNorm1d`` layers (parameters and running statistics)."""
        first = norms[0]
        out = cls(len(norms), first.num_features, eps=first.eps, momentum=first.momentum,
                  affine=first.affine, track_running_stats=first.track_running_stats,
                  device=_device_of(first), dtype=_dtype_of(first))
        with torch.no_grad():
            for name, tensor in list(out.named_parameters()) + list(out.named_buffers()):
                if name == "num_batches_tracked":
                    tensor.copy_(first.num_batches_tracked)
                else:
                    tensor.copy_(torch.cat([getattr(m, name).detach() for m in norms]))
        return out

    def member(self, k: int) -> nn.BatchNorm1d:
        """Member ``k`` as a plain ``nn.BatchNorm1d`` with its exact state."""
        c = self.member_features
        norm = nn.BatchNorm1d(c, eps=self.eps, momentum=self.momentum, affine=self.affine,
                              track_running_stats=self.track_running_stats,
                              device=_device_of(self), dtype=_dtype_of(self))
        with torch.no_grad():
            for name, tensor in list(norm.named_parameters()) + list(norm.named_buffers()):
                source = getattr(self, name)
                tensor.copy_(source if name == "num_batches_tracked"
                             else source[k * c:(k + 1) * c])
        return norm

    def forward_columns(self, h: torch.Tensor) -> torch.Tensor:
        """``(K, C, R) -> (K, C, R)``, each member over its own R rows."""
        k, c, r = h.shape
        return super().forward(h.reshape(1, k * c, r)).view(k, c, r)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (K * R, C) member-major -> (K * R, C)
        c = self.member_features
        if x.dim() != 2 or x.shape[1] != c:
            raise ValueError(f"Expected member-major rows of shape (K * R, {c}), got "
                             f"{tuple(x.shape)}.")
        return _from_columns(self.forward_columns(_to_columns(x, self.n_members)))

    def extra_repr(self) -> str:
        return f"n_members={self.n_members}, " + super().extra_repr()


#: Layers that act on each number on its own, so on columns exactly as on rows.
_ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid,
                nn.Dropout, nn.Identity)


class EnsembleSequential(nn.Sequential):
    """An MLP of K members (``EnsembleLinear``, ``EnsembleBatchNorm1d`` and elementwise layers)
    that keeps its activations as columns ``(K, features, R)`` from its input to its output.

    Rows ``(K * R, in)`` come in and go out as for any layer of a stacked module; inside, each
    Linear is one batched product and each BatchNorm one native call, with no reshuffling of
    activations between layers (the row layout would need two copies per BatchNorm).
    """

    def __init__(self, *layers: nn.Module):
        super().__init__(*layers)
        members = {m.n_members for m in layers if isinstance(m, _ENSEMBLE_LAYERS)}
        if len(members) != 1:
            raise ValueError("An EnsembleSequential needs ensemble layers of one member count; "
                             "build it with stack_modules.")
        self.n_members = members.pop()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = _to_columns(x, self.n_members)
        for layer in self:
            h = layer.forward_columns(h) if isinstance(layer, _ENSEMBLE_LAYERS) else layer(h)
        return _from_columns(h)


def _to_columns(x: torch.Tensor, k: int) -> torch.Tensor:
    """Member-major rows ``(K * R, F)`` -> columns ``(K, F, R)`` (a view)."""
    return x.reshape(k, -1, x.shape[-1]).transpose(1, 2)


def _from_columns(h: torch.Tensor) -> torch.Tensor:
    """Columns ``(K, F, R)`` -> member-major rows ``(K * R, F)``."""
    return h.transpose(1, 2).reshape(-1, h.shape[1])


def _device_of(module: nn.Module):
    tensors = list(module.parameters()) + list(module.buffers())
    return tensors[0].device if tensors else None


def _dtype_of(module: nn.Module):
    floats = [t for t in list(module.parameters()) + list(module.buffers())
              if t.is_floating_point()]
    return floats[0].dtype if floats else None


_ENSEMBLE_LAYERS = (EnsembleLinear, EnsembleBatchNorm1d)


def _set_submodule(root: nn.Module, name: str, module: nn.Module) -> nn.Module:
    """Put ``module`` at ``name`` in ``root``; returns the root (``module`` itself when
    ``name`` is ``""``, the root's own name)."""
    if not name:
        return module
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)
    return root


def stack_modules(modules: Sequence[nn.Module]) -> nn.Module:
    """One module computing K independent copies of a network on member-major batches.

    Parameters
    ----------
    modules : sequence of torch.nn.Module
        K modules of identical structure (typically one class built with K seeds), whose only
        parameters and buffers live in ``nn.Linear`` and ``nn.BatchNorm1d`` layers, and whose
        other operations act on each row (event) separately.

    Returns
    -------
    torch.nn.Module
        A copy of ``modules[0]`` (same class, same forward) in which every Linear is an
        :class:`EnsembleLinear` and every BatchNorm1d an :class:`EnsembleBatchNorm1d` holding
        the K members' exact weights, and every ``nn.Sequential`` made of these and
        elementwise layers (the MLPs) an :class:`EnsembleSequential`. Its input is the K
        members' inputs stacked along the first axis (``K * N`` rows, member k in rows
        ``k * N:(k + 1) * N``), and so is its output.

    Examples
    --------
    >>> import torch
    >>> from sklearn_bsym.nn import ParticleFlowNetwork, stack_modules
    >>> nets = [ParticleFlowNetwork(Phi_sizes=(8, 4), F_sizes=(8,)) for _ in range(3)]
    >>> ensemble = stack_modules(nets).eval()
    >>> x = torch.randn(5, 8)
    >>> out = ensemble(x.repeat(3, 1)).reshape(3, 5)
    >>> torch.allclose(out[1], nets[1].eval()(x), atol=1e-6)
    True
    """
    modules = list(modules)
    if not modules:
        raise ValueError("stack_modules needs at least one module; pass a list of K modules.")
    first = modules[0]
    layout = [(name, type(m)) for name, m in first.named_modules()]
    for other in modules[1:]:
        if [(name, type(m)) for name, m in other.named_modules()] != layout:
            raise ValueError("All modules must have the same structure to be stacked; build "
                             "them from one class with the same arguments.")
    if any(isinstance(m, _ENSEMBLE_LAYERS) for _, m in first.named_modules()):
        raise ValueError("The modules are already stacked ensembles; stack plain modules.")
    stacked = copy.deepcopy(first)
    covered: set[str] = set()
    for name, layer in first.named_modules():
        if type(layer) is nn.Linear:
            factory = EnsembleLinear.from_modules
        elif type(layer) is nn.BatchNorm1d:
            factory = EnsembleBatchNorm1d.from_modules
        else:
            continue
        layers = [m.get_submodule(name) for m in modules]
        shapes = {tuple(p.shape) for lay in layers for p in lay.parameters()}
        if len(shapes) > len(list(layer.parameters())):
            raise ValueError(f"Layer {name!r} has different shapes across the modules; build "
                             "them with the same arguments.")
        stacked = _set_submodule(stacked, name, factory(layers))
        prefix = f"{name}." if name else ""
        covered.update(prefix + p for p, _ in layer.named_parameters())
        covered.update(prefix + b for b, _ in layer.named_buffers())
    leftover = [n for n, _ in list(first.named_parameters()) + list(first.named_buffers())
                if n not in covered]
    if leftover:
        raise ValueError(f"Only nn.Linear and nn.BatchNorm1d layers can be stacked, but "
                         f"{leftover} live elsewhere; express the network with these layers.")
    # MLPs made only of stacked and elementwise layers keep their activations as columns.
    for name, seq in list(stacked.named_modules()):
        if (type(seq) is nn.Sequential and any(isinstance(m, _ENSEMBLE_LAYERS) for m in seq)
                and all(isinstance(m, (*_ENSEMBLE_LAYERS, *_ELEMENTWISE)) for m in seq)):
            stacked = _set_submodule(stacked, name,
                                     EnsembleSequential(*seq).train(seq.training))
    return stacked


def n_members_of(module: nn.Module) -> int:
    """Number of members of a stacked module (1 for a plain module)."""
    for m in module.modules():
        if isinstance(m, _ENSEMBLE_LAYERS):
            return m.n_members
    return 1


def unstack_module(module: nn.Module, k: int) -> nn.Module:
    """Member ``k`` of a stacked module as a plain module of the original class.

    The inverse of :func:`stack_modules`: every :class:`EnsembleLinear` and
    :class:`EnsembleBatchNorm1d` becomes an ``nn.Linear`` / ``nn.BatchNorm1d`` with member
    ``k``'s exact weights and running statistics, and every :class:`EnsembleSequential` an
    ``nn.Sequential``. The training mode is kept.
    """
    n = n_members_of(module)
    if not -n <= k < n:
        raise ValueError(f"Member index {k} is out of range for an ensemble of {n} members.")
    k = k % n
    stacked = [(name, m) for name, m in module.named_modules() if isinstance(m, _ENSEMBLE_LAYERS)]
    # Deep-copying the stacked layers would copy all K members' weights only to drop them.
    memo = {id(m): None for _, m in stacked}
    plain = copy.deepcopy(module, memo)
    for name, layer in stacked:
        member = layer.member(k)
        member.train(layer.training)
        plain = _set_submodule(plain, name, member)
    for name, seq in list(plain.named_modules()):
        if isinstance(seq, EnsembleSequential):
            plain = _set_submodule(plain, name, nn.Sequential(*seq).train(seq.training))
    return plain


# -- training ------------------------------------------------------------------------------------


class _IndexStream:
    """Endless batches of indices into ``n`` events: consecutive seeded permutations."""

    def __init__(self, n: int, seed: int):
        self.n = int(n)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.buffer = torch.empty(0, dtype=torch.long)

    def take(self, m: int) -> torch.Tensor:
        parts, have = [self.buffer], self.buffer.numel()
        while have < m:
            parts.append(torch.randperm(self.n, generator=self.generator))
            have += self.n
        flat = torch.cat(parts)
        self.buffer = flat[m:]
        return flat[:m]


def _n_steps(n: int, batch_size: int) -> int:
    """Steps per epoch of ``n`` events, as a separate fit's ``BatchIterator`` counts them."""
    return len(batch_bounds(n, batch_size))


class _MemberData:
    """The stacked training (and validation) data of K members, on one device."""

    def __init__(self, trains, valids, seeds, device):
        self.k = len(trains)
        self.device = device
        self.sizes = [len(t) for t in trains]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)
        self.X = torch.cat([t.X for t in trains]).to(device)
        self.target = torch.cat([_with_weights(t.target) for t in trains]).to(device)
        self.seeds = list(seeds)
        self.valids = None
        if valids[0] is not None:
            self.valids = [(v.X.to(device), _with_weights(v.target).cpu().numpy())
                           for v in valids]

    def streams(self, salt: int = 0) -> list[_IndexStream]:
        return [_IndexStream(n, spawn_seeds(seed, 3)[salt]) for n, seed in
                zip(self.sizes, self.seeds, strict=True)]

    def epoch_batches(self, streams, n_steps: int, batch_size: int):
        """``(n_steps, K * B, D)`` inputs and ``(n_steps, K, B, 2)`` targets, member-major."""
        idx = torch.stack([s.take(n_steps * batch_size) + int(off)
                           for s, off in zip(streams, self.offsets, strict=True)])
        idx = idx.reshape(self.k, n_steps, batch_size).transpose(0, 1).reshape(-1)
        idx = idx.to(self.device)
        X = self.X[idx].reshape(n_steps, self.k * batch_size, -1)
        target = self.target[idx].reshape(n_steps, self.k, batch_size, 2)
        return X, target


def _with_weights(target: torch.Tensor) -> torch.Tensor:
    """Targets as ``(n, 2)`` [label, weight]; unweighted data get weight 1."""
    if target.dim() == 2:
        return target
    return torch.stack([target, torch.ones_like(target)], dim=1)


def _recalibrate(stacked, data: _MemberData, batch_size: int) -> None:
    """BatchNorm running statistics for the current weights: one pass over each member's
    training events in batches (as ``PreciseBatchNorm`` does for a single fit)."""
    X, _ = data.epoch_batches(data.streams(salt=1), _n_steps(max(data.sizes), batch_size),
                              batch_size)
    recalibrate_batchnorm(stacked, X)


def _forward_members(stacked, inputs: Sequence[torch.Tensor], chunk: int) -> list[torch.Tensor]:
    """Logits of member k on ``inputs[k]`` for every k (eval mode, no grad), as float CPU."""
    k = len(inputs)
    longest = max(len(x) for x in inputs)
    outs: list[list[torch.Tensor]] = [[] for _ in range(k)]
    stacked.eval()
    with torch.no_grad():
        for lo in range(0, longest, chunk):
            hi = min(lo + chunk, longest)
            # Members with fewer rows repeat theirs: every member needs the same row count.
            parts = [x[torch.arange(lo, hi, device=x.device) % len(x)] for x in inputs]
            logits = stacked(torch.cat(parts)).reshape(k, hi - lo)
            for j in range(k):
                take = max(0, min(hi, len(inputs[j])) - lo)
                outs[j].append(logits[j, :take].float().cpu())
    return [torch.cat(o) for o in outs]


def _weighted_auc(logits: np.ndarray, target: np.ndarray) -> float:
    y, w = target[:, 0], target[:, 1]
    if np.unique(y).size < 2:
        return float("nan")
    return float(roc_auc_score(y, logits, sample_weight=w))


def _member_state(tensor: torch.Tensor, k_members: int) -> torch.Tensor:
    return tensor.view(k_members, -1)


def _train_stacked(stacked, data: _MemberData, recipe: dict, members, verbose: int):
    """The training loop of a stacked module; records each member's history in ``members``."""
    k = data.k
    batch_size = recipe["batch_size"]
    n_steps = _n_steps(max(data.sizes), batch_size)
    epochs = recipe["planned_epochs"](n_steps)
    params = [p for p in stacked.parameters() if p.requires_grad]
    opt_kwargs = dict(recipe["optimizer_kwargs"])
    optimizer = recipe["optimizer"](params, **opt_kwargs)
    lrs = (onecycle_lrs(recipe["lr"], epochs * n_steps) if recipe["schedule"] == "onecycle"
           else None)
    streams = data.streams(salt=0)
    validate = data.valids is not None
    best = ({name: t.clone() for name, t in stacked.state_dict().items()} if validate
            else None)
    best_auc = np.full(k, -np.inf)
    misses = np.zeros(k, dtype=int)
    stopped = np.zeros(k, dtype=bool)
    patience = recipe["patience"]
    step = 0
    for epoch in range(epochs):
        tic = time.perf_counter()
        stacked.train()
        X, target = data.epoch_batches(streams, n_steps, batch_size)
        loss_sum = torch.zeros(k, device=data.device)
        for s in range(n_steps):
            if lrs is not None:
                for group in optimizer.param_groups:
                    group["lr"] = float(lrs[step])
            logits = stacked(X[s]).reshape(k, batch_size)
            t = target[s]
            # Each member's weighted mean loss, summed: member k's gradient is its own.
            per_member = nn.functional.binary_cross_entropy_with_logits(
                logits, t[..., 0], weight=t[..., 1], reduction="none").mean(1)
            optimizer.zero_grad(set_to_none=True)
            per_member.sum().backward()
            optimizer.step()
            loss_sum += per_member.detach()
            step += 1
        train_loss = (loss_sum / n_steps).cpu().numpy()
        aucs = None
        if validate:
            _recalibrate(stacked, data, batch_size)
            logits = _forward_members(stacked, [v[0] for v in data.valids],
                                      chunk=max(256, 2**16 // k))
            aucs = np.array([_weighted_auc(lg.numpy(), v[1])
                             for lg, v in zip(logits, data.valids, strict=True)])
            improved = (aucs > best_auc) & ~stopped
            if improved.any():
                mask = torch.as_tensor(improved, device=data.device)
                for name, tensor in stacked.state_dict().items():
                    if name.endswith("num_batches_tracked"):
                        continue
                    _member_state(best[name], k)[mask] = _member_state(tensor, k)[mask]
                best_auc[improved] = aucs[improved]
            misses = np.where(improved, 0, misses + 1)
        dur = time.perf_counter() - tic
        for j, est in enumerate(members):
            if stopped[j]:
                continue
            est.history.new_epoch()
            est.history.record("epoch", epoch + 1)
            est.history.record("train_loss", float(train_loss[j]))
            if aucs is not None:
                est.history.record("valid_auc", float(aucs[j]))
            est.history.record("dur", dur)
        if validate:
            stopped |= misses >= patience
        if verbose:
            msg = f"epoch {epoch + 1}: mean train loss {train_loss.mean():.4f}"
            if aucs is not None:
                msg += f", valid AUC {np.nanmean(aucs):.4f}, stopped {int(stopped.sum())}/{k}"
            print(msg + f" ({dur:.2f} s)")
        if stopped.all():
            break
    if validate:
        with torch.no_grad():
            current = stacked.state_dict()
            for name, tensor in best.items():
                if not name.endswith("num_batches_tracked"):
                    current[name].copy_(tensor)
    _recalibrate(stacked, data, batch_size)
    stacked.eval()
    for j, est in enumerate(members):  # what each member ran, as a single fit records it
        est.epochs_planned_ = int(epochs)
        est.stop_reason_ = "early_stopping" if stopped[j] else "completed"
    return stacked


def _recipe(template) -> dict:
    """The template's training settings, resolved as its own ``fit`` would resolve them."""
    template._check_settings()
    if template.optimizer is not torch.optim.AdamW and template.optimizer is not torch.optim.Adam:
        raise ValueError("Ensembles are trained with elementwise optimizers only (Adam, AdamW); "
                         f"got {template.optimizer!r}. Use the default AdamW.")
    device = resolve_device(template.device)
    kwargs = dict(template.get_params_for("optimizer"))
    kwargs.setdefault("lr", template._setting("lr"))
    if template.optimizer is torch.optim.AdamW:
        kwargs.setdefault("weight_decay", template._setting("weight_decay"))
    kwargs.setdefault("fused", _fused_supported(device))
    batch_size = template.get_params_for("iterator_train").get(
        "batch_size", template._setting("batch_size"))
    return {
        "device": device,
        "batch_size": int(batch_size),
        "planned_epochs": template.planned_epochs,
        "lr": float(kwargs["lr"]),
        "schedule": PRESETS[template.preset].get("schedule"),
        "optimizer": template.optimizer,
        "optimizer_kwargs": kwargs,
        "patience": int(template.patience),
    }


def _fit_group(template, X, y, weights, subsets, seeds, device, verbose):
    """Train one stacked group; returns the members as fitted estimators of the template's
    class."""
    if device is not None:
        template = clone(template).set_params(device=device)
    members = [clone(template).set_params(random_state=seed) for seed in seeds]
    recipe = _recipe(template)
    trains, valids = [], []
    for est, idx, wk in zip(members, subsets, weights, strict=True):
        Xk = X if idx is None else _take(X, idx)
        yk = y if idx is None else _take(y, idx)
        # The member's own input checks, weight normalization and validation split, exactly
        # as its separate fit would do them.
        data = est._to_tensors(Xk, yk, wk, reset=True)
        est._check_enough_events(data)
        est.seed_ = as_seed(est.random_state)
        est.initialize()
        train, valid = est.get_split_datasets(data)
        trains.append(train)
        valids.append(valid)
    stacked = stack_modules([est.module_ for est in members])
    data = _MemberData(trains, valids, [est.seed_ for est in members], recipe["device"])
    del trains, valids
    _train_stacked(stacked, data, recipe, members, verbose)
    for j, est in enumerate(members):
        est.module_.load_state_dict(unstack_module(stacked, j).state_dict())
        est.module_.eval()
        # A fresh optimizer state: warm-starting a member continues like a new fit would.
        est.initialize_optimizer()
    return members, stacked


def _take(a, idx):
    idx = np.asarray(idx)
    return a.iloc[idx] if hasattr(a, "iloc") else np.asarray(a)[idx]


def _member_weights(sample_weight, subsets, n_events: int) -> list:
    """Each member's weights: ``sample_weight`` indexed by its subset, or, given as one array
    per member, that member's array (aligned with its subset)."""
    if sample_weight is None:
        return [None] * len(subsets)
    if isinstance(sample_weight, (list, tuple)):
        if len(sample_weight) != len(subsets):
            raise ValueError(f"Got {len(sample_weight)} sample_weight arrays for "
                             f"{len(subsets)} members; pass one array per member or one "
                             "array over all events.")
        out = []
        for w, idx in zip(sample_weight, subsets, strict=True):
            n = n_events if idx is None else len(idx)
            if w is not None and len(w) != n:
                raise ValueError(f"A member's sample_weight has {len(w)} entries but its "
                                 f"subset has {n} events; align each array with its subset.")
            out.append(w)
        return out
    return [sample_weight if idx is None else _take(sample_weight, idx) for idx in subsets]


def _check_subsets(subsets, n_events: int, n_members: int):
    if subsets is None:
        return [None] * n_members
    subsets = [np.asarray(s) for s in subsets]
    if len(subsets) != n_members:
        raise ValueError(f"Got {len(subsets)} subsets for {n_members} members; pass one index "
                         "array per member.")
    for s in subsets:
        if s.ndim != 1 or not np.issubdtype(s.dtype, np.integer) or not s.size:
            raise ValueError("Each subset must be a non-empty 1-D array of integer indices "
                             "into X.")
        if s.min() < -n_events or s.max() >= n_events:
            raise ValueError(f"Subset indices must lie in [0, {n_events}); got "
                             f"[{s.min()}, {s.max()}].")
    return subsets


def fit_ensemble_members(template, X, y, sample_weight=None, subsets=None, seeds=None, *,
                         grouping="size", max_members=None, device=None, verbose=0):
    """Fit K copies of a classifier in vectorized groups; each as a separate fit would be.

    Member ``k`` is, in distribution, ``clone(template).set_params(random_state=seeds[k])
    .fit(X[subsets[k]], y[subsets[k]], sample_weight[subsets[k]])``: same initial weights,
    validation split and weight normalization as that fit, and the template's recipe.

    Parameters
    ----------
    template : PFNClassifier, InvariantClassifier or HybridClassifier
        Unfitted estimator giving the network and the training recipe.
    X : array-like of shape (n_events, 4 * n_particles)
    y : array-like of shape (n_events,)
    sample_weight : array-like of shape (n_events,) or list of arrays, optional
        Per-event loss weights, normalized to mean 1 over each member's subset; or one array
        per member aligned with its subset (e.g. pT weights fitted on each training subset).
    subsets : list of int arrays, optional
        Training events of each member (indices into X); None trains every member on all of X.
    seeds : list of int, optional
        ``random_state`` of each member; sets the number of members. None: one member per
        subset, seeded from ``template.random_state`` with ``spawn_seeds``.
    grouping : {"size", "all"}, default "size"
        ``"size"``: members with equal training-set sizes are trained together, so every
        member follows its separate fit's protocol (same steps per epoch and schedule);
        ``"all"``: all members in one loop, smaller members cycling through their data (fewer
        steps in total, but small members see their data more often; see the module notes).
    max_members : int, optional
        Largest group trained at once (memory); None: no limit.
    device : str, optional
        Overrides the template's device ("cpu", "cuda", "auto").
    verbose : int, default 0
        Print one line per epoch and group.

    Returns
    -------
    list
        The fitted members, estimators of the template's class in the order of ``seeds``.
    """
    n_events = len(y)
    if seeds is None:
        if subsets is None:
            raise ValueError("Pass seeds (one random_state per member) or subsets.")
        seeds = spawn_seeds(template.random_state, len(subsets))
    seeds = list(seeds)
    if not seeds:
        raise ValueError("No members to fit: seeds is empty.")
    subsets = _check_subsets(subsets, n_events, len(seeds))
    if grouping not in ("size", "all"):
        raise ValueError(f"grouping must be 'size' or 'all', got {grouping!r}.")
    if max_members is not None and max_members < 1:
        raise ValueError(f"max_members must be a positive int or None, got {max_members!r}.")
    weights = _member_weights(sample_weight, subsets, n_events)
    sizes = [n_events if s is None else len(s) for s in subsets]
    if grouping == "size":
        groups = [[i for i in range(len(seeds)) if sizes[i] == n] for n in dict.fromkeys(sizes)]
    else:
        groups = [list(range(len(seeds)))]
    if max_members is not None:
        groups = [g[i:i + max_members] for g in groups for i in range(0, len(g), max_members)]
    fitted: list = [None] * len(seeds)
    for group in groups:
        members, _ = _fit_group(template, X, y, [weights[i] for i in group],
                                [subsets[i] for i in group],
                                [seeds[i] for i in group], device, verbose)
        for i, est in zip(group, members, strict=True):
            fitted[i] = est
    return fitted


class EnsembleClassifier(ClassifierMixin, BaseEstimator):
    """K independently seeded copies of a network classifier, trained in one vectorized loop.

    Parameters
    ----------
    estimator : PFNClassifier, InvariantClassifier or HybridClassifier
        Template: the network and its training recipe (preset, epochs, batch size per member,
        learning rate, validation split and early stopping, which act per member).
    n_members : int, default 5
        Number of members K.
    random_state : int, RandomState or None
        Member ``k`` is seeded with ``spawn_seeds(random_state, n_members)[k]`` (weights,
        batch order, validation split), as a separate fit with that ``random_state`` would be.
    device : {"cpu", "cuda", "auto"} or None, default None
        Where to train; None takes the template's device.
    verbose : int, default 0
        Print one line per epoch.

    Attributes
    ----------
    members_ : list
        The fitted members, estimators of the template's class usable on their own
        (``predict_proba``, ``score``, pickling, ``history``).
    seeds_ : list of int
        Each member's ``random_state``.
    module_ : torch.nn.Module
        The stacked network of all members (see :func:`stack_modules`), for fast prediction.
    classes_ : ndarray of shape (2,)

    Notes
    -----
    With ``subsets`` of different sizes, an epoch is ``ceil(n_max / batch_size)`` steps for
    every member and smaller members cycle through their data; see the module notes.

    Examples
    --------
    >>> from sklearn_bsym.datasets import make_dimuon_events
    >>> from sklearn_bsym.nn import EnsembleClassifier, InvariantClassifier
    >>> X, y = make_dimuon_events(2000, random_state=0)
    >>> ens = EnsembleClassifier(InvariantClassifier(hidden_sizes=(16,), max_epochs=2),
    ...                          n_members=3, random_state=0).fit(X, y)
    >>> ens.predict_proba(X).shape, ens.predict_proba_members(X).shape
    ((2000, 2), (3, 2000, 2))
    >>> type(ens.members_[1]).__name__
    'InvariantClassifier'
    """

    def __init__(self, estimator, *, n_members=5, random_state=None, device=None, verbose=0):
        self.estimator = estimator
        self.n_members = n_members
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None, subsets=None):
        """Train all members together.

        Parameters
        ----------
        X : array-like of shape (n_events, 4 * n_particles)
        y : array-like of shape (n_events,)
        sample_weight : array-like of shape (n_events,) or list of arrays, optional
            Per-event loss weights, normalized to mean 1 over each member's events; or one
            array per member, aligned with its subset.
        subsets : list of int arrays, optional
            One array of indices into X per member (e.g. training fractions); None trains every
            member on all events.

        Returns
        -------
        self
        """
        if not isinstance(self.n_members, (int, np.integer)) or self.n_members < 1:
            raise ValueError(f"n_members must be a positive int, got {self.n_members!r}.")
        self.seeds_ = spawn_seeds(self.random_state, int(self.n_members))
        subsets = _check_subsets(subsets, len(y), len(self.seeds_))
        weights = _member_weights(sample_weight, subsets, len(y))
        self.members_, self.module_ = _fit_group(self.estimator, X, y, weights, subsets,
                                                 self.seeds_, self.device, self.verbose)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = self.members_[0].n_features_in_
        return self

    def member_estimator(self, k: int):
        """Member ``k`` as a fitted estimator of the template's class."""
        check_is_fitted(self, "members_")
        return self.members_[k]

    def predict_proba_members(self, X) -> np.ndarray:
        """Each member's probabilities, ``(n_members, n_events, 2)``."""
        check_is_fitted(self, "members_")
        first = self.members_[0]
        dataset = first.get_dataset(X)
        x = dataset.X.to(_device_of(self.module_))
        k = len(self.members_)
        logits = _forward_members(self.module_, [x] * k, chunk=max(256, 2**16 // k))
        p = torch.sigmoid(torch.stack(logits).double()).numpy()
        return np.stack([1 - p, p], axis=-1)

    def predict_proba(self, X) -> np.ndarray:
        """Mean of the members' probabilities ``(n_events, 2)``: background, signal."""
        return self.predict_proba_members(X).mean(0)

    def predict(self, X) -> np.ndarray:
        """Signal (1) where the mean signal probability exceeds 1/2."""
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags
