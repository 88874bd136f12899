"""The study of the paper (Figs. 4-6) and the resolution scan, built on scikit-learn's own tools.

Protocol (physics.md section 6, done honestly):

* one dataset (generated from ``random_state``, or read from the user's files) and one fixed,
  stratified test split that is never used for any choice; the training pool is the rest;
* for each seed the pool is shuffled, and a training fraction ``f`` uses its first ``f`` part,
  through :func:`sklearn.model_selection.learning_curve` with that single split as ``cv``; the
  full pool is fitted through :func:`sklearn.model_selection.validation_curve` over
  ``smear__resolution`` (so the fraction-1 point of the curve and the scan point at the same
  resolution are one fit);
* the estimator is ``Pipeline([("smear", MomentumSmearer), ("clf", PtReweightedClassifier)])``:
  smearing is part of the pipeline, the pT weights are computed on each training fold only;
* the networks select their epoch on a validation split of their own training subset (early
  stopping); the test split is scored once, by ``pt_weighted_roc_auc`` (AUC with the pT weights
  of the scored fold);
* each fit is one task, a pure function of (config, key), run through joblib or Dask, stored as
  soon as it finishes (:mod:`._runner`, :mod:`._store`);
* with ``ensemble=True`` the seeds of each network point (model, fraction, resolution) are one
  task: they train together as one vectorized ensemble
  (:func:`sklearn_bsym.nn.fit_ensemble_members`) on exactly the data, smearing and pT weights
  of their separate fits, and each seed is still stored and scored on its own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._random import spawn_seeds
from ._runner import run_tasks
from ._store import ResultStore, result_set_id

__all__ = [
    "NETWORKS",
    "MODELS",
    "StudyConfig",
    "QUICK",
    "FULL",
    "make_model",
    "study_tasks",
    "run_study",
]

#: The three networks of the paper.
NETWORKS = ("pfn", "invariant", "hybrid")
#: Every model name a study accepts: the networks, the gradient-boosted-tree reference on physics
#: features, and the Bayes-optimal ceiling (built-in generator only).
MODELS = (*NETWORKS, "hgb", "optimal")


@dataclass(frozen=True)
class StudyConfig:
    """Everything that defines a study.

    Options that change the result of a fit hash into the result-set id
    (:meth:`result_set_id`); the selection options ``fractions``, ``n_seeds``, ``models`` and
    ``scan_resolutions`` only choose *which* fits of the set run, so widening them reuses the fits
    already stored. How the fits run (``n_jobs``, Dask, progress) is not part of the config.

    Parameters
    ----------
    n_events : int or None, default=20_000
        Events generated (half signal); with files, a random subset of this many (None = all).
    test_fraction : float, default=0.2
        Fixed test split, stratified, never used for any choice.
    validation_fraction : float, default=0.2
        Share of each training subset held out for epoch selection (networks) or early stopping
        (HGB).
    fractions : tuple of float, default=(0.1, 0.25, 0.5, 1.0)
        Training fractions of the training pool (Fig. 6).
    n_seeds : int, default=3
        Seeds per point; each seed reshuffles the training pool and reinitializes the model.
    models : tuple of str, default=MODELS
        Any of ``"pfn"``, ``"invariant"``, ``"hybrid"``, ``"hgb"``, ``"optimal"``.
    resolution : float, default=0.10
        Relative pT resolution of the smearing for the training-fraction curve.
    scan_resolutions : tuple of float, default=(0, 0.025, 0.05, 0.10, 0.20)
        Resolutions of the scan (full training pool); empty for no scan.
    preset : {"fast", "paper"}, default="fast"
        Network preset (see :mod:`sklearn_bsym.nn`).
    max_epochs : int or None, default=None
        Epoch cap of the networks (None: the preset's).
    model_params : dict, default={}
        Extra keyword arguments per model name, e.g. ``{"pfn": {"batch_size": 256}}``.
    signal, background : str or None
        Event files (LHE, parquet, CSV) to study instead of the built-in generator; both or none.
    symmetry_bins : int, default=10
        pT bins of the hybrid's symmetry-factor table (Fig. 5).
    random_state : int, default=0
        Root of every seed of the study.
    ensemble : bool, default=False
        Train the seeds of each network point together as one vectorized ensemble
        (:func:`sklearn_bsym.nn.fit_ensemble_members`) instead of one fit per seed: much
        cheaper, the same results in distribution, but not the same numbers (batch order), so
        it is a result set of its own.
    """

    n_events: int | None = 20_000
    test_fraction: float = 0.2
    validation_fraction: float = 0.2
    fractions: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0)
    n_seeds: int = 3
    models: tuple[str, ...] = MODELS
    resolution: float = 0.10
    scan_resolutions: tuple[float, ...] = (0.0, 0.025, 0.05, 0.10, 0.20)
    preset: str = "fast"
    max_epochs: int | None = None
    model_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    signal: str | None = None
    background: str | None = None
    symmetry_bins: int = 10
    random_state: int = 0
    ensemble: bool = False

    def __post_init__(self):
        # Tuples (not lists) so that configs compare, pickle and print the same way everywhere.
        for name in ("fractions", "models", "scan_resolutions"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        self.validate()

    def validate(self) -> None:
        """Raise a ValueError naming the first bad option and how to fix it."""
        unknown = sorted(set(self.models) - set(MODELS))
        if unknown or not self.models:
            raise ValueError(f"Unknown or no model names {unknown}; choose from {list(MODELS)}.")
        if not self.fractions or not all(0 < f <= 1 for f in self.fractions):
            raise ValueError(
                f"Training fractions must lie in (0, 1], got {list(self.fractions)}; e.g. "
                "--fractions 0.1 0.5 1."
            )
        if len(set(self.fractions)) != len(self.fractions):
            raise ValueError(f"Training fractions repeat: {list(self.fractions)}.")
        for name in ("test_fraction", "validation_fraction"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ValueError(f"{name} must lie in (0, 1), got {value}.")
        if self.n_seeds < 1:
            raise ValueError(f"n_seeds must be >= 1, got {self.n_seeds}.")
        if self.resolution < 0 or any(r < 0 for r in self.scan_resolutions):
            raise ValueError(
                "Resolutions must be >= 0 (0 = no smearing), got "
                f"{self.resolution} and scan {list(self.scan_resolutions)}."
            )
        if (self.signal is None) != (self.background is None):
            raise ValueError(
                "Give both --signal and --background event files, or neither (built-in generator)."
            )
        if self.n_events is not None and self.n_events < 100:
            raise ValueError(f"n_events must be at least 100, got {self.n_events}.")
        if self.preset not in ("fast", "paper"):
            raise ValueError(f"preset must be 'fast' or 'paper', got {self.preset!r}.")
        unknown = sorted(set(self.model_params) - set(MODELS))
        if unknown:
            raise ValueError(f"model_params has unknown model names {unknown}.")
        if self.ensemble not in (True, False):
            raise ValueError(f"ensemble must be True or False, got {self.ensemble!r}.")

    @property
    def uses_generator(self) -> bool:
        return self.signal is None

    def result_options(self) -> dict[str, Any]:
        """The options that change the result of a fit: the input of the result-set id.

        Event files enter by the SHA-256 of their content, so an edited file starts a new set.
        """
        from .. import __version__

        skip = {"fractions", "n_seeds", "models", "scan_resolutions", "signal", "background"}
        options = {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}
        if not options["ensemble"]:
            # Absent when off, so that the result sets written before the option existed keep
            # their ids (and resume).
            del options["ensemble"]
        options["version"] = __version__
        if not self.uses_generator:
            options["signal_sha256"] = _file_sha256(self.signal)
            options["background_sha256"] = _file_sha256(self.background)
        return options

    def result_set_id(self) -> str:
        """Folder name of this config's result set under the output folder."""
        return result_set_id(self.result_options())


#: ``--quick``: about 5 minutes on 2 CPU cores (a 3-point scan to fit that budget).
QUICK = StudyConfig(scan_resolutions=(0.0, 0.10, 0.20))
#: ``--full``: the paper's protocol (100,000 events, fractions 0.1 ... 1.0, 5 seeds) with the
#: fast recipe, the equivalent of the authors' 100 epochs (``--preset paper`` for theirs).
FULL = StudyConfig(
    n_events=100_000,
    fractions=tuple(round(0.1 * i, 1) for i in range(1, 11)),
    n_seeds=5,
)


def _file_sha256(path) -> str:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Event file {path} does not exist; pass an existing .lhe, .lhe.gz, .parquet or "
            ".csv file."
        )
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Seeds and data


