"""The paper's study (Figs. 4-6) and a resolution scan, resumable and parallel; the symmetry
of its networks and a detector that breaks it are options, with a scan of the breaking.

>>> from sklearn_bsym.studies import StudyConfig
>>> StudyConfig(n_events=2000, fractions=(0.5, 1.0)).result_set_id() == StudyConfig(
...     n_events=2000, fractions=(0.25, 0.5, 1.0)).result_set_id()
True

Run one from Python with :func:`run_study`, or from the command line with
``python -m sklearn_bsym --quick``.

The names load on first use (PEP 562), so the command line's ``--help`` reads the config and
the model table without importing torch, pandas or scikit-learn.
"""

from __future__ import annotations

import importlib

# Public name -> the submodule that defines it.
_WHERE = {
    "StudyConfig": "_config",
    "QUICK": "_config",
    "FULL": "_config",
    "PROTOCOLS": "_config",
    "MIN_TRAIN_EVENTS": "_config",
    "LEPTONS": "_config",
    "PAIR_MODES": "_config",
    "min_n_events": "_config",
    "RULES": "_config",
    "Range": "_config",
    "MODEL_TABLE": "_models",
    "MODELS": "_models",
    "DEFAULT_MODELS": "_models",
    "NETWORKS": "_models",
    "NETWORK_PRESETS": "_models",
    "ModelSpec": "_models",
    "ModelTags": "_models",
    "CEILING": "_models",
    "CEILINGS": "_models",
    "AZIMUTHAL_CEILING": "_models",
    "SYMMETRY_NAMES": "_models",
    "with_role": "_models",
    "make_model": "_models",
    "make_fit_pipeline": "_pipeline",
    "FitRecord": "_record",
    "StudyData": "_data",
    "load_study_data": "_data",
    "study_seeds": "_data",
    "ClassMixWarning": "_data",
    "StudyPoint": "_protocol",
    "study_points": "_protocol",
    "study_tasks": "_protocol",
    "compute_point": "_protocol",
    "point_payloads": "_protocol",
    "FitInterruptedError": "_protocol",
    "training_course": "_protocol",
    "run_study": "_study",
    "plan_execution": "_study",
    "ExecutionPlan": "_study",
    "StudyInterrupted": "_study",
    "StudyResult": "_report",
    "ReportNotSavedWarning": "_report",
    "summarize": "_report",
    "physical_flags": "_report",
    "check_claims": "_claims",
    "check_symmetry_claims": "_claims",
    "THRESHOLDS": "_claims",
    "run_tasks": "_runner",
    "dask_backend": "_runner",
    "TaskInterruptedError": "_runner",
    "TasksInterrupted": "_runner",
    "TasksWriteError": "_runner",
    "ResultStore": "_store",
    "CorruptResultWarning": "_store",
    "StoreNotWritableError": "_store",
    "StoreWriteError": "_store",
    "result_set_id": "_store",
    "payload_checksum": "_store",
    "MODEL_STYLE": "_plots",
    "plot_fraction_curve": "_plots",
    "plot_epoch_curve": "_plots",
    "plot_symmetry": "_plots",
    "plot_resolution_scan": "_plots",
    "plot_strength_scan": "_plots",
}

# The public API: what a user of the study needs (run it, configure it, read its results, draw
# them, reuse its model table and data split). The other names of _WHERE are the study's plumbing
# (its protocol steps, task runner, store internals, thresholds and styles): importable for the
# command line, the tests and the benchmarks, but not documented API and free to change.
__all__ = [
    "StudyConfig",
    "QUICK",
    "FULL",
    "run_study",
    "StudyResult",
    "ReportNotSavedWarning",
    "StudyInterrupted",
    "FitRecord",
    "MODELS",
    "DEFAULT_MODELS",
    "ModelSpec",
    "ModelTags",
    "make_model",
    "make_fit_pipeline",
    "StudyData",
    "load_study_data",
    "ClassMixWarning",
    "summarize",
    "check_claims",
    "check_symmetry_claims",
    "ResultStore",
    "CorruptResultWarning",
    "StoreNotWritableError",
    "dask_backend",
    "plot_fraction_curve",
    "plot_epoch_curve",
    "plot_symmetry",
    "plot_resolution_scan",
    "plot_strength_scan",
]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
