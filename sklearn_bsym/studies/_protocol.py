"""The one protocol of a study point: separate fits, ensembles and the Bayes-optimal line alike.

A *study point* is (model, training fraction, resolution, seeds). :func:`compute_point` computes
it the same way for every model:

* the data and the fixed test split of :func:`~._data.load_study_data`; seed ``s`` trains on the
  first ``fraction`` part of the training pool in that seed's order;
* smearing by ``MomentumSmearer(resolution, random_state=<study smear seed>)``, whose per-event
  draws do not depend on the fold, so smearing all events once equals smearing each fold;
* pT weights fitted on each training subset only (``PtReweightedClassifier`` for a separate fit,
  ``PtReweighter`` per member for an ensemble, on the training pool for the Bayes-optimal
  discriminant);
* the test split scored once by ``pt_weighted_roc_auc`` (AUC with the pT weights of the scored
  fold), the training subset likewise.

A separate fit is scikit-learn's own :func:`~sklearn.model_selection.cross_validate` of
``Pipeline([("smear", MomentumSmearer), ("clf", PtReweightedClassifier(model))])`` over the
predefined split ``[(training subset, test split)]`` with ``return_estimator=True``: the fitted
pipeline comes back through that supported path, and its chosen epoch, history and symmetry
factor are read from it. An ensemble trains the seeds of a point together
(:class:`sklearn_bsym.nn.EnsembleClassifier`) on exactly those events, draws and weights, and
each member is scored as the pipeline ``[fitted smearer, member]`` by the same scorer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._config import StudyConfig
from ._data import StudyData, load_study_data, study_seeds
from ._models import MODEL_TABLE, make_model
from ._record import FitRecord
from ._runner import TaskInterruptedError

__all__ = [
    "StudyPoint",
    "FitInterruptedError",
    "fit_key",
    "study_points",
    "study_tasks",
    "compute_point",
    "point_payloads",
]


class FitInterruptedError(TaskInterruptedError):
    """A fit stopped before its planned course (Ctrl-C): it must not be stored as finished.

    An Exception (not a KeyboardInterrupt) so that it travels back from a joblib or Dask worker
    like any error; the runner turns it into a clean stop of the study.
    """


def fit_key(model: str, fraction: float | None, resolution: float, seed: int | None) -> str:
    """The store key (file name) of one fit."""
    if fraction is None:
        return f"{model}_r{resolution:g}"
    return f"{model}_f{fraction:g}_r{resolution:g}_s{seed}"


@dataclass(frozen=True)
class StudyPoint:
    """(model, fraction, resolution, seeds) of a study; ``together`` trains the seeds as one
    ensemble. The Bayes-optimal line has ``fraction=None`` and no seeds."""

    model: str
    fraction: float | None
    resolution: float
    seeds: tuple[int, ...]
    together: bool = False

    def keys(self) -> tuple[str, ...]:
        if self.fraction is None:
            return (fit_key(self.model, None, self.resolution, None),)
        return tuple(fit_key(self.model, self.fraction, self.resolution, s) for s in self.seeds)

    def task_key(self) -> str | tuple[str, ...]:
        """The runner's key: one key, or the tuple of an ensemble's keys."""
        keys = self.keys()
        return keys if self.together else keys[0]


#: Model kinds that train torch networks.
TORCH_KINDS = ("network", "average")


def study_points(config: StudyConfig) -> list[StudyPoint]:
    """Every point of a study: the curve (model, fraction, seed) at ``config.resolution``, the
    scan (model, resolution, seed) on the full pool, and the Bayes-optimal line per resolution
    (built-in generator only). A curve point and a scan point that coincide are one point; with
    ``config.ensemble`` the seeds of each network point are one point trained together."""
    trained = [m for m in config.models if MODEL_TABLE[m].kind != "ceiling"]
    fits: dict[tuple, None] = {}
    for model in trained:
        for fraction in config.fractions:
            for seed in range(config.n_seeds):
                fits[(model, float(fraction), float(config.resolution), seed)] = None
        for resolution in config.scan_resolutions:
            for seed in range(config.n_seeds):
                fits[(model, 1.0, float(resolution), seed)] = None
    points: list[StudyPoint] = []
    groups: dict[tuple, list[int]] = {}
    for model, fraction, resolution, seed in fits:
        if config.ensemble and MODEL_TABLE[model].kind == "network":
            groups.setdefault((model, fraction, resolution), []).append(seed)
        else:
            points.append(StudyPoint(model, fraction, resolution, (seed,)))
    for (model, fraction, resolution), seeds in groups.items():
        points.append(StudyPoint(model, fraction, resolution, tuple(seeds), together=True))
    if "optimal" in config.models and config.uses_generator:
        for resolution in dict.fromkeys((config.resolution, *config.scan_resolutions)):
            points.append(StudyPoint("optimal", None, float(resolution), ()))
    return points


def study_tasks(config: StudyConfig) -> list[tuple[str | tuple[str, ...], tuple]]:
    """Every point of a study as ``(key, (config, point))`` for :func:`~._runner.run_tasks`
    with :func:`point_payloads`; an ensemble's key is the tuple of its fits' keys."""
    return [(point.task_key(), (config, point)) for point in study_points(config)]


def point_payloads(config: StudyConfig, point: StudyPoint, n_threads: int | None = None):
    """The task function of the runner: the stored form of :func:`compute_point` (one payload,
    or ``{key: payload}`` for an ensemble), computed with ``n_threads`` torch/BLAS threads."""
    with _thread_limit(n_threads, network=MODEL_TABLE[point.model].kind in TORCH_KINDS):
        records = compute_point(config, point)
    payloads = {
        key: record.to_payload() for key, record in zip(point.keys(), records, strict=True)
    }
    return payloads if point.together else next(iter(payloads.values()))


class _thread_limit:
    """Context limiting BLAS/OpenMP (threadpoolctl) and torch intra-op threads to ``n``.

    The limits are process-wide, and a Dask worker runs several fits in threads of one process:
    the first fit to enter sets them, the last to leave restores them, so no fit runs with
    another's thread count (which changes a network's numbers)."""

    _lock = threading.Lock()
    _users = 0
    _pools = None
    _torch_threads: int | None = None

    def __init__(self, n: int | None, *, network: bool):
        self.n, self.network = n, network

    def __enter__(self):
        if self.n is None:
            return self
        from threadpoolctl import threadpool_limits

        cls = type(self)
        with cls._lock:
            if cls._users == 0:
                cls._pools = threadpool_limits(self.n)
            if self.network and cls._torch_threads is None:
                import torch

                cls._torch_threads = torch.get_num_threads()
                torch.set_num_threads(self.n)
            cls._users += 1
        return self

    def __exit__(self, *exc):
        if self.n is None:
            return
        cls = type(self)
        with cls._lock:
            cls._users -= 1
            if cls._users:
                return
            if cls._torch_threads is not None:
                import torch

                torch.set_num_threads(cls._torch_threads)
                cls._torch_threads = None
            cls._pools.restore_original_limits()


def compute_point(config: StudyConfig, point: StudyPoint) -> list[FitRecord]:
    """The records of one study point (one per seed; one for the Bayes-optimal line)."""
    data = load_study_data(config)
    sizes = {
        "n_pool": len(data.pool),
        "n_test": len(data.test),
        "n_test_signal": int(data.y[data.test].sum()),
    }
    start = time.perf_counter()
    if MODEL_TABLE[point.model].kind == "ceiling":
        auc = _optimal_auc(config, data, point.resolution)
        return [
            FitRecord(
                model=point.model,
                fraction=None,
                n_train=0,
                seed=None,
                resolution=point.resolution,
                test_auc=auc,
                train_auc=None,
                fit_time=time.perf_counter() - start,
                **sizes,
            )
        ]
    subsets = [data.training_subset(config, point.fraction, seed) for seed in point.seeds]
    if point.together:
        fitted = _fit_together(config, point, data, subsets)
    else:
        fitted = [_fit_alone(config, point, data, *subset) for subset in subsets]
    # An ensemble's cost is shared out: fit times stay comparable to separate fits.
    fit_time = (time.perf_counter() - start) / len(point.seeds)
    records = []
    for key, seed, (train, _), (pipeline, scores) in zip(
        point.keys(), point.seeds, subsets, fitted, strict=True
    ):
        classifier = _classifier(pipeline)
        _refuse_interrupted(key, classifier)
        measured = pipeline[:-1].transform(data.X[data.test])
        records.append(
            FitRecord(
                model=point.model,
                fraction=point.fraction,
                n_train=len(train),
                seed=seed,
                resolution=point.resolution,
                test_auc=scores["test"],
                train_auc=scores["train"],
                fit_time=fit_time,
                **sizes,
                **_training_details(classifier, measured, point.model, config.symmetry_bins),
            )
        )
    return records


def _smearer(config: StudyConfig, resolution: float):
    from ..preprocessing import MomentumSmearer

    return MomentumSmearer(resolution, random_state=study_seeds(config)["smear"])


def _fit_alone(config: StudyConfig, point: StudyPoint, data: StudyData, train, model_seed):
    """One fit through ``cross_validate`` over the predefined split [(train, test)]."""
    from sklearn.model_selection import cross_validate
    from sklearn.pipeline import Pipeline

    from ..preprocessing import PtReweightedClassifier, pt_weighted_roc_auc

    pipeline = Pipeline(
        [
            ("smear", _smearer(config, point.resolution)),
            ("clf", PtReweightedClassifier(make_model(point.model, config, model_seed))),
        ]
    )
    result = cross_validate(
        pipeline,
        data.X,
        data.y,
        cv=[(train, data.test)],
        scoring=pt_weighted_roc_auc,
        return_train_score=True,
        return_estimator=True,
        error_score="raise",
    )
    scores = {"test": float(result["test_score"][0]), "train": float(result["train_score"][0])}
    return result["estimator"][0], scores


def _fit_together(config: StudyConfig, point: StudyPoint, data: StudyData, subsets):
    """The seeds of one network point as one ensemble, each member scored as its own pipeline.

    Member ``i`` sees exactly what the separate fit of seed ``i`` sees: the same training events
    in the same order, the same smearing draws, pT weights fitted on its own smeared training
    subset, the same initial weights and validation split. Only the batch order differs.
    """
    from sklearn.pipeline import Pipeline

    from ..nn import EnsembleClassifier
    from ..preprocessing import PtReweighter, pt_weighted_roc_auc

    X, y = data.X, data.y
    smear = _smearer(config, point.resolution).fit(X)
    measured = smear.transform(X)
    weights = [
        PtReweighter().fit(measured[train], y[train]).compute_sample_weight(
            measured[train], y[train]
        )
        for train, _ in subsets
    ]
    indices = [train for train, _ in subsets]
    seeds = [model_seed for _, model_seed in subsets]
    template = make_model(point.model, config, seeds[0])
    members = EnsembleClassifier(template, n_members=len(seeds), random_state=seeds).fit(
        measured, y, sample_weight=weights, subsets=indices).members_
    fitted = []
    for member, train in zip(members, indices, strict=True):
        pipeline = Pipeline([("smear", smear), ("clf", member)])
        scores = {
            "test": pt_weighted_roc_auc(pipeline, X[data.test], y[data.test]),
            "train": pt_weighted_roc_auc(pipeline, X[train], y[train]),
        }
        fitted.append((pipeline, scores))
    return fitted


def _optimal_auc(config: StudyConfig, data: StudyData, resolution: float) -> float:
    """The Bayes-optimal AUC on the test split, weighted like every other AUC of the study."""
    from ..optimal import optimal_discriminant
    from ..preprocessing import PtReweighter, weighted_roc_auc

    X, y = data.X, data.y
    smear = _smearer(config, resolution).fit(X[data.pool])
    measured = smear.transform(X[data.test])
    # The discriminant's background weight w(pT) comes from the training pool, like everything a
    # classifier may know: one fitted on the test fold would use the test labels (its per-bin
    # noise), an optimistic bias at small test sizes.
    reweighter = PtReweighter().fit(smear.transform(X[data.pool]), y[data.pool])
    score = optimal_discriminant(measured, resolution=resolution, reweighter=reweighter)
    return float(weighted_roc_auc(y[data.test], score, measured))


def _classifier(pipeline):
    """The fitted classifier of a study pipeline (inside its PtReweightedClassifier, if any)."""
    from ..preprocessing import PtReweightedClassifier

    last = pipeline[-1]
    return last.estimator_ if isinstance(last, PtReweightedClassifier) else last


def _refuse_interrupted(key: str, classifier) -> None:
    run, planned, reason = _course(classifier)
    if reason == "interrupted":
        raise FitInterruptedError(
            f"Fit {key} was interrupted after {run} of {planned} epochs; it is not stored."
        )


def _course(classifier) -> tuple[int | None, int | None, str]:
    """(epochs run, epochs planned, stop reason) of a fitted classifier; for an average of
    members (``members_``) the longest member's epochs, "interrupted" if any member was, else
    "early_stopping" if any member stopped early."""
    members = getattr(classifier, "members_", None) or [classifier]
    runs = [len(m.history) for m in members if getattr(m, "history", None) is not None]
    planned = [int(m.epochs_planned_) for m in members
               if getattr(m, "epochs_planned_", None) is not None]
    reasons = {getattr(m, "stop_reason_", "completed") for m in members}
    reason = next((r for r in ("interrupted", "early_stopping") if r in reasons), "completed")
    return (max(runs) if runs else None), (max(planned) if planned else None), reason


def _training_details(classifier, measured_test, model: str, bins: int) -> dict[str, Any]:
    """Epochs (planned, run, best), why training stopped, the validation-AUC history and the
    hybrid's symmetry-factor table on the smeared test events. An average of networks records
    its longest member's epochs and no validation history of its own."""
    history = None if hasattr(classifier, "members_") else getattr(classifier, "history", None)
    valid_auc = []
    if history is not None and len(history) and "valid_auc" in history[-1]:
        valid_auc = [
            None if v is None or not np.isfinite(v) else float(v)
            for v in history[:, "valid_auc"]
        ]
    finite = [(v, i) for i, v in enumerate(valid_auc) if v is not None]
    run, planned, reason = _course(classifier)
    details: dict[str, Any] = {
        "valid_auc": valid_auc,
        "n_epochs": run,
        "epochs_planned": planned,
        "stop_reason": reason,
        "best_epoch": max(finite)[1] + 1 if finite else None,
        "symmetry": None,
    }
    if model == "hybrid":
        from ..nn import symmetry_factor_table

        table = symmetry_factor_table(classifier, measured_test, bins=bins)
        details["symmetry"] = {
            str(column): [_json_value(v) for v in table[column].to_numpy()]
            for column in table.columns
        }
    return details


def _json_value(v):
    """A table cell as JSON: NumPy scalars as Python ones, NaN as None (JSON has no NaN)."""
    v = v.item() if isinstance(v, np.generic) else v
    return None if isinstance(v, float) and not np.isfinite(v) else v
