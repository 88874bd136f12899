"""Helpers shared by the preprocessing estimators (their input validation is
:func:`sklearn_bsym.events.validate_events`)."""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline

from ..events import check_labels

__all__ = [
    "check_target",
    "head_smearers",
    "apply_head_smearers",
    "map_row_blocks",
]

#: Rows per block in the transforms: a block's float64 temporaries (0.5 MB per column) stay in
#: cache, and the peak memory is the output plus one block's temporaries, whatever n_events.
BLOCK_ROWS = 2**16


def map_row_blocks(func, X: np.ndarray, n_out: int) -> np.ndarray:
    """``func`` applied to blocks of rows of ``X``, gathered into an ``(n_events, n_out)`` array
    of ``X``'s dtype. Only for row-wise maps (each output row depends on its input row only)."""
    out = np.empty((X.shape[0], n_out), dtype=X.dtype)
    for start in range(0, X.shape[0], BLOCK_ROWS):
        block = slice(start, start + BLOCK_ROWS)
        out[block] = func(X[block])
    return out


def check_target(estimator, y) -> np.ndarray:
    """:func:`sklearn_bsym.events.check_labels` with the caller named first (the form
    ``PtReweightedClassifier.fit`` calls)."""
    return check_labels(y, estimator=estimator)


def head_smearers(estimator) -> int:
    """Number of leading :class:`MomentumSmearer` steps of a Pipeline (0 for anything else).

    Their output is the *measured* event, the one whose pT the reweighting must use.
    """
    from ._smearing import MomentumSmearer  # local: _smearing imports this module

    if not isinstance(estimator, Pipeline):
        return 0
    n = 0
    for _, step in estimator.steps:
        if not isinstance(step, MomentumSmearer):
            break
        n += 1
    return n


def apply_head_smearers(estimator, X):
    """``X`` passed through the fitted leading MomentumSmearer steps of a Pipeline ``estimator``
    (``X`` unchanged when there are none)."""
    n = head_smearers(estimator)
    return estimator[:n].transform(X) if n else X
