"""scikit-learn classifiers for the three networks, built on skorch's NeuralNetBinaryClassifier.

All three take the canonical 2-D event array (see :mod:`sklearn_bsym.events`), accept per-event
``sample_weight`` in ``fit`` (applied in the loss, batch by batch) and are seeded by
``random_state``. Training uses the trainer core :mod:`sklearn_bsym.nn._training`: the whole
training set is held as tensors on the compute device and each epoch slices batches out of one
permutation, so no per-event Dataset or DataLoader work is done.

Training recipes
----------------
``preset="fast"`` (default): AdamW (fused where the torch build supports it), one-cycle learning
rate schedule (warm-up then cosine decay), weight decay 0.01, a fixed number of epochs on every
training event (no early stopping), BatchNorm statistics recomputed for the final weights. Its
learning rate, batch size and epochs follow the number of events a fit is given, per network,
as a grid search at each training size chose them (``benchmarks/default_recipe.py --grid``), in
the manner of scikit-learn's ``MLPClassifier(batch_size="auto")``: each class lists them in its
``preset_recipe`` (a value, or a ``BySize`` rule of ``(from_events, value)`` steps), and
``clf.recipe(n_events)`` says what a fit on ``n_events`` events does. The invariant and hybrid
networks are a few times smaller than the authors' (``"auto"`` sizes, ``preset_module``).
``preset="paper"``: the authors' settings, AdamW at lr 1e-5 (1e-6 for the invariant network),
weight decay 0.01, batch 128, 100 epochs, constant learning rate, the authors' network sizes.
Explicit ``lr``, ``batch_size``, ``max_epochs`` and ``weight_decay`` override either preset.

Small samples (control regions, rare signals): default parameters fit any sample with both
classes from 4 training events on. Where the training events are fewer than the preset's
batch, the batch is half of them (two batches per epoch; an explicit ``batch_size`` larger
than the sample is an error), and a ``validation_fraction`` that would hold out fewer than 50
events is not used: the fit trains on every event for its fixed epochs, without early stopping
(on so few events a validation AUC picks epochs by noise). ``clf.recipe(n_events)`` states
both.

skorch callbacks
----------------
``callbacks=[...]`` takes skorch's callbacks. An ``LRScheduler`` replaces the built-in
one-cycle schedule; ``EarlyStopping`` on a validation score needs ``validation_fraction``
(the error says so); ``Checkpoint`` files restore with ``initialize()`` then ``load_params``.
"""

from __future__ import annotations

import contextlib
import inspect
import textwrap
import types
from numbers import Integral, Real

import numpy as np
import torch
from sklearn import get_config
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from skorch import NeuralNetBinaryClassifier
from skorch.callbacks import EarlyStopping
from skorch.utils import to_numpy

from .. import events
from .._random import as_seed, derive_seed, spawn_seeds
from .._threads import DEFAULT_THREADS, THREADS_CONSTRAINT, scoped_threads
from ..symmetries import SYMMETRIES, Symmetry
from ._batching import BatchIterator, EventTensors, batch_weights, weighted_bce
from ._callbacks import WeightedValidAUC
from ._chunks import in_chunks
from ._modules import (
    CONTEXTS,
    PARTICLE_INPUTS,
    POOLINGS,
    HybridNetwork,
    InvariantNetwork,
    ParticleFlowNetwork,
)
from ._recipes import (
    MIN_FIT_EVENTS,
    MIN_VALID_EVENTS,
    PREDICT_BATCH,
    PRESETS,
    BySize,
    by_size,
    resolve_device,
    resolve_recipe,
    validation_share,
)
from ._training import Trainer

__all__ = ["PFNClassifier", "InvariantClassifier", "HybridClassifier", "PRESETS"]


#: The attributes skorch keeps for itself, ending in "_" as fitted attributes do.
_SKORCH_BOOKKEEPING = frozenset({"prefixes_", "cuda_dependent_attributes_", "init_context_",
                                 "virtual_params_", "initialized_"})


#: Where a network's docstring lists the training parameters that every network shares, each
#: with this network's default recipe in words (:func:`_training_parameters`).
_TRAINING_PARAMETERS = "    <training parameters>\n"


