"""From a fitted model to scores in the physicist's own files.

- :func:`save_model` / :func:`load_model`: model files whose loading cannot run code (skops
  archives of this library's estimators, with a manifest of versions and metadata);
- :func:`fit_model`: what ``python -m sklearn_bsym fit`` does to events (the study's pipeline
  of one model, a held-out AUC, the training support), for :func:`save_model`;
- :func:`measured_model`: the part of a fitted model that scores *measured* events (without the
  smearing that simulated the detector);
- :func:`score_files`: one score per entry of ROOT, LHE, parquet or CSV files, in their order,
  NaN where the readers' selection drops the event, read in chunks, with the counts per reason
  of each file; many files in parallel (joblib or Dask);
- :func:`measure_support` / :func:`outside_support`: the phase space a model was trained on,
  and the events to score outside it;
- :func:`to_onnx`: the networks as ONNX graphs for ONNX Runtime and ROOT's SOFIE.

The command line's ``python -m sklearn_bsym fit`` and ``score`` are built on these; the user
guide's page "Scoring measured data" walks through them.
"""

from __future__ import annotations

from ._fit import fit_model
from ._onnx import ONNX_INPUT, ONNX_OUTPUT, to_onnx
from ._persist import FORMAT_VERSION, ModelFileError, load_model, read_model_info, save_model
from ._score import (
    SCORE_SUFFIXES,
    SCORE_TREE,
    ScoreSummary,
    measured_model,
    score_files,
    score_outputs,
)
from ._support import SUPPORT_VARIABLES, measure_support, outside_support

__all__ = [
    "fit_model",
    "save_model",
    "load_model",
    "read_model_info",
    "ModelFileError",
    "FORMAT_VERSION",
    "measured_model",
    "score_files",
    "score_outputs",
    "ScoreSummary",
    "SCORE_TREE",
    "SCORE_SUFFIXES",
    "measure_support",
    "outside_support",
    "SUPPORT_VARIABLES",
    "to_onnx",
    "ONNX_INPUT",
    "ONNX_OUTPUT",
]
