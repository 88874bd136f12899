"""Vectorized ensembles: K independently seeded copies of a classifier trained as one skorch net.

The K members' networks are stacked into one module (:mod:`sklearn_bsym.nn._stacking`) and
trained by :class:`EnsembleNet`, a skorch ``NeuralNet`` built from the same kit as the single
classifiers (:mod:`sklearn_bsym.nn._training`): the same recipe, one-cycle schedule, BatchNorm
recalibration and loss. Only three things differ from a single fit:

- batches are member-major: the members' own batch iterators are zipped, and rows
  ``[k * B:(k + 1) * B]`` of a batch are member k's batch (so, for members of equal size, each
  member sees exactly the batches of its separate fit);
- the loss is the sum over members of each member's (weighted) mean loss, so each member's
  gradient is the gradient of its own separate fit; AdamW acts element by element, so a stacked
  parameter is updated exactly as K separate ones would be (weight decay included);
- early stopping acts per member (:class:`MemberEarlyStopping`), and each member's history is
  recorded as its separate fit would record it (:class:`MemberHistories`).

The rest of the loop (default callbacks, stop reasons, inference, optimizer, device) is the
trainers' one core, :class:`~sklearn_bsym.nn._training.Trainer`. When the loop ends, each
member receives its weights, history and stop reason through its own ``_set_fit_result``.

Members with training sets of different sizes cannot share batch bounds: each then draws
``batch_size`` rows per step from its own stream of permutations, an epoch is the largest
member's number of steps, and smaller members cycle through their data. To train each member
exactly as its separate fit, fit one :class:`EnsembleClassifier` per subset size.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, LRScheduler, ProgressBar
from skorch.history import History

from .. import events
from .._random import spawn_seeds
from .._threads import DEFAULT_THREADS, THREADS_CONSTRAINT, scoped_threads
from ._batching import batch_events, batch_weights, weighted_bce
from ._callbacks import weighted_auc
from ._chunks import in_chunks
from ._stacking import member_view, stack_modules, unstack_module
from ._training import Trainer

__all__ = [
    "EnsembleNet",
    "MemberHistories",
    "MemberEarlyStopping",
    "EnsembleClassifier",
]


class MemberData:
    """The training (or validation) sets of K members, one ``EventTensors`` each."""

    def __init__(self, parts):
        self.parts = list(parts)

    def __len__(self) -> int:
        return max(len(p) for p in self.parts)


class MemberBatches:
    """Member-major batches from the members' own batch iterators.

    Equal sizes: the members' batches, zipped (each exactly its separate fit's batch).
    Unequal sizes: every member gives ``batch_size`` rows per step; in training from its own
    endless stream of permutations, in evaluation its events in order, padded by repeats that
    a ``mask`` (0 on padding) keeps out of losses and scores.
    """

    def __init__(self, iterators, training: bool):
        self.iterators = list(iterators)
        self.training = training

    def __len__(self) -> int:
        return max(len(it) for it in self.iterators)

    def __iter__(self):
        if len({len(it.dataset) for it in self.iterators}) == 1:
            for parts in zip(*self.iterators, strict=True):
                yield _stack(parts)
            return
        batch_size = self.iterators[0].batch_size
        if self.training:
            streams = [_endless(it, batch_size) for it in self.iterators]
            for _ in range(len(self)):
                yield _stack([next(s) for s in streams])
            return
        longest = max(len(it.dataset) for it in self.iterators)
        for lo in range(0, longest, batch_size):
            hi = min(lo + batch_size, longest)
            parts, masks = [], []
            for it in self.iterators:
                n = len(it.dataset)
                rows = torch.arange(lo, hi, device=it.dataset.X.device)
                parts.append(it.dataset.batch(rows % n))
                masks.append((rows < n).to(torch.float32))
            x, y = _stack(parts)
            x["mask"] = torch.cat(masks)
            yield x, y


def _endless(iterator, batch_size: int):
    """``batch_size`` events at a time from consecutive permutations of the iterator's
    dataset, drawn from its own seeded generator."""
    data = iterator.dataset
    buffer = torch.empty(0, dtype=torch.long)
    while True:
        while buffer.numel() < batch_size:
            buffer = torch.cat([buffer, torch.randperm(len(data), generator=iterator.generator)])
        idx, buffer = buffer[:batch_size], buffer[batch_size:]
        yield data.batch(idx.to(data.X.device))


def _stack(parts):
    """One member-major batch ``({"x", "sample_weight"}, y)`` from the members' batches."""
    xs = [batch_events(x) for x, _ in parts]
    ws = [batch_weights(x) for x, _ in parts]
    batch = {"x": torch.cat(xs)}
    if any(w is not None for w in ws):
        batch["sample_weight"] = torch.cat([
            torch.ones(len(x), device=x.device) if w is None else w
            for x, w in zip(xs, ws, strict=True)])
    ys = [y for _, y in parts]
    return batch, (None if ys[0] is None else torch.cat(ys))


