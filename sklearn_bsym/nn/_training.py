"""The trainer core shared by single fits and vectorized ensembles: :class:`Trainer`.

Both trainers, :class:`~sklearn_bsym.nn.PFNClassifier` and friends (one network) and the
stacked trainer behind :class:`~sklearn_bsym.nn.EnsembleClassifier` (K networks), are skorch
``NeuralNet`` subclasses built on this one core: the default callbacks, the fit loop's stop
reasons, inference, the optimizer and the device, written once, with small hooks for what
differs between one network and K stacked ones. The pieces they are built from live beside it,
one module per seam: the recipes (:mod:`._recipes`: presets, :func:`resolve_recipe`, optimizer,
device), the batches (:mod:`._batching`: event tensors, their batch iterator, the weighted
loss) and the callbacks (:mod:`._callbacks`: one-cycle schedule, BatchNorm recalibration,
weighted validation AUC).
"""

from __future__ import annotations

import abc
import contextlib
import os

import numpy as np
import torch
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

from ._batching import batch_events
from ._callbacks import OneCycleSchedule, PreciseBatchNorm
from ._recipes import PRESETS, Recipe, make_optimizer, resolve_device, validation_share

__all__ = ["Trainer"]


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
