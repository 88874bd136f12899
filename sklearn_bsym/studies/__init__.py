"""The paper's study (Figs. 4-6) and a resolution scan, resumable and parallel.

>>> from sklearn_bsym.studies import StudyConfig
>>> StudyConfig(n_events=2000, fractions=(0.5, 1.0)).result_set_id() == StudyConfig(
...     n_events=2000, fractions=(0.25, 0.5, 1.0)).result_set_id()
True

Run one from Python with :func:`run_study`, or from the command line with
``python -m sklearn_bsym --quick``.
"""

from __future__ import annotations

from ._claims import THRESHOLDS, check_claims
from ._plots import (
    plot_epoch_curve,
    plot_fraction_curve,
    plot_resolution_scan,
    plot_symmetry,
)
from ._report import StudyResult, summarize
from ._runner import dask_backend, run_tasks
from ._store import CorruptResultWarning, ResultStore, result_set_id
from ._study import FULL, MODELS, NETWORKS, QUICK, StudyConfig, make_model, run_study, study_tasks

__all__ = [
    "StudyConfig",
    "QUICK",
    "FULL",
    "MODELS",
    "NETWORKS",
    "run_study",
    "study_tasks",
    "make_model",
    "StudyResult",
    "summarize",
    "check_claims",
    "THRESHOLDS",
    "run_tasks",
    "dask_backend",
    "ResultStore",
    "CorruptResultWarning",
    "result_set_id",
    "plot_fraction_curve",
    "plot_epoch_curve",
    "plot_symmetry",
    "plot_resolution_scan",
]