def _study_seeds(config: StudyConfig) -> dict[str, int]:
    data, split, smear, fits = spawn_seeds(config.random_state, 4)
    return {"data": data, "split": split, "smear": smear, "fits": fits}


def _fit_seeds(config: StudyConfig, seed: int) -> tuple[int, int]:
    """(pool shuffle, model) seeds of seed number ``seed``; independent of ``n_seeds``."""
    # SeedSequence children depend on their index only, so seed i is the same in a 3-seed and
    # a 5-seed study, and widening n_seeds reuses the stored fits.
    child = spawn_seeds(_study_seeds(config)["fits"], seed + 1)[seed]
    pool, model = spawn_seeds(child, 2)
    return pool, model


_DATA_CACHE: dict[str, tuple] = {}
_DATA_LOCK = threading.Lock()


def _dataset(config: StudyConfig):
    """(X, y, test indices, training-pool indices), the same in every process for one config."""
    key = config.result_set_id()
    with _DATA_LOCK:
        if key in _DATA_CACHE:
            return _DATA_CACHE[key]
    from sklearn.model_selection import train_test_split

    seeds = _study_seeds(config)
    if config.uses_generator:
        from ..datasets import make_dimuon_events

        X, y = make_dimuon_events(config.n_events, random_state=seeds["data"])
    else:
        from ..datasets import make_labelled_dataset

        X, y = make_labelled_dataset(config.signal, config.background, random_state=seeds["data"])
        if config.n_events is not None and config.n_events < len(y):
            keep = np.random.default_rng(seeds["data"]).permutation(len(y))[: config.n_events]
            X, y = X[np.sort(keep)], y[np.sort(keep)]
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    pool, test = train_test_split(
        np.arange(len(y)), test_size=config.test_fraction, stratify=y, random_state=seeds["split"]
    )
    data = (X, y, np.sort(test), np.sort(pool))
    with _DATA_LOCK:
        _DATA_CACHE[key] = data
    return data


