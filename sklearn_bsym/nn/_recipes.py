"""The training recipe of the networks: the presets, their size-dependent rules
(:class:`BySize`), the one resolver of a classifier's settings (:func:`resolve_recipe`), the
optimizer and the device."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ._batching import batch_bounds

__all__ = [
    "BySize",
    "by_size",
    "PRESETS",
    "PREDICT_BATCH",
    "MIN_FIT_EVENTS",
    "MIN_VALID_EVENTS",
    "validation_share",
    "resolve_device",
    "fused_adamw_supported",
    "Recipe",
    "make_optimizer",
    "resolve_recipe",
]


@dataclasses.dataclass(frozen=True)
class BySize:
    """A setting that follows the number of events a fit is given, in the manner of
    scikit-learn's ``MLPClassifier(batch_size="auto")``: ``steps`` are ``(from_events, value)``
    pairs, the first from 0 events, in increasing order.

    >>> rule = BySize(((0, 0.003), (4_000, 0.01)))
    >>> rule.at(2_000), rule.at(4_000), str(rule)
    (0.003, 0.01, '0.003 below 4,000 events, 0.01 from 4,000')
    """

    steps: tuple[tuple[int, object], ...]

    def __post_init__(self):
        starts = [start for start, _ in self.steps]
        if not starts or starts[0] != 0 or starts != sorted(set(starts)):
            raise ValueError(f"BySize steps must start at 0 events and increase, got {starts}.")

    def at(self, n_events: int | None):
        """The value for a fit on ``n_events`` events (None, no fit yet: the smallest
        sizes')."""
        if n_events is None:
            return self.steps[0][1]
        return [value for start, value in self.steps if start <= n_events][-1]

    def __str__(self) -> str:
        parts = []
        for i, (start, value) in enumerate(self.steps):
            shown = _show(value)
            if len(self.steps) == 1:
                parts.append(shown)
            elif i == 0:
                parts.append(f"{shown} below {self.steps[1][0]:,} events")
            else:
                parts.append(f"{shown} from {start:,}")
        return ", ".join(parts)


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return f"({value[0]},)" if len(value) == 1 else f"({', '.join(str(v) for v in value)})"
    return str(value)


def by_size(value, n_events: int | None):
    """``value`` for a fit on ``n_events`` events: a :class:`BySize` rule resolved, any other
    value as it is."""
    return value.at(n_events) if isinstance(value, BySize) else value


#: The training recipes, shared by the networks; a network states its own values of ``lr``,
#: ``batch_size`` and ``max_epochs`` per preset (the classifier's ``preset_recipe``, often a
#: :class:`BySize` rule), and None here means that it must. Both presets run a fixed number of
#: epochs on every training event, with no early stopping: on 10 % or 20 % of a few thousand
#: events the validation AUC picks epochs by noise (``benchmarks/default_recipe.py --variant``).
PRESETS = {
    "fast": {"lr": None, "batch_size": None, "max_epochs": None, "weight_decay": 0.01,
             "schedule": "onecycle"},
    "paper": {"lr": None, "batch_size": 128, "max_epochs": 100, "weight_decay": 0.01,
              "schedule": None},
}

#: Events per batch at prediction time: BatchNorm is frozen there, so bigger is just faster.
PREDICT_BATCH = 8192

#: The fewest training events a network fits: two batches of two (BatchNorm needs two events
#: per batch). Below one preset batch of training events, the preset's batch is half of them.
MIN_FIT_EVENTS = 4

#: The fewest held-out events that early stopping uses: on fewer, a validation AUC picks epochs
#: by noise, so a fit that would hold out fewer trains on every event for its fixed epochs.
MIN_VALID_EVENTS = 50


def validation_share(fraction, n_events: int | None):
    """The validation share a fit on ``n_events`` events holds out: ``fraction``, or None when
    it would hold out fewer than :data:`MIN_VALID_EVENTS` events (the fit then trains on every
    event with no early stopping). Unsized (``n_events`` None) or unchecked values are returned
    as they are."""
    if (n_events is None or isinstance(fraction, bool) or not isinstance(fraction, int | float)
            or not 0 < fraction < 1):
        return fraction
    return fraction if np.ceil(fraction * n_events) >= MIN_VALID_EVENTS else None


def resolve_device(device) -> str:
    """"auto" -> "cuda" when available, else "cpu"; other values are checked and returned."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}.")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but CUDA is not available; use "
                         "device='cpu' or device='auto'.")
    return str(device)


def fused_adamw_supported(device: str) -> bool:
    """Fused AdamW removes most of the optimizer's per-tensor overhead; older CPU builds lack
    it."""
    p = torch.zeros(1, requires_grad=True, device=device)
    try:
        torch.optim.AdamW([p], fused=True)
    except (RuntimeError, ValueError, TypeError):
        return False
    return True


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A classifier's training settings, resolved from its preset and explicit values.

    With ``n_events`` (the events a fit is given) it also says what that fit does: the events it
    trains on and holds out, its batches per epoch and its optimizer steps; ``str(recipe)``
    reads as one sentence. The settings that follow the size of the fit (``rules``: name and
    :class:`BySize` rule) are resolved for ``n_events``; without it they hold the smallest
    sizes' values and the sentence states the rules. ``module`` holds the network's ``"auto"``
    hyperparameters as that fit builds them.
    """

    preset: str
    lr: float
    batch_size: int
    max_epochs: int
    weight_decay: float
    schedule: str | None
    device: str
    validation_fraction: float | None
    patience: int
    n_events: int | None = None
    rules: tuple[tuple[str, BySize], ...] = ()
    module: tuple[tuple[str, object], ...] = ()
    #: The preset's batch when the training events are fewer (``batch_size`` is then half of
    #: them), else None.
    preset_batch: int | None = None
    #: The validation share asked for when it would hold out fewer than ``MIN_VALID_EVENTS``
    #: events (``validation_fraction`` is then None: no early stopping), else None.
    unused_validation: float | None = None

    @property
    def early_stopping(self) -> bool:
        """Whether a fit stops early on the validation AUC of a held-out share."""
        return self.validation_fraction is not None

    @property
    def n_valid(self) -> int | None:
        """Events held out for early stopping (stratified split; None without ``n_events``)."""
        if self.n_events is None:
            return None
        if self.validation_fraction is None:
            return 0
        return int(np.ceil(self.validation_fraction * self.n_events))

    @property
    def n_train(self) -> int | None:
        """Events the network trains on (None without ``n_events``)."""
        return None if self.n_events is None else self.n_events - self.n_valid

    @property
    def batches_per_epoch(self) -> int | None:
        """Optimizer steps per epoch (a last batch of one event joins the one before)."""
        if self.n_train is None:
            return None
        return len(batch_bounds(self.n_train, self.batch_size))

    @property
    def steps(self) -> int | None:
        """Optimizer steps of a fit that runs all its epochs (None without ``n_events``)."""
        per_epoch = self.batches_per_epoch
        return None if per_epoch is None else per_epoch * self.max_epochs

    def __str__(self) -> str:
        rules = dict(self.rules) if self.n_events is None else {}  # unsized: state the rules

        def setting(name, value):
            return f"{rules[name]}" if name in rules else _show(value)

        schedule = {"onecycle": "one-cycle schedule peaking at", None: "constant"}[self.schedule]
        epochs = (f"epochs {rules['max_epochs']}" if "max_epochs" in rules
                  else f"{self.max_epochs} epochs")
        batch = setting("batch_size", self.batch_size)
        if self.preset_batch is not None:
            batch += (f" (half the {self.n_train:,} training events, fewer than the preset's "
                      f"{self.preset_batch:,})")
        elif self.n_events is None and "batch_size" in rules:
            batch += " (half the training events where they are fewer)"
        text = (f"preset {self.preset!r}: AdamW, {schedule} lr {setting('lr', self.lr)}, weight "
                f"decay {self.weight_decay:g}, batch {batch}, {epochs}")
        network = ("; network " + ", ".join(f"{name} {setting(name, value)}"
                                            for name, value in self.module)
                   if self.module else "")
        stop = (f"early stopping on the weighted AUC of a {self.validation_fraction:g} share "
                f"(patience {self.patience})" if self.early_stopping else "no early stopping")
        if self.unused_validation is not None:
            held = int(np.ceil(self.unused_validation * self.n_events))
            stop += (f": a {self.unused_validation:g} share would hold out {held:,} events, "
                     f"fewer than {MIN_VALID_EVENTS}")
        elif self.early_stopping and self.n_events is None:
            stop += f" when it holds out {MIN_VALID_EVENTS} events or more"
        if self.n_events is None:
            return f"{text}{network}; {stop}, on {self.device}"
        held = (f", {self.n_valid:,} held out for validation" if self.early_stopping else "")
        return (f"{text}: {self.n_events:,} events, trains on {self.n_train:,}{held}; "
                f"{self.batches_per_epoch} batches per epoch, {self.steps:,} steps "
                f"{'at most ' if self.early_stopping else ''}({stop}){network}; on "
                f"{self.device}")

    def optimizer_kwargs(self, optimizer, given: dict) -> dict:
        """Keyword arguments of ``optimizer``: the user's ``optimizer__*`` values ``given``,
        completed with the recipe's learning rate, weight decay (AdamW) and fused kernel."""
        kwargs = dict(given)
        kwargs.setdefault("lr", self.lr)
        if optimizer is torch.optim.AdamW:
            kwargs.setdefault("weight_decay", self.weight_decay)
            kwargs.setdefault("fused", fused_adamw_supported(self.device))
        return kwargs


def make_optimizer(net, recipe: Recipe) -> torch.optim.Optimizer:
    """``net.optimizer`` over the net's learnable parameters, with the user's
    ``optimizer__*`` values completed by the recipe (skorch's own ``lr`` attribute is ignored
    unless ``optimizer__lr`` is given, since None there means "the preset's")."""
    args, kwargs = net.get_params_for_optimizer("optimizer", net.get_all_learnable_params())
    if "lr" not in net.get_params_for("optimizer"):
        kwargs.pop("lr", None)
    return net.optimizer(*args, **recipe.optimizer_kwargs(net.optimizer, kwargs))


def resolve_recipe(net, n_events: int | None = None) -> Recipe:
    """The recipe of a classifier (its ``preset`` completed by explicit values) for a fit on
    ``n_events`` events (None: no size, the rules stated). The values are checked by the
    classifier's ``_parameter_constraints`` (at fit, and by its ``recipe()``); this only
    resolves them.

    ``net`` is one of the package's classifiers: explicit ``lr``, ``max_epochs``,
    ``batch_size`` (or ``iterator_train__batch_size``) and ``weight_decay`` override
    everything; a None value takes the network's ``preset_recipe[preset]`` (a value or a
    :class:`BySize` rule), else the preset's. The network's ``"auto"`` hyperparameters come
    from its ``preset_module[preset]`` likewise (``net._module_kwargs``).

    Small fits: the preset's batch (not an explicit one) is half the training events where they
    are fewer than it, and a validation share that would hold out fewer than
    :data:`MIN_VALID_EVENTS` events is not used (:func:`validation_share`).
    """
    preset = PRESETS[net.preset]
    own = net.preset_recipe.get(net.preset, {})
    given = {"lr": net.lr, "batch_size": net.get_params_for("iterator_train").get(
        "batch_size", net.batch_size), "max_epochs": net.max_epochs,
        "weight_decay": net.weight_decay}
    rules = {}
    values = {}
    for name, value in given.items():
        if value is None:
            value = own.get(name, preset[name])
        if isinstance(value, BySize):
            rules[name] = value
        values[name] = by_size(value, n_events)
    share = validation_share(net.validation_fraction, n_events)
    preset_batch = None
    if n_events is not None and given["batch_size"] is None:
        # The preset's batch follows the sample: below one batch of training events, half.
        n_train = n_events - (0 if share is None else int(np.ceil(share * n_events)))
        if n_train < values["batch_size"]:
            preset_batch = int(values["batch_size"])
            values["batch_size"] = max(2, n_train // 2)
    auto = net.preset_module.get(net.preset, {})
    module = {name: value for name, value in net._module_kwargs(n_events).items()
              if name in auto}
    rules.update({name: auto[name] for name in module
                  if isinstance(auto[name], BySize) and isinstance(getattr(net, name), str)})
    return Recipe(
        preset=net.preset, lr=float(values["lr"]), batch_size=int(values["batch_size"]),
        max_epochs=int(values["max_epochs"]), weight_decay=float(values["weight_decay"]),
        schedule=preset["schedule"], device=resolve_device(net.device),
        validation_fraction=share, patience=int(net.patience),
        n_events=None if n_events is None else int(n_events), rules=tuple(rules.items()),
        module=tuple(module.items()), preset_batch=preset_batch,
        unused_validation=(net.validation_fraction if share is None
                           and net.validation_fraction is not None else None))
