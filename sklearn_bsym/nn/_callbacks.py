"""The package's skorch callbacks: the one-cycle schedule, BatchNorm recalibration and the
weighted validation AUC."""

from __future__ import annotations

import itertools

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from skorch.callbacks import Callback

from ._batching import batch_events, batch_weights

__all__ = [
    "onecycle_lrs",
    "OneCycleSchedule",
    "recalibrate_batchnorm",
    "RECALIBRATION_EVENTS",
    "PreciseBatchNorm",
    "weighted_auc",
    "WeightedValidAUC",
]


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
