"""Command line: ``python -m sklearn_bsym`` (or ``sklearn-bsym``) runs the study.

See ``python -m sklearn_bsym --help``; the Python API is :mod:`sklearn_bsym.studies`. The parser
and ``--help`` import only the study's config and model table (no torch, no pandas), so they
answer at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

__all__ = ["build_parser", "config_from_args", "main"]

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

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def _column_mapping(text: str) -> str:
    """An argparse type: a column mapping from a JSON file or JSON text, returned as canonical
    JSON text (it enters the result-set id)."""
    path = Path(text)
    source = path.read_text(encoding="utf-8") if path.is_file() else text
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command line."""
    from .studies import (
        DEFAULT_MODELS,
        LEPTONS,
        MIN_TRAIN_EVENTS,
        MODELS,
        NETWORK_PRESETS,
        PROTOCOLS,
        RULES,
        Range,
    )

    parser = argparse.ArgumentParser(
        prog="python -m sklearn_bsym",
        description=_DESCRIPTION,
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
    parser.add_argument(
        "--lepton",
        choices=LEPTONS,
        default=None,
        help="lepton pair to read from the event files: mu (default) or e",
    )
    parser.add_argument(
        "--tree", metavar="NAME", help="tree inside ROOT event files (default: the reader's)"
    )
    parser.add_argument(
        "--columns",
        type=_column_mapping,
        metavar="JSON",
        help="column mapping of event files with their own column names: a JSON file or JSON "
        'text, one object per particle, e.g. \'[{"px": "px_0", "py": "py_0", "pz": "pz_0", '
        '"E": "energy_0", "pdg_id": "id_0"}, {...}]\' (keys px/py/pz/E or pt/eta/phi/mass, '
        "optional charge or pdg_id)",
    )
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


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # One line per warning, as for errors: the user acts on the text, not on our source line.
    _say(f"warning: {message}")


def main(argv=None) -> int:
    """Run the study from the command line; returns the exit status."""
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
