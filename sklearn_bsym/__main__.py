"""Command line: ``python -m sklearn_bsym`` (or ``sklearn-bsym``) runs the study; its commands
``fit`` and ``score`` train a model on event files and score other files with it.

See ``python -m sklearn_bsym --help`` (the study; its Python API is :mod:`sklearn_bsym.studies`),
``python -m sklearn_bsym fit --help`` and ``score --help`` (their Python API is
:mod:`sklearn_bsym.deploy`). With no command, the arguments are the study's, exactly as before
the commands existed. The parsers and ``--help`` import only the study's config and model table
(no torch, no pandas), so they answer at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

__all__ = ["build_parser", "build_fit_parser", "build_score_parser", "config_from_args", "main"]

_DESCRIPTION = """\
Reproduce the study of "Learning Broken Symmetries with Approximate Invariance": generate (or
read) dimuon events, smear the muon momenta, reweight pT, train the PFN, invariant and hybrid
networks plus a gradient-boosted-tree reference at several training fractions and seeds, and
write the results table, the claims report and the figures to OUTPUT/<result-set id>/.

Every fit is stored as soon as it finishes: Ctrl-C stops the study cleanly (a fit in training
is dropped, never stored half-trained), and running the same command again resumes it. Options
that change results give a new result-set folder; --models, --fractions, --seeds and the scan
resolutions only choose which fits of a set run, so widening them reuses stored fits. Several
runs of one study on one folder share the fits instead of repeating them.
"""

_COMMANDS_EPILOG = """commands (instead of the study):
  python -m sklearn_bsym fit ...    train a model of the table on your signal and background
                                    event files and save it (fit --help)
  python -m sklearn_bsym score ...  score every entry of event files with a saved model, in
                                    step with the files (score --help)
