"""Resolution scan beyond the paper: test AUC of the hybrid, invariant and PFN networks (and the
HGB reference and Bayes-optimal ceiling) on the full training pool against the smearing
resolution (each point one ``cross_validate`` fit on the full pool). A thin wrapper over
:func:`sklearn_bsym.studies.run_study`.

    python benchmarks/resolution_scan.py --quick             # seconds: checks the plumbing
    python benchmarks/resolution_scan.py                     # 20,000 events, 3 seeds
    python benchmarks/resolution_scan.py --paper             # 100,000 events, 5 seeds

Fits are stored under ``--store`` and resumed on a rerun; the table and figure are copied to
``--output``.
"""

from __future__ import annotations

import argparse

from sklearn_bsym.studies import FULL, QUICK, StudyConfig

try:
    from _study_wrapper import add_study_options, configure, run_and_copy
except ImportError:  # run as a module
    from benchmarks._study_wrapper import add_study_options, configure, run_and_copy

RESOLUTIONS = (0.0, 0.025, 0.05, 0.10, 0.20)
TINY = StudyConfig(n_events=3000, n_seeds=2, max_epochs=2, scan_resolutions=(0.0, 0.10, 0.20))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        action="store_true",
        help=f"tiny check: {TINY.n_events} events, resolutions 0, 0.1, 0.2, 2 seeds, 2 epochs",
    )
    size.add_argument(
        "--paper", action="store_true", help="100,000 events, 5 seeds (the --full study's scan)"
    )
    parser.add_argument(
        "--resolutions",
        type=float,
        nargs="+",
        help=f"resolutions (default: {' '.join(f'{r:g}' for r in RESOLUTIONS)})",
    )
    add_study_options(parser, output="benchmarks/results/resolution_scan")
    args = parser.parse_args(argv)
    base = TINY if args.quick else FULL if args.paper else QUICK
    resolutions = args.resolutions or (base.scan_resolutions if args.quick else RESOLUTIONS)
    # Only the full pool: the scan's fits (the curve's fraction 1 shares them).
    config = configure(base, args, fractions=(1.0,), scan_resolutions=tuple(resolutions))
    run_and_copy(config, args)

if __name__ == "__main__":
    main()
