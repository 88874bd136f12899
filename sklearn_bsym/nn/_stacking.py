"""Stacked layers: K independent copies of a network as one module.

One fit of these small networks is dominated by per-step overhead (Python, autograd, kernel
launches), not arithmetic. Computing K members in one module spends that overhead once per step
for all K, while the arithmetic grows K-fold.

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
Every parameter and buffer of a stacked layer (but BatchNorm's step counter) has the members
along its first axis, so ``member_view`` gives any member's slice of the whole state.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

__all__ = [
    "EnsembleLinear",
    "EnsembleBatchNorm1d",
    "EnsembleSequential",
    "stack_modules",
    "unstack_module",
    "n_members_of",
    "member_view",
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


def member_view(tensor: torch.Tensor, n_members: int) -> torch.Tensor | None:
    """A stacked parameter or buffer as ``(n_members, -1)`` (a view: writing to row k writes
    member k's values); None for state shared by all members (BatchNorm's step counter)."""
    if tensor.dim() == 0:
        return None
    return tensor.view(n_members, -1)
