"""What defines a study (:class:`StudyConfig`) and the named protocols ``--quick`` and ``--full``.

Importing this module is cheap (no torch, pandas or scikit-learn): the command line builds its
``--help`` from it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

from .._files import event_file
from ._models import DEFAULT_MODELS, MODEL_TABLE, MODELS, NETWORK_PRESETS, SYMMETRY_NAMES
from ._store import result_set_id

__all__ = [
    "StudyConfig",
    "QUICK",
    "FULL",
    "PROTOCOLS",
    "MIN_TRAIN_EVENTS",
    "LEPTONS",
    "PAIR_MODES",
    "min_n_events",
    "n_split",
    "Range",
    "RULES",
]

#: The smallest training subset a study accepts: below it the pT reweighting has bins without
#: both classes and the AUCs are noise.
MIN_TRAIN_EVENTS = 100
#: Lepton pairs the event readers select (``load_event_file(lepton=...)``).
LEPTONS = ("mu", "e")
#: The readers' pair modes (``sklearn_bsym.datasets.PAIR_MODES``, named here so that the
#: command line's parsers need not import the readers; a test checks that they agree).
PAIR_MODES = ("exclusive", "leading", "closest")


def n_split(n_events: int, test_fraction: float) -> tuple[int, int]:
    """(training pool, test split) sizes of ``n_events``, as ``train_test_split`` makes them."""
    n_test = math.ceil(test_fraction * n_events)
    return n_events - n_test, n_test


def n_train(fraction: float, n_pool: int) -> int:
    """Training events at ``fraction`` of a pool of ``n_pool`` events."""
    return n_pool if fraction == 1.0 else int(fraction * n_pool)


def min_n_events(fractions, test_fraction: float) -> int:
    """The fewest events whose smallest training subset holds :data:`MIN_TRAIN_EVENTS`."""
    smallest = min(fractions)
    n = max(1, math.floor(MIN_TRAIN_EVENTS / ((1 - test_fraction) * smallest)) - 2)
    while n_train(smallest, n_split(n, test_fraction)[0]) < MIN_TRAIN_EVENTS:
        n += 1
    return n



def _check_reweighting(settings: dict) -> None:
    """The study's ``PtReweighter`` settings, checked by the reweighter's own parameter
    constraints (imported only when settings are given, so the default config stays light)."""
    from ..preprocessing import PtReweighter

    allowed = sorted(set(PtReweighter().get_params()) - {"random_state"})
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise ValueError(
            f"reweighting has unknown setting(s) {unknown}; it takes PtReweighter's {allowed}, "
            "e.g. reweighting={'variable': 'leading', 'n_bins': 50}."
        )
    PtReweighter(**settings)._validate_params()

@dataclass(frozen=True)
class Range:
    """The rule of a number option, written once: its kind (``int`` or ``float``) and interval.

    :meth:`StudyConfig.validate` checks a field with :meth:`check`, and the command line's
    argparse types (``sklearn_bsym.__main__``) parse with :attr:`kind` and test with
    :meth:`holds`; both print the interval as ``str(rule)``, e.g. ``(0, 1]`` or ``[1, inf)``.
    """

    kind: type
    lo: float
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def __str__(self) -> str:
        def show(x):
            return "inf" if x is None else str(int(x)) if self.kind is int else f"{x:g}"

        closing = ")" if self.hi_open or self.hi is None else "]"
        return f"{'(' if self.lo_open else '['}{show(self.lo)}, {show(self.hi)}{closing}"

    def holds(self, value) -> bool:
        """Whether ``value`` is a finite number of the rule's kind inside the interval."""
        kinds = numbers.Integral if self.kind is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
            return False
        above = value > self.lo if self.lo_open else value >= self.lo
        below = self.hi is None or (value < self.hi if self.hi_open else value <= self.hi)
        return above and below

    def check(self, name: str, value) -> None:
        """Raise a ValueError naming ``name``, the allowed interval and ``value`` unless it
        :meth:`holds`."""
        if not self.holds(value):
            what = "an integer" if self.kind is int else "a finite number"
            raise ValueError(f"{name} must be {what} in {self}, got {value!r}.")


