"""Training-fraction curve (the paper's Fig. 6) with AUC against epoch (Fig. 4) and the hybrid's
symmetry factor (Fig. 5): a thin wrapper over :func:`sklearn_bsym.studies.run_study`.

    python benchmarks/data_fraction_curve.py --quick        # seconds: checks the plumbing
    python benchmarks/data_fraction_curve.py                 # the --quick study's curve
    python benchmarks/data_fraction_curve.py --paper --n-jobs 2   # paper protocol (~33 min)

Fits are stored under ``--store`` and resumed on a rerun; the table (``summary.md``,
``results.csv``, ``summary.json``) and figures are copied to ``--output``.
"""

from __future__ import annotations

import argparse

from sklearn_bsym.studies import FULL, QUICK, StudyConfig

try:
    from _study_wrapper import add_study_options, configure, run_and_copy
except ImportError:  # run as a module
    from benchmarks._study_wrapper import add_study_options, configure, run_and_copy

TINY = StudyConfig(
    n_events=3000, fractions=(0.25, 1.0), n_seeds=2, max_epochs=2, scan_resolutions=()
)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        action="store_true",
        help=f"tiny check: {TINY.n_events} events, fractions 0.25 and 1, 2 seeds, 2 epochs",
    )
    size.add_argument(
        "--paper",
        action="store_true",
        help="the paper's protocol: 100,000 events, fractions 0.1 ... 1, 5 seeds, "
        "the fast recipe",
    )
    parser.add_argument("--fractions", type=float, nargs="+", help="training fractions")
    parser.add_argument("--resolution", type=float, help="pT resolution (default 0.10)")
    add_study_options(parser, output="benchmarks/results/data_fraction_curve")
    args = parser.parse_args(argv)
    base = TINY if args.quick else FULL if args.paper else QUICK
    fixed = {"scan_resolutions": ()}
    if args.fractions:
        fixed["fractions"] = tuple(args.fractions)
    if args.resolution is not None:
        fixed["resolution"] = args.resolution
    run_and_copy(configure(base, args, **fixed), args)

if __name__ == "__main__":
    main()