class MemberHistories(Callback):
    """Records each member's ``history`` as its separate fit would: per batch ``train_loss``,
    ``train_batch_size`` (and ``valid_*``), per epoch ``epoch``, ``train_batch_count``,
    ``train_loss`` (``_best``), ``dur``, and with validation ``valid_batch_count``,
    ``valid_loss`` (``_best``) and the weighted ``valid_auc``.

    The histories are the net's (``net.member_histories_``) until the members receive them.
    Per-batch values stay on the device until the epoch ends (one transfer per epoch).
    Members that stopped early (``net.stopped_``) are no longer recorded.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.tic_ = time.time()
        self.steps_ = {True: [], False: []}
        self.valid_ = []
        for k in net.active_members():
            history = net.member_histories_[k]
            history.new_epoch()
            history.record("epoch", len(history))

    def on_batch_end(self, net, batch=None, training=False, member_losses=None, y_pred=None,
                     **kwargs):
        k = len(net.members)
        mask = batch[0].get("mask")
        sizes = (mask.view(k, -1).sum(1) if mask is not None
                 else torch.full((k,), len(batch[1]) // k, device=member_losses.device))
        self.steps_[training].append(torch.stack([member_losses.detach(), sizes.float()]))
        if not training:
            w = batch_weights(batch[0])
            self.valid_.append([t.detach().view(k, -1) if t is not None else None
                                for t in (y_pred, batch[1], w, mask)])

    def on_epoch_end(self, net, **kwargs):
        dur = time.time() - self.tic_
        steps = {t: torch.stack(v).cpu().numpy() if v else None for t, v in self.steps_.items()}
        aucs = self._aucs(len(net.members))
        for k in net.active_members():
            history = net.member_histories_[k]
            for training, prefix in ((True, "train"), (False, "valid")):
                if steps[training] is None:
                    continue
                losses, sizes = steps[training][:, 0, k], steps[training][:, 1, k]
                for loss, size in zip(losses, sizes, strict=True):
                    history.new_batch()
                    history.record_batch(f"{prefix}_loss", float(loss))
                    history.record_batch(f"{prefix}_batch_size", int(size))
                history.record(f"{prefix}_batch_count", len(losses))
            for training, prefix in ((True, "train"), (False, "valid")):
                if steps[training] is None:
                    continue
                losses, sizes = steps[training][:, 0, k], steps[training][:, 1, k]
                loss = float(np.average(losses, weights=sizes))
                past = history[:-1, f"{prefix}_loss"] if len(history) > 1 else []
                history.record(f"{prefix}_loss", loss)
                history.record(f"{prefix}_loss_best", bool(not past or loss < min(past)))
            if aucs is not None:
                history.record("valid_auc", aucs[k])
            history.record("dur", dur)

    def _aucs(self, k: int):
        if not self.valid_:
            return None
        cols = list(zip(*self.valid_, strict=True))
        pred, y = torch.cat(cols[0], 1).cpu().numpy(), torch.cat(cols[1], 1).cpu().numpy()
        w = None if cols[2][0] is None else torch.cat(cols[2], 1).cpu().numpy()
        keep = (np.ones_like(y, dtype=bool) if cols[3][0] is None
                else torch.cat(cols[3], 1).cpu().numpy() > 0)
        return [weighted_auc(pred[j][keep[j]], y[j][keep[j]],
                             None if w is None else w[j][keep[j]]) for j in range(k)]


class MemberEarlyStopping(Callback):
    """skorch's ``EarlyStopping`` on ``valid_auc`` (patience, best weights restored at the
    end), for each member on its own: a member stops after ``patience`` epochs without a
    better validation AUC; training ends when every member has stopped."""

    def __init__(self, patience: int = 5):
        self.patience = patience

    def on_train_begin(self, net, **kwargs):
        k = len(net.members)
        self.best_score_ = np.full(k, -np.inf)
        self.misses_ = np.zeros(k, dtype=int)
        self.best_state_ = {name: t.detach().clone() for name, t in
                            net.module_.state_dict().items()}

    def on_epoch_end(self, net, **kwargs):
        k = len(net.members)
        active = net.active_members()
        scores = np.array([net.member_histories_[j][-1, "valid_auc"] if j in active else np.nan
                           for j in range(k)])
        improved = np.zeros(k, dtype=bool)
        improved[active] = scores[active] > self.best_score_[active]
        if improved.any():
            rows = torch.as_tensor(improved, device=next(iter(self.best_state_.values())).device)
            for name, tensor in net.module_.state_dict().items():
                best = member_view(self.best_state_[name], k)
                if best is not None:
                    best[rows] = member_view(tensor.detach(), k)[rows]
            self.best_score_[improved] = scores[improved]
        self.misses_[active] = np.where(improved[active], 0, self.misses_[active] + 1)
        net.stopped_ |= self.misses_ >= self.patience
        if net.stopped_.all():
            raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs):
        current = net.module_.state_dict()
        with torch.no_grad():
            for name, tensor in self.best_state_.items():
                if member_view(tensor, len(net.members)) is not None:
                    current[name].copy_(tensor)


class EnsembleNet(Trainer, NeuralNet):
    """The trainer of K stacked members: skorch's fit loop on member-major batches.

    Parameters
    ----------
    module : torch.nn.Module
        The members' networks stacked by :func:`~sklearn_bsym.nn.stack_modules`.
    members : list
        The K initialized classifiers (see their ``initialize_fit``); their batch iterators
        give the batches, and ``members[0]``'s recipe and settings are the loop's.
    **kwargs
        skorch ``NeuralNet`` arguments (``optimizer``, ``optimizer__*``, ``device``,
        ``verbose``, ``callbacks``).

    ``fit`` takes ``(train_sets, valid_sets)``, one ``EventTensors`` per member each (valid
    sets None without a validation split). Afterwards :meth:`member_results` gives each
    member's weights, history and stop reason.
    """

    def __init__(self, module, *, members, **kwargs):
        kwargs.setdefault("criterion", torch.nn.BCEWithLogitsLoss)
        kwargs.setdefault("train_split", None)
        super().__init__(module, **kwargs)
        self.members = members

    # The members' training settings (all alike: clones of one template), read by the core.
    preset = property(lambda self: self.members[0].preset)
    validation_fraction = property(lambda self: self.members[0]._validation_share())
    patience = property(lambda self: self.members[0].patience)
    progress_bar = property(lambda self: self.members[0].progress_bar)

    def recipe(self):
        return self.members[0].recipe()

    def _recorders(self):
        return [("member_histories", MemberHistories())]

    def _early_stopping(self):
        return MemberEarlyStopping(self.patience)

    def _stopped_early(self) -> bool:
        return bool(self.stopped_.all())

    def initialize_history(self):
        """The loop's history, and one per member (recorded by :class:`MemberHistories`)."""
        super().initialize_history()
        self.member_histories_ = [History() for _ in self.members]
        self.stopped_ = np.zeros(len(self.members), dtype=bool)
        return self

    def member_results(self):
        """``(state_dict, history, stop_reason, epochs_planned)`` of each member after the
        loop: its slice of the stacked weights, its history, and "early_stopping" where it
        stopped on its own, else the loop's stop reason."""
        stacked = self.module_.eval()
        for k, history in enumerate(self.member_histories_):
            reason = "early_stopping" if self.stopped_[k] else self.stop_reason_
            yield (unstack_module(stacked, k).state_dict(), history, reason,
                   self.epochs_planned_)

    def active_members(self) -> list[int]:
        """Indices of the members still training (not stopped early)."""
        return [k for k, stopped in enumerate(self.stopped_) if not stopped]

    def initialize_optimizer(self, triggered_directly=None):
        if self.optimizer not in (torch.optim.AdamW, torch.optim.Adam):
            raise ValueError("Ensembles are trained with elementwise optimizers only (Adam, "
                             f"AdamW); got {self.optimizer!r}. Use the default AdamW.")
        return super().initialize_optimizer(triggered_directly)

    def get_split_datasets(self, X, y=None, **fit_params):
        trains, valids = X
        return MemberData(trains), (None if valids[0] is None else MemberData(valids))

    def get_iterator(self, dataset, training=False):
        # Each member's batches as its separate fit draws them after as many epochs.
        return MemberBatches([m.get_iterator(d, training=training, epochs_run=len(h))
                              for m, d, h in zip(self.members, dataset.parts,
                                                 self.member_histories_, strict=True)],
                             training=training)

    def member_losses(self, y_pred, y_true, X) -> torch.Tensor:
        """Each member's (weighted) mean loss on its rows of the batch, shape (K,)."""
        k = len(self.members)
        w = batch_weights(X)
        w = None if w is None else w.view(k, -1)
        mask = X.get("mask")
        if mask is None:
            return weighted_bce(y_pred.view(k, -1), y_true.view(k, -1), w)
        mask = mask.view(k, -1)
        rows = weighted_bce(y_pred.view(k, -1, 1), y_true.view(k, -1, 1),
                            None if w is None else w.unsqueeze(-1))
        return (rows * mask).sum(1) / mask.sum(1).clamp_min(1)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.member_losses(y_pred, y_true, X).sum()

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        y_pred = self.infer(Xi, **fit_params)
        member_losses = self.member_losses(y_pred, yi, Xi)
        loss = member_losses.sum()
        loss.backward()
        return {"loss": loss, "y_pred": y_pred, "member_losses": member_losses.detach()}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, yi = batch
        with torch.no_grad():
            y_pred = self.infer(Xi, **fit_params)
            member_losses = self.member_losses(y_pred, yi, Xi)
        return {"loss": member_losses.sum(), "y_pred": y_pred, "member_losses": member_losses}


