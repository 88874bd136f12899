"""The training kit shared by single fits and vectorized ensembles.

One place for each piece of a fit: the presets and the one resolver of a classifier's recipe
(:func:`resolve_recipe`), device resolution, event tensors and their batch iterator, the
one-cycle schedule, BatchNorm recalibration, the weighted loss and the package's callbacks.
Both trainers, :class:`~sklearn_bsym.nn.PFNClassifier` and friends (one network) and the
stacked trainer behind :class:`~sklearn_bsym.nn.EnsembleClassifier` (K networks), are skorch
``NeuralNet`` subclasses built from these pieces on one core, :class:`Trainer`: the default
callbacks, the fit loop's stop reasons, inference, the optimizer and the device, written once,
with small hooks for what differs between one network and K stacked ones.

Batches
-------
A batch is ``(X, y)`` as skorch expects: ``X`` a float32 tensor of events, ``y`` the 0/1 labels
(None at prediction time). When the fit has per-event weights, ``X`` is the dict
``{"x": events, "sample_weight": weights}`` so that the weights travel with their events
while ``y`` stays plain labels (what scikit-learn scorers in ``EpochScoring`` read);
:func:`batch_events` and :func:`batch_weights` take them apart.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import itertools
import os

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EpochTimer,
    LRScheduler,
    PassthroughScoring,
    PrintLog,
    ProgressBar,
)
from skorch.history import History
from skorch.utils import _check_f_arguments

__all__ = [
    "BySize",
    "by_size",
    "PRESETS",
    "PREDICT_BATCH",
    "MIN_FIT_EVENTS",
    "MIN_VALID_EVENTS",
    "validation_share",
    "Recipe",
    "resolve_recipe",
    "make_optimizer",
    "resolve_device",
    "fused_adamw_supported",
    "EventTensors",
    "batch_events",
    "batch_weights",
    "batch_bounds",
    "BatchIterator",
    "weighted_bce",
    "onecycle_lrs",
    "OneCycleSchedule",
    "recalibrate_batchnorm",
    "PreciseBatchNorm",
    "RECALIBRATION_EVENTS",
    "WeightedValidAUC",
    "weighted_auc",
    "Trainer",
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


class Trainer(abc.ABC):
    """The core both trainers share, mixed in before skorch's ``NeuralNet`` (or a subclass).

    Like scikit-learn's ``BaseHistGradientBoosting``: one loop, written once (default callbacks,
    stop reasons, inference, optimizer, device, seeding), and a few hooks a subclass overrides:

    - ``recipe()``: the training settings, checked (a :class:`Recipe`);
    - ``_recorders()``: the callbacks that record what skorch's history does not (the
      weighted validation AUC; for an ensemble, each member's history);
    - ``_early_stopping()``: the callback that stops on the validation AUC;
    - ``_stopped_early()``: whether that callback ended the loop.

    The default callbacks read ``preset``, ``validation_fraction``, ``patience``,
    ``progress_bar`` and ``callbacks`` unchecked, and take any value (skorch's ``get_params``
    reads them, and scikit-learn's ``set_params`` calls it; settings are checked when the net is
    initialized, at fit).

    Device: the ``device`` parameter stays as the user set it ("auto" included); ``initialize``
    resolves it once into the fitted attribute ``device_``, where modules, criteria, loaded
    parameters and event tensors go (skorch would read ``device``). Unpickling resolves
    ``device_`` again on the machine that loads.

    A Ctrl-C before the first epoch propagates instead of ending training: skorch swallows
    ``KeyboardInterrupt`` in its fit loop and then runs every callback's ``on_train_end``; with
    no epoch in the history, its ``EarlyStopping`` fails there with an ``IndexError`` (it reads
    ``history[-1]``). Nothing was trained, so the interrupt is handed on as it came.
    """

    # -- hooks ---------------------------------------------------------------------------
    @abc.abstractmethod
    def recipe(self) -> Recipe:
        """The training settings of the loop, checked."""

    @abc.abstractmethod
    def _recorders(self) -> list:
        """``(name, callback)`` pairs recording the history beyond skorch's losses."""

    @abc.abstractmethod
    def _early_stopping(self) -> Callback:
        """The callback that stops training on the validation AUC."""

    @abc.abstractmethod
    def _stopped_early(self) -> bool:
        """Whether early stopping ended the loop (read when it ends by an interrupt)."""

    # -- the shared glue -----------------------------------------------------------------
    @property
    def _default_callbacks(self):
        callbacks = [("epoch_timer", EpochTimer()),
                     ("train_loss", PassthroughScoring(name="train_loss", on_train=True))]
        validation = validation_share(self.validation_fraction,
                                      getattr(self, "n_events_", None)) is not None
        if validation:
            callbacks.append(("valid_loss", PassthroughScoring(name="valid_loss")))
        callbacks += self._recorders()
        if validation:
            callbacks.append(("early_stopping", self._early_stopping()))
        user = self._user_callbacks()
        known = isinstance(self.preset, str) and self.preset in PRESETS
        schedule = PRESETS[self.preset]["schedule"] if known else None
        if schedule == "onecycle" and not any(isinstance(cb, LRScheduler) for cb in user):
            # A user's LRScheduler replaces the built-in schedule instead of fighting it.
            callbacks.append(("lr_scheduler", OneCycleSchedule()))
        saves = any(isinstance(cb, Checkpoint) for cb in user)
        callbacks.append(("precise_bn", PreciseBatchNorm(every_epoch=saves)))
        if isinstance(self.progress_bar, bool | np.bool_) and self.progress_bar:
            callbacks.append(("progress_bar", ProgressBar()))
        callbacks.append(("print_log", PrintLog()))
        return callbacks

    def _user_callbacks(self) -> list:
        """The callbacks of the ``callbacks`` list (skorch's other values, None and "disable",
        add none)."""
        given = self.callbacks if isinstance(self.callbacks, list | tuple) else []
        return [cb[1] if isinstance(cb, tuple) else cb for cb in given]

    def notify(self, method_name, **cb_kwargs):
        if method_name == "on_train_end" and not len(self.history):
            raise KeyboardInterrupt
        return super().notify(method_name, **cb_kwargs)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's loop, recording what it ran: ``epochs_planned_`` and ``stop_reason_``
        ("completed", "early_stopping" or "interrupted").

        skorch ends training on ``KeyboardInterrupt`` (Ctrl-C, and the way early stopping
        stops) and returns the partly trained network; ``stop_reason_`` tells a caller such as
        a study whether the fit ran its planned course.
        """
        self.stop_reason_ = "interrupted"  # until the loop finishes or early stopping ends it
        try:
            if epochs is None:
                epochs = self.recipe().max_epochs
            self.epochs_planned_ = int(epochs)
            super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            if self._stopped_early():
                self.stop_reason_ = "early_stopping"
            raise
        self.stop_reason_ = "completed"
        return self

    def infer(self, x, **fit_params):
        return self.module_(batch_events(x), **fit_params)

    def initialize_optimizer(self, triggered_directly=None):
        self.optimizer_ = make_optimizer(self, self.recipe())
        return self

    def initialize(self):
        """skorch's ``initialize`` on ``device_`` (``device`` resolved), seeded by ``seed_``
        where the net has one."""
        self.device_ = resolve_device(self.device)
        with self._seeded(getattr(self, "seed_", None)):
            return super().initialize()

    @contextlib.contextmanager
    def _seeded(self, seed):
        """With a seed, torch's global RNG (weight init, dropout) is seeded for the block and
        restored afterwards (on ``device_`` too when it is a CUDA device)."""
        if seed is None:
            yield
            return
        device = self.device_
        cuda = [torch.device(device).index or 0] if device.startswith("cuda") else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)
            yield

    # -- where skorch reads ``device``: ``device_`` instead ----------------------------------
    def _initialize_module(self, reason=None):
        return self._initialize_part("module", self._modules, self.initialize_module, reason)

    def _initialize_criterion(self, reason=None):
        return self._initialize_part("criterion", self._criteria, self.initialize_criterion,
                                     reason)

    def _initialize_part(self, kind, names, initialize, reason):
        # skorch's _initialize_module and _initialize_criterion, which move the parts to
        # ``device``; here they go to ``device_``.
        with self._current_init_context(kind):
            kwargs = {}
            for name in names:
                kwargs.update(self.get_params_for(name))
            known = any(isinstance(getattr(self, f"{name}_", None), torch.nn.Module)
                        for name in names)
            if (kwargs or reason or known) and self.initialized_ and self.verbose:
                print(reason or self._format_reinit_msg(kind, kwargs))
            initialize()
            for name in names:
                part = getattr(self, f"{name}_")
                if isinstance(part, torch.nn.Module):
                    setattr(self, f"{name}_",
                            self.torch_compile(part.to(self.device_), name=name))
            return self

    def load_params(self, f_params=None, f_optimizer=None, f_criterion=None, f_history=None,
                    checkpoint=None, use_safetensors=False, **kwargs):
        """Load what ``save_params`` or a ``Checkpoint`` saved (parameters, optimizer,
        criterion, history) into an initialized net: skorch's ``load_params``, same arguments,
        with the tensors mapped to ``device_`` (skorch maps them to ``device``, which it cannot
        read when "auto")."""
        files = {}
        if checkpoint is not None:
            if not self.initialized_:
                self.initialize()
            if f_history is None and checkpoint.f_history is not None:
                self.history = History.from_file(checkpoint.f_history_)
            files.update(checkpoint.get_formatted_files(self))
        files.update(kwargs)
        named = {"f_params": f_params, "f_optimizer": f_optimizer, "f_criterion": f_criterion,
                 "f_history": f_history}
        files.update({key: value for key, value in named.items() if value})
        parts, other = _check_f_arguments("load_params", **files)
        if not parts and not other:
            if self.verbose:
                print("Nothing to load")
            return
        if other.get("f_history") is not None:
            self.history = History.from_file(other["f_history"])
        for attr, f in parts.items():
            self.check_is_fitted([attr], msg="Cannot load the state of an uninitialized net; "
                                             "call initialize() (or fit) first.")
            module = self._get_module(attr, msg="The net has no part 'net.{name}_' to load into.")
            module.load_state_dict(self._read_state_dict(f, use_safetensors))

    def _read_state_dict(self, f, use_safetensors: bool) -> dict:
        device = torch.device(self.device_)
        if not use_safetensors:
            return torch.load(f, map_location=device,
                              **(self.torch_load_kwargs or {"weights_only": True}))
        import safetensors.torch

        if isinstance(f, (str, os.PathLike)):
            return safetensors.torch.load_file(f, device=str(device))
        return {key: t.to(device) for key, t in safetensors.torch.load(f.read()).items()}

    def __setstate__(self, state):
        # skorch maps the pickled tensors to the state's device: the one resolved here, on the
        # machine that loads ("auto" may be CUDA where it was saved and the CPU here).
        device = state["device"]
        if device == "auto":
            state = {**state, "device": resolve_device(device)}
        super().__setstate__(state)
        if self.initialized_:
            self.device_ = self.device  # skorch's fallback to the CPU when CUDA is missing
        self.device = device


class EventTensors(torch.utils.data.Dataset):
    """Events held as tensors: ``X`` (N, D) float32, labels ``y`` (N,) float32 or None, and
    per-event loss weights ``sample_weight`` (N,) float32 or None."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None = None,
                 sample_weight: torch.Tensor | None = None):
        self.X = X
        self.y = y
        self.sample_weight = sample_weight

    def __len__(self) -> int:
        return self.X.shape[0]

    def batch(self, index):
        """The batch ``(X, y)`` of the events at ``index`` (a slice or index tensor)."""
        x = self.X[index]
        if self.sample_weight is not None:
            x = {"x": x, "sample_weight": self.sample_weight[index]}
        return x, (None if self.y is None else self.y[index])

    def __getitem__(self, i):
        return self.batch(i)

    def subset(self, idx) -> EventTensors:
        idx = torch.as_tensor(idx, device=self.X.device)
        return EventTensors(*(None if t is None else t[idx]
                              for t in (self.X, self.y, self.sample_weight)))


