"""The default hybrid's cost at 80,000 events against the previous default's, in one run.

Both are fitted as a user fits them (``HybridClassifier(random_state=seed).fit(X, y,
sample_weight=w)``, 10 % smearing, pT weights of the training events) on the same training sets
of ``benchmarks/default_recipe.py``, alternately, with one torch thread, and timed in CPU seconds.
The previous default is 0.2.0's, set explicitly: the general subnet on the "collider" particle
inputs, lr 3e-3, batch 256 and 12 epochs at every size, symmetry start 0.95 (the head is the same
(128, 128)). Also reported: multiply-adds per event (forward pass), the FLOP/s each fit achieved
and this machine's single-thread matrix-product peak.

    python benchmarks/hybrid_cost.py                 # 80,000 events, seeds 0-2
    python benchmarks/hybrid_cost.py --n 8000 --seeds 2

Writes ``benchmarks/results/hybrid_cost.{csv,md}``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sklearn_bsym.nn import HybridClassifier
from sklearn_bsym.optimal import optimal_discriminant
from sklearn_bsym.preprocessing import PtReweighter, weighted_roc_auc

try:
    from _bench_data import smeared_test_and_pool
    from default_recipe import N_POOL, N_TEST, RESOLUTION, matmul_flops, matmul_peak
except ImportError:  # run as a module
    from benchmarks._bench_data import smeared_test_and_pool
    from benchmarks.default_recipe import (
        N_POOL,
        N_TEST,
        RESOLUTION,
        matmul_flops,
        matmul_peak,
    )

#: 0.2.0's default hybrid.
PREVIOUS = {"particle_inputs": "collider", "lr": 3e-3, "batch_size": 256, "max_epochs": 12,
            "invariant_weight_init": 0.95}


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=80_000, help="training events")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--output", default="benchmarks/results/hybrid_cost")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X_test, y_test, pool_X, pool_y = smeared_test_and_pool(N_TEST, N_POOL,
                                                           resolution=RESOLUTION, seed=0)
    optimal = optimal_discriminant(
        X_test, resolution=RESOLUTION, reweighter=PtReweighter().fit(pool_X, pool_y))
    ceiling = weighted_roc_auc(y_test, optimal, X_test)
    peak = matmul_peak()
    HybridClassifier(max_epochs=1).fit(pool_X[:512], pool_y[:512])  # one-time costs
    rows = []
    for seed in range(args.seeds):
        idx = np.random.default_rng(1000 + seed).choice(len(pool_X), args.n, replace=False)
        Xt, yt = pool_X[idx], pool_y[idx]
        w = PtReweighter().fit(Xt, yt).compute_sample_weight(Xt, yt)
        for name, params in (("previous default", PREVIOUS), ("default", {})):
            clf = HybridClassifier(random_state=seed, **params)
            cpu = time.process_time()
            clf.fit(Xt, yt, sample_weight=w)
            cpu = time.process_time() - cpu
            auc = weighted_roc_auc(y_test, clf.predict_proba(X_test)[:, 1], X_test)
            flops = matmul_flops(clf, training=True) * args.n * len(clf.history)
            rows.append({"hybrid": name, "seed": seed, "n_train": args.n, "test_auc": auc,
                         "gap": ceiling - auc, "cpu_s": cpu,
                         "macs_per_event": matmul_flops(clf, training=False) / 2,
                         "gflops_achieved": flops / cpu / 1e9, "peak_gflops": peak / 1e9})
            print(f"seed {seed} {name:16s} AUC {auc:.4f} gap {ceiling - auc:.4f} "
                  f"{cpu:.1f} CPU s", flush=True)
    df = pd.DataFrame(rows)
    stem = Path(args.output)
    stem.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(stem.with_suffix(".csv"), index=False)
    g = df.groupby("hybrid", sort=False)
    table = pd.DataFrame({
        "AUC": g["test_auc"].mean().map("{:.4f}".format)
        + " ± " + (g["test_auc"].std() / np.sqrt(g["test_auc"].count())).map("{:.4f}".format),
        "gap": g["gap"].mean().map("{:.4f}".format),
        "CPU s per fit": g["cpu_s"].mean().map("{:.1f}".format),
        "multiply-adds per event": g["macs_per_event"].mean().map("{:,.0f}".format),
        "GFLOP/s (share of peak)": g["gflops_achieved"].mean().map("{:.1f}".format) + " ("
        + (g["gflops_achieved"].mean() / (peak / 1e9)).map("{:.0%}".format) + ")",
    })
    ratio = g["cpu_s"].mean()["previous default"] / g["cpu_s"].mean()["default"]
    text = (f"Hybrid fits at {args.n:,} training events, {args.seeds} seeds, one thread, "
            f"alternating in one run (Bayes-optimal AUC {ceiling:.4f}; matrix-product peak "
            f"{peak / 1e9:.0f} GFLOP/s on one thread).\n\n{table.to_markdown()}\n\n"
            f"CPU time: the default takes 1/{ratio:.2f} of the previous default's.\n")
    stem.with_suffix(".md").write_text(text)
    print(text)
    return df


if __name__ == "__main__":
    main()
