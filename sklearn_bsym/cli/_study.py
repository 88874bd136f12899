"""The study, the command line without a command: ``python -m sklearn_bsym [options]``."""

from __future__ import annotations

import argparse
import dataclasses
import time
import warnings

from ._common import add_reader_options, n_jobs, number, say

DESCRIPTION = """\
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

EPILOG = """commands (instead of the study):
  python -m sklearn_bsym fit ...    train a model of the table on your signal and background
                                    event files and save it (fit --help)
  python -m sklearn_bsym score ...  score every entry of event files with a saved model, in
                                    step with the files (score --help)
"""

#: The study's parser: the command line's own, the commands' parsers below it.
PARSER = {"prog": "python -m sklearn_bsym", "description": DESCRIPTION, "epilog": EPILOG,
          "formatter_class": argparse.RawDescriptionHelpFormatter}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the study (the command line without a command)."""
    from ..studies import (
        DEFAULT_MODELS,
        MIN_TRAIN_EVENTS,
        MODELS,
        NETWORK_PRESETS,
        PROTOCOLS,
        RULES,
        SYMMETRY_NAMES,
        Range,
    )

    parser = argparse.ArgumentParser(**PARSER)
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
        type=n_jobs,
        default=None,
        metavar="N",
        help="fits run in parallel through joblib (-1: all cores; default: one at a time); "
        "with --dask local, the number of Dask workers",
    )
    parser.add_argument(
        "--n-threads",
        type=number(Range(int, 1)),
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
    parser.add_argument("--seeds", type=number(RULES["n_seeds"]), metavar="N",
                        help="seeds per point")
    parser.add_argument(
        "--n-events",
        type=number(RULES["n_events"]),
        metavar="N",
        help="events to generate (with --signal/--background: a random subset of this many; "
        f"default there: all); the smallest training subset needs {MIN_TRAIN_EVENTS} events",
    )
    parser.add_argument(
        "--fractions",
        type=number(RULES["fractions"], fraction=True),
        nargs="+",
        metavar="F",
        help="training fractions of the training pool, in (0, 1]",
    )
    parser.add_argument(
        "--resolution",
        type=number(RULES["resolution"], fraction=True),
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
        type=number(RULES["detector_strength"]),
        metavar="S",
        help="make the resolution depend on the azimuth: sigma/pT = R (1 + S cos phi), S in "
        "[0, 1) (default: 0, the paper's smearing); adds the limit of classifiers invariant "
        "under rotations about the beam beside the Bayes-optimal one",
    )
    parser.add_argument(
        "--scan-strengths",
        type=number(RULES["scan_strengths"]),
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
        type=number(RULES["scan_resolutions"], fraction=True),
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
    add_reader_options(parser, per_class=True)
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
        type=number(RULES["max_epochs"]),
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
        type=number(RULES["random_state"]),
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
    from ..studies import PROTOCOLS

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


def run(args) -> int:
    """Run the study of parsed arguments (their config in ``args.config``) and print its
    tables; the exit status."""
    from ..studies import ClassMixWarning, CorruptResultWarning, ReportNotSavedWarning, run_study

    start = time.perf_counter()
    # The study's own warnings are for the user: always shown, one line each; a report not
    # saved is the run's error line instead, after the tables.
    for category in (ClassMixWarning, CorruptResultWarning):
        warnings.simplefilter("always", category)
    warnings.simplefilter("ignore", ReportNotSavedWarning)
    result = run_study(args.config, args.output, n_jobs=args.n_jobs, n_threads=args.n_threads,
                       dask=args.dask, progress=not args.no_progress, plots=not args.no_plots,
                       log=say)
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
        say(f"warning: {len(result.flags)} result(s) outside physical bounds; see the Flags "
            "section above.")
    if result.write_error is not None:
        # The tables are shown above, but a script must not take the study as done.
        say(f"error: {result.write_error}")
        return 2
    print(f"Results in {result.folder} ({time.perf_counter() - start:.0f} s):")
    for path in result.files:
        print(f"  {path}")
    return 0


def interrupted(args, stop) -> str:
    # run_study's StudyInterrupted says what is stored and how to resume; a Ctrl-C before the
    # fits started has nothing to say.
    return str(stop) or "Interrupted before any fit ran; nothing was stored."
