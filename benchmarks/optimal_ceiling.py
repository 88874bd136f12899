"""The physical ceiling: AUC of the Bayes-optimal discriminant at several resolutions.

For each resolution r: generate events (LO), smear them ("transverse", sigma = r pT), and
report the AUC of :func:`sklearn_bsym.optimal.optimal_discriminant` on the test events,
unweighted and pT-weighted (PtReweighter weights fitted on the scored events, as the study's
scorer does; the pT-weighted column uses the discriminant of the weighted problem), next to a
HistGradientBoostingClassifier on DimuonFeatures (mass, pT_0, pT_1: the tree baseline) trained on
separate events. Also the
time of the discriminant on 100,000 events. Writes a CSV (and a PNG when matplotlib is there).

    python benchmarks/optimal_ceiling.py                  # 200,000 test, 100,000 training events
    python benchmarks/optimal_ceiling.py --quick          # 20,000 / 10,000, for a check
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.optimal import class_acceptance, optimal_discriminant
from sklearn_bsym.preprocessing import DimuonFeatures, MomentumSmearer, PtReweighter

RESOLUTIONS = [0.0, 0.025, 0.05, 0.10, 0.20]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-test", type=int, default=200_000)
    parser.add_argument("--n-train", type=int, default=100_000, help="HGB training events")
    parser.add_argument("--quick", action="store_true", help="20,000 test, 10,000 training")
    parser.add_argument("--output", type=Path, default=Path("optimal_ceiling.csv"))
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_test, args.n_train = 20_000, 10_000

    X_test, y_test = make_dimuon_events(args.n_test, random_state=args.random_state)
    X_train, y_train = make_dimuon_events(args.n_train, random_state=args.random_state + 1)
    class_acceptance(0), class_acceptance(1)  # one-time integrals, not part of the timing
    rows = []
    for r in RESOLUTIONS:
        smear = MomentumSmearer(r, random_state=args.random_state + 2)
        Xs_test = smear.fit_transform(X_test)
        Xs_train = smear.fit_transform(X_train)
        n_timed = min(100_000, args.n_test)
        start = time.perf_counter()
        d = optimal_discriminant(Xs_test[:n_timed], resolution=r)
        seconds = time.perf_counter() - start
        if n_timed < args.n_test:
            d = np.concatenate([d, optimal_discriminant(Xs_test[n_timed:], resolution=r)])
        rw = PtReweighter().fit(Xs_test, y_test)
        w = rw.compute_sample_weight(Xs_test, y_test)
        d_weighted = optimal_discriminant(Xs_test, resolution=r, reweighter=rw)
        hgb = make_pipeline(DimuonFeatures(),
                            HistGradientBoostingClassifier(random_state=args.random_state))
        hgb_score = hgb.fit(Xs_train, y_train).predict_proba(Xs_test)[:, 1]
        rows.append({
            "resolution": r,
            "optimal_auc": roc_auc_score(y_test, d),
            "optimal_auc_pt_weighted": roc_auc_score(y_test, d_weighted, sample_weight=w),
            "hgb_auc": roc_auc_score(y_test, hgb_score),
            "hgb_auc_pt_weighted": roc_auc_score(y_test, hgb_score, sample_weight=w),
            f"seconds_per_{n_timed}_events": seconds,
            "n_test": args.n_test,
            "n_train_hgb": args.n_train,
        })
        print(f"r = {r}: done", flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format="%.4f"))
    table.to_csv(args.output, index=False)
    print(f"\nwrote {args.output}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return 0
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(table.resolution, table.optimal_auc, "o-", label="Bayes-optimal")
    ax.plot(table.resolution, table.optimal_auc_pt_weighted, "o--",
            label="Bayes-optimal, pT-weighted")
    ax.plot(table.resolution, table.hgb_auc, "s-", label=f"HGB ({args.n_train:,} train)")
    ax.plot(table.resolution, table.hgb_auc_pt_weighted, "s--", label="HGB, pT-weighted")
    ax.set_xlabel("resolution r (sigma = r pT)")
    ax.set_ylabel("test AUC")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.output.with_suffix(".png"), dpi=120)
    print(f"wrote {args.output.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