def batch_events(X) -> torch.Tensor:
    """The event tensor of a batch's ``X``."""
    return X["x"] if isinstance(X, dict) else X


def batch_weights(X) -> torch.Tensor | None:
    """The per-event weights of a batch's ``X`` (None when the fit is unweighted)."""
    return X.get("sample_weight") if isinstance(X, dict) else None


def batch_bounds(n: int, batch_size: int, merge_single: bool = True) -> list[tuple[int, int]]:
    """``(start, stop)`` of the batches of ``n`` events; a final batch of one event is merged
    into the previous one when ``merge_single`` (BatchNorm cannot train on one event)."""
    bounds = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    if merge_single and len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


class BatchIterator:
    """Mini-batches sliced from preloaded tensors: one permutation per pass when shuffling.

    A final batch of one event is merged into the previous one when training, so BatchNorm
    never sees a batch of one.
    """

    def __init__(self, dataset: EventTensors, batch_size: int = 256, shuffle: bool = False,
                 seed: int | None = None, merge_single: bool = True):
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.merge_single = merge_single
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(int(seed))

    def __len__(self) -> int:
        return len(batch_bounds(len(self.dataset), self.batch_size, self.merge_single))

    def __iter__(self):
        data = self.dataset
        n = len(data)
        if self.shuffle:
            # One gather per pass, then views: far cheaper than a gather per batch.
            perm = torch.randperm(n, generator=self.generator).to(data.X.device)
            data = data.subset(perm)
        for lo, hi in batch_bounds(n, self.batch_size, self.merge_single):
            yield data.batch(slice(lo, hi))


