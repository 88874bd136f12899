"""Command line: ``python -m sklearn_bsym`` (or ``sklearn-bsym``) runs the study.

See ``python -m sklearn_bsym --help``; the Python API is :mod:`sklearn_bsym.studies`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

__all__ = ["build_parser", "config_from_args", "main"]

_DESCRIPTION = """\
Reproduce the study of "Learning Broken Symmetries with Approximate Invariance": generate (or
read) dimuon events, smear the muon momenta, reweight pT, train the PFN, invariant and hybrid
networks plus a gradient-boosted-tree reference at several training fractions and seeds, and
write the results table, the claims report and the figures to OUTPUT/<result-set id>/.

Every fit is stored as soon as it finishes: run the same command again to resume an interrupted
study. Options that change results give a new result-set folder; --models, --fractions, --seeds
and the scan resolutions only choose which fits of a set run, so widening them reuses stored
fits.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command line."""
    from .studies import MODELS, QUICK

    parser = argparse.ArgumentParser(
        prog="python -m sklearn_bsym",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        dest="protocol",
        action="store_const",
        const="quick",
        help=(
            f"the quick study (default): {QUICK.n_events:,} events, fractions "
            f"{', '.join(f'{f:g}' for f in QUICK.fractions)}, {QUICK.n_seeds} seeds, the 'fast' "
            "preset; about 5 minutes on 2 CPU cores"
        ),
    )
    size.add_argument(
        "--full",
        dest="protocol",
        action="store_const",
        const="full",
        help="the paper's protocol: 100,000 events, fractions 0.1 ... 1.0, 5 seeds, the "
        "'fast' preset (about an hour on 2 CPU cores without the scan; many hours with "
        "--preset paper)",
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
        type=int,
        default=None,
        metavar="N",
        help="fits run in parallel through joblib (-1: all cores; default: one at a time); "
        "with --dask local, the number of Dask workers",
    )
    parser.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="run the fits on Dask: 'local' starts a LocalCluster on this machine, anything "
        "else is the address of a running scheduler (e.g. tcp://10.0.0.5:8786)",
    )
    parser.add_argument("--seeds", type=int, metavar="N", help="seeds per point")
    parser.add_argument(
        "--n-events",
        type=int,
        metavar="N",
        help="events to generate (with --signal/--background: a random subset of this many; "
        "default there: all)",
    )
    parser.add_argument(
        "--fractions",
        type=float,
        nargs="+",
        metavar="F",
        help="training fractions of the training pool, in (0, 1]",
    )
    parser.add_argument(
        "--resolution",
        type=float,
        metavar="R",
        help="relative muon pT resolution of the smearing (default: 0.10 = 10 %%)",
    )
    parser.add_argument(
        "--scan",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the resolution scan on the full training pool (default: on)",
    )
    parser.add_argument(
        "--scan-resolutions",
        type=float,
        nargs="+",
        metavar="R",
        help="resolutions of the scan (default: 0 0.1 0.2 with --quick, 0 0.025 0.05 "
        "0.1 0.2 with --full)",
    )
    parser.add_argument(
        "--signal", metavar="PATH", help="signal events (.lhe, .lhe.gz, .parquet, .csv)"
    )
    parser.add_argument(
        "--background", metavar="PATH", help="background events (.lhe, .lhe.gz, .parquet, .csv)"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        choices=MODELS,
        metavar="MODEL",
        help=f"models to run, any of {', '.join(MODELS)} (default: all; 'optimal' is the "
        "Bayes-optimal ceiling, built-in generator only)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        metavar="N",
        help="maximum epochs of the networks (default: the "
        "preset's; early stopping on the validation split picks the epoch)",
    )
    parser.add_argument(
        "--preset",
        choices=("fast", "paper"),
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
        "--random-state", type=int, metavar="N", help="root seed of the study (default: 0)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar over the fits")
    parser.add_argument("--no-plots", action="store_true", help="write no figures")
    return parser


def config_from_args(args: argparse.Namespace):
    """The :class:`~sklearn_bsym.studies.StudyConfig` of parsed command-line arguments."""
    from .studies import FULL, QUICK

    base = FULL if args.protocol == "full" else QUICK
    changes = {
        "n_seeds": args.seeds,
        "n_events": args.n_events,
        "fractions": tuple(args.fractions) if args.fractions else None,
        "resolution": args.resolution,
        "signal": args.signal,
        "background": args.background,
        "models": tuple(dict.fromkeys(args.models)) if args.models else None,
        "max_epochs": args.epochs,
        "preset": args.preset,
        "random_state": args.random_state,
        "scan_resolutions": tuple(args.scan_resolutions) if args.scan_resolutions else None,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if args.signal is not None and args.n_events is None:
        changes["n_events"] = None
    if not args.scan:
        changes["scan_resolutions"] = ()
    if args.ensemble:
        changes["ensemble"] = True
    return dataclasses.replace(base, **changes)


def main(argv=None) -> int:
    """Run the study from the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except (ValueError, FileNotFoundError) as exc:
        parser.error(str(exc))
    from .studies import run_study

    start = time.perf_counter()
    try:
        result = run_study(
            config,
            args.output,
            n_jobs=args.n_jobs,
            dask=args.dask,
            progress=not args.no_progress,
            plots=not args.no_plots,
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.markdown)
    print(f"Results in {result.folder} ({time.perf_counter() - start:.0f} s):")
    for path in result.files:
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
