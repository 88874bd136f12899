"""The result of one fit: one typed record, the schema of the store, ``results.csv`` and the
report alike."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ._models import MODELS

__all__ = ["FitRecord", "COLUMNS", "INTEGER_COLUMNS", "STOP_REASONS"]

#: Why training stopped: it ran its planned epochs, its own early-stopping rule ended it, or it
#: was cut short (Ctrl-C); models without epochs (HGB, the Bayes-optimal line) are "completed".
STOP_REASONS = ("completed", "early_stopping", "interrupted")


@dataclass(frozen=True)
class FitRecord:
    """One fit (or the Bayes-optimal evaluation) of a study.

    Attributes
    ----------
    model : str
    fraction : float or None
        Training fraction of the pool (None for the Bayes-optimal line).
    n_train : int
        Training events (0 for the Bayes-optimal line).
    seed : int or None
        Seed number (None for the Bayes-optimal line).
    resolution : float
        Relative pT resolution of the smearing.
    test_auc, train_auc : float
        pT-weighted AUC on the test split and on the training subset (None: not trained).
    n_pool, n_test, n_test_signal : int
        Sizes of the training pool, the test split and its signal part (for the statistical
        tolerance of the AUCs).
    best_epoch : int or None
        Epoch of the highest validation AUC (networks).
    n_epochs : int or None
        Epochs run (networks).
    epochs_planned : int or None
        Epochs the fit was set to run (networks).
    stop_reason : str
        One of :data:`STOP_REASONS`; a record saying "interrupted" is never stored or read.
    fit_time : float
        Seconds.
    valid_auc : list of float or None
        Validation AUC per epoch (networks).
    symmetry : dict or None
        The hybrid's symmetry-factor table, {column: values}.
    """

    model: str
    fraction: float | None
    n_train: int
    seed: int | None
    resolution: float
    test_auc: float
    train_auc: float | None
    n_pool: int
    n_test: int
    n_test_signal: int
    best_epoch: int | None = None
    n_epochs: int | None = None
    epochs_planned: int | None = None
    stop_reason: str = "completed"
    fit_time: float = 0.0
    valid_auc: list[float | None] = field(default_factory=list)
    symmetry: dict[str, list] | None = None

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raise a ValueError naming the first field that does not fit the schema."""
        if self.model not in MODELS:
            raise ValueError(f"model {self.model!r} is not one of {list(MODELS)}")
        _number("fraction", self.fraction, optional=True)
        _number("resolution", self.resolution)
        _number("test_auc", self.test_auc)
        _number("train_auc", self.train_auc, optional=True)
        _number("fit_time", self.fit_time)
        for name in ("n_train", "n_pool", "n_test", "n_test_signal"):
            _integer(name, getattr(self, name))
        for name in ("seed", "best_epoch", "n_epochs", "epochs_planned"):
            _integer(name, getattr(self, name), optional=True)
        if self.stop_reason not in STOP_REASONS:
            raise ValueError(f"stop_reason {self.stop_reason!r} is not one of {STOP_REASONS}")
        if self.stop_reason == "interrupted":
            raise ValueError(
                "it records a fit cut short (stop_reason 'interrupted', "
                f"{self.n_epochs} of {self.epochs_planned} epochs)"
            )
        if not isinstance(self.valid_auc, list):
            raise ValueError(f"valid_auc must be a list, got {type(self.valid_auc).__name__}")
        for value in self.valid_auc:
            _number("valid_auc entry", value, optional=True)
        if self.symmetry is not None and not isinstance(self.symmetry, dict):
            raise ValueError(f"symmetry must be a table or null, got {self.symmetry!r}")

    @classmethod
    def from_payload(cls, payload: Any) -> FitRecord:
        """The record of a stored payload; ValueError naming what does not fit the schema."""
        if not isinstance(payload, dict):
            raise ValueError(f"the payload is a {type(payload).__name__}, not a record")
        names = {f.name for f in dataclasses.fields(cls)}
        missing = sorted(names - set(payload))
        extra = sorted(set(payload) - names)
        if missing or extra:
            raise ValueError(f"the payload lacks {missing} or has unknown entries {extra}")
        try:
            return cls(**payload)
        except ValueError as exc:
            raise ValueError(f"the payload does not fit the schema: {exc}") from None

    def to_payload(self) -> dict[str, Any]:
        """The JSON-serializable form the store writes."""
        return dataclasses.asdict(self)

    def row(self) -> dict[str, Any]:
        """The scalar columns of ``results.csv``."""
        return {name: getattr(self, name) for name in COLUMNS}


#: Columns of ``results.csv`` (the record's scalar fields, in order).
COLUMNS = [
    f.name for f in dataclasses.fields(FitRecord) if f.name not in ("valid_auc", "symmetry")
]
#: The whole-number columns (written as integers, empty where there is none).
INTEGER_COLUMNS = [f.name for f in dataclasses.fields(FitRecord) if f.type in ("int", "int | None")]


def _number(name: str, value, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")


def _integer(name: str, value, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