def weighted_bce(logits: torch.Tensor, y: torch.Tensor, sample_weight=None) -> torch.Tensor:
    """Binary cross-entropy of logits, averaged over the last axis; per-event weights (mean 1
    over the training set) multiply each event's term."""
    y = y.to(device=logits.device, dtype=logits.dtype)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, y, weight=sample_weight, reduction="none")
    return loss.mean(-1)


def onecycle_lrs(max_lr: float, total: int, pct_start: float = 0.25) -> np.ndarray:
    """The learning rate of each of ``total`` optimizer steps of the fast recipe: torch's
    ``OneCycleLR`` (warm-up, then cosine decay); constant ``max_lr`` for a fit too short for
    its warm-up (it needs two warm-up steps)."""
    total = max(1, int(total))
    if pct_start * total < 2:
        return np.full(total, float(max_lr))
    probe = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([probe], lr=max_lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=max_lr, total_steps=total, pct_start=pct_start, cycle_momentum=False)
    lrs = np.empty(total)
    for i in range(total):
        lrs[i] = optimizer.param_groups[0]["lr"]
        if i + 1 < total:
            optimizer.step()
            scheduler.step()
    return lrs


class OneCycleSchedule(Callback):
    """One-cycle learning rate (warm-up, then cosine decay), set before every training batch.

    The number of steps is known only once the training data are (``on_train_begin``),
    which is why skorch's ``LRScheduler`` with a fixed ``total_steps`` is not used. Works on
    any net with a ``recipe()`` method (both trainers of the package): the schedule spans the
    recipe's ``max_epochs``; ``max_lr`` None takes the recipe's learning rate.
    """

    def __init__(self, max_lr: float | None = None, pct_start: float = 0.25):
        self.max_lr = max_lr
        self.pct_start = pct_start

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        n_batches = len(net.get_iterator(net.get_split_datasets(X)[0], training=True))
        recipe = net.recipe()
        max_lr = recipe.lr if self.max_lr is None else self.max_lr
        self.lrs_ = onecycle_lrs(max_lr, recipe.max_epochs * n_batches, self.pct_start)
        self.step_ = 0

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            lr = float(self.lrs_[min(self.step_, len(self.lrs_) - 1)])
            for group in net.optimizer_.param_groups:
                group["lr"] = lr
            self.step_ += 1