def _training_parameters(cls) -> str:
    """The numpydoc entries of the parameters every network takes (the preset and training
    settings, skorch's among them), with ``cls``'s own default recipe in words, read from its
    ``preset_recipe`` and :data:`PRESETS` (so the text follows the numbers)."""

    def recipe(name: str) -> str:
        values = {preset: str(cls.preset_recipe.get(preset, {}).get(name, rule[name]))
                  for preset, rule in PRESETS.items()}
        if len(set(values.values())) == 1:
            return f"{next(iter(values.values()))} with either preset"
        return "; ".join(f"{value} with the {preset} preset" for preset, value in values.items())

    def entry(head: str, text: str) -> str:
        return f"    {head}\n" + textwrap.fill(text, 96, initial_indent=" " * 8,
                                                subsequent_indent=" " * 8) + "\n"

    settings = "".join([
        entry("lr : float or None, default None",
              "AdamW's learning rate (the schedule's peak with the fast preset); None: "
              f"{recipe('lr')}."),
        entry("batch_size : int or None, default None",
              f"Training batch; None: {recipe('batch_size')}, and half the training events "
              "where they are fewer than that."),
        entry("max_epochs : int or None, default None",
              "Epochs of training (early stopping, with ``validation_fraction``, may end it "
              f"sooner); None: {recipe('max_epochs')}."),
        entry("weight_decay : float or None, default None",
              f"AdamW's decoupled weight decay; None: {recipe('weight_decay')}."),
    ])
    return f"""\
    preset : {{"fast", "paper"}}, default "fast"
        Training recipe: "fast", AdamW with a one-cycle learning-rate schedule (warm-up, then
        cosine decay) and settings that follow the number of events a fit is given (the
        sizes below); "paper", the authors' (AdamW, constant learning rate). The settings
        below left at None take the preset's; ``clf.recipe(n_events)`` states a fit's.
{settings.rstrip(chr(10))}
    validation_fraction : float or None, default None
        Hold out this stratified fraction for early stopping on the weighted validation AUC
        (recorded as ``history[:, "valid_auc"]``; the best epoch's weights are restored).
        None uses every event for training (what cross-validation wants).
    patience : int, default 5
        Epochs without validation improvement before stopping.
    random_state : int, RandomState or None, default None
        Seeds weight initialization, dropout, batch order and the validation split.
    device : {{"cpu", "cuda", "auto"}}, default "cpu"
        "auto": CUDA where available, else the CPU; resolved when the network is initialized
        (at fit) into the fitted attribute ``device_``, where it trains and predicts.
    n_threads : int or None, default 1
        torch threads of each call (``fit``, ``partial_fit``, ``predict_proba``, ``predict``,
        ``decision_function``, ``symmetry_factor``), set for the call and restored after it, so
        the process's own setting is never changed. One thread is as fast as several for these
        small networks on a quiet machine and many times faster beside another busy process
        (``benchmarks/thread_policy.py``); None uses torch's current setting (its default of
        one thread per core, or what ``torch.set_num_threads`` set). Inside a study (or any
        call already under a limit) the outer limit holds.
    verbose : int, default 0
        Print skorch's per-epoch table when > 0.
    progress_bar : bool, default False
        Show skorch's progress bar during training.
    **kwargs
        Any other skorch ``NeuralNet`` argument, e.g. ``callbacks``, ``optimizer__betas``,
        ``iterator_train__shuffle`` or ``module__*`` (a setting of the network module).
"""


def _full_init_signature(cls) -> inspect.Signature:
    """The arguments ``cls(...)`` takes and their defaults: those its ``__init__`` names, then
    those of each ``__init__`` up the classes that its ``**kwargs`` reach (the nearest default
    wins, as the nearest ``__init__`` sets it), then ``**kwargs`` (skorch's ``module__*`` &
    co.), all keyword-only."""
    own = list(inspect.signature(cls.__init__).parameters.values())
    params: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None:
            continue
        kinds = set()
        for param in list(inspect.signature(init).parameters.values())[1:]:
            kinds.add(param.kind)
            if param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                params.setdefault(param.name, param.replace(kind=param.KEYWORD_ONLY))
        if inspect.Parameter.VAR_KEYWORD not in kinds:
            break
    return inspect.Signature([own[0], *params.values(),
                              *[p for p in own if p.kind is p.VAR_KEYWORD]])


