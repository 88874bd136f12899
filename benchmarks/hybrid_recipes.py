"""Recipe and architecture variants of the hybrid, paired against its defaults.

Each variant is the study's hybrid (``studies.make_model("hybrid", ...)``: its validation share
and early stopping, pT weights fitted on the training events) with some parameters changed. Every
variant of a seed trains on the same events with the same seed as the default, so the difference
to the default is paired: the table gives its mean over seeds with the standard error of that
mean. The sample is independent of the study's and of ``hybrid_edge.py``'s (generator seed 77,
smearing seed 78: 80,000 training pool, 20,000 test events), so choosing defaults here never
looks at a test split that reports results.

    python benchmarks/hybrid_recipes.py                 # 2,000 and 8,000 events, 5 seeds
    python benchmarks/hybrid_recipes.py --quick         # tiny check that it runs

Writes one CSV row per fit as it finishes (rerun to resume) and a Markdown table
(``--output`` stem: .csv, .md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sklearn_bsym.preprocessing import PtReweightedClassifier, weighted_roc_auc
from sklearn_bsym.studies import StudyConfig, make_model

try:
    from _bench_data import smeared_test_and_pool
except ImportError:  # run as a module
    from benchmarks._bench_data import smeared_test_and_pool

RESOLUTION = 0.10
N_TEST, N_POOL = 20_000, 80_000

#: Variant name -> (sizes it runs at, the HybridClassifier parameters it changes).
VARIANTS = {
    "default": ((2_000, 8_000), {}),
    "lr x1/3": ((8_000,), {"lr": 1e-3}),
    "lr x2": ((8_000,), {"lr": 6e-3}),
    "weight decay 0": ((8_000,), {"weight_decay": 0.0}),
    "weight decay 0.05": ((8_000,), {"weight_decay": 0.05}),
    "batch 128": ((8_000,), {"batch_size": 128}),
    "context leading": ((8_000,), {"context": "leading"}),
    "context (pT, eta)": ((8_000,), {"context": "pt_eta"}),
    "pooling concat_weight": ((8_000,), {"pooling": "concat_weight"}),
    "pooling concat_context": ((8_000,), {"pooling": "concat_context"}),
    "no early stopping": ((2_000, 8_000), {"patience": 100}),
    "start 0.75": ((2_000, 8_000), {"invariant_weight_init": 0.75}),
    "start 0.95": ((2_000, 8_000), {"invariant_weight_init": 0.95}),
    "head (128, 128)": ((2_000, 8_000), {"F_sizes": (128, 128)}),
    "general subnet (128, 128, 16)": ((2_000, 8_000), {"Phi_sizes": (128, 128, 16)}),
}


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that it runs")
    parser.add_argument("--output", default="benchmarks/results/hybrid_recipes",
                        help="output stem (.csv, .md)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # one thread per fit, as the study: identical numbers on rerun
    n_test, n_pool, scale = (2_000, 4_000, 0.25) if args.quick else (N_TEST, N_POOL, 1.0)
    seeds = range(2 if args.quick else args.seeds)
    if "default" not in args.variants:
        args.variants = ["default", *args.variants]
    stem = Path(args.output)
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv = stem.with_suffix(".csv")

    X_test, y_test, pool_X, pool_y = smeared_test_and_pool(n_test, n_pool,
                                                           resolution=RESOLUTION, seed=77)
    rows = pd.read_csv(csv).to_dict("records") if csv.exists() else []
    have = {(r["variant"], r["n_train"], r["seed"]) for r in rows}
    for name in args.variants:
        sizes, params = VARIANTS[name]
        for n in (int(scale * size) for size in sizes):
            for seed in seeds:
                if (name, n, seed) in have:
                    continue
                idx = np.random.default_rng(5000 + seed).choice(len(pool_X), n, replace=False)
                tic = time.perf_counter()
                config = StudyConfig(model_params={"hybrid": params})
                model = PtReweightedClassifier(make_model("hybrid", config, seed))
                model.fit(pool_X[idx], pool_y[idx])
                auc = weighted_roc_auc(y_test, model.predict_proba(X_test)[:, 1], X_test)
                rows.append({"variant": name, "n_train": n, "seed": seed, "test_auc": auc,
                             "seconds": time.perf_counter() - tic})
                pd.DataFrame(rows).to_csv(csv, index=False)  # saved as it goes
                print(f"{name:30s} n={n:6d} seed={seed} AUC {auc:.4f}", flush=True)

    df = pd.DataFrame(rows)
    df = df[df["variant"].isin(args.variants) & df["seed"].isin(seeds)]
    paired = df.pivot_table(index=["n_train", "seed"], columns="variant", values="test_auc")
    lines = []
    for n, block in paired.groupby(level="n_train"):
        for name in args.variants:
            if name not in block or block[name].isna().all():
                continue
            diff = (block[name] - block["default"]).dropna()
            lines.append({
                "training events": n, "variant": name,
                "test AUC": f"{block[name].mean():.4f} ± {block[name].std():.4f}",
                "minus default": "" if name == "default" else
                f"{diff.mean():+.4f} ± {diff.std() / np.sqrt(len(diff)):.4f}",
                "seeds": len(diff),
            })
    md = pd.DataFrame(lines).to_markdown(index=False)
    stem.with_suffix(".md").write_text(
        "The study's hybrid and variants of it: pT-weighted test AUC, mean ± std over seeds, and "
        "the paired difference to the default, mean ± its standard error "
        f"({n_test:,} test events of an independent sample, {RESOLUTION:.0%} smearing).\n\n"
        f"{md}\n")
    print(md)
    return df


if __name__ == "__main__":
    main()