def recalibrate_batchnorm(module: torch.nn.Module, batches) -> None:
    """Recompute every BatchNorm layer's running statistics as the cumulative average over
    ``batches`` (an iterable of event tensors) for the module's current weights; modes and
    momenta are restored afterwards."""
    norms = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the pass
    was_training = module.training
    module.train()
    try:
        with torch.no_grad():
            for xb in batches:
                module(xb)
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        module.train(was_training)


#: Training events whose batches recompute the BatchNorm statistics (the first batches of a
#: shuffled pass): more would change them by a small part of their own sampling noise, and a
#: fit with a validation split (every fit of a study) recomputes them every epoch.
RECALIBRATION_EVENTS = 16_384


class PreciseBatchNorm(Callback):
    """Recompute BatchNorm running statistics for the current weights, before each validation
    pass and at the end of training.

    Running averages trail the weights: with a fast learning rate they mix statistics of
    older weights, and predictions in eval mode drift from training behaviour (measured: an
    invariant network at train AUC 0.92 scored 0.53 in eval mode). One forward pass over the
    training batches with cumulative averaging fixes this for a third of an epoch's cost; the
    pass stops after ``max_events`` events (None: all), which from 16,384 events on costs less.

    With ``every_epoch`` the statistics are also recomputed at each epoch's end, so that what a
    ``Checkpoint`` saves then predicts as the network does.
    """

    def __init__(self, every_epoch: bool = False, max_events: int | None = RECALIBRATION_EVENTS):
        self.every_epoch = every_epoch
        self.max_events = max_events

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        if self.every_epoch and not self.fresh_:
            self.recalibrate(net, dataset_train)

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        self.dataset_train_ = dataset_train
        self.fresh_ = False

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.fresh_ = False

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training and not self.fresh_:
            self.recalibrate(net, self.dataset_train_)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.dataset_train_ = None
        # After a validation pass the statistics are those of the weights in place: the last
        # epoch's, or the best epoch's as early stopping restored them (its snapshot holds the
        # statistics its validation AUC was measured with; recomputing them over batches in
        # another order would move that AUC).
        if X is not None and not getattr(self, "fresh_", False):
            self.recalibrate(net, net.get_split_datasets(X)[0])

    def recalibrate(self, net, dataset):
        batches = (batch_events(xb) for xb, _ in net.get_iterator(dataset, training=True))
        if self.max_events is not None:
            batches = itertools.islice(batches, -(-self.max_events // net.recipe().batch_size))
        recalibrate_batchnorm(net.module_, batches)
        self.fresh_ = True


def weighted_auc(scores, y, sample_weight=None) -> float:
    """ROC AUC with per-event weights; NaN when only one class is present."""
    y = np.asarray(y)
    if np.unique(y).size < 2:
        return float("nan")
    return float(roc_auc_score(y, scores, sample_weight=sample_weight))


class WeightedValidAUC(Callback):
    """Weighted ROC AUC on the validation split, recorded as ``valid_auc`` each epoch."""

    def __init__(self, name: str = "valid_auc"):
        self.name = name

    def on_epoch_begin(self, net, **kwargs):
        self.preds_, self.labels_, self.weights_ = [], [], []

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if not training:
            self.preds_.append(y_pred.detach().float().cpu())
            self.labels_.append(batch[1].detach().cpu())
            w = batch_weights(batch[0])
            if w is not None:
                self.weights_.append(w.detach().cpu())

    def on_epoch_end(self, net, **kwargs):
        if not self.preds_:
            return
        w = torch.cat(self.weights_).numpy() if self.weights_ else None
        net.history.record(self.name, weighted_auc(torch.cat(self.preds_).numpy(),
                                                   torch.cat(self.labels_).numpy(), w))
        self.preds_, self.labels_, self.weights_ = [], [], []