#: The rules of the number options, by field of :class:`StudyConfig` (``fractions`` and
#: ``scan_resolutions``: of each element); the command line's options use the same ones.
RULES: dict[str, Range] = {
    "n_events": Range(int, 1),
    "test_fraction": Range(float, 0, 1, lo_open=True, hi_open=True),
    "validation_fraction": Range(float, 0, 1, lo_open=True, hi_open=True),
    "fractions": Range(float, 0, 1, lo_open=True),
    "n_seeds": Range(int, 1),
    "resolution": Range(float, 0, 1),
    "scan_resolutions": Range(float, 0, 1),
    "detector_strength": Range(float, 0, 1, hi_open=True),
    "scan_strengths": Range(float, 0, 1, hi_open=True),
    "max_epochs": Range(int, 1),
    "symmetry_bins": Range(int, 1),
    "random_state": Range(int, 0, 2**32 - 1),
    "pair_mass": Range(float, 0, lo_open=True),
}


@dataclass(frozen=True)
class StudyConfig:
    """Everything that defines a study.

    Options that change the result of a fit hash into the result-set id
    (:meth:`result_set_id`); the selection options ``fractions``, ``n_seeds``, ``models``,
    ``scan_resolutions`` and ``scan_strengths`` only choose *which* fits of the set run, so
    widening them reuses the fits already stored. How the fits run (``n_jobs``, threads, Dask,
    progress) is not part of the config.

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
    models : tuple of str, default=DEFAULT_MODELS
        Any of ``"pfn"``, ``"invariant"``, ``"hybrid"``, ``"hgb"``, ``"optimal"`` (the
        default) and ``"hybrid_x5"`` (five hybrids trained together and averaged, a model of
        its own; five times the hybrid's cost, so only when named).
    resolution : float, default=0.10
        Relative pT resolution of the smearing for the training-fraction curve, in [0, 1].
    scan_resolutions : tuple of float, default=(0, 0.025, 0.05, 0.10, 0.20)
        Resolutions of the scan (full training pool); empty for no scan.
    symmetry : {"lorentz", "longitudinal"}, default="lorentz"
        The symmetry built into the study's invariant network and hybrid
        (``InvariantClassifier(symmetry=...)``, ``HybridClassifier(symmetry=...)``): the
        paper's Lorentz group, or its longitudinal subgroup (rotations about the beam, boosts
        along it), which the paper's smearing keeps. The chain hybrid (model ``"chain"``)
        has both.
    detector_strength : float in [0, 1), default=0.0
        How much the detector's resolution depends on the azimuth: every smearing of the
        study is ``DetectorResolution(resolution, strength=detector_strength)``, sigma/pT =
        resolution (1 + strength cos phi), which breaks the longitudinal symmetry too; 0 is
        the paper's smearing. The Bayes-optimal line uses the same detector, and beside it
        ``optimal_azimuthal`` gives the best AUC of a classifier invariant under rotations
        about the beam (the ceiling of both symmetries' networks).
    scan_strengths : tuple of float, default=()
        Strengths of a scan of that breaking at ``resolution`` (full training pool, as the
        resolution scan); empty for no scan.
    preset : {"fast", "paper"}, default="fast"
        Network preset (see :mod:`sklearn_bsym.nn`).
    max_epochs : int or None, default=None
        Epoch cap of the networks (None: the preset's).
    model_params : dict, default={}
        Extra keyword arguments per model name, e.g. ``{"pfn": {"batch_size": 256}}``.
    signal, background : str or None
        Event files (LHE, parquet, CSV, and whatever
        :func:`sklearn_bsym.datasets.load_event_file` reads) to study instead of the built-in
        generator; both or none.
    lepton : {"mu", "e"}, default="mu"
        Lepton pair selected in the event files.
    tree : str or None, default=None
        Tree name inside ROOT event files (None: the reader's default).
    columns : str or None, default=None
        Column mapping of CSV/parquet/flat-ROOT event files with their own column names, as
        JSON text: a list with one ``{"px": ..., "py": ..., "pz": ..., "E": ...}`` (or
        ``pt/eta/phi`` and ``mass``, optionally ``charge`` or ``pdg_id``) per particle (see
        :func:`sklearn_bsym.datasets.load_event_file`).
    signal_columns, background_columns : str or None, default=None
        The mapping of one class's file instead of ``columns``, as JSON text.
    pair : {"exclusive", "leading", "closest"}, default="exclusive"
        Which leptons of an event the readers take (see
        :func:`sklearn_bsym.datasets.load_event_file`).
    pair_mass : float or None, default=None
        The mass of ``pair="closest"`` in GeV (None: the Z mass).
    n_leptons : int or None, default=None
        Leptons per event (None: the readers' default, 2 or every mapped particle).
    symmetry_bins : int, default=10
        pT bins of the hybrid's symmetry-factor table (Fig. 5).
    random_state : int, default=0
        Root of every seed of the study.
    ensemble : bool, default=False
        Train the seeds of each network point together as one vectorized ensemble
        (:class:`sklearn_bsym.nn.EnsembleClassifier`) instead of one fit per seed: much
        cheaper, the same results in distribution, but not the same numbers (batch order), so
        it is a result set of its own.
    reweighting : dict, default={}
        Keyword arguments of the :class:`~sklearn_bsym.preprocessing.PtReweighter` of the
        study (training weights, the scored AUCs and the Bayes-optimal line), e.g.
        ``{"variable": "leading", "n_bins": 20}``; empty: the paper's ``PtReweighter()``.
    """

    n_events: int | None = 20_000
    test_fraction: float = 0.2
    validation_fraction: float = 0.2
    fractions: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0)
    n_seeds: int = 3
    models: tuple[str, ...] = DEFAULT_MODELS
    resolution: float = 0.10
    scan_resolutions: tuple[float, ...] = (0.0, 0.025, 0.05, 0.10, 0.20)
    symmetry: str = "lorentz"
    detector_strength: float = 0.0
    scan_strengths: tuple[float, ...] = ()
    preset: str = "fast"
    max_epochs: int | None = None
    model_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    signal: str | None = None
    background: str | None = None
    lepton: str = "mu"
    tree: str | None = None
    columns: str | None = None
    signal_columns: str | None = None
    background_columns: str | None = None
    pair: str = "exclusive"
    pair_mass: float | None = None
    n_leptons: int | None = None
    symmetry_bins: int = 10
    random_state: int = 0
    ensemble: bool = False
    reweighting: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        # Tuples (not lists) so that configs compare, pickle and print the same way everywhere.
        for name in ("fractions", "models", "scan_resolutions", "scan_strengths"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        self.validate()

    def validate(self) -> None:
        """Raise a ValueError naming the first bad option and how to fix it."""
        unknown = sorted(set(self.models) - set(MODELS))
        if unknown or not self.models:
            raise ValueError(f"Unknown or no model names {unknown}; choose from {list(MODELS)}.")
        for name in self.models:
            MODEL_TABLE[name].check_available()
        if not self.fractions:
            raise ValueError("Give at least one training fraction, e.g. --fractions 0.1 0.5 1.")
        for fraction in self.fractions:
            RULES["fractions"].check("Training fractions", fraction)
        if len(set(self.fractions)) != len(self.fractions):
            raise ValueError(f"Training fractions repeat: {list(self.fractions)}.")
        for name in ("test_fraction", "validation_fraction", "n_seeds", "symmetry_bins",
                     "random_state"):
            RULES[name].check(name, getattr(self, name))
        RULES["resolution"].check("Resolutions (0 = no smearing)", self.resolution)
        for resolution in self.scan_resolutions:
            RULES["scan_resolutions"].check("Resolutions (0 = no smearing)", resolution)
        if self.symmetry not in SYMMETRY_NAMES:
            raise ValueError(
                f"symmetry must be one of {list(SYMMETRY_NAMES)}, got {self.symmetry!r}; a "
                "symmetry of your own goes into the networks directly "
                "(InvariantClassifier(symmetry=Symmetry(...))), not into a study."
            )
        RULES["detector_strength"].check("detector_strength (0 = the paper's smearing)",
                                         self.detector_strength)
        for strength in self.scan_strengths:
            RULES["scan_strengths"].check("Strengths of the scan (0 = the paper's smearing)",
                                          strength)
        if len(set(self.scan_strengths)) != len(self.scan_strengths):
            raise ValueError(f"Strengths of the scan repeat: {list(self.scan_strengths)}.")
        if (self.signal is None) != (self.background is None):
            raise ValueError(
                "Give both --signal and --background event files, or neither (built-in generator)."
            )
        if self.n_events is not None:
            RULES["n_events"].check("n_events", self.n_events)
            needed = min_n_events(self.fractions, self.test_fraction)
            if self.n_events < needed:
                raise ValueError(
                    f"n_events={self.n_events} is too few for training fraction "
                    f"{min(self.fractions):g}: its training subset needs at least "
                    f"{MIN_TRAIN_EVENTS} events; use --n-events {needed} or more (or larger "
                    "--fractions)."
                )
        if self.preset not in NETWORK_PRESETS:
            raise ValueError(
                f"preset must be one of {list(NETWORK_PRESETS)}, got {self.preset!r}."
            )
        if self.max_epochs is not None:
            RULES["max_epochs"].check("max_epochs (or None: the preset's)", self.max_epochs)
        unknown = sorted(set(self.model_params) - set(MODELS))
        if unknown:
            raise ValueError(f"model_params has unknown model names {unknown}.")
        if self.lepton not in LEPTONS:
            raise ValueError(f"lepton must be one of {list(LEPTONS)}, got {self.lepton!r}.")
        if self.pair not in PAIR_MODES:
            raise ValueError(f"pair must be one of {list(PAIR_MODES)}, got {self.pair!r}.")
        if self.pair_mass is not None:
            RULES["pair_mass"].check("pair_mass (or None: the Z mass)", self.pair_mass)
            if self.pair != "closest":
                raise ValueError("pair_mass applies to pair='closest' only (--pair closest).")
        if self.n_leptons is not None and (
                isinstance(self.n_leptons, bool) or not isinstance(self.n_leptons, int)
                or self.n_leptons < 2 or self.n_leptons % 2):
            raise ValueError(f"n_leptons must be an even int >= 2 or None, got "
                             f"{self.n_leptons!r}.")
        if self.ensemble not in (True, False):
            raise ValueError(f"ensemble must be True or False, got {self.ensemble!r}.")
        if self.reweighting:
            _check_reweighting(self.reweighting)

    @property
    def uses_generator(self) -> bool:
        return self.signal is None

    def result_options(self) -> dict[str, Any]:
        """The options that change the result of a fit: the input of the result-set id.

        Event files enter by the SHA-256 of their content, so an edited file starts a new set.
        """
        from .. import __version__

        skip = {
            "fractions",
            "n_seeds",
            "models",
            "scan_resolutions",
            "scan_strengths",
            "signal",
            "background",
            "lepton",
            "tree",
            "columns",
            "signal_columns",
            "background_columns",
            "pair",
            "pair_mass",
            "n_leptons",
        }
        options = {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}
        if not options["ensemble"]:
            # Absent when off, so that the result sets written before the option existed keep
            # their ids (and resume).
            del options["ensemble"]
        if not options["reweighting"]:
            del options["reweighting"]  # likewise: the paper's weights keep the ids
        if options["symmetry"] == "lorentz":
            del options["symmetry"]  # likewise: the paper's symmetry
        if not options["detector_strength"]:
            del options["detector_strength"]  # likewise: the paper's smearing
        options["version"] = __version__
        if not self.uses_generator:
            options["signal_sha256"] = _file_sha256(self.signal)
            options["background_sha256"] = _file_sha256(self.background)
            # Only when not the default, so that sets made before the options existed resume.
            if self.lepton != "mu":
                options["lepton"] = self.lepton
            if self.tree is not None:
                options["tree"] = self.tree
            if self.columns is not None:
                options["columns"] = self.columns
            defaults = {"signal_columns": None, "background_columns": None,
                        "pair": "exclusive", "pair_mass": None, "n_leptons": None}
            options.update({name: getattr(self, name) for name, default in defaults.items()
                            if getattr(self, name) != default})
        return options

    def result_set_id(self) -> str:
        """Folder name of this config's result set under the output folder."""
        return result_set_id(self.result_options())


#: ``--quick``: about 3 minutes on 2 CPU cores (a 3-point scan to fit that budget).
QUICK = StudyConfig(scan_resolutions=(0.0, 0.10, 0.20))
#: ``--full``: the paper's protocol (100,000 events, fractions 0.1 ... 1.0, 5 seeds) with the
#: fast recipe, the equivalent of the authors' 100 epochs (``--preset paper`` for theirs).
FULL = StudyConfig(
    n_events=100_000,
    fractions=tuple(round(0.1 * i, 1) for i in range(1, 11)),
    n_seeds=5,
)


@dataclass(frozen=True)
class Protocol:
    """A named study protocol of the command line: its config and its measured cost."""

    name: str
    config: StudyConfig
    cost: str


#: The named protocols; ``cost`` is measured (docs/results/<name>/summary.md and the README).
PROTOCOLS = {
    "quick": Protocol("quick", QUICK, "about 3 minutes on 2 quiet CPU cores"),
    "full": Protocol(
        "full", FULL, "about 9 minutes with --no-scan --n-jobs 2 on 2 quiet CPU cores; many hours "
        "with --preset paper"
    ),
}


def _file_sha256(path) -> str:
    path = event_file(path)
    stat = path.stat()
    # The id is asked for by every study point (it keys the per-process data cache): hash a
    # file once per content version, not once per fit.
    return _sha256_of(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