def _fit_stacked(template, X, y, weights, subsets, seeds, device, verbose):
    """Train the members in one stacked loop; returns them as fitted estimators of the
    template's class, and the stacked module."""
    if device is not None:
        template = clone(template).set_params(device=device)
    shared = _shared_callbacks(template)
    members = [clone(template).set_params(random_state=seed) for seed in seeds]
    trains, valids = [], []
    for est, idx, wk in zip(members, subsets, weights, strict=True):
        Xk = X if idx is None else _safe_indexing(X, idx)
        yk = y if idx is None else _safe_indexing(y, idx)
        # The member's own checks, seeding, initialization and validation split, exactly as
        # its separate fit does them.
        train, valid = est.get_split_datasets(est.initialize_fit(Xk, yk, wk))
        trains.append(train)
        valids.append(valid)
    stacked = stack_modules([est.module_ for est in members])
    recipe = template.recipe()
    net = EnsembleNet(stacked, members=members, optimizer=template.optimizer,
                      device=recipe.device, verbose=verbose, callbacks=shared,
                      **{f"optimizer__{k}": v for k, v in
                         template.get_params_for("optimizer").items()})
    net.fit((trains, valids))
    for est, result in zip(members, net.member_results(), strict=True):
        est._set_fit_result(*result)
    return members, net.module_