"""

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def _column_mapping(text: str) -> str:
    """An argparse type: a column mapping from JSON text or a JSON file, returned as canonical
    JSON text (it enters the result-set id). Text that starts with '[' or '{' is JSON text,
    whatever its length; anything else names a file, read whole only when it is a small
    regular file."""
    from ._files import read_bounded

    if text.lstrip().startswith(("[", "{")):
        source = text
    else:
        try:
            source = read_bounded(Path(text), 2**20, follow_links=True).decode("utf-8")
        except (ValueError, OSError) as exc:  # UnicodeDecodeError is a ValueError
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise argparse.ArgumentTypeError(
                f"cannot read the mapping file {text[:80]!r} ({why}); give the mapping as JSON "
                "text (a list, starting with '['), e.g. "
                '[{"px": "px_0", ...}, {"px": "px_1", ...}], or the path of a JSON file'
            ) from None
    try:
        mapping = json.loads(source)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(
            f"not a JSON file or JSON text ({exc.msg} at character {exc.pos}); give a list "
            'with one object per particle, e.g. [{"px": "px_0", ...}, {"px": "px_1", ...}]'
        ) from None
    if not isinstance(mapping, list) or not all(isinstance(m, dict) for m in mapping):
        raise argparse.ArgumentTypeError(
            "the mapping must be a JSON list with one object per particle, e.g. "
            '[{"px": "px_0", "py": "py_0", "pz": "pz_0", "E": "energy_0"}, {...}]'
        )
    return json.dumps(mapping, sort_keys=True)


def _number(rule, *, fraction=False):
    """An argparse type for a number option with ``rule`` (a ``studies.Range``, the one that
    ``StudyConfig`` checks the field with): a finite number of the rule's kind in its interval,
    else a message with the allowed range (for a ``fraction`` given as a percentage, the
    fraction it means)."""

    def parse(text: str):
        try:
            value = rule.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an integer' if rule.kind is int else 'a number'}; "
                f"allowed: {rule}"
            ) from None
        if not rule.holds(value):
            percent = f" ({text} % is {value / 100:g})" if fraction and 1 < value <= 100 else ""
            raise argparse.ArgumentTypeError(
                f"{text} is out of range; allowed: {rule}{percent}"
            )
        return value

    parse.__name__ = rule.kind.__name__  # argparse names the type in its messages
    return parse


def _n_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value == 0:
        raise argparse.ArgumentTypeError("0 runs nothing; use N >= 1 or -1 (all cores)")
    return value


#: Which events the reader drops (NaN in score's output) in each pair mode.
_NAN_MEANS = (
    "in exclusive mode one with no lepton, one lepton, leptons of one charge only, or more "
    "than one lepton of a charge (N/2 with --n-leptons N); in leading and closest mode one "
    "with no lepton of a charge (fewer than N/2)"
)


def _add_reader_options(parser: argparse.ArgumentParser, *, per_class: bool = False) -> None:
    """How event files are read, alike in the study, fit and score: --lepton, --tree,
    --columns (and, for signal and background files, --signal-columns and
    --background-columns), --pair, --pair-mass and --n-leptons."""
    from .studies import LEPTONS, PAIR_MODES, RULES

    parser.add_argument(
        "--lepton",
        choices=LEPTONS,
        default=None,
        help="lepton pair to read from the event files: mu (default) or e",
    )
    parser.add_argument(
        "--tree", metavar="NAME",
        help="tree inside ROOT event files (default: the reader's; with files of several "
        "formats, the ROOT files')",
    )
    parser.add_argument(
        "--columns",
        type=_column_mapping,
        metavar="JSON",
        help="column mapping of event files with their own column names: JSON text (any "
        "length) or a JSON file, one object per particle, e.g. '[{\"px\": \"px_0\", "
        '\"py\": \"py_0\", \"pz\": \"pz_0\", \"E\": \"energy_0\", \"pdg_id\": '
        "\"id_0\"}, {...}]' (keys px/py/pz/E, or pt/eta/phi and mass: a column, a number in "
        "GeV, or none for the lepton's mass; optional charge or pdg_id, to choose the leptons "
        "by --pair)",
    )
    if per_class:
        for role in ("signal", "background"):
            parser.add_argument(
                f"--{role}-columns", type=_column_mapping, metavar="JSON",
                help=f"the column mapping of the {role} files only (instead of --columns), "
                "e.g. when signal and background come in different formats",
            )
    parser.add_argument(
        "--pair",
        choices=PAIR_MODES,
        default=None,
        help="which leptons of an event are read: 'exclusive' (default) events with exactly "
        "one of each charge, 'leading' the highest-pT lepton of each charge, 'closest' the "
        "opposite-charge pair whose mass is closest to --pair-mass (the Z candidate; with "
        "--n-leptons 4 the two closest pairs). An event without them is dropped (NaN in "
        f"score's output): {_NAN_MEANS}",
    )
    parser.add_argument(
        "--pair-mass", type=_number(RULES["pair_mass"]), metavar="GEV",
        help="the mass of --pair closest, in GeV (default: the Z mass, 91.1876)",
    )
    parser.add_argument(
        "--n-leptons", type=_n_leptons, metavar="N",
        help="leptons per event, half of each charge, e.g. 4 for H -> ZZ -> 4 leptons "
        "(default: 2; with a column mapping that has charges, every mapped particle); "
        "positive leptons first, each charge by decreasing pT",
    )


def _n_leptons(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 2 or value % 2:
        raise argparse.ArgumentTypeError(
            f"{value} is not an even number >= 2 (half of the leptons of each charge)")
    return value


def _reading(args, *, model_meta=None) -> dict:
    """The readers' options of parsed arguments; for ``score``, the lepton, pair mode and
    number of leptons not given are the fit's, as the model file records them."""
    meta = model_meta or {}
    pair = args.pair or meta.get("pair") or "exclusive"
    pair_mass = args.pair_mass
    if pair_mass is None and pair == meta.get("pair"):
        pair_mass = meta.get("pair_mass")
    return {
        "lepton": args.lepton or meta.get("lepton") or "mu",
        "tree": args.tree,
        "columns": _columns_of(args),
        "pair": pair,
        "pair_mass": pair_mass,
        "n_leptons": args.n_leptons if args.n_leptons is not None else meta.get("n_leptons"),
    }


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the study (the command line without a command)."""
    from .studies import (
        DEFAULT_MODELS,
        MIN_TRAIN_EVENTS,
        MODELS,
        NETWORK_PRESETS,
        PROTOCOLS,
        RULES,
        SYMMETRY_NAMES,
        Range,
    )

    parser = argparse.ArgumentParser(
        prog="python -m sklearn_bsym",
        description=_DESCRIPTION,
        epilog=_COMMANDS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    size = parser.add_mutually_exclusive_group()
    quick, full = PROTOCOLS["quick"], PROTOCOLS["full"]
    size.add_argument(
        "--quick",
        dest="protocol",
        action="store_const",
        const="quick",
        help=(
            f"the quick study (default): {quick.config.n_events:,} events, fractions "
            f"{', '.join(f'{f:g}' for f in quick.config.fractions)}, {quick.config.n_seeds} "
            f"seeds, the 'fast' preset; {quick.cost}"
        ),
    )
    size.add_argument(
        "--full",
        dest="protocol",
        action="store_const",
        const="full",
        help=(
            f"the paper's protocol: {full.config.n_events:,} events, fractions 0.1 ... 1.0, "
            f"{full.config.n_seeds} seeds, the 'fast' preset; {full.cost}"
        ),
    )
    parser.set_defaults(protocol="quick")
    parser.add_argument(
        "--output",
        default="bsym_results",
        metavar="DIR",
        help="output folder; results go to DIR/<result-set id>/ (default: %(default)s)",
    )
    parser.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=None,
        metavar="N",
        help="fits run in parallel through joblib (-1: all cores; default: one at a time); "
        "with --dask local, the number of Dask workers",
    )
    parser.add_argument(
        "--n-threads",
        type=_number(Range(int, 1)),
        default=None,
        metavar="N",
        help="torch/BLAS threads of each fit (default: 1, measured fastest for the study's "
        "networks and never oversubscribing; the cores go to --n-jobs; the choice is printed "
        "at the end)",
    )
    parser.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="run the fits on Dask: 'local' starts a LocalCluster on this machine, anything "
        "else is the address of a running scheduler (e.g. tcp://10.0.0.5:8786)",
    )
    parser.add_argument("--seeds", type=_number(RULES["n_seeds"]), metavar="N",
                        help="seeds per point")
    parser.add_argument(
        "--n-events",
        type=_number(RULES["n_events"]),
        metavar="N",
        help="events to generate (with --signal/--background: a random subset of this many; "
        f"default there: all); the smallest training subset needs {MIN_TRAIN_EVENTS} events",
    )
    parser.add_argument(
        "--fractions",
        type=_number(RULES["fractions"], fraction=True),
        nargs="+",
        metavar="F",
        help="training fractions of the training pool, in (0, 1]",
    )
    parser.add_argument(
        "--resolution",
        type=_number(RULES["resolution"], fraction=True),
        metavar="R",
        help="relative muon pT resolution of the smearing, in [0, 1] (default: 0.10 = 10 %%)",
    )
    parser.add_argument(
        "--symmetry",
        choices=SYMMETRY_NAMES,
        help="symmetry built into the invariant network and the hybrid: 'lorentz' (default, "
        "the paper's) or 'longitudinal' (rotations about the beam and boosts along it); the "
        "model 'chain' has both",
    )
    parser.add_argument(
        "--detector-strength",
        type=_number(RULES["detector_strength"]),
        metavar="S",
        help="make the resolution depend on the azimuth: sigma/pT = R (1 + S cos phi), S in "
        "[0, 1) (default: 0, the paper's smearing); adds the limit of classifiers invariant "
        "under rotations about the beam beside the Bayes-optimal one",
    )
    parser.add_argument(
        "--scan-strengths",
        type=_number(RULES["scan_strengths"]),
        nargs="+",
        metavar="S",
        help="also scan that strength at --resolution on the full training pool (default: no "
        "scan), e.g. 0 0.5 0.9",
    )
    parser.add_argument(
        "--scan",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the resolution scan on the full training pool (default: on)",
    )
    parser.add_argument(
        "--scan-resolutions",
        type=_number(RULES["scan_resolutions"], fraction=True),
        nargs="+",
        metavar="R",
        help="resolutions of the scan, in [0, 1] (default: 0 0.1 0.2 with --quick, 0 0.025 "
        "0.05 0.1 0.2 with --full)",
    )
    parser.add_argument(
        "--signal", metavar="PATH", help="signal events (.lhe, .lhe.gz, .parquet, .csv, .root)"
    )
    parser.add_argument(
        "--background",
        metavar="PATH",
        help="background events (.lhe, .lhe.gz, .parquet, .csv, .root)",
    )
    _add_reader_options(parser, per_class=True)
    parser.add_argument(
        "--models",
        nargs="+",
        choices=MODELS,
        metavar="MODEL",
        help=f"models to run, any of {', '.join(MODELS)} (default: "
        f"{' '.join(DEFAULT_MODELS)}; 'optimal' is the Bayes-optimal ceiling, built-in "
        "generator only; 'hybrid_x5' averages five hybrids trained together, at five times the "
        "hybrid's cost)",
    )
    parser.add_argument(
        "--epochs",
        type=_number(RULES["max_epochs"]),
        metavar="N",
        help="maximum epochs of the networks (default: the "
        "preset's; early stopping on the validation split picks the epoch)",
    )
    parser.add_argument(
        "--preset",
        choices=NETWORK_PRESETS,
        help="network preset: 'fast' (default) or the authors' 'paper' settings (100 epochs "
        "at lr 1e-5, batch 128)",
    )
    parser.add_argument(
        "--ensemble",
        action="store_true",
        help="train the seeds of each network point (model, fraction, resolution) together as "
        "one vectorized ensemble instead of one fit per seed: same data, weights and scoring per "
        "seed, results equal in distribution (not to the digit: batch order differs), a "
        "result set of its own, several times faster",
    )
    parser.add_argument(
        "--random-state",
        type=_number(RULES["random_state"]),
        metavar="N",
        help="root seed of the study (default: 0)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar over the fits")
    parser.add_argument("--no-plots", action="store_true", help="write no figures")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback of an error"
    )
    return parser


def config_from_args(args: argparse.Namespace):
    """The :class:`~sklearn_bsym.studies.StudyConfig` of parsed command-line arguments."""
    from .studies import PROTOCOLS

    base = PROTOCOLS[args.protocol].config
    changes = {
        "n_seeds": args.seeds,
        "n_events": args.n_events,
        "fractions": tuple(args.fractions) if args.fractions else None,
        "resolution": args.resolution,
        "signal": args.signal,
        "background": args.background,
        "lepton": args.lepton,
        "tree": args.tree,
        "columns": args.columns,
        "signal_columns": args.signal_columns,
        "background_columns": args.background_columns,
        "pair": args.pair,
        "pair_mass": args.pair_mass,
        "n_leptons": args.n_leptons,
        "models": tuple(dict.fromkeys(args.models)) if args.models else None,
        "max_epochs": args.epochs,
        "preset": args.preset,
        "random_state": args.random_state,
        "scan_resolutions": tuple(args.scan_resolutions) if args.scan_resolutions else None,
        "symmetry": args.symmetry,
        "detector_strength": args.detector_strength,
        "scan_strengths": tuple(args.scan_strengths) if args.scan_strengths else None,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if args.signal is not None and args.n_events is None:
        changes["n_events"] = None
    if not args.scan:
        changes["scan_resolutions"] = ()
    if args.ensemble:
        changes["ensemble"] = True
    return dataclasses.replace(base, **changes)


_FIT_DESCRIPTION = """\
Train one model of the study's table on your signal and background event files and save it to a
model file (loading it runs no code from the file; see sklearn_bsym.deploy). The events are
taken as measured (a detector's output) unless --resolution smears them first, as the study
smears its truth-level events; the background is pT-reweighted to the signal's spectrum on the
training events, as the study does. The counts of each file's events per reason of the
selection are printed; the training sample's support (dilepton mass, lepton pT and eta ranges)
is saved with the model, so that 'score' counts the events outside it. Any sample with both
classes fits, down to a few dozen events (the networks' batch follows the sample). Score files
with the saved model with 'python -m sklearn_bsym score MODEL_FILE INPUT... --output OUT'.
"""

_SCORE_DESCRIPTION = """\
Score every entry of event files with a model saved by 'fit' (or sklearn_bsym.deploy.save_model):
one score (the signal probability) per input entry, in the inputs' order, NaN where the reader's
selection drops the event: it does not have the leptons asked for (--pair, --n-leptons; by
default those the model was fitted with). The counts per reason of each file are printed. The
inputs are read in chunks, so they may be larger than memory; --n-jobs or --dask score several
files at once (the same scores). They are taken as measured: a model that smears (fitted with
--resolution) is scored by its steps after the smearing, never smearing the inputs a second
time. The scored events outside the training sample's support (saved by 'fit') are counted,
and --support-column flags each. A .root output holds a tree 'scores' with as many entries as
the input tree, to attach as its friend: tree.AddFriend("scores", "OUT.root").
"""


def _trainable_models() -> list[str]:
    from .studies import MODEL_TABLE

    return [name for name, spec in MODEL_TABLE.items() if spec.estimator is not None]


def build_fit_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m sklearn_bsym fit``."""
    from .studies import NETWORK_PRESETS, RULES, Range

    parser = argparse.ArgumentParser(
        prog="python -m sklearn_bsym fit",
        description=_FIT_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--signal", nargs="+", required=True, metavar="PATH",
                        help="signal event files (.root, .lhe, .lhe.gz, .parquet, .csv)")
    parser.add_argument("--background", nargs="+", required=True, metavar="PATH",
                        help="background event files (.root, .lhe, .lhe.gz, .parquet, .csv)")
    _add_reader_options(parser, per_class=True)
    models = _trainable_models()
    parser.add_argument("--model", choices=models, default="hybrid", metavar="MODEL",
                        help=f"the model, one of {', '.join(models)} (default: %(default)s)")
    parser.add_argument("--preset", choices=NETWORK_PRESETS, default="fast",
                        help="network preset (default: %(default)s)")
    parser.add_argument("--epochs", type=_number(RULES["max_epochs"]), metavar="N",
                        help="maximum epochs of a network (default: the preset's)")
    parser.add_argument("--batch-size", type=_number(Range(int, 2)), metavar="N",
                        help="training batch of a network (default: the preset's, which "
                        "follows the sample: half the training events where they are fewer)")
    parser.add_argument(
        "--resolution", type=_number(RULES["resolution"], fraction=True), default=0.0,
        metavar="R",
        help="relative muon pT resolution to smear the events with before training, in [0, 1] "
        "(default: 0, the files are taken as measured; e.g. 0.1 for truth-level files such as "
        "LHE); the model keeps the smearer, and 'score' leaves it out",
    )
    parser.add_argument(
        "--reweight", action=argparse.BooleanOptionalAction, default=True,
        help="weight the background so that its pT spectrum is the signal's, fitted on the "
        "training events as the study does (default: on)",
    )
    parser.add_argument(
        "--test-fraction", type=_number(RULES["test_fraction"], fraction=True), metavar="F",
        help="hold out this stratified share of the events and print the model's AUC on it "
        "(pT-weighted, as the study scores; default: train on every event)",
    )
    parser.add_argument("--random-state", type=_number(RULES["random_state"]), default=0,
                        metavar="N", help="seed of the model, smearing and split (default: 0)")
    parser.add_argument("--output", required=True, metavar="MODEL_FILE",
                        help="the model file to write (e.g. model.skops)")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    return parser


def build_score_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m sklearn_bsym score``."""
    from .studies import Range

    parser = argparse.ArgumentParser(
        prog="python -m sklearn_bsym score",
        description=_SCORE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL_FILE", help="a model saved by 'fit'")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="event files (.root, .lhe, .lhe.gz, .parquet, .csv); several are "
                        "scored one after the other into one output, or each into its own")
    parser.add_argument("--output", required=True, metavar="OUT",
                        help="the scores: .root (tree 'scores'), .parquet or .csv; one file for "
                        "all inputs, or a pattern with {stem} (the input's name without its "
                        "extension) or {index} for one per input, e.g. 'scores/{stem}.root'")
    _add_reader_options(parser)
    parser.add_argument("--name", default="score",
                        help="branch or column of the scores (default: %(default)s)")
    parser.add_argument("--support-column", metavar="NAME",
                        help="also write a branch or column NAME beside the scores: true where "
                        "the event was scored outside the training sample's support (the ranges "
                        "'fit' saved)")
    parser.add_argument("--counts", metavar="JSON_FILE",
                        help="write each input's counts (entries, scored, dropped per reason, "
                        "outside the support) to this JSON file")
    parser.add_argument("--chunk-size", type=_number(Range(int, 1)), default=100_000,
                        metavar="N", help="entries read and scored at once (default: %(default)s)")
    parser.add_argument("--n-jobs", type=_n_jobs, default=None, metavar="N",
                        help="input files scored at once by N worker processes (-1: all cores; "
                        "default: one after the other); with --dask local, the number of "
                        "Dask workers")
    parser.add_argument("--dask", default=None, metavar="ADDRESS",
                        help="score the files on Dask: 'local' starts a LocalCluster on this "
                        "machine, anything else is the address of a running scheduler (e.g. "
                        "tcp://10.0.0.5:8786), whose workers read the inputs at the same paths")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    return parser


def _columns_of(args, role=None):
    """The column mapping of parsed arguments (of ``role``'s files: its own if given)."""
    text = getattr(args, f"{role}_columns", None) if role else None
    text = args.columns if text is None else text
    return None if text is None else json.loads(text)


def _recipe(estimator, n_events: int) -> str:
    """What a fit of ``estimator`` on ``n_events`` events does, in one sentence."""
    from .deploy._persist import _describe

    inner = estimator[-1] if hasattr(estimator, "steps") else estimator
    if hasattr(inner, "recipe"):
        return str(inner.recipe(n_events))
    members = getattr(inner, "n_members", None)
    if members and hasattr(inner.estimator, "recipe"):
        return f"{members} networks trained together, each: {inner.estimator.recipe(n_events)}"
    return f"{_describe(estimator)}, scikit-learn's recipe"


def _check_fit_files(args) -> None:
    """What fit refuses before any work: an output it cannot write or that is one of the
    inputs, the same file as signal and background, a --lepton no input reads."""
    from ._files import check_output, same_file

    inputs = [*args.signal, *args.background]
    check_output(args.output, inputs=inputs, what="model file")
    for signal in args.signal:
        for background in args.background:
            if same_file(signal, background):
                raise ValueError(
                    f"--signal and --background are the same file ({signal}, {background}): "
                    "a model cannot tell the classes apart (its AUC would be noise around "
                    "0.5); pass the background sample as --background."
                )
    _check_lepton(args, inputs)


def _check_lepton(args, paths) -> None:
    """--lepton chooses the pair in LHE and ROOT files and in tables mapped with pdg_id; a table
    of canonical events (or mapped without pdg_id) has no flavours to choose from. Refused when
    no input reads it, a one-line warning naming the inputs that ignore it otherwise."""
    import warnings

    from .datasets._io import _LHE_SUFFIXES, _ROOT_SUFFIXES, _suffix

    if args.lepton is None:
        return
    mapping = _columns_of(args)
    flavoured = mapping is not None and any("pdg_id" in particle for particle in mapping)
    ignored = [str(p) for p in paths if not flavoured
               and _suffix(Path(p)) not in (*_LHE_SUFFIXES, *_ROOT_SUFFIXES)]
    if not ignored:
        return
    why = (f"--lepton {args.lepton} does not apply to {', '.join(ignored)}: a table's "
           "particles carry no flavour unless --columns maps a pdg_id (--lepton chooses the "
           "pair in LHE and ROOT files)")
    if len(ignored) == len(paths):
        raise ValueError(f"{why}; remove --lepton.")
    warnings.warn(f"{why}; those files are read as they are.", UserWarning, stacklevel=2)


def _refuse_interrupted(classifier) -> None:
    """A network whose training a Ctrl-C cut short (skorch ends its loop and keeps the
    partly trained weights) is no model to save: the interrupt goes on."""
    from .studies._protocol import _course

    fitted = getattr(classifier, "estimator_", classifier)
    if _course(fitted)[2] == "interrupted":
        raise KeyboardInterrupt


def _fit(args) -> int:
    import warnings

    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline

    from ._random import spawn_seeds
    from .datasets import SkippedEventsWarning, make_labelled_dataset
    from .deploy import measure_support, measured_model, save_model
    from .preprocessing import (
        MomentumSmearer,
        PtReweightedClassifier,
        PtReweighter,
        pt_weighted_roc_auc,
    )
    from .studies import MODEL_TABLE, StudyConfig

    start = time.perf_counter()
    _check_fit_files(args)
    spec = MODEL_TABLE[args.model]
    params = {}
    if args.batch_size is not None:
        if not spec.tags.torch:
            raise ValueError(f"--batch-size applies to the networks; {args.model} is not one.")
        params = {args.model: {"batch_size": args.batch_size}}
    config = StudyConfig(preset=args.preset, max_epochs=args.epochs,
                         random_state=args.random_state, model_params=params)
    model_seed, smear_seed, split_seed = spawn_seeds(args.random_state, 3)
    reading = _reading(args)
    mappings = {role: _columns_of(args, role) for role in ("signal", "background")}
    _say_masses(reading["lepton"], *mappings.values())
    with warnings.catch_warnings():
        # The counts of every file are printed below, with the same reasons.
        warnings.simplefilter("ignore", SkippedEventsWarning)
        X, y, read = make_labelled_dataset(
            args.signal, args.background, random_state=args.random_state,
            signal_columns=mappings["signal"], background_columns=mappings["background"],
            return_info=True, **reading)
    for role in ("signal", "background"):
        for info in read[role]:
            _say(_cutflow(f"{role} {info['path']}", info))
    n_signal = int(y.sum())
    _say(f"Read {n_signal:,} signal and {len(y) - n_signal:,} background events "
         f"({read['signal'][0]['selection']}; {X.shape[1] // 4} leptons per event).")
    X_test = y_test = None
    if args.test_fraction is not None:
        X, X_test, y, y_test = train_test_split(X, y, test_size=args.test_fraction, stratify=y,
                                                random_state=split_seed)
    estimator = spec.build(config, model_seed)
    classifier = (PtReweightedClassifier(estimator, reweighter=PtReweighter(**config.reweighting))
                  if args.reweight else estimator)
    model = classifier
    if args.resolution:
        model = Pipeline([("smear", MomentumSmearer(args.resolution, random_state=smear_seed)),
                          ("clf", classifier)])
    recipe = _recipe(estimator, len(y))
    measured = (f"smeared by a {args.resolution:g} pT resolution" if args.resolution
                else "taken as measured")
    weights = "pT-reweighted background" if args.reweight else "no reweighting"
    label = "" if spec.label == args.model else f" ({spec.label})"
    _say(f"Training {args.model}{label} on {int(y.sum()):,} signal and "
         f"{len(y) - int(y.sum()):,} background events, {measured}, {weights}.")
    _say(f"Recipe: {recipe}.")
    model.fit(X, y)
    _refuse_interrupted(classifier)
    # The support of the events the model's measured part saw (smeared, with --resolution).
    seen = X
    for name in measured_model(model, return_skipped=True)[1]:
        seen = model.named_steps[name].transform(seen)
    support = measure_support(seen)
    metadata = {
        "command": "fit", "model": args.model, "signal": list(args.signal),
        "background": list(args.background), **reading,
        **{f"{role}_columns": mappings[role] for role in mappings
           if mappings[role] != reading["columns"]},
        "n_leptons": X.shape[1] // 4, "read": _json_counts(read),
        "resolution": args.resolution, "reweight": args.reweight,
        "batch_size": args.batch_size, "random_state": args.random_state,
        "n_signal": int(y.sum()), "n_background": len(y) - int(y.sum()), "recipe": recipe,
        "support": support,
    }
    if X_test is not None:
        from sklearn.metrics import roc_auc_score

        from .preprocessing._reweighting import signal_score

        auc = pt_weighted_roc_auc(model, X_test, y_test)
        plain = roc_auc_score(y_test, signal_score(model, X_test))
        metadata["test_auc"] = {"pt_weighted": auc, "unweighted": plain,
                                "n_events": len(y_test)}
        print(f"AUC on the {len(y_test):,} held-out events ({args.test_fraction:g} share): "
              f"{auc:.4f} pT-weighted, {plain:.4f} unweighted.")
    path = save_model(model, args.output, metadata=metadata)
    print(f"Support of the training events (kept in the model file): {_ranges(support)}.")
    print(f"Saved the model to {path} ({path.stat().st_size / 1e3:,.0f} kB) in "
          f"{time.perf_counter() - start:.0f} s. Score event files with it: python -m "
          f"sklearn_bsym score {path} INPUT... --output scores.root")
    return 0


def _json_counts(read: dict) -> dict:
    """The readers' counts of each file, without the per-event arrays (LHE weights)."""
    return {role: [{k: v for k, v in info.items() if k != "weights"} for info in infos]
            for role, infos in read.items()}


def _cutflow(label: str, info: dict, kept: str = "selected") -> str:
    """One line of a reader's counts, coffea-cutflow style: entries, kept, dropped per
    reason."""
    dropped = ", ".join(f"{n:,} {reason}" for reason, n in info["skipped"].items() if n)
    return (f"{label}: {info['n_events_read']:,} entries, {info['n_selected']:,} {kept}"
            + (f"; dropped: {dropped}" if dropped else ""))


def _ranges(support: dict) -> str:
    low, high = (f"{100 * q:g} %" for q in support["quantiles"])
    return (f"{low} to {high} of {support['n_events']:,} events: mass "
            f"[{support['mass'][0]:.4g}, {support['mass'][1]:.4g}] GeV, lepton pT "
            f"[{support['pt'][0]:.4g}, {support['pt'][1]:.4g}] GeV, eta "
            f"[{support['eta'][0]:.3g}, {support['eta'][1]:.3g}]")


def _say_masses(lepton, *mappings) -> None:
    """One line per mapping that takes constant masses (the lepton's, or numbers)."""
    from .datasets._columns import mass_note

    for note in dict.fromkeys(mass_note(m, lepton) for m in mappings if m is not None):
        if note:
            _say(f"Masses: {note}")


def _check_outputs(args) -> None:
    """The outputs of ``score`` (one, or one per input of a pattern), checked before any work:
    not the model file, writable, none of the inputs."""
    from ._files import same_file
    from .deploy._score import _outputs

    def not_the_model(output):
        if same_file(output, args.model):
            raise ValueError(f"The output {output} is the model file {args.model}; writing the "
                             "scores there would destroy the model: choose another path.")

    not_the_model(args.output)
    for output in dict.fromkeys(_outputs(args.output, args.inputs)):
        not_the_model(output)


def _score(args) -> int:
    from .deploy import SCORE_TREE, score_files
    from .deploy._persist import _load

    start = time.perf_counter()
    _check_outputs(args)
    _check_lepton(args, args.inputs)
    # One read of the file: the manifest shown is the one checked against the model loaded.
    model, info = _load(args.model)
    meta = info.get("metadata", {})
    trained = (f"; trained on {meta['n_signal']:,} signal and {meta['n_background']:,} "
               "background events" if isinstance(meta.get("n_signal"), int)
               and isinstance(meta.get("n_background"), int) else "")
    _say(f"Model: {info['measured']['estimator']} (sklearn_bsym "
         f"{info['versions']['sklearn_bsym']}{trained}).")
    support = meta.get("support")
    if args.support_column is not None and support is None:
        raise ValueError(f"--support-column: the model file {args.model} records no training "
                         "support (it was not written by this version's 'fit'); nothing to "
                         "flag the events against.")
    reading = _reading(args, model_meta=meta)
    _say_masses(reading["lepton"], reading["columns"])
    summary = score_files(model, args.inputs, args.output, name=args.name, support=support,
                          support_column=args.support_column, chunk_size=args.chunk_size,
                          n_jobs=args.n_jobs, dask=args.dask, progress=not args.no_progress,
                          **reading)
    skipped = [*info["measured"]["skipped"], *summary.skipped_steps]
    if skipped:
        steps = ", ".join(repr(s) for s in skipped)
        print(f"No smearing: the inputs are taken as measured, so the model's measuring "
              f"step(s) {steps} are left out (sklearn_bsym.deploy.measured_model).")
    print(f"Selection: {summary.selection}.")
    shown = summary.files if len(summary.files) <= 10 else []
    for file in shown:
        print(_cutflow(file["input"], {"n_events_read": file["n_entries"],
                                       "n_selected": file["n_scored"],
                                       "skipped": file["dropped"]}, "scored"))
    dropped = ", ".join(f"{n:,} {reason}" for reason, n in summary.dropped.items() if n)
    print(f"Scored {summary.n_scored:,} of {summary.n_entries:,} entries; "
          f"{summary.n_dropped:,} dropped by the selection are NaN"
          + (f" ({dropped})." if dropped else "."))
    if summary.outside is not None:
        parts = ", ".join(f"{summary.outside[k]:,} in {k}" for k in ("mass", "pt", "eta"))
        flag = (f"flagged in '{args.support_column}'" if args.support_column
                else "--support-column NAME flags each")
        print(f"Outside the training support: {summary.outside['any']:,} of "
              f"{summary.n_scored:,} scored entries ({parts}; {flag}). The support: "
              f"{_ranges(support)}.")
    else:
        print("The model file records no training support, so the events outside it are not "
              "counted (refit the model with this version's 'fit').")
    if args.counts is not None:
        counts = {"selection": summary.selection, "n_entries": summary.n_entries,
                  "n_scored": summary.n_scored, "dropped": summary.dropped,
                  "outside": summary.outside, "support": support, "files": summary.files}
        Path(args.counts).write_text(json.dumps(counts, indent=1), encoding="utf-8")
    outputs = summary.outputs
    if len(outputs) == 1 and outputs[0].suffix == ".root":
        where = (f"tree '{SCORE_TREE}', branch '{args.name}'; attach it with tree.AddFriend("
                 f"\"{SCORE_TREE}\", \"{outputs[0]}\")")
    elif outputs[0].suffix == ".root":
        where = f"tree '{SCORE_TREE}', branch '{args.name}', one file per input, its friend"
    else:
        where = f"column '{args.name}'"
    target = outputs[0] if len(outputs) == 1 else f"{len(outputs)} files ({args.output})"
    print(f"Wrote {summary.n_entries:,} scores to {target} ({where}) in "
          f"{time.perf_counter() - start:.0f} s.")
    return 0


#: The commands beside the study: name -> (parser, runner).
COMMANDS = {"fit": (build_fit_parser, _fit), "score": (build_score_parser, _score)}


def _run_command(name: str, argv) -> int:
    build, run = COMMANDS[name]
    parser = build()
    args = parser.parse_args(argv)
    import warnings

    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return run(args)
        except KeyboardInterrupt:
            # Outputs are written whole through a temporary file or not at all.
            _say(f"Interrupted: nothing was written ({args.output} is as it was).")
            return EXIT_INTERRUPTED
        except Exception as exc:
            if args.debug:
                raise
            _say(f"error: {exc}")
            return 2 if isinstance(exc, ValueError | OSError) else 1


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # One line per warning, as for errors: the user acts on the text, not on our source line.
    _say(f"warning: {message}")


def main(argv=None) -> int:
    """Run the study, or the command ``fit`` or ``score`` named first, from the command line;
    returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in COMMANDS:
        return _run_command(argv[0], argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except (ValueError, FileNotFoundError) as exc:
        parser.error(str(exc))
    import warnings

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            from .studies import (
                ClassMixWarning,
                CorruptResultWarning,
                ReportNotSavedWarning,
                run_study,
            )

            # The study's own warnings are for the user: always shown, one line each; a report
            # not saved is the run's error line instead, after the tables.
            for category in (ClassMixWarning, CorruptResultWarning):
                warnings.simplefilter("always", category)
            warnings.simplefilter("ignore", ReportNotSavedWarning)

            result = run_study(
                config,
                args.output,
                n_jobs=args.n_jobs,
                n_threads=args.n_threads,
                dask=args.dask,
                progress=not args.no_progress,
                plots=not args.no_plots,
                log=_say,
            )
        except KeyboardInterrupt as stop:
            # run_study's StudyInterrupted says what is stored and how to resume; a Ctrl-C
            # before the fits started has nothing to say.
            _say(str(stop) or "Interrupted before any fit ran; nothing was stored.")
            return EXIT_INTERRUPTED
        except Exception as exc:
            if args.debug:
                raise
            _say(f"error: {exc}")
            return 2 if isinstance(exc, ValueError | OSError) else 1
    print(result.markdown)
    execution = result.summary.get("execution", {})
    if execution:
        parallel = execution["parallel"]  # None: every fit was stored, Dask was not asked
        how = "no fit ran on Dask" if parallel is None else f"{parallel} fit(s) in parallel"
        print(
            f"Execution: {how}, {execution['threads'] or 'default'} torch/BLAS thread(s) each, "
            f"{execution['cores']} core(s)."
        )
    if result.flags:
        _say(f"warning: {len(result.flags)} result(s) outside physical bounds; see the Flags "
             "section above.")
    if result.write_error is not None:
        # The tables are shown above, but a script must not take the study as done.
        _say(f"error: {result.write_error}")
        return 2
    print(f"Results in {result.folder} ({time.perf_counter() - start:.0f} s):")
    for path in result.files:
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
