"""Input validation shared by the preprocessing estimators: scikit-learn's, then the events'."""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import validate_data

from ..events import check_events, check_labels

__all__ = ["FLOAT_DTYPES", "validate_events", "head_smearers", "apply_head_smearers"]

#: float64 first: integer input is converted to it; float32 is kept as float32.
FLOAT_DTYPES = (np.float64, np.float32)


def validate_events(estimator, X, y=None, *, reset: bool):
    """``validate_data`` (feature names and count, finite values, dtype), then
    :func:`sklearn_bsym.events.check_events` (multiple of 4 columns, E >= |p|).

    Returns ``X`` as a float ndarray, or ``(X, y)`` with ``y`` as int64 0/1 labels when ``y`` is
    given (both classes required).
    """
    if y is None:
        X = validate_data(estimator, X, reset=reset, dtype=FLOAT_DTYPES)
        return check_events(X)
    X, y = validate_data(estimator, X, y, reset=reset, dtype=FLOAT_DTYPES)
    return check_events(X), check_labels(y, n_events=X.shape[0])


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