def _shared_callbacks(template) -> list:
    """The template's skorch callbacks that act on the whole loop alike for every member
    (``LRScheduler`` on the shared optimizer, ``ProgressBar``), as fresh copies; any other
    is an error that says what to do instead."""
    shared = []
    for entry in template.callbacks or []:
        name, cb = entry if isinstance(entry, tuple) else (None, entry)
        if isinstance(cb, EarlyStopping):
            raise ValueError("Ensembles stop each member early on its own validation AUC: set "
                             "validation_fraction (and patience) on the template instead of "
                             "passing EarlyStopping.")
        if not isinstance(cb, (LRScheduler, ProgressBar)):
            raise ValueError(f"An ensemble trains all members in one loop and supports only "
                             f"LRScheduler and ProgressBar callbacks, got {cb!r}; fit members "
                             "separately to use other skorch callbacks.")
        cb = copy.deepcopy(cb)
        shared.append(cb if name is None else (name, cb))
    return shared


def _member_weights(sample_weight, subsets, n_events: int) -> list:
    """Each member's weights, checked as a single fit checks them
    (:func:`sklearn_bsym.events.check_sample_weight`): ``sample_weight`` indexed by its subset,
    or, given as one array per member, that member's array (aligned with its subset)."""
    if sample_weight is None:
        return [None] * len(subsets)
    if _per_member(sample_weight):
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
            out.append(None if w is None else events.check_sample_weight(w, n))
        return out
    sample_weight = events.check_sample_weight(sample_weight, n_events)
    return [sample_weight if idx is None else _safe_indexing(sample_weight, idx) for idx in subsets]


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


