"""CPU seconds of the fits of ``python -m sklearn_bsym --full --no-scan``, model by model.

The study's total time is the sum of its fits (10 training fractions of an 80,000-event pool,
5 seeds, five models) over its parallel workers; on a machine shared with other work, wall
times say little, so this measures each fit's CPU seconds (one torch thread, as each worker of
``--n-jobs 2`` runs) and test AUC, fitting every model as the study does (its validation share,
early stopping and epoch selection, pT weights of the training events:
``hybrid_edge.make_model``), on the data of ``hybrid_edge.py``.

    python benchmarks/study_cost.py                         # fractions 0.1 ... 1.0, 1 seed
    python benchmarks/study_cost.py --fractions 0.1 0.5 1.0 --seeds 2 --tag after

One CSV row per fit as it finishes (resumable; ``--tag`` names a code version, so two versions'
rows sit in one file: run each with its own PYTHONPATH); the table gives per model and tag the
CPU seconds summed over the fractions (the study's 5 seeds cost 5 times one seed's sum) and the
mean test AUC. Results: ``benchmarks/results/study_cost.csv`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sklearn_bsym.preprocessing import weighted_roc_auc
from sklearn_bsym.studies import FULL

try:
    from hybrid_edge import diagnostic_test_set, make_model
except ImportError:  # run as a module
    from benchmarks.hybrid_edge import diagnostic_test_set, make_model

MODELS = ("pfn", "invariant", "hybrid", "hgb", "hgb_collider")
N_POOL = 80_000


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fractions", type=float, nargs="+", default=list(FULL.fractions))
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--tag", default="this", help="the code version's name in the table")
    parser.add_argument("--output", default="benchmarks/results/study_cost")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    stem = Path(args.output)
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv = stem.with_suffix(".csv")
    rows = pd.read_csv(csv).to_dict("records") if csv.exists() else []
    have = {(r["tag"], r["model"], r["fraction"], r["seed"]) for r in rows}
    bench = diagnostic_test_set(20_000, N_POOL)
    # One-time costs (torch's first calls) stay out of the first fit's CPU seconds.
    for model in {"pfn", "invariant", "hybrid"} & set(args.models):
        make_model(model, 0, "cpu").fit(bench.pool_X[:2_000], bench.pool_y[:2_000])
    for fraction in args.fractions:
        n = int(round(fraction * N_POOL))
        for seed in range(args.seeds):
            idx = np.random.default_rng(1000 + seed).choice(N_POOL, n, replace=False)
            X, y = bench.pool_X[idx], bench.pool_y[idx]
            for model in args.models:
                if (args.tag, model, fraction, seed) in have:
                    continue
                est = make_model(model, seed, "cpu")
                cpu = time.process_time()
                est.fit(X, y)
                cpu = time.process_time() - cpu
                auc = weighted_roc_auc(bench.y_test, est.predict_proba(bench.X_test)[:, 1],
                                       bench.X_test)
                rows.append({"tag": args.tag, "model": model, "fraction": fraction,
                             "n_train": n, "seed": seed, "cpu_s": cpu, "test_auc": auc})
                pd.DataFrame(rows).to_csv(csv, index=False)
                print(f"{args.tag} {model:12s} fraction {fraction:.1f} seed {seed}: "
                      f"{cpu:6.1f} CPU s, AUC {auc:.4f} (load {os.getloadavg()[0]:.1f})",
                      flush=True)
    df = pd.DataFrame(rows)
    per_fit = df.groupby(["tag", "model", "fraction"])[["cpu_s", "test_auc"]].mean()
    table = per_fit.groupby(["tag", "model"]).agg(cpu_s=("cpu_s", "sum"),
                                                  fractions=("cpu_s", "size"),
                                                  mean_auc=("test_auc", "mean"))
    total = table.groupby("tag")["cpu_s"].sum().rename("all models")
    text = ("CPU seconds of the study's fits summed over the training fractions (one seed; the "
            "study runs 5), and the mean test AUC over the fractions, per model and code "
            "version (`python benchmarks/study_cost.py`).\n\n"
            + table.round({"cpu_s": 1, "mean_auc": 4}).reset_index().to_markdown(index=False)
            + "\n\n" + total.round(1).reset_index().to_markdown(index=False) + "\n")
    stem.with_suffix(".md").write_text(text)
    print(text)
    return df


if __name__ == "__main__":
    main()