class _EventClassifier(Trainer, NeuralNetBinaryClassifier):
    """Common machinery of the three classifiers; subclasses set the module and its
    friendly hyperparameters (``_module_params``). The training glue is the package's one
    :class:`~sklearn_bsym.nn._training.Trainer`; this class fills its hooks for one network.

    To scikit-learn, each classifier is an estimator like its own: the signature of
    ``__init__`` lists every argument with its default (skorch's too, which it takes through
    ``**kwargs``), so ``repr`` prints only the changed ones (``print_changed_only``) and the
    HTML diagram marks them; ``get_params`` holds the parameters only (not skorch's private
    bookkeeping); ``__init__`` sets nothing but them.
    """

    _module_params: tuple[str, ...] = ()
    #: Per preset, this network's ``lr``, ``batch_size`` and ``max_epochs`` where they are None
    #: (read by ``resolve_recipe``; what a network leaves out, the preset's ``PRESETS`` entry
    #: gives): values, or rules by the number of events a fit is given (``BySize``); the
    #: parameters above state them in words, ``clf.recipe(n_events)`` for one fit.
    preset_recipe: dict[str, dict] = {
        "fast": {"lr": 3e-3, "batch_size": 256, "max_epochs": 12},
        "paper": {"lr": 1e-5},
    }
    #: Network hyperparameters whose default, ``"auto"``, is the preset's (a value, or a
    #: ``BySize`` rule): the fast preset's sizes, the paper preset's the authors' (the
    #: parameters above state them in words).
    preset_module: dict[str, dict] = {}
    #: The package's own parameters (skorch's are checked by skorch), validated at fit with
    #: scikit-learn's machinery; subclasses add their network's.
    _parameter_constraints: dict = {
        "preset": [StrOptions(set(PRESETS))],
        "lr": [Interval(Real, 0, None, closed="neither"), None],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "iterator_train__batch_size": [Interval(Integral, 1, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "device": [str],
        "n_threads": THREADS_CONSTRAINT,
        "verbose": ["verbose"],
        "progress_bar": ["boolean"],
        "callbacks": [list, tuple, None, StrOptions({"disable"})],
    }

    def __init__(self, *, module, preset="fast", lr=None, max_epochs=None, batch_size=None,
                 weight_decay=None, validation_fraction=None, patience=5, random_state=None,
                 device="cpu", n_threads=DEFAULT_THREADS, verbose=0, progress_bar=False,
                 criterion=torch.nn.BCEWithLogitsLoss, optimizer=torch.optim.AdamW,
                 iterator_train=BatchIterator, iterator_valid=BatchIterator, train_split=None,
                 **kwargs):
        super().__init__(module, lr=lr, max_epochs=max_epochs, batch_size=batch_size,
                         device=device, verbose=verbose, criterion=criterion,
                         optimizer=optimizer, iterator_train=iterator_train,
                         iterator_valid=iterator_valid, train_split=train_split, **kwargs)
        self.preset = preset
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.n_threads = n_threads
        self.progress_bar = progress_bar
        self._refuse_unknown_arguments()
        # skorch's __init__ also sets the fit state below; until a fit (initialize()) sets it,
        # the class defaults stand in, so __init__ sets parameters only, as scikit-learn's
        # estimators do (check_no_attributes_set_in_init).
        for name in ("initialized_", "history_", "virtual_params_"):
            if vars(self).get(name) == getattr(_EventClassifier, name):
                del vars(self)[name]

    # skorch's fit state before a fit (read-only: initialize() sets the instance's own).
    initialized_ = False
    history_ = None
    virtual_params_: types.MappingProxyType = types.MappingProxyType({})

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            cls.__init__.__signature__ = _full_init_signature(cls)
        if cls.__doc__ and _TRAINING_PARAMETERS in cls.__doc__:
            cls.__doc__ = cls.__doc__.replace(_TRAINING_PARAMETERS, _training_parameters(cls))

    def _get_param_names(self):
        # skorch lists every public attribute of the instance (its **kwargs are parameters
        # too); the "_" ones are skorch's bookkeeping (_params_to_validate), not parameters,
        # and clone would pass them back to __init__.
        return [name for name in super()._get_param_names() if not name.startswith("_")]

    def set_params(self, **params):
        """Set the parameters (``get_params`` lists them; ``module__*``, ``optimizer__*``,
        ``callbacks__*`` and the other settings of a part too).

        Returns
        -------
        self
        """
        # A net not yet fitted keeps a new callbacks list as given, to be set up (and checked)
        # at fit, as scikit-learn wants of parameters (check_set_params); skorch would set up
        # the callbacks at once, and a value it cannot read would be an error here, and in
        # every set_params after it.
        if "callbacks" in params and not self.initialized_:
            self.callbacks = params.pop("callbacks")
        return super().set_params(**params)

    # scikit-learn's repr (only the changed parameters, fitted or not), not skorch's
    # "<class ...>[uninitialized](module=...)"; a fitted network's layers print as
    # ``print(clf.module_)``.
    __repr__ = BaseEstimator.__repr__

    def _get_params_html(self, deep=True, *args, **kwargs):
        # The parameter table of the HTML diagram: the classifier's parameters, not skorch's
        # deep ones (each default callback's settings), which nobody set and would all be
        # marked as set.
        return super()._get_params_html(False, *args, **kwargs)

    def _get_fitted_attr_html(self, *args, **kwargs):
        # Its table of fitted attributes (scikit-learn >= 1.8): what a fit set on this net and
        # its properties (classes_), not skorch's bookkeeping nor the class defaults standing
        # in before a fit.
        attrs = super()._get_fitted_attr_html(*args, **kwargs)
        for name in list(attrs):
            set_by_fit = name in vars(self) or isinstance(
                inspect.getattr_static(type(self), name, None), property)
            if name in _SKORCH_BOOKKEEPING or not set_by_fit:
                del attrs[name]
        return attrs

    def _refuse_unknown_arguments(self):
        # skorch checks its **kwargs only when the net is initialized (at fit): a misspelt
        # argument would cost a whole training run's set-up first.
        prefixes = [*self.prefixes_, "module", "criterion", "optimizer"]
        unknown = sorted(
            key for key in self._params_to_validate
            if not key.endswith("_") and not any(key.startswith(f"{p}__") for p in prefixes)
        )
        if unknown:
            raise TypeError(
                f"{type(self).__name__}() got unexpected argument(s) {', '.join(unknown)}; check "
                "the spelling (settings of a part take its name and two underscores, e.g. "
                "module__latent_dropout, optimizer__betas, iterator_train__shuffle)."
            )

    # -- settings ------------------------------------------------------------------------
    def _check_params(self):
        """``_parameter_constraints`` checked as scikit-learn's ``_fit_context`` checks them
        (skipped inside a meta-estimator that asks for it). Not ``_validate_params``: that is
        skorch's check of the argument names, which ``set_params`` runs too."""
        if get_config()["skip_parameter_validation"] or vars(self).get("_params_checked"):
            return
        params = {name: getattr(self, name) for name in self._parameter_constraints
                  if hasattr(self, name)}
        validate_parameter_constraints(self._parameter_constraints, params,
                                       caller_name=type(self).__name__)

    @contextlib.contextmanager
    def _checked_params(self):
        """The parameters checked once for the block (a fit): ``initialize_fit``,
        ``initialize`` and each ``recipe()`` inside it do not check them again."""
        if vars(self).get("_params_checked"):
            yield
            return
        self._check_params()
        vars(self)["_params_checked"] = True  # not through skorch's __setattr__
        try:
            yield
        finally:
            vars(self).pop("_params_checked", None)

    def recipe(self, n_events=None):
        """The training settings this classifier's ``fit`` uses on ``n_events`` events (its
        ``preset`` and the network's rules by size, completed by the explicit values),
        checked: a frozen ``Recipe`` with ``lr``, ``batch_size``, ``max_epochs``,
        ``weight_decay``, ``schedule``, ``device``, ``validation_fraction``, the network's
        ``"auto"`` sizes (``module``)...

        Given ``n_events``, it also says what a fit on that many events does (``n_train``,
        ``n_valid``, ``batches_per_epoch``, ``steps``); ``print(clf.recipe(2000))`` reads as
        one sentence. Without it: the recipe of the fit in progress or last run (``n_events_``
        events), and before any fit the rules by size.
        """
        self._check_params()
        return resolve_recipe(self, self._fit_size(n_events))

    def _fit_size(self, n_events=None):
        """``n_events``, else the events of this classifier's fit (None before any)."""
        return n_events if n_events is not None else getattr(self, "n_events_", None)

    def _check_callbacks(self):
        for cb in self._user_callbacks():
            monitor = getattr(cb, "monitor", None)
            if (isinstance(cb, EarlyStopping) and self._validation_share() is None
                    and isinstance(monitor, str) and monitor.startswith("valid")):
                raise ValueError(
                    f"EarlyStopping monitors {monitor!r}, but this classifier trains on every "
                    "event and has no validation split; set validation_fraction (e.g. 0.2; a "
                    f"split needs {MIN_VALID_EVENTS} held-out events), which also turns on "
                    "the built-in early stopping on the validation AUC.")

    # -- skorch hooks --------------------------------------------------------------------
    def _validation_share(self):
        """The validation share this classifier's fit holds out (None: no split), unchecked:
        ``validation_fraction``, unless the fit (``n_events_``) is too small for it."""
        return validation_share(self.validation_fraction, getattr(self, "n_events_", None))

    def _recorders(self):
        if self._validation_share() is None:
            return []
        return [("valid_auc", WeightedValidAUC())]

    def _early_stopping(self):
        return EarlyStopping(monitor="valid_auc", lower_is_better=False, patience=self.patience,
                             load_best=True, threshold=0.0, sink=self._sink)

    def _stopped_early(self) -> bool:
        return any(isinstance(cb, EarlyStopping) and cb.misses_ >= cb.patience
                   for _, cb in self.callbacks_)

    def _sink(self, *args, **kwargs):
        if self.verbose:
            print(*args, **kwargs)

    def _module_kwargs(self, n_events=None) -> dict:
        """The network's hyperparameters, ``"auto"`` ones resolved by the preset for a fit on
        ``n_events`` events (default: this classifier's fit, ``n_events_``)."""
        auto = self.preset_module.get(self.preset, {})
        n_events = self._fit_size(n_events)
        kwargs = {}
        for name in self._module_params:
            value = getattr(self, name)
            if isinstance(value, str) and value == "auto":
                value = by_size(auto[name], n_events)
            kwargs[name] = value
        return kwargs

    def initialize_module(self):
        self.module_ = self.build_module()
        return self

    def build_module(self):
        """The network this classifier's settings describe, untrained, for ``n_features_in_``
        inputs (8 before a fit); its tensors go on torch's default device (on ``"meta"``, under
        ``with torch.device("meta")``, its shapes cost no memory)."""
        kwargs = self._module_kwargs()
        if "n_particles" in inspect.signature(self.module).parameters:
            kwargs["n_particles"] = getattr(self, "n_features_in_", 8) // 4
        # module__ routing wins over the friendly names.
        kwargs.update(self.get_params_for("module"))
        return self.module(**kwargs)

    def initialize(self):
        """Set up the network, its loss, optimizer and callbacks for the current parameters
        (checked first), untrained; ``fit`` does it itself. Before ``load_params``, it gives the
        saved parameters a network to go into.

        Returns
        -------
        self
        """
        self._check_params()
        self._check_callbacks()
        return super().initialize()

    def get_iterator(self, dataset, training=False, epochs_run=None):
        """skorch's batch iterator of ``dataset``; a training iterator's batch order is keyed
        by ``random_state`` and ``epochs_run``, the epochs trained so far (default
        ``len(self.history)``; the stacked trainer of an ensemble passes its count of this
        member's epochs)."""
        batch_size = resolve_recipe(self, self._fit_size()).batch_size
        if training:
            kwargs = self.get_params_for("iterator_train")
            iterator = self.iterator_train
            kwargs.setdefault("batch_size", batch_size)
        else:
            kwargs = self.get_params_for("iterator_valid")
            iterator = self.iterator_valid
            kwargs.setdefault("batch_size", max(batch_size, PREDICT_BATCH))
        if iterator is BatchIterator and training:
            kwargs.setdefault("shuffle", True)
            seed = getattr(self, "seed_", None)
            # Key the shuffle by the epoch count so each fresh iterator (training, and the
            # BatchNorm recalibration of each epoch) has its own reproducible batch order.
            if seed is not None:
                seed = derive_seed(seed, len(self.history) if epochs_run is None else epochs_run)
            kwargs.setdefault("seed", seed)
        return iterator(dataset, **kwargs)

    def get_dataset(self, X, y=None):
        if isinstance(X, EventTensors):
            return X
        # skorch asks for prediction's data set with y=None
        return self.event_tensors(X, "no_validation" if y is None else y)

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset = self.get_dataset(X, y)
        share = self._validation_share()
        if share is None:
            return dataset, None
        idx = np.arange(len(dataset))
        split_seed = spawn_seeds(getattr(self, "seed_", 0), 2)[1]
        train, valid = train_test_split(idx, test_size=share,
                                        stratify=dataset.y.cpu().numpy(),
                                        random_state=split_seed)
        return dataset.subset(np.sort(train)), dataset.subset(np.sort(valid))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        # Mean of w * loss with weights normalized to mean 1 over the training set.
        return weighted_bce(y_pred, y_true, batch_weights(X))

    # -- data ----------------------------------------------------------------------------
    def event_tensors(self, X, y="no_validation", sample_weight=None, *,
                      reset=False) -> EventTensors:
        """Validated events (and labels and weights, normalized to mean 1) as tensors on the
        compute device; ``y`` as :func:`~sklearn_bsym.events.validate_events` takes it (None is
        an error, "no_validation" means events without labels); ``reset`` records
        ``n_features_in_`` (fit), else it is checked."""
        if not reset:
            self.check_is_fitted()
        unlabelled = isinstance(y, str) and y == "no_validation"
        # The package's one validation (y, when given, before the event contract); float32 is
        # what the networks compute in.
        checked = events.validate_events(self, X, y, reset=reset,
                                         dtype=(np.float32, np.float64))
        arr, labels = (checked, None) if unlabelled else checked
        # A fit's tensors go where initialize() then puts the network (device_).
        device = resolve_device(self.device) if reset else self.device_
        Xt = torch.as_tensor(arr.astype(np.float32, copy=False), device=device)
        if labels is None:
            return EventTensors(Xt)
        yt = torch.as_tensor(labels.astype(np.float32), device=device)
        if sample_weight is None:
            return EventTensors(Xt, yt)
        w = events.check_sample_weight(sample_weight, labels.size)
        w = (w / w.mean()).astype(np.float32)
        return EventTensors(Xt, yt, torch.as_tensor(w, device=device))

    def _check_enough_events(self, dataset: EventTensors):
        recipe = self.recipe(len(dataset))
        n_train = recipe.n_train
        if n_train < MIN_FIT_EVENTS:
            raise ValueError(
                f"Got {n_train} training events; a network trains on at least "
                f"{MIN_FIT_EVENTS} (two batches of two). Pass more events."
            )
        if n_train < recipe.batch_size:
            raise ValueError(
                f"Got {n_train} training events, fewer than one batch (batch_size="
                f"{recipe.batch_size}). Pass more events or a smaller batch_size, or leave "
                "batch_size=None: the preset's batch follows the sample."
            )

    # -- public API ----------------------------------------------------------------------
    def initialize_fit(self, X, y, sample_weight=None) -> EventTensors:
        """Everything ``fit`` does before its training loop: check the settings and data,
        seed from ``random_state`` and (unless ``warm_start`` on a fitted net) initialize
        the network. Returns the event tensors ``fit`` trains on (pass them to
        ``partial_fit``, ``get_split_datasets`` or ``get_iterator``)."""
        self._check_params()
        keep = self.warm_start and self.initialized_
        data = self.event_tensors(X, y, sample_weight, reset=not keep)
        self._check_enough_events(data)
        if not keep:
            # The size the recipe and the "auto" network follow (a warm start keeps its own).
            self.n_events_ = len(data)
        self.seed_ = as_seed(self.random_state)
        if not keep:
            self.initialize()
        return data

    @scoped_threads
    def fit(self, X, y, sample_weight=None):
        """Train the network from scratch (unless ``warm_start``).

        Parameters
        ----------
        X : array-like of shape (n_events, 4 * n_particles)
            Canonical events, (px, py, pz, E) per particle in GeV.
        y : array-like of shape (n_events,)
            1 = signal, 0 = background.
        sample_weight : array-like of shape (n_events,), optional
            Per-event weights in the loss (for example pT reweighting); normalized to mean 1.

        Returns
        -------
        self
        """
        with self._checked_params():
            data = self.initialize_fit(X, y, sample_weight)
            with self._seeded(self.seed_):
                super().partial_fit(data, None)
        return self

    @scoped_threads
    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """Continue training for ``max_epochs`` epochs (initializing first if needed)."""
        if not isinstance(X, EventTensors):
            X = self.event_tensors(X, y, sample_weight, reset=not self.initialized_)
            self._check_enough_events(X)
            if not self.initialized_:
                self.n_events_ = len(X)
        if not hasattr(self, "seed_"):
            self.seed_ = as_seed(self.random_state)
        return super().partial_fit(X, None, classes, **fit_params)

    def _set_fit_result(self, state_dict, history, stop_reason, epochs_planned):
        """Take the result of this classifier's fit run by another trainer (the stacked loop of
        an ensemble, on this classifier's data, seeds and recipe): the network's final weights,
        its history, and how the fit ended (``stop_reason_``, ``epochs_planned_``). The
        optimizer starts afresh, so warm-starting continues as after a fit of its own."""
        self.module_.load_state_dict(state_dict)
        self.module_.eval()
        self.history = history
        self.stop_reason_ = stop_reason
        self.epochs_planned_ = int(epochs_planned)
        self.initialize_optimizer()
        return self

    def evaluation_step(self, batch, training=False):
        if training:
            return super().evaluation_step(batch, training=True)
        # Prediction needs no autograd record at all: inference_mode skips its bookkeeping.
        self._set_training(False)
        with torch.inference_mode():
            return self.infer(batch[0])

    @scoped_threads
    def predict_proba(self, X):
        """Probabilities ``(n_events, 2)``: columns background, signal (computed in chunks of
        ``PREDICT_CHUNK`` events, so memory stays near input + output)."""
        return in_chunks(X, self._predict_proba)

    def _predict_proba(self, X) -> np.ndarray:
        # skorch's predict_proba, with the outputs' device named: skorch's EpochScoring
        # serves cached outputs on ``device`` by default, which may be "auto".
        nonlin = self._get_predict_nonlinearity()
        return np.concatenate([to_numpy(nonlin(yp)) for yp in
                               self.forward_iter(X, training=False, device="cpu")]
                              ).astype(np.float64)

    @scoped_threads
    def decision_function(self, X):
        """The network's logit per event (n_events,), computed in chunks like
        :meth:`predict_proba`."""
        # detach: skorch's EpochScoring(on_train=True) serves cached training outputs here.
        return in_chunks(X, lambda part: self.forward(part).detach().numpy().astype(np.float64))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = False
        return tags


class PFNClassifier(_EventClassifier):
    """Particle Flow Network classifier (the paper's general network).

    Parameters
    ----------
    Phi_sizes : tuple of int, default (128, 128, 16)
        Per-particle map; the last width is the latent dimension.
    F_sizes : tuple of int or "auto", default "auto"
        Hidden widths of the classifier after the sum over particles; "auto": (256, 256, 128)
        with the fast preset (the same AUC as the authors' at 8,000 and 80,000 events for
        about three quarters of the CPU: ``benchmarks/default_recipe.py``), the authors'
        (512, 256, 128) with the paper preset.
    latent_dropout : float, default 0.0
        Dropout on the summed latent vector.
    <training parameters>
    """

    _module_params = ("Phi_sizes", "F_sizes", "latent_dropout")
    _parameter_constraints: dict = {
        **_EventClassifier._parameter_constraints,
        "Phi_sizes": ["array-like"],
        "F_sizes": ["array-like", StrOptions({"auto"})],
        "latent_dropout": [Interval(Real, 0, 1, closed="left")],
    }
    # benchmarks/default_recipe.py --grid pfn ...: below 4,000 events lr 1e-2 with 48 (500) or
    # 24 (2,000) epochs; from there lr 3e-3, and bigger batches from 16,000.
    preset_recipe = {
        "fast": {"lr": BySize(((0, 0.01), (4_000, 3e-3))),
                 "batch_size": BySize(((0, 256), (16_000, 1024))),
                 "max_epochs": BySize(((0, 48), (2_000, 24), (16_000, 12)))},
        "paper": {"lr": 1e-5},
    }
    # The head's first layer (16 -> 512 -> 256) held most of the multiply-adds; at half its
    # width the PFN loses nothing (8,000 and 80,000 events, 3 seeds) and the study's fits cost
    # less. Narrower heads ((128, 128), (256, 128), (512, 128)) lost 0.001-0.003.
    preset_module = {"fast": {"F_sizes": (256, 256, 128)},
                     "paper": {"F_sizes": (512, 256, 128)}}

    def __init__(self, *, Phi_sizes=(128, 128, 16), F_sizes="auto", latent_dropout=0.0,
                 module=ParticleFlowNetwork, **kwargs):
        super().__init__(module=module, **kwargs)
        self.Phi_sizes = Phi_sizes
        self.F_sizes = F_sizes
        self.latent_dropout = latent_dropout


class InvariantClassifier(_EventClassifier):
    """Classifier on the invariants of a symmetry: by default the Minkowski invariants of the
    event (the paper's invariant network).

    Parameters
    ----------
    symmetry : str or Symmetry, default "lorentz"
        The symmetry built in: ``"lorentz"`` (the pairwise Minkowski products and masses, the
        paper's), ``"longitudinal"`` (rotations about the beam and boosts along it: each
        particle's pT and mass, per pair the rapidity and azimuthal differences, and the
        Lorentz invariants), or a
        :class:`~sklearn_bsym.symmetries.Symmetry` of your own invariant map (such a network
        exports to ONNX where torch can trace the map, but a model file cannot hold it: see
        the user guide's "Your own symmetry").
    hidden_sizes : tuple of int or "auto", default "auto"
        Hidden widths of the MLP on the invariants; "auto": (128, 128) with the fast preset, the
        authors' (512, 256, 256, 128) with the paper preset (within 0.0004 AUC of the fast sizes
        at every training size, at about three times the CPU time of a fit:
        ``benchmarks/default_recipe.py``).
    log_scale : bool, default True
        Compress the invariants with ``sign(x) log(1 + |x|)``.
    <training parameters>
    """

    _module_params = ("hidden_sizes", "log_scale", "symmetry")
    _parameter_constraints: dict = {
        **_EventClassifier._parameter_constraints,
        "hidden_sizes": ["array-like", StrOptions({"auto"})],
        "log_scale": ["boolean"],
        "symmetry": [StrOptions(set(SYMMETRIES)), Symmetry],
    }
    # The invariant network has learned all it can from 500 events on: bigger batches from
    # 16,000 events halve its cost at the same AUC (benchmarks/default_recipe.py --grid).
    preset_recipe = {
        "fast": {"lr": 3e-3, "batch_size": BySize(((0, 256), (16_000, 1024))),
                 "max_epochs": 12},
        "paper": {"lr": 1e-6},
    }
    preset_module = {"fast": {"hidden_sizes": (128, 128)},
                     "paper": {"hidden_sizes": (512, 256, 256, 128)}}

    def __init__(self, *, symmetry="lorentz", hidden_sizes="auto", log_scale=True,
                 module=InvariantNetwork, **kwargs):
        super().__init__(module=module, **kwargs)
        self.symmetry = symmetry
        self.hidden_sizes = hidden_sizes
        self.log_scale = log_scale


class HybridClassifier(_EventClassifier):
    """The paper's hybrid network: general and invariant subnets mixed by a learned,
    context-dependent symmetry factor.

    Defaults that differ from the paper's network, each measured against it
    (``benchmarks/hybrid_edge.py``, ``benchmarks/default_recipe.py``): the general subnet sees
    each muon in its event's frame (``particle_inputs="event"``: the event mirrored in z, each
    muon's pT, log pT, eta, pT share, eta relative to the pT-weighted axis and the event's pT
    balance beside its four-vector); the symmetry factor starts at 0.99 for the invariant subnet
    below 4,000 training events and at 0.95 from there, so the hybrid begins as its invariant
    branch; with the fast preset the classifier head is smaller (a sixth of the multiply-adds of
    the authors' head), and below 2,000 events the invariant route is as shallow as the
    invariant network (its subnet (128, 16), the head (64,)): with the 24 optimizer steps of a
    fit on 500 events, the deeper route (64, 16) then (128, 128) lost 0.008 AUC on one training
    subset in five, as the invariant network of the same widths does (the general subnet's
    share is not the cause: started at 0.9999, the hybrid lost as much).
    ``preset="paper", particle_inputs="momenta", invariant_weight_init=None`` gives the paper's
    network and recipe.

    Parameters
    ----------
    Phi_sizes : tuple of int, default (64, 16)
        General subnet's per-particle map (last = latent size).
    symmetry : str, Symmetry or tuple of them, default "lorentz"
        The symmetry of the invariant subnet (as :class:`InvariantClassifier`'s), or a chain
        of symmetries from the most constrained group to the least, one invariant subnet each
        beside the general one, mixed by one symmetry factor over all the branches: the
        chain hybrid, e.g. ``("lorentz", "longitudinal")`` (see
        :class:`~sklearn_bsym.nn.HybridNetwork`). Measured under the paper's smearing and a
        detector whose resolution depends on the azimuth, 500 to 80,000 events
        (``benchmarks/symmetry_chain.py``): the chain ties the better two-branch hybrid from
        8,000 events and never beats it by more than 0.0003 AUC, at 15 to 35 % more CPU
        time; hence the default.
    invariant_sizes : tuple of int or "auto", default "auto"
        Invariant subnet (last = latent size); "auto": with the fast preset (128, 16) below
        2,000 training events and (64, 16) from there, (64, 16) with the paper preset.
    weight_sizes : tuple of int, default (64, 64)
        Hidden widths of the weight network.
    F_sizes : tuple of int or "auto", default "auto"
        Hidden widths of the classifier; "auto": with the fast preset (64,) below 2,000
        training events and (128, 128) from there, the authors' (512, 256, 128) with the paper
        preset.
    pooling : {"weighted", "concat", "concat_weight", "concat_context"}, default "weighted"
    context : {"first", "leading", "pt_eta", "pt_eta_phi"} or list of int, default "first"
        Input of the weight network (see :class:`~sklearn_bsym.nn.HybridNetwork`).
    latent_dropout : float, default 0.0
    particle_inputs : {"event", "collider", "momenta"}, default "event"
        Per-particle inputs of the general subnet (none imposes a symmetry): "event", the
        event mirrored in z so that its total pz >= 0, each four-vector with its pT, log pT and
        eta, its share of the event's scalar pT sum, its eta relative to the pT-weighted axis
        and the event's pT balance ``|sum pT| / sum |pT|`` (how particle flow networks of jets see
        their constituents); "collider", the four-vector with pT, log pT and eta (0.2.0's
        default); "momenta", the four-vector alone (the paper's).
    invariant_weight_init : float in (0, 1), None or "auto", default "auto"
        Starting symmetry factor of the (first) invariant subnet for every event, the rest
        shared by the other branches; None: torch's default initialization (about 0.5, the
        paper's); "auto": with the fast preset 0.99 below 4,000 training events and 0.95 from
        there, 0.88 with the paper preset.
    <training parameters>
    """

    _module_params = ("Phi_sizes", "invariant_sizes", "weight_sizes", "F_sizes", "pooling",
                      "context", "latent_dropout", "particle_inputs", "invariant_weight_init",
                      "symmetry")
    _parameter_constraints: dict = {
        **_EventClassifier._parameter_constraints,
        "symmetry": [StrOptions(set(SYMMETRIES)), Symmetry, tuple, list],
        "Phi_sizes": ["array-like"],
        "invariant_sizes": ["array-like", StrOptions({"auto"})],
        "weight_sizes": ["array-like"],
        "F_sizes": ["array-like", StrOptions({"auto"})],
        "pooling": [StrOptions(set(POOLINGS))],
        "context": [StrOptions(set(CONTEXTS)), "array-like"],
        "latent_dropout": [Interval(Real, 0, 1, closed="left")],
        "particle_inputs": [StrOptions(set(PARTICLE_INPUTS))],
        "invariant_weight_init": [Interval(Real, 0, 1, closed="neither"), None,
                                  StrOptions({"auto"})],
    }
    # benchmarks/default_recipe.py --grid hybrid ... (the oracle at 500 to 320,000 events).
    preset_recipe = {
        "fast": {"lr": BySize(((0, 3e-3), (2_000, 0.02))),
                 "batch_size": BySize(((0, 256), (32_000, 512))),
                 "max_epochs": BySize(((0, 12), (32_000, 16)))},
        "paper": {"lr": 1e-5},
    }
    # Below 2,000 events a shallow invariant route (benchmarks/default_recipe.py, 10 seeds at
    # 500 events: -0.0005 against the invariant network, the deeper route -0.0035).
    preset_module = {
        "fast": {"F_sizes": BySize(((0, (64,)), (2_000, (128, 128)))),
                 "invariant_sizes": BySize(((0, (128, 16)), (2_000, (64, 16)))),
                 "invariant_weight_init": BySize(((0, 0.99), (4_000, 0.95)))},
        "paper": {"F_sizes": (512, 256, 128), "invariant_sizes": (64, 16),
                  "invariant_weight_init": 0.88},
    }

    def __init__(self, *, symmetry="lorentz", Phi_sizes=(64, 16), invariant_sizes="auto",
                 weight_sizes=(64, 64), F_sizes="auto", pooling="weighted", context="first",
                 latent_dropout=0.0, particle_inputs="event", invariant_weight_init="auto",
                 module=HybridNetwork, **kwargs):
        super().__init__(module=module, **kwargs)
        self.symmetry = symmetry
        self.Phi_sizes = Phi_sizes
        self.invariant_sizes = invariant_sizes
        self.weight_sizes = weight_sizes
        self.F_sizes = F_sizes
        self.pooling = pooling
        self.context = context
        self.latent_dropout = latent_dropout
        self.particle_inputs = particle_inputs
        self.invariant_weight_init = invariant_weight_init

    @property
    def branches_(self) -> tuple[str, ...]:
        """The names of the fitted network's branches, in the order of
        :meth:`symmetry_factor`'s columns: ``"general"``, then each symmetry's name
        (``("general", "lorentz")`` for the paper's hybrid)."""
        self.check_is_fitted()
        return self.module_.branch_names

    @scoped_threads
    def symmetry_factor(self, X) -> np.ndarray:
        """Per-event mixing weights ``(n_events, K)``, one column per branch (``branches_``):
        (w_general, w_invariant) for the paper's hybrid, (w_general, then one weight per
        symmetry of the chain) for a chain; rows sum to 1.

        w_general near 1 means the network relies on the unconstrained subnet for that event
        (the symmetry is broken there), near 0 on the invariant subnets.
        """
        self.check_is_fitted()
        return in_chunks(X, self._symmetry_factor)

    def _symmetry_factor(self, X) -> np.ndarray:
        dataset = self.get_dataset(X)
        module = self.module_
        out = []
        with torch.no_grad():
            module.eval()
            for xb, _ in self.get_iterator(dataset, training=False):
                out.append(module(xb, return_weights=True)[1].cpu())
        return torch.cat(out).numpy().astype(np.float64)
