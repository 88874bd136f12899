"""The events of a study, its fixed test split and the seeds of every random step."""

from __future__ import annotations

import json
import threading
import warnings
from dataclasses import dataclass

import numpy as np

from .._files import same_file
from .._random import spawn_seeds
from ._config import MIN_TRAIN_EVENTS, StudyConfig, n_train

__all__ = ["StudyData", "load_study_data", "study_seeds", "ClassMixWarning"]

#: Below this share of the minority class the study warns: its AUCs rest on few events.
_MINORITY_WARN = 0.05


class ClassMixWarning(UserWarning):
    """The signal/background mix or the event files look wrong (same file twice, 98 % / 2 %)."""


@dataclass(frozen=True)
class StudyData:
    """The events of a study, its split and its seeds, the same in every process for one
    config.

    Attributes
    ----------
    X : ndarray of shape (n_events, 8)
        True (unsmeared) events in the canonical layout.
    y : ndarray of shape (n_events,)
        1 = signal, 0 = background.
    test : ndarray
        Indices of the fixed, stratified test split.
    pool : ndarray
        Indices of the training pool (everything else).
    seeds : dict
        The seeds of the study's random steps, ``{"data", "split", "smear", "fits"}``
        (:func:`study_seeds`).
    """

    X: np.ndarray
    y: np.ndarray
    test: np.ndarray
    pool: np.ndarray
    seeds: dict[str, int]

    def training_subset(self, fraction: float, seed: int):
        """(training indices, model seed) of seed number ``seed`` at ``fraction``: the first
        ``fraction`` part of the pool in that seed's order."""
        # SeedSequence children depend on their index only, so seed i (its pool order and model
        # seed) is the same in a 3-seed and a 5-seed study: widening n_seeds reuses stored fits.
        child = spawn_seeds(self.seeds["fits"], seed + 1)[seed]
        pool_seed, model_seed = spawn_seeds(child, 2)
        order = np.random.default_rng(pool_seed).permutation(self.pool)
        size = n_train(fraction, len(order))
        if size < MIN_TRAIN_EVENTS:
            raise ValueError(
                f"Training fraction {fraction:g} of the {len(order):,} pool events leaves {size} "
                f"events (at least {MIN_TRAIN_EVENTS} needed); use more events (--n-events) or "
                "larger --fractions."
            )
        return order[:size], model_seed


def study_seeds(config: StudyConfig) -> dict[str, int]:
    """Seeds of the data, the test split, the smearing and the fits of a study."""
    data, split, smear, fits = spawn_seeds(config.random_state, 4)
    return {"data": data, "split": split, "smear": smear, "fits": fits}


_CACHE: dict[str, StudyData] = {}
_LOCK = threading.Lock()


def load_study_data(config: StudyConfig) -> StudyData:
    """The events and split of ``config`` (cached per process)."""
    key = config.result_set_id()
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    from sklearn.model_selection import train_test_split

    seeds = study_seeds(config)
    if config.uses_generator:
        from ..datasets import make_dimuon_events

        X, y = make_dimuon_events(config.n_events, random_state=seeds["data"])
    else:
        X, y = _read_files(config, seeds["data"])
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    pool, test = train_test_split(
        np.arange(len(y)), test_size=config.test_fraction, stratify=y, random_state=seeds["split"]
    )
    data = StudyData(X, y, np.sort(test), np.sort(pool), seeds)
    with _LOCK:
        _CACHE[key] = data
    return data


def _read_files(config: StudyConfig, seed: int):
    from ..datasets import make_labelled_dataset

    if same_file(config.signal, config.background):  # also through a link
        warnings.warn(
            f"--signal and --background are the same file ({config.signal}): the networks "
            "cannot tell the classes apart and every AUC is noise around 0.5; pass the "
            "background sample as --background.",
            ClassMixWarning,
            stacklevel=2,
        )
    def mapping(text):
        return None if text is None else json.loads(text)

    X, y = make_labelled_dataset(
        config.signal, config.background, random_state=seed, lepton=config.lepton,
        tree=config.tree, columns=mapping(config.columns),
        signal_columns=mapping(config.signal_columns),
        background_columns=mapping(config.background_columns), pair=config.pair,
        pair_mass=config.pair_mass, n_leptons=config.n_leptons)
    if config.n_events is not None and config.n_events < len(y):
        keep = np.sort(np.random.default_rng(seed).permutation(len(y))[: config.n_events])
        X, y = X[keep], y[keep]
    share = float(np.mean(y)) if len(y) else 0.0
    if min(share, 1 - share) < _MINORITY_WARN:
        warnings.warn(
            f"The events are {100 * share:.1f} % signal and {100 * (1 - share):.1f} % "
            "background: the minority class has too few events for stable AUCs; give "
            "comparable samples (e.g. --n-events with a larger minority file).",
            ClassMixWarning,
            stacklevel=2,
        )
    return X, y
