"""Gradient-boosted trees on (mass, pt_0, pt_1) against the three networks.

Same generated events (10 % smearing), same pT weights in training (fitted on each training
set), same test set, weighted test AUC (``preprocessing.weighted_roc_auc``), several training
sizes. Prints a table and writes a CSV.

Full size (about half an hour on 2 quiet cores):
    python benchmarks/baseline_comparison.py --sizes 2000,4000,8000,16000,32000 --threads 2
Quick check:
    python benchmarks/baseline_comparison.py --quick
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline

from sklearn_bsym.nn import HybridClassifier, InvariantClassifier, PFNClassifier
from sklearn_bsym.preprocessing import DimuonFeatures, PtReweighter, weighted_roc_auc

try:
    from _bench_data import smeared_split
except ImportError:  # run as a module
    from benchmarks._bench_data import smeared_split


def models(seed: int):
    return {
        "hgb_dimuon_features": make_pipeline(
            DimuonFeatures(), HistGradientBoostingClassifier(random_state=seed)
        ),
        "pfn": PFNClassifier(random_state=seed),
        "invariant": InvariantClassifier(random_state=seed),
        "hybrid": HybridClassifier(random_state=seed),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="2000,4000,8000,16000,32000",
        help="training sizes, comma-separated (default %(default)s)",
    )
    parser.add_argument(
        "--n-test", type=int, default=40000, help="test events (default %(default)s)"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="torch threads (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random_state of data and models")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the script")
    parser.add_argument(
        "--out", default="baseline_comparison.csv", help="CSV file (default %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.n_test = "1000,2000", 4000
    torch.set_num_threads(args.threads)
    sizes = [int(s) for s in args.sizes.split(",")]
    Xall, yall, _, Xte, yte = smeared_split(max(sizes), args.n_test, seed=args.seed)
    rows = []
    for n in sizes:
        X, y = Xall[:n], yall[:n]
        w = PtReweighter().fit(X, y).compute_sample_weight(X, y)
        for name, model in models(args.seed).items():
            t0 = time.perf_counter()
            step = model.steps[-1][0] + "__" if hasattr(model, "steps") else ""
            model.fit(X, y, **{f"{step}sample_weight": w})
            auc = weighted_roc_auc(yte, model.predict_proba(Xte)[:, 1], Xte)
            rows.append(
                {
                    "n_train": n,
                    "model": name,
                    "weighted_auc": auc,
                    "fit_s": time.perf_counter() - t0,
                }
            )
            print(
                f"n_train={n:6d}  {name:20s} AUC={auc:.4f}  fit {rows[-1]['fit_s']:.1f} s",
                flush=True,
            )
    table = pd.DataFrame(rows)
    print(table.pivot(index="n_train", columns="model", values="weighted_auc").round(4))
    table.to_csv(args.out, index=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
