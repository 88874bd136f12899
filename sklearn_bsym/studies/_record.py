"""The result of one fit: one typed record, the schema of the store, ``results.csv`` and the
report alike."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ._config import RULES, Range
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
    strength : float
        How much the detector's resolution depends on the azimuth (0: the paper's smearing;
        see :class:`~sklearn_bsym.studies.StudyConfig`'s ``detector_strength``). Records
        stored before it existed read as 0.
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
    strength: float = 0.0

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raise a ValueError naming the first field that does not fit the schema: each value
        bounded by its meaning (AUCs in [0, 1], fractions and resolutions by the study's own
        rules, counts whole and non-negative, no more epochs run than planned, no more training
        or test-signal events than the pool or the test split holds)."""
        if self.model not in MODELS:
            raise ValueError(f"model {self.model!r} is not one of {list(MODELS)}")
        _number("fraction", self.fraction, RULES["fractions"], optional=True)
        _number("resolution", self.resolution, RULES["resolution"])
        _number("strength", self.strength, RULES["detector_strength"])
        _number("test_auc", self.test_auc, _AUC)
        _number("train_auc", self.train_auc, _AUC, optional=True)
        _number("fit_time", self.fit_time, _SECONDS)
        for name in ("n_train", "n_pool", "n_test", "n_test_signal"):
            _integer(name, getattr(self, name))
        for name in ("seed", "best_epoch", "n_epochs", "epochs_planned"):
            _integer(name, getattr(self, name), optional=True)
        _at_most("n_train", self.n_train, "n_pool", self.n_pool)
        _at_most("n_test_signal", self.n_test_signal, "n_test", self.n_test)
        _at_most("n_epochs", self.n_epochs, "epochs_planned", self.epochs_planned)
        _at_most("best_epoch", self.best_epoch, "n_epochs", self.n_epochs)
        if self.best_epoch == 0:
            raise ValueError("best_epoch counts from 1, got 0")
        if self.stop_reason not in STOP_REASONS:
            raise ValueError(f"stop_reason {self.stop_reason!r} is not one of {STOP_REASONS}")
        if self.stop_reason == "interrupted":
            raise ValueError(
                "it records a fit cut short (stop_reason 'interrupted', "
                f"{self.n_epochs} of {self.epochs_planned} epochs)"
            )
        if not isinstance(self.valid_auc, list):
            raise ValueError(f"valid_auc must be a list, got {type(self.valid_auc).__name__}")
        if len(self.valid_auc) > (self.n_epochs or 0):
            raise ValueError(f"valid_auc has {len(self.valid_auc)} entries, one per epoch, but "
                             f"n_epochs is {self.n_epochs}")
        for value in self.valid_auc:
            _number("valid_auc entry", value, _AUC, optional=True)
        if self.symmetry is not None:
            _check_symmetry(self.symmetry)

    @classmethod
    def from_payload(cls, payload: Any) -> FitRecord:
        """The record of a stored payload; ValueError naming what does not fit the schema."""
        if not isinstance(payload, dict):
            raise ValueError(f"the payload is a {type(payload).__name__}, not a record")
        names = {f.name for f in dataclasses.fields(cls)}
        # Records stored before the detector's azimuthal strength existed: the paper's smearing.
        payload = {"strength": 0.0, **payload}
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


#: The bounds of an AUC and of a duration.
_AUC = Range(float, 0, 1)
_SECONDS = Range(float, 0)

#: The columns of a symmetry-factor table (``symmetry_factor_table``), and those that are a
#: weight in [0, 1]; a chain hybrid's table has a mean and a spread of each branch's weight too
#: (``w_<symmetry>_mean``, ``w_<symmetry>_std``).
_SYMMETRY_COLUMNS = ("pt_low", "pt_high", "pt_center", "w_general_mean", "w_general_std", "count")
_SYMMETRY_WEIGHTS = ("w_general_mean", "w_general_std")
_BRANCH_WEIGHT = re.compile(r"^w_[a-z][a-z0-9_]*_(mean|std)$")


def _number(name: str, value, rule: Range | None, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if rule is not None and not rule.holds(value):
        raise ValueError(f"{name} must be in {rule}, got {value!r}")


def _integer(name: str, value, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def _at_most(name: str, value, bound_name: str, bound) -> None:
    if value is not None and bound is not None and value > bound:
        raise ValueError(f"{name} ({value}) is more than {bound_name} ({bound})")


def _check_symmetry(table) -> None:
    """A symmetry-factor table: its columns, of one length, numbers (or null) in bounds."""
    if not isinstance(table, dict) or not set(_SYMMETRY_COLUMNS) <= set(table) or any(
            not _BRANCH_WEIGHT.match(str(c)) for c in set(table) - set(_SYMMETRY_COLUMNS)):
        raise ValueError(f"symmetry must be a table with the columns {list(_SYMMETRY_COLUMNS)} "
                         "(and w_<branch>_mean, w_<branch>_std of a chain's branches) or null")
    lengths = {len(v) if isinstance(v, list) else -1 for v in table.values()}
    if len(lengths) != 1 or -1 in lengths:
        raise ValueError("symmetry must hold one list per column, all of one length")
    for column, values in table.items():
        rule = _AUC if column in _SYMMETRY_WEIGHTS or column.startswith("w_") else None
        for value in values:
            _number(f"symmetry {column} entry", value, rule, optional=True)
