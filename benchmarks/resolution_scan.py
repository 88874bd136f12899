"""Resolution scan beyond the paper: test AUC of the hybrid, invariant and PFN networks (and the
HGB reference and Bayes-optimal ceiling) on the full training pool against the smearing
resolution, via ``validation_curve`` over ``smear__resolution``. A thin wrapper over
:func:`sklearn_bsym.studies.run_study`.

    python benchmarks/resolution_scan.py --quick             # seconds: checks the plumbing
    python benchmarks/resolution_scan.py                     # 20,000 events, 3 seeds
    python benchmarks/resolution_scan.py --paper             # 100,000 events, 5 seeds

Fits are stored under ``--store`` and resumed on a rerun; the table and figure are copied to
``--output``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from sklearn_bsym.studies import FULL, MODELS, QUICK, StudyConfig, run_study

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
    parser.add_argument("--n-events", type=int, help=f"events (default {QUICK.n_events:,})")
    parser.add_argument("--seeds", type=int, help="seeds per point")
    parser.add_argument("--models", nargs="+", choices=MODELS, help="models (default: all)")
    parser.add_argument("--epochs", type=int, help="maximum epochs of the networks")
    parser.add_argument("--n-jobs", type=int, help="parallel fits (joblib)")
    parser.add_argument("--dask", help="'local' or a Dask scheduler address")
    parser.add_argument(
        "--store", default="bsym_results", help="result store, resumable (default: %(default)s)"
    )
    parser.add_argument(
        "--output",
        default="benchmarks/results/resolution_scan",
        help="where the table and figure are copied (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    base = TINY if args.quick else FULL if args.paper else QUICK
    resolutions = args.resolutions or (base.scan_resolutions if args.quick else RESOLUTIONS)
    changes = {
        "n_events": args.n_events,
        "n_seeds": args.seeds,
        "models": tuple(args.models) if args.models else None,
        "max_epochs": args.epochs,
    }
    # Only the full pool: the scan's fits (the curve's fraction 1 shares them).
    config = dataclasses.replace(
        base,
        fractions=(1.0,),
        scan_resolutions=tuple(resolutions),
        **{k: v for k, v in changes.items() if v is not None},
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