# --------------------------------------------------------------------------------------------
# Models


def make_model(name: str, config: StudyConfig, random_state: int):
    """The unfitted classifier ``name`` of a study, before smearing and reweighting.

    Networks get the config's preset, epoch cap and validation fraction (epoch selection on
    their own training subset); ``"hgb"`` is a histogram gradient-boosted tree on the physics
    features (dimuon mass and the two muon pTs) with early stopping on the same share.
    """
    extra = dict(config.model_params.get(name, {}))
    if name in NETWORKS:
        from .. import nn

        cls = {
            "pfn": nn.PFNClassifier,
            "invariant": nn.InvariantClassifier,
            "hybrid": nn.HybridClassifier,
        }[name]
        params = {"preset": config.preset, "random_state": random_state, "verbose": 0}
        if config.max_epochs is not None:
            params["max_epochs"] = config.max_epochs
        if "validation_fraction" in cls().get_params():
            params["validation_fraction"] = config.validation_fraction
        params.update(extra)
        return cls(**params)
    if name == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.pipeline import make_pipeline

        from ..preprocessing import DimuonFeatures

        params = {
            "early_stopping": True,
            "validation_fraction": config.validation_fraction,
            "random_state": random_state,
        }
        params.update(extra)
        return make_pipeline(DimuonFeatures(), HistGradientBoostingClassifier(**params))
    raise ValueError(f"No trainable model named {name!r}; choose from {list(NETWORKS) + ['hgb']}.")


def _pipeline(model, resolution: float, smear_seed: int):
    from sklearn.pipeline import Pipeline

    from ..preprocessing import MomentumSmearer, PtReweightedClassifier

    return Pipeline(
        [
            ("smear", MomentumSmearer(resolution, random_state=smear_seed)),
            ("clf", PtReweightedClassifier(model)),
        ]
    )


def _fitted_model(pipeline):
    """The fitted classifier inside ``Pipeline([... ("clf", PtReweightedClassifier(model))])``."""
    return pipeline[-1].estimator_


# --------------------------------------------------------------------------------------------
# Tasks


def _key(model: str, fraction: float | None, resolution: float, seed: int | None) -> str:
    if fraction is None:
        return f"{model}_r{resolution:g}"
    return f"{model}_f{fraction:g}_r{resolution:g}_s{seed}"


