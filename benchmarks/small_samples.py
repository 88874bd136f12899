"""The default classifiers on small samples (control regions, rare signals), measured (issue 32).

Each network is fitted exactly as a user fits it, ``Est().fit(X, y, sample_weight=w)`` with
nothing else given (10 % smearing, pT weights of ``PtReweighter()`` on the training events), on
24 to 400 training events, 5 seeds (each seed draws its own training sample from a pool); the
pT-weighted AUC is measured on 40,000 independent test events (Bayes-optimal AUC of that set as the
limit), as ``benchmarks/default_recipe.py`` does from 500 events on. Beside them: the
gradient-boosted tree on the collider variables of the study's table, and the hybrid with
``validation_fraction=0.2`` (the study's and ``fit``'s share: below 250 events it holds out
fewer than 50 and is not used, so those rows equal the defaults'). The recipe each fit ran is
printed once per size.

    python benchmarks/small_samples.py           # 5 seeds (a few minutes on 2 cores)
    python benchmarks/small_samples.py --quick   # 2 seeds, two sizes: check that it runs

Writes ``benchmarks/results/small_samples.csv`` and ``small_samples.md`` (not with ``--quick``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (24, 40, 100, 200, 400)


#: name -> (model of the study's table, extra parameters)
MODELS = {
    "hybrid": ("hybrid", {}),
    "invariant": ("invariant", {}),
    "pfn": ("pfn", {}),
    "hybrid, validation 0.2": ("hybrid", {"validation_fraction": 0.2}),
    "hgb_collider": ("hgb_collider", {}),
}


def measure(sizes, seeds, n_test=40_000, n_pool=20_000) -> pd.DataFrame:
    from _bench_data import smeared_test_and_pool
    from default_recipe import fit_weighted, make_estimator

    from sklearn_bsym.optimal import optimal_discriminant
    from sklearn_bsym.preprocessing import PtReweighter, weighted_roc_auc

    X_test, y_test, pool_X, pool_y = smeared_test_and_pool(n_test, n_pool, seed=0)
    optimal = optimal_discriminant(X_test, resolution=0.10,
                                   reweighter=PtReweighter().fit(pool_X, pool_y))
    ceiling = weighted_roc_auc(y_test, optimal, X_test)
    rows = []
    for n in sizes:
        for seed in range(seeds):
            idx = np.random.default_rng(1000 + seed).choice(len(pool_X), n, replace=False)
            X, y = pool_X[idx], pool_y[idx]
            w = PtReweighter().fit(X, y).compute_sample_weight(X, y)
            for name, (model, params) in MODELS.items():
                est = fit_weighted(make_estimator(model, seed, params), X, y, w)
                auc = weighted_roc_auc(y_test, est.predict_proba(X_test)[:, 1], X_test)
                rows.append({"n_events": n, "seed": seed, "model": name, "test_auc": auc,
                             "optimal_auc": ceiling})
                if seed == 0 and hasattr(est, "recipe"):
                    print(f"{n} events, {name}: {est.recipe()}", flush=True)
    return pd.DataFrame(rows)


def _markdown(frame: pd.DataFrame, machine: str) -> str:
    table = frame.groupby(["model", "n_events"])["test_auc"].agg(["mean", "std"]).reset_index()
    sizes = sorted(frame["n_events"].unique())
    lines = ["# Small samples (benchmarks/small_samples.py)", "",
             f"Machine: {machine}. pT-weighted test AUC (40,000 events), mean ± std over "
             f"{frame['seed'].nunique()} seeds, each fit as a user runs it (defaults, pT "
             f"weights). Bayes-optimal AUC of the test set: "
             f"{frame['optimal_auc'].iloc[0]:.4f}.", "",
             "| model | " + " | ".join(f"{n} events" for n in sizes) + " |",
             "| --- |" + " --- |" * len(sizes)]
    for model in MODELS:
        cells = []
        for n in sizes:
            row = table[(table["model"] == model) & (table["n_events"] == n)]
            cells.append(f"{row['mean'].iloc[0]:.3f} ± {row['std'].iloc[0]:.3f}")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 seeds, 24 and 100 events")
    args = parser.parse_args(argv)
    sizes, seeds = ((24, 100), 2) if args.quick else (SIZES, args.seeds)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    frame = measure(sizes, seeds)
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, Python "
               f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}")
    text = _markdown(frame, machine)
    print(text)
    if args.quick:
        return
    RESULTS.mkdir(exist_ok=True)
    frame.to_csv(RESULTS / "small_samples.csv", index=False)
    (RESULTS / "small_samples.md").write_text(text)
    print(f"Wrote {RESULTS / 'small_samples.md'}")


if __name__ == "__main__":
    main()
