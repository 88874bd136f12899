"""The one protocol of a study point: separate fits, ensembles and the Bayes-optimal line alike.

A *study point* is (model, training fraction, resolution, seeds, and the detector's azimuthal
strength). :func:`compute_point` computes it the same way for every model:

* the data, the fixed test split and the seeds of :func:`~._data.load_study_data`; seed ``s``
  trains on the first ``fraction`` part of the training pool in that seed's order;
* smearing by ``MomentumSmearer(detector(resolution, strength), random_state=<study smear
  seed>)``, whose per-event draws do not depend on the fold, so smearing all events once equals
  smearing each fold;
* pT weights (the config's ``reweighting``) fitted on each training subset only
  (``PtReweightedClassifier``; on the training pool for the Bayes-optimal discriminant);
* the test split scored once by ``pt_weighted_roc_auc`` (AUC with the pT weights of the scored
  fold), the training subset likewise.

Every trained point is scikit-learn's own :func:`~sklearn.model_selection.cross_validate` of
``Pipeline([("smear", MomentumSmearer), ("clf", PtReweightedClassifier(model))])`` over one
predefined split ``[(training events, test split)]`` with ``return_estimator=True``, whatever the
model: a network, an averaged model, the tree, or the seeds of a point trained together
(``--ensemble``). Those are one :class:`~sklearn_bsym.nn.EnsembleClassifier` of the seeds'
models, trained on the union of their subsets, each member on its own subset (``subsets``,
positions into that training fold, with pT weights fitted on it): member ``k`` sees exactly
what the separate fit of seed ``k`` sees, and is scored as the pipeline ``[fitted smearer,
member]`` would be. Each fit's chosen epoch, history and symmetry factor are read from the
fitted pipeline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._threads import thread_limit
from ._config import StudyConfig
from ._data import StudyData, load_study_data
from ._models import AZIMUTHAL_CEILING, CEILING, MODEL_TABLE
from ._pipeline import make_fit_pipeline
from ._record import FitRecord
from ._runner import TaskInterruptedError

__all__ = [
    "StudyPoint",
    "FitInterruptedError",
    "detector",
    "fit_key",
    "study_points",
    "study_tasks",
    "compute_point",
    "point_payloads",
    "training_course",
]


class FitInterruptedError(TaskInterruptedError):
    """A fit stopped before its planned course (Ctrl-C): it must not be stored as finished.

    An Exception (not a KeyboardInterrupt) so that it travels back from a joblib or Dask worker
    like any error; the runner turns it into a clean stop of the study.
    """


def detector(resolution: float, strength: float = 0.0):
    """The resolution a study's smearing and Bayes-optimal line take: ``resolution`` itself
    (the paper's sigma/pT) at strength 0 or without smearing, else
    ``DetectorResolution(resolution, strength=strength)``, sigma/pT = resolution (1 + strength
    cos phi)."""
    if not strength or not resolution:
        return resolution
    from ..preprocessing import DetectorResolution

    return DetectorResolution(resolution, strength=strength)


def fit_key(model: str, fraction: float | None, resolution: float, seed: int | None,
            strength: float = 0.0) -> str:
    """The store key (file name) of one fit (``_phi<strength>`` at the end where the detector
    depends on the azimuth)."""
    phi = f"_phi{strength:g}" if strength else ""
    if fraction is None:
        return f"{model}_r{resolution:g}{phi}"
    return f"{model}_f{fraction:g}_r{resolution:g}_s{seed}{phi}"


@dataclass(frozen=True)
class StudyPoint:
    """(model, fraction, resolution, seeds, strength) of a study; ``together`` trains the seeds
    as one ensemble. The Bayes-optimal line has ``fraction=None`` and no seeds."""

    model: str
    fraction: float | None
    resolution: float
    seeds: tuple[int, ...]
    together: bool = False
    strength: float = 0.0

    def keys(self) -> tuple[str, ...]:
        if self.fraction is None:
            return (fit_key(self.model, None, self.resolution, None, self.strength),)
        return tuple(fit_key(self.model, self.fraction, self.resolution, s, self.strength)
                     for s in self.seeds)

    def task_key(self) -> str | tuple[str, ...]:
        """The runner's key: one key, or the tuple of an ensemble's keys."""
        keys = self.keys()
        return keys if self.together else keys[0]


def study_points(config: StudyConfig) -> list[StudyPoint]:
    """Every point of a study: the curve (model, fraction, seed) at ``config.resolution``, the
    resolution scan (model, resolution, seed) and the strength scan (model, strength, seed) on
    the full pool, all with the config's detector strength but the strength scan, and the
    Bayes-optimal line per (resolution, strength) (built-in generator only), with the limit of
    classifiers invariant under rotations about the beam where the detector depends on the
    azimuth. A curve point and a scan point that coincide are one point; with
    ``config.ensemble`` the seeds of each network point are one point trained together."""
    trained = [m for m in config.models if not MODEL_TABLE[m].tags.ceiling]
    strength = float(config.detector_strength)
    scans = [(float(r), strength) for r in config.scan_resolutions]
    scans += [(float(config.resolution), float(s)) for s in config.scan_strengths]
    fits: dict[tuple, None] = {}
    for model in trained:
        for fraction in config.fractions:
            for seed in range(config.n_seeds):
                fits[(model, float(fraction), float(config.resolution), strength, seed)] = None
        for resolution, at in scans:
            for seed in range(config.n_seeds):
                fits[(model, 1.0, resolution, at, seed)] = None
    points: list[StudyPoint] = []
    groups: dict[tuple, list[int]] = {}
    for model, fraction, resolution, at, seed in fits:
        if config.ensemble and MODEL_TABLE[model].tags.seeds_together:
            groups.setdefault((model, fraction, resolution, at), []).append(seed)
        else:
            points.append(StudyPoint(model, fraction, resolution, (seed,), strength=at))
    for (model, fraction, resolution, at), seeds in groups.items():
        points.append(StudyPoint(model, fraction, resolution, tuple(seeds), together=True,
                                 strength=at))
    if config.uses_generator:
        ceilings = [m for m in config.models if MODEL_TABLE[m].tags.ceiling]
        if CEILING in ceilings and AZIMUTHAL_CEILING not in ceilings:
            ceilings.append(AZIMUTHAL_CEILING)  # it comes with the Bayes-optimal line
        detectors = dict.fromkeys([(float(config.resolution), strength), *scans])
        for model in ceilings:
            for resolution, at in detectors:
                # Where the resolution does not depend on the azimuth, the limit of classifiers
                # invariant under rotations about the beam is the Bayes-optimal limit itself.
                if not MODEL_TABLE[model].tags.azimuthal or (at and resolution):
                    points.append(StudyPoint(model, None, resolution, (), strength=at))
    return points


def study_tasks(config: StudyConfig) -> list[tuple[str | tuple[str, ...], tuple]]:
    """Every point of a study as ``(key, (config, point))`` for :func:`~._runner.run_tasks`
    with :func:`point_payloads`; an ensemble's key is the tuple of its fits' keys."""
    return [(point.task_key(), (config, point)) for point in study_points(config)]


def point_payloads(config: StudyConfig, point: StudyPoint, n_threads: int | None = None):
    """The task function of the runner: the stored form of :func:`compute_point` (one payload,
    or ``{key: payload}`` for an ensemble), computed with ``n_threads`` torch/BLAS threads."""
    # The estimators' own n_threads run under this limit (the outer one holds): --n-threads
    # decides, for torch and for the BLAS/OpenMP pools of the trees alike.
    with thread_limit(n_threads, torch=MODEL_TABLE[point.model].tags.torch):
        records = compute_point(config, point)
    payloads = {
        key: record.to_payload() for key, record in zip(point.keys(), records, strict=True)
    }
    return payloads if point.together else next(iter(payloads.values()))


def compute_point(config: StudyConfig, point: StudyPoint) -> list[FitRecord]:
    """The records of one study point (one per seed; one for the Bayes-optimal line)."""
    data = load_study_data(config)
    spec = MODEL_TABLE[point.model]
    sizes = {
        "n_pool": len(data.pool),
        "n_test": len(data.test),
        "n_test_signal": int(data.y[data.test].sum()),
    }
    start = time.perf_counter()
    if spec.tags.ceiling:
        auc = _optimal_auc(config, data, point.resolution, point.strength,
                           azimuthal=spec.tags.azimuthal)
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
                strength=point.strength,
                **sizes,
            )
        ]
    subsets = [data.training_subset(point.fraction, seed) for seed in point.seeds]
    if point.together:
        fitted = _cross_validate(config, point, data, subsets)
    else:
        fitted = [fit for subset in subsets
                  for fit in _cross_validate(config, point, data, [subset])]
    # An ensemble's cost is shared out: fit times stay comparable to separate fits.
    fit_time = (time.perf_counter() - start) / len(point.seeds)
    records = []
    for key, seed, (train, _), (classifier, measured, scores) in zip(
        point.keys(), point.seeds, subsets, fitted, strict=True
    ):
        _refuse_interrupted(key, classifier)
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
                strength=point.strength,
                **sizes,
                **_training_details(classifier, measured, spec.tags.symmetry_factor,
                                    config.symmetry_bins),
            )
        )
    return records


def _reweighter(config: StudyConfig):
    from ..preprocessing import PtReweighter

    return PtReweighter(**config.reweighting)


def _cross_validate(config: StudyConfig, point: StudyPoint, data: StudyData, subsets):
    """``cross_validate`` of the study pipeline over ``[(training events, test split)]``.

    One subset: its model, fitted on it. Several (``point.together``): one ensemble of the
    seeds' models on the union of the subsets, member ``k`` on subset ``k``. Returns, per
    subset, (the fitted classifier, the smeared test events, its test and training AUCs).
    """
    from sklearn.model_selection import cross_validate

    from ..preprocessing import MomentumSmearer, pt_weighted_roc_auc, weighted_roc_auc

    trains = [train for train, _ in subsets]
    seeds = [model_seed for _, model_seed in subsets]
    if point.together:
        fold = np.unique(np.concatenate(trains))
        # Positions into the training fold; a list of n_seeds arrays, never as long as X, so
        # cross_validate passes it on whole instead of indexing it like a per-event parameter.
        params = {"clf__subsets": [np.searchsorted(fold, train) for train in trains]}
    else:
        (fold,), params = trains, {}
    smearer = MomentumSmearer(detector(point.resolution, point.strength),
                              random_state=data.seeds["smear"])
    pipeline = make_fit_pipeline(point.model, config, smearer=smearer,
                                 random_state=seeds if point.together else seeds[0])
    result = cross_validate(
        pipeline,
        data.X,
        data.y,
        cv=[(fold, data.test)],
        params=params,
        scoring=pt_weighted_roc_auc,
        return_train_score=not point.together,
        return_estimator=True,
        error_score="raise",
    )
    fitted = result["estimator"][0]
    smear, clf = fitted[:-1], fitted[-1]
    measured = smear.transform(data.X[data.test])
    if not point.together:
        scores = {"test": float(result["test_score"][0]), "train": float(result["train_score"][0])}
        return [(clf.estimator_, measured, scores)]

    def auc(member, X, y, X_measured=None):
        # pt_weighted_roc_auc of the pipeline [fitted smearer, member] with the study's weights
        X_measured = smear.transform(X) if X_measured is None else X_measured
        score = member.predict_proba(X_measured)[:, list(member.classes_).index(1)]
        return weighted_roc_auc(y, score, X_measured, reweighter=clf.reweighter)

    return [
        (member, measured, {
            "test": auc(member, data.X[data.test], data.y[data.test], measured),
            "train": auc(member, data.X[train], data.y[train]),
        })
        for member, train in zip(clf.estimator_.members_, trains, strict=True)
    ]


def _optimal_auc(config: StudyConfig, data: StudyData, resolution: float, strength: float = 0.0,
                 *, azimuthal: bool = False) -> float:
    """The Bayes-optimal AUC on the test split, weighted like every other AUC of the study;
    with ``azimuthal``, that of the best classifier invariant under rotations about the beam
    (``optimal_discriminant(azimuthally_invariant=True)``)."""
    from ..optimal import optimal_discriminant
    from ..preprocessing import MomentumSmearer, weighted_roc_auc

    X, y = data.X, data.y
    resolution = detector(resolution, strength)
    smear = MomentumSmearer(resolution, random_state=data.seeds["smear"]).fit(X[data.pool])
    measured = smear.transform(X[data.test])
    # The discriminant's background weight w(pT) comes from the training pool, like everything a
    # classifier may know: one fitted on the test fold would use the test labels (its per-bin
    # noise), an optimistic bias at small test sizes.
    reweighter = _reweighter(config).fit(smear.transform(X[data.pool]), y[data.pool])
    score = optimal_discriminant(measured, resolution=resolution, reweighter=reweighter,
                                 azimuthally_invariant=azimuthal)
    return float(weighted_roc_auc(y[data.test], score, measured, reweighter=_reweighter(config)))


def _refuse_interrupted(key: str, classifier) -> None:
    run, planned, reason = training_course(classifier)
    if reason == "interrupted":
        raise FitInterruptedError(
            f"Fit {key} was interrupted after {run} of {planned} epochs; it is not stored."
        )


def training_course(classifier) -> tuple[int | None, int | None, str]:
    """(epochs run, epochs planned, stop reason) of a fitted classifier: the reason is
    "interrupted" (Ctrl-C cut the training short: no model to keep), "early_stopping" or
    "completed"; epochs are None for a model without a training history (a tree). For an
    average of members (``members_``) the longest member's epochs, "interrupted" if any member
    was, else "early_stopping" if any member stopped early."""
    members = getattr(classifier, "members_", None) or [classifier]
    runs = [len(m.history) for m in members if getattr(m, "history", None) is not None]
    planned = [int(m.epochs_planned_) for m in members
               if getattr(m, "epochs_planned_", None) is not None]
    reasons = {getattr(m, "stop_reason_", "completed") for m in members}
    reason = next((r for r in ("interrupted", "early_stopping") if r in reasons), "completed")
    return (max(runs) if runs else None), (max(planned) if planned else None), reason


def _training_details(classifier, measured_test, symmetry: bool, bins: int) -> dict[str, Any]:
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
    run, planned, reason = training_course(classifier)
    details: dict[str, Any] = {
        "valid_auc": valid_auc,
        "n_epochs": run,
        "epochs_planned": planned,
        "stop_reason": reason,
        "best_epoch": max(finite)[1] + 1 if finite else None,
        "symmetry": None,
    }
    if symmetry:
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