def study_tasks(config: StudyConfig) -> list[tuple[str | tuple[str, ...], tuple]]:
    """Every fit of a study as ``(key, args)`` for :func:`~._runner.run_tasks`.

    The curve is (model, fraction, seed) at ``config.resolution``; the scan is (model,
    resolution, seed) on the full pool; the Bayes-optimal ceiling is one evaluation per
    resolution (no training, generator data only). A curve point and a scan point that coincide
    are one task. With ``config.ensemble``, the seeds of each network point (model, fraction,
    resolution) are one task whose key is the tuple of their keys.
    """
    trained = [m for m in config.models if m != "optimal"]
    points: dict[str, tuple] = {}
    for model in trained:
        for fraction in config.fractions:
            for seed in range(config.n_seeds):
                key = _key(model, fraction, config.resolution, seed)
                points[key] = (config, model, float(fraction), float(config.resolution), seed)
        for resolution in config.scan_resolutions:
            for seed in range(config.n_seeds):
                key = _key(model, 1.0, resolution, seed)
                points.setdefault(key, (config, model, 1.0, float(resolution), seed))
    tasks: list[tuple[str | tuple[str, ...], tuple]] = []
    groups: dict[tuple, list[str]] = {}
    for key, args in points.items():
        _, model, fraction, resolution, _ = args
        if config.ensemble and model in NETWORKS:
            groups.setdefault((model, fraction, resolution), []).append(key)
        else:
            tasks.append((key, (_fit_task, *args)))
    for (model, fraction, resolution), keys in groups.items():
        seeds = tuple(points[key][-1] for key in keys)
        tasks.append(
            (tuple(keys), (_ensemble_task, config, model, fraction, resolution, seeds))
        )
    if "optimal" in config.models and config.uses_generator:
        for resolution in dict.fromkeys((config.resolution, *config.scan_resolutions)):
            key = _key("optimal", None, resolution, None)
            tasks.append((key, (_optimal_task, config, float(resolution))))
    return tasks


def _call(func, *args):
    return func(*args)


class _Recorder:
    """The scorer handed to learning_curve/validation_curve: scores with ``pt_weighted_roc_auc``
    and keeps what the figures need from the fitted pipeline (learning_curve discards it)."""

    def __init__(self, X_test, *, model: str, bins: int):
        self.test_head = X_test[:2].copy()
        self.n_test = len(X_test)
        self.model = model
        self.bins = bins
        self.details: dict[str, Any] = {}

    def _is_test(self, X) -> bool:
        X = np.asarray(X)
        return len(X) == self.n_test and np.array_equal(X[:2], self.test_head)

    def __call__(self, estimator, X, y) -> float:
        from ..preprocessing import pt_weighted_roc_auc

        score = float(pt_weighted_roc_auc(estimator, X, y))
        if self._is_test(X):
            self.details["test_auc"] = score
            self.details.update(_fit_details(estimator, X, self.model, self.bins))
        else:
            self.details["train_auc"] = score
        return score


def _history_auc(model) -> list[float | None]:
    history = getattr(model, "history", None)
    if history is None or not len(history) or "valid_auc" not in history[-1]:
        return []
    return [None if v is None or not np.isfinite(v) else float(v) for v in history[:, "valid_auc"]]


def _fit_details(pipeline, X_test, model_name: str, bins: int) -> dict[str, Any]:
    measured = pipeline[:-1].transform(X_test) if model_name == "hybrid" else None
    return _model_details(_fitted_model(pipeline), measured, model_name, bins)


def _model_details(model, measured_test, model_name: str, bins: int) -> dict[str, Any]:
    """Epoch history and (hybrid) symmetry-factor table of a fitted classifier;
    ``measured_test`` are the smeared test events (only the hybrid needs them)."""
    valid_auc = _history_auc(model)
    details: dict[str, Any] = {
        "valid_auc": valid_auc,
        "n_epochs": len(model.history) if hasattr(model, "history") else None,
        "best_epoch": None,
        "symmetry": None,
    }
    finite = [(v, i) for i, v in enumerate(valid_auc) if v is not None]
    if finite:
        details["best_epoch"] = max(finite)[1] + 1
    if model_name == "hybrid":
        from ..nn import symmetry_factor_table

        table = symmetry_factor_table(model, measured_test, bins=bins)
        details["symmetry"] = _json_records(table)
    return details


