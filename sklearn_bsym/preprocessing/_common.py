"""Helpers shared by the preprocessing estimators (their input validation is
:func:`sklearn_bsym.events.validate_events`)."""

from __future__ import annotations

import numpy as np

__all__ = [
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