def _member_seeds(random_state, n_members: int) -> list:
    """Each member's ``random_state``: ``random_state`` itself when it is one value per member,
    else ``n_members`` seeds spawned from it."""
    if isinstance(random_state, (list, tuple, np.ndarray)):
        if len(random_state) != n_members:
            raise ValueError(f"random_state has {len(random_state)} seeds for {n_members} "
                             "members; pass one seed per member (or one int, RandomState or "
                             "None for all).")
        return list(random_state)
    return spawn_seeds(random_state, n_members)


def _per_member(sample_weight) -> bool:
    """One weight array per member (a list of arrays), rather than one weight per event."""
    return (isinstance(sample_weight, (list, tuple)) and len(sample_weight) > 0
            and all(w is None or np.ndim(w) == 1 for w in sample_weight))


def _forward_members(stacked, inputs: Sequence[torch.Tensor], chunk: int) -> list[torch.Tensor]:
    """Logits of member k on ``inputs[k]`` for every k (eval mode, no grad), as float CPU."""
    k = len(inputs)
    longest = max(len(x) for x in inputs)
    outs: list[list[torch.Tensor]] = [[] for _ in range(k)]
    stacked.eval()
    with torch.inference_mode():
        for lo in range(0, longest, chunk):
            hi = min(lo + chunk, longest)
            # Members with fewer rows repeat theirs: every member needs the same row count.
            parts = [x[torch.arange(lo, hi, device=x.device) % len(x)] for x in inputs]
            logits = stacked(torch.cat(parts)).reshape(k, hi - lo)
            for j in range(k):
                take = max(0, min(hi, len(inputs[j])) - lo)
                outs[j].append(logits[j, :take].float().cpu())
    return [torch.cat(o) for o in outs]


