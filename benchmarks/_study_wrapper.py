"""What the study wrappers (data_fraction_curve.py, resolution_scan.py) share: the options every
study run takes, and running a config then copying its table and figures."""

from __future__ import annotations

import argparse
import dataclasses
import time

from sklearn_bsym.studies import DEFAULT_MODELS, MODELS, QUICK, StudyConfig, run_study


def add_study_options(parser: argparse.ArgumentParser, *, output: str) -> None:
    """Options of both wrappers: sizes, models, epochs, parallelism, store and output folders."""
    parser.add_argument("--n-events", type=int, help=f"events (default {QUICK.n_events:,})")
    parser.add_argument("--seeds", type=int, help="seeds per point")
    parser.add_argument("--models", nargs="+", choices=MODELS,
                        help=f"models (default: {' '.join(DEFAULT_MODELS)})")
    parser.add_argument("--epochs", type=int, help="maximum epochs of the networks")
    parser.add_argument("--n-jobs", type=int, help="parallel fits (joblib)")
    parser.add_argument(
        "--n-threads", type=int, help="torch/BLAS threads per fit (default: cores / parallel fits)"
    )
    parser.add_argument("--dask", help="'local' or a Dask scheduler address")
    parser.add_argument(
        "--store", default="bsym_results", help="result store, resumable (default: %(default)s)"
    )
    parser.add_argument(
        "--output",
        default=output,
        help="where the table and figures are copied (default: %(default)s)",
    )


def configure(base: StudyConfig, args: argparse.Namespace, **fixed) -> StudyConfig:
    """``base`` with the common options the user gave, and the wrapper's ``fixed`` fields."""
    changes = {
        "n_events": args.n_events,
        "n_seeds": args.seeds,
        "models": tuple(args.models) if args.models else None,
        "max_epochs": args.epochs,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    return dataclasses.replace(base, **{**changes, **fixed})


def run_and_copy(config: StudyConfig, args: argparse.Namespace) -> None:
    """Run (or resume) the study, copy its table and figures to ``--output``, print them."""
    start = time.perf_counter()
    result = run_study(
        config,
        args.store,
        n_jobs=args.n_jobs,
        n_threads=args.n_threads,
        dask=args.dask,
        progress=True,
        log=print,
    )
    copied = result.copy_to(args.output)
    print(result.markdown)
    print(
        f"{time.perf_counter() - start:.0f} s; written to {args.output}: "
        f"{', '.join(p.name for p in copied)}"
    )
