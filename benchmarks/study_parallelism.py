"""How to run a study's fits on this machine: parallel fits (``--n-jobs``) against torch/BLAS
threads per fit (``--n-threads``), and whether the numbers depend on the thread count.

    python benchmarks/study_parallelism.py            # ~16 fits per setting, a few minutes
    python benchmarks/study_parallelism.py --n-events 20000 --seeds 3   # the --quick sizes

Each setting runs the same small study from scratch in a temporary folder and is timed end to
end; the table compares every setting's test AUCs with the first's (max |difference|).
Results: ``benchmarks/results/study_parallelism.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from sklearn_bsym.studies import StudyConfig, plan_execution, run_study


def settings(cores: int) -> list[tuple[int | None, int]]:
    """(n_jobs, threads per fit): serial with all cores' threads, serial single-threaded,
    and one single-threaded fit per core."""
    out = [(None, cores), (None, 1)]
    if cores > 1:
        out.append((cores, 1))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-events", type=int, default=5000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--output", default="benchmarks/results/study_parallelism.json")
    args = parser.parse_args(argv)
    config = StudyConfig(
        n_events=args.n_events,
        fractions=(0.5, 1.0),
        n_seeds=args.seeds,
        models=("pfn", "invariant", "hybrid", "hgb"),
        scan_resolutions=(),
    )
    cores = plan_execution().cores
    rows, reference = [], None
    for n_jobs, threads in settings(cores):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            result = run_study(config, folder, n_jobs=n_jobs, n_threads=threads, plots=False)
            wall = time.perf_counter() - start
        fits = result.fits.sort_values(["model", "fraction", "seed"]).reset_index(drop=True)
        if reference is None:
            reference = fits
        diff = {
            model: float(np.max(np.abs(group["test_auc"].to_numpy() - ref["test_auc"].to_numpy())))
            for (model, group), (_, ref) in zip(
                fits.groupby("model"), reference.groupby("model"), strict=True
            )
        }
        rows.append(
            {
                "n_jobs": n_jobs or 1,
                "threads": threads,
                "wall_s": round(wall, 1),
                "fits": len(fits),
                "max_abs_auc_diff_vs_first": diff,
            }
        )
        print(f"n_jobs {n_jobs or 1}, {threads} thread(s): {wall:.1f} s, AUC diff {diff}")
    fastest = min(rows, key=lambda r: r["wall_s"])
    print("\n| n_jobs | threads/fit | wall (s) | max |ΔAUC| vs first (per model) |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        diffs = ", ".join(f"{m} {d:.1e}" for m, d in row["max_abs_auc_diff_vs_first"].items())
        print(f"| {row['n_jobs']} | {row['threads']} | {row['wall_s']} | {diffs} |")
    print(f"\nFastest: n_jobs {fastest['n_jobs']}, {fastest['threads']} thread(s) per fit.")
    record = {
        "config": {"n_events": args.n_events, "n_seeds": args.seeds},
        "cores": cores,
        "load_average": os.getloadavg(),
        "machine": platform.platform(),
        "rows": rows,
        "fastest": {"n_jobs": fastest["n_jobs"], "threads": fastest["threads"]},
    }
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