def _json_records(frame) -> dict[str, list]:
    """A DataFrame as {column: values} with NaN as None (JSON has no NaN)."""
    out = {}
    for column in frame.columns:
        values = frame[column].to_numpy()
        out[str(column)] = [
            None if isinstance(v, float) and not np.isfinite(v) else _py(v) for v in values
        ]
    return out


def _py(v):
    return v.item() if isinstance(v, np.generic) else v


def _fit_task(config: StudyConfig, model: str, fraction: float, resolution: float, seed: int):
    """One fit: (model, fraction, resolution, seed) -> JSON-serializable result."""
    from sklearn.model_selection import learning_curve, validation_curve

    X, y, test, pool = _dataset(config)
    pool, model_seed = _seed_pool(config, pool, seed)
    pipeline = _pipeline(
        make_model(model, config, model_seed), resolution, _study_seeds(config)["smear"]
    )
    recorder = _Recorder(X[test], model=model, bins=config.symmetry_bins)
    cv = [(pool, test)]
    n_train = _n_train(fraction, len(pool))
    start = time.perf_counter()
    if fraction == 1.0:
        validation_curve(
            pipeline,
            X,
            y,
            param_name="smear__resolution",
            param_range=[resolution],
            cv=cv,
            scoring=recorder,
            error_score="raise",
        )
    else:
        learning_curve(
            pipeline,
            X,
            y,
            train_sizes=[n_train],
            cv=cv,
            scoring=recorder,
            shuffle=False,
            error_score="raise",
        )
    elapsed = time.perf_counter() - start
    return _fit_payload(model, fraction, n_train, seed, resolution, recorder.details, elapsed)


def _seed_pool(config: StudyConfig, pool, seed: int) -> tuple[np.ndarray, int]:
    """(training pool in seed ``seed``'s order, model seed): a fraction ``f`` trains on the
    first ``f`` part of this order."""
    pool_seed, model_seed = _fit_seeds(config, seed)
    return np.random.default_rng(pool_seed).permutation(pool), model_seed


def _n_train(fraction: float, n_pool: int) -> int:
    n_train = n_pool if fraction == 1.0 else int(fraction * n_pool)
    if n_train < 10:
        raise ValueError(
            f"Training fraction {fraction} of {n_pool} pool events leaves {n_train} events; "
            "raise n_events or the fraction."
        )
    return n_train


def _fit_payload(model, fraction, n_train, seed, resolution, details, fit_time) -> dict:
    """The stored result of one fit; ``details`` holds the scores, history and symmetry."""
    return {
        "model": model,
        "fraction": fraction,
        "n_train": n_train,
        "seed": seed,
        "resolution": resolution,
        "test_auc": details["test_auc"],
        "train_auc": details.get("train_auc"),
        "best_epoch": details["best_epoch"],
        "n_epochs": details["n_epochs"],
        "fit_time": fit_time,
        "valid_auc": details["valid_auc"],
        "symmetry": details["symmetry"],
    }


