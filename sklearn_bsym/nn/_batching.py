"""Events as tensors and their batches, and the weighted loss on a batch.

A batch is ``(X, y)`` as skorch expects: ``X`` a float32 tensor of events, ``y`` the 0/1 labels
(None at prediction time). When the fit has per-event weights, ``X`` is the dict
``{"x": events, "sample_weight": weights}`` so that the weights travel with their events
while ``y`` stays plain labels (what scikit-learn scorers in ``EpochScoring`` read);
:func:`batch_events` and :func:`batch_weights` take them apart.
"""

from __future__ import annotations

import torch

__all__ = [
    "EventTensors",
    "batch_events",
    "batch_weights",
    "batch_bounds",
    "BatchIterator",
    "weighted_bce",
]


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