class EnsembleClassifier(ClassifierMixin, BaseEstimator):
    """K independently seeded copies of a network classifier, trained in one vectorized loop.

    Parameters
    ----------
    estimator : PFNClassifier, InvariantClassifier or HybridClassifier
        Template: the network and its training recipe (preset, epochs, batch size per member,
        learning rate, validation split and early stopping, which act per member).
    n_members : int, default 5
        Number of members K.
    random_state : int, RandomState, None or sequence of n_members ints
        Member ``k`` is seeded with ``spawn_seeds(random_state, n_members)[k]`` (weights,
        batch order, validation split), as a separate fit with that ``random_state`` would be;
        given one value per member, member ``k`` is seeded with ``random_state[k]``, exactly
        as ``clone(estimator).set_params(random_state=random_state[k])``.
    device : {"cpu", "cuda", "auto"} or None, default None
        Where to train; None takes the template's device.
    n_threads : int or None, default 1
        torch threads of each call (``fit``, ``predict_proba``, ``predict_proba_members``,
        ``predict``), set for the call and restored after it; None uses torch's current
        setting. The policy of the single classifiers (see their ``n_threads``); the fitted
        members keep the template's for calls of their own.
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
    Member ``k`` is, in distribution, ``clone(estimator).set_params(random_state=seeds_[k])
    .fit(X[subsets[k]], y[subsets[k]], sample_weight[subsets[k]])``: same initial weights,
    validation split and weight normalization as that fit, and the estimator's recipe; with
    subsets of equal size, each member also sees exactly that fit's batches. With ``subsets`` of
    different sizes, an epoch is ``ceil(n_max / batch_size)`` steps for every member and
    smaller members cycle through their data; fit one ensemble per subset size to avoid this.

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

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "initialize_fit", "get_split_datasets"])],
        "n_members": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state", "array-like"],
        "device": [str, None],
        "n_threads": THREADS_CONSTRAINT,
        "verbose": ["verbose"],
    }

    def __init__(self, estimator, *, n_members=5, random_state=None, device=None,
                 n_threads=DEFAULT_THREADS, verbose=0):
        self.estimator = estimator
        self.n_members = n_members
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=False)
    @scoped_threads
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
        y = events.check_labels(y, estimator=self)  # before len(y) is trusted anywhere
        self.seeds_ = _member_seeds(self.random_state, int(self.n_members))
        subsets = _check_subsets(subsets, len(y), len(self.seeds_))
        weights = _member_weights(sample_weight, subsets, len(y))
        self.members_, self.module_ = _fit_stacked(self.estimator, X, y, weights, subsets,
                                                 self.seeds_, self.device, self.verbose)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = self.members_[0].n_features_in_
        return self

    def member_estimator(self, k: int):
        """Member ``k`` as a fitted estimator of the template's class."""
        check_is_fitted(self, "members_")
        return self.members_[k]

    @scoped_threads
    def predict_proba_members(self, X) -> np.ndarray:
        """Each member's probabilities, ``(n_members, n_events, 2)`` (computed in chunks of
        events, so memory stays near input + output)."""
        check_is_fitted(self, "members_")
        return in_chunks(X, self._predict_proba_members, axis=1)

    def _predict_proba_members(self, X) -> np.ndarray:
        first = self.members_[0]
        dataset = first.get_dataset(X)
        x = dataset.X.to(next(self.module_.parameters()).device)
        k = len(self.members_)
        logits = _forward_members(self.module_, [x] * k, chunk=max(256, 2**16 // k))
        p = torch.sigmoid(torch.stack(logits).double()).numpy()
        return np.stack([1 - p, p], axis=-1)

    @scoped_threads
    def predict_proba(self, X) -> np.ndarray:
        """Mean of the members' probabilities ``(n_events, 2)``: background, signal."""
        return self.predict_proba_members(X).mean(0)

    @scoped_threads
    def predict(self, X) -> np.ndarray:
        """Signal (1) where the mean signal probability exceeds 1/2."""
        check_is_fitted(self, "members_")
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags
