"""Input validation shared by the preprocessing estimators: scikit-learn's, then the events'."""

from __future__ import annotations

import numpy as np
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import validate_data

from ..events import canonical_input, check_events, check_labels

__all__ = [
    "FLOAT_DTYPES",
    "check_target",
    "validate_events",
    "map_row_blocks",
]

#: float64 first: integer input is converted to it; float32 is kept as float32.
FLOAT_DTYPES = (np.float64, np.float32)

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
    """Binary 0/1 labels with both classes, checked before ``X`` so that a wrong target is
    reported as such (scikit-learn's wording for the missing, continuous or multiclass cases).
    ``estimator`` (or a function's name, as a string) names the caller in the messages."""
    name = estimator if isinstance(estimator, str) else type(estimator).__name__
    if y is None:
        raise ValueError(
            f"{name} requires y to be passed, but the target y is None. Pass the labels "
            "(1 = signal, 0 = background)."
        )
    values = np.asarray(y)
    if values.dtype.kind in "fc" and not np.all(np.isfinite(values)):
        raise ValueError(
            "Input y contains NaN or infinity; labels must be 1 (signal) or 0 (background)."
        )
    y_type = type_of_target(y, input_name="y", raise_unknown=True)
    if y_type != "binary":
        raise ValueError(
            f"Only binary classification is supported. The type of the target is {y_type}; "
            f"{name} needs labels 1 = signal and 0 = background."
        )
    classes = np.unique(values)
    if classes.size < 2:
        raise ValueError(
            f"y contains one class only ({classes.tolist()}); {name} needs both signal (1) "
            "and background (0) events."
        )
    return check_labels(y)


def validate_events(estimator, X, y="no_validation", *, reset: bool):
    """``validate_data`` (feature names and count, finite values, dtype), then
    :func:`sklearn_bsym.events.check_events` (multiple of 4 columns, E >= |p|).

    :func:`~sklearn_bsym.events.canonical_input` runs first, so that a DataFrame is reordered by
    column name and awkward/vector or float16 input gets its own error.

    Returns ``X`` as a float ndarray, or ``(X, y)`` with ``y`` as int64 0/1 labels when ``y`` is
    passed (both classes required, see :func:`check_target`).
    """
    X = canonical_input(X)
    if isinstance(y, str) and y == "no_validation":
        X = validate_data(estimator, X, reset=reset, dtype=FLOAT_DTYPES)
        return check_events(X)
    if y is None:
        check_target(estimator, y)
    X, y = validate_data(estimator, X, y, reset=reset, dtype=FLOAT_DTYPES)
    y = check_target(estimator, y)
    return check_events(X), y
