"""Training-fraction curve (the paper's Fig. 6) with AUC against epoch (Fig. 4) and the hybrid's
symmetry factor (Fig. 5): a thin wrapper over :func:`sklearn_bsym.studies.run_study`.

    python benchmarks/data_fraction_curve.py --quick        # seconds: checks the plumbing
    python benchmarks/data_fraction_curve.py                 # the --quick study's curve
    python benchmarks/data_fraction_curve.py --paper         # paper protocol (about an hour)

Fits are stored under ``--store`` and resumed on a rerun; the table (``summary.md``,
``results.csv``, ``summary.json``) and figures are copied to ``--output``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from sklearn_bsym.studies import FULL, MODELS, QUICK, StudyConfig, run_study

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
    parser.add_argument("--n-events", type=int, help=f"events (default {QUICK.n_events:,})")
    parser.add_argument("--fractions", type=float, nargs="+", help="training fractions")
    parser.add_argument("--seeds", type=int, help="seeds per point")
    parser.add_argument("--models", nargs="+", choices=MODELS, help="models (default: all)")
    parser.add_argument("--epochs", type=int, help="maximum epochs of the networks")
    parser.add_argument("--resolution", type=float, help="pT resolution (default 0.10)")
    parser.add_argument("--n-jobs", type=int, help="parallel fits (joblib)")
    parser.add_argument("--dask", help="'local' or a Dask scheduler address")
    parser.add_argument(
        "--store", default="bsym_results", help="result store, resumable (default: %(default)s)"
    )
    parser.add_argument(
        "--output",
        default="benchmarks/results/data_fraction_curve",
        help="where the table and figures are copied (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    base = TINY if args.quick else FULL if args.paper else QUICK
    changes = {
        "n_events": args.n_events,
        "fractions": tuple(args.fractions) if args.fractions else None,
        "n_seeds": args.seeds,
        "models": tuple(args.models) if args.models else None,
        "max_epochs": args.epochs,
        "resolution": args.resolution,
    }
    config = dataclasses.replace(
        base, scan_resolutions=(), **{k: v for k, v in changes.items() if v is not None}
    )
    start = time.perf_counter()
    result = run_study(config, args.store, n_jobs=args.n_jobs, dask=args.dask, progress=True)
    copied = result.copy_to(args.output)
    print(result.markdown)
    print(
        f"{time.perf_counter() - start:.0f} s; written to {args.output}: "
        f"{', '.join(p.name for p in copied)}"
    )


if __name__ == "__main__":
    main()