def _ensemble_task(
    config: StudyConfig, model: str, fraction: float, resolution: float, seeds: tuple[int, ...]
) -> dict[str, dict[str, Any]]:
    """The seeds of one network point trained together: {key: payload} per seed.

    Member ``i`` sees exactly what :func:`_fit_task` with seed ``i`` would: the same training
    events in the same order, smeared by the same per-event draws (so smearing all events once
    equals smearing each fold in the pipeline), pT weights fitted on its own smeared training
    subset (as :class:`PtReweightedClassifier` does), the same initial weights and validation
    split, and the same scorer (AUC with pT weights of the scored fold). Only the batch order
    differs, so the numbers agree in distribution, not exactly.
    """
    from ..nn import fit_ensemble_members
    from ..preprocessing import MomentumSmearer, PtReweighter, weighted_roc_auc

    X, y, test, pool = _dataset(config)
    n_train = _n_train(fraction, len(pool))
    start = time.perf_counter()
    smear = MomentumSmearer(resolution, random_state=_study_seeds(config)["smear"])
    measured = smear.fit(X).transform(X)
    subsets, weights, model_seeds = [], [], []
    for seed in seeds:
        order, model_seed = _seed_pool(config, pool, seed)
        train = order[:n_train]
        subsets.append(train)
        weights.append(
            PtReweighter().fit(measured[train], y[train]).compute_sample_weight(
                measured[train], y[train]
            )
        )
        model_seeds.append(model_seed)
    template = make_model(model, config, model_seeds[0])
    members = fit_ensemble_members(template, measured, y, weights, subsets, model_seeds)
    X_test, y_test = measured[test], y[test]
    details = []
    for member, train in zip(members, subsets, strict=True):
        one = _model_details(member, X_test, model, config.symmetry_bins)
        one["test_auc"] = weighted_roc_auc(y_test, member.predict_proba(X_test)[:, 1], X_test)
        X_train = measured[train]
        one["train_auc"] = weighted_roc_auc(
            y[train], member.predict_proba(X_train)[:, 1], X_train
        )
        details.append(one)
    # The group's cost shared out: the report's fit times stay comparable to separate fits.
    fit_time = (time.perf_counter() - start) / len(seeds)
    return {
        _key(model, fraction, resolution, seed): _fit_payload(
            model, fraction, n_train, seed, resolution, one, fit_time
        )
        for seed, one in zip(seeds, details, strict=True)
    }


def _optimal_task(config: StudyConfig, resolution: float):
    """The Bayes-optimal AUC on the test split, weighted like every other AUC of the study."""
    from ..optimal import optimal_discriminant
    from ..preprocessing import MomentumSmearer, PtReweighter, weighted_roc_auc

    X, y, test, pool = _dataset(config)
    start = time.perf_counter()
    smear = MomentumSmearer(resolution, random_state=_study_seeds(config)["smear"]).fit(X[pool])
    measured = smear.transform(X[test])
    # The discriminant's background weight w(pT) comes from the training pool, like everything a
    # classifier may know: one fitted on the test fold would use the test labels (its per-bin
    # noise), an optimistic bias at small test sizes. The AUC itself is weighted as for every
    # model, with weights of the scored fold.
    reweighter = PtReweighter().fit(smear.transform(X[pool]), y[pool])
    score = optimal_discriminant(measured, resolution=resolution, reweighter=reweighter)
    auc = float(weighted_roc_auc(y[test], score, measured))
    return {
        "model": "optimal",
        "fraction": None,
        "n_train": 0,
        "seed": None,
        "resolution": resolution,
        "test_auc": auc,
        "train_auc": None,
        "best_epoch": None,
        "n_epochs": None,
        "fit_time": time.perf_counter() - start,
        "valid_auc": [],
        "symmetry": None,
    }


# --------------------------------------------------------------------------------------------
# The study


def run_study(
    config: StudyConfig,
    output="bsym_results",
    *,
    n_jobs: int | None = None,
    dask: str | None = None,
    dask_processes: bool = True,
    progress: bool = False,
    plots: bool = True,
    on_done=None,
):
    """Run (or resume) a study and write its results, figures and summary.

    Parameters
    ----------
    config : StudyConfig
    output : path-like, default="bsym_results"
        Results go to ``<output>/<config.result_set_id()>/``: ``fits/*.json`` (one per fit),
        ``results.csv``, ``summary.json``, ``summary.md`` and the PNG figures.
    n_jobs : int, optional
        Parallel fits through joblib (None = serial); local Dask workers with ``dask="local"``.
    dask : str, optional
        ``"local"`` (a LocalCluster on this machine) or the address of a Dask scheduler.
    dask_processes : bool, default=True
        Local Dask workers as processes; False uses threads (quick tests).
    progress : bool, default=False
        A progress bar over the fits.
    plots : bool, default=True
        Write the PNG figures (needs matplotlib).
    on_done : callable, optional
        Called with the key of every fit that ran (not loaded from disk).

    Returns
    -------
    StudyResult
        The per-fit table, the summary, the claims and the paths written.
    """
    from ._report import write_report

    folder = Path(output) / config.result_set_id()
    store = ResultStore(folder)
    payloads = run_tasks(
        _call,
        study_tasks(config),
        store,
        n_jobs=n_jobs,
        dask=dask,
        dask_processes=dask_processes,
        progress=progress,
        on_done=on_done,
    )
    return write_report(config, payloads, store, plots=plots)
