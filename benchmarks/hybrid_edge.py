"""The hybrid's edge: its gap to the Bayes-optimal AUC against training size, next to its own
invariant branch, the paper's hybrid and the gradient-boosted tree on (mass, pT1, pT2).

Every model is trained as the study trains it (10 % smearing, pT weights fitted on the training
events, 20 % of them held out for early stopping / the tree's early stopping) and scored once on
a fixed test set of 20,000 events with the pT-weighted ROC AUC; the Bayes-optimal AUC of the same
test set is the ceiling. Sizes are training events before the validation share.

    python benchmarks/hybrid_edge.py                          # 2,000 ... 80,000 events, 5 seeds
    python benchmarks/hybrid_edge.py --sizes 2000 4000 --seeds 5
    python benchmarks/hybrid_edge.py --device cuda            # the same on a GPU
    python benchmarks/hybrid_edge.py --quick                  # tiny check that it runs

Writes one CSV row per fit as it finishes (rerun to resume), then a table of mean +- std over
seeds and a figure of the gap to the limit (``--output`` stem: .csv, .md, .png).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.optimal import optimal_discriminant
from sklearn_bsym.preprocessing import (
    MomentumSmearer,
    PtReweightedClassifier,
    PtReweighter,
    weighted_roc_auc,
)
from sklearn_bsym.studies import StudyConfig
from sklearn_bsym.studies import make_model as make_study_model

RESOLUTION = 0.10
N_TEST = 20_000
#: Training events are drawn from one fixed pool (the study's 80,000), so the test set and the
#: Bayes-optimal ceiling are the same whichever sizes a run asks for, and a resumed CSV stays
#: consistent.
N_POOL = 80_000


#: The paper's hybrid: its general subnet on the four-vectors alone, symmetry factor from 0.5.
PAPER_HYBRID = {"particle_inputs": "momenta", "invariant_weight_init": None}


def make_model(name: str, seed: int, device: str):
    """The study's own model (its validation share, early stopping and tree recipe), with the
    pT weights fitted on the training events by ``PtReweightedClassifier`` as in the study."""
    networks = {"invariant": {}, "hybrid": {}, "hybrid_paper_init": PAPER_HYBRID}
    config = StudyConfig(model_params={
        "invariant": {"device": device}, "hybrid": {"device": device, **networks.get(name, {})},
    })
    study_name = "hybrid" if name == "hybrid_paper_init" else name
    return PtReweightedClassifier(make_study_model(study_name, config, seed))


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[2_000, 4_000, 8_000, 16_000, 40_000, 80_000])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--models", nargs="+",
                        default=["invariant", "hybrid", "hybrid_paper_init", "hgb"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that it runs")
    parser.add_argument("--output", default="benchmarks/results/hybrid_edge",
                        help="output stem (.csv, .md, .png)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.seeds = [1_000, 2_000], 2
    if args.threads:
        torch.set_num_threads(args.threads)
    stem = Path(args.output)
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv = stem.with_suffix(".csv")

    n_test, n_pool = (2_000, 2_000) if args.quick else (N_TEST, N_POOL)
    if max(args.sizes) > n_pool:
        parser.error(f"--sizes: at most {n_pool} training events (the pool)")
    X, y = make_dimuon_events(n_test + n_pool, random_state=0)
    X = MomentumSmearer(RESOLUTION, random_state=1).fit_transform(X)
    X_test, y_test, pool_X, pool_y = X[:n_test], y[:n_test], X[n_test:], y[n_test:]
    # The ceiling: the exact likelihood ratio of the weighted problem (weights of the pool).
    ceiling = weighted_roc_auc(y_test, optimal_discriminant(
        X_test, resolution=RESOLUTION, reweighter=PtReweighter().fit(pool_X, pool_y)), X_test)
    print(f"Bayes-optimal pT-weighted test AUC: {ceiling:.4f}  (load {os.getloadavg()[0]:.1f})",
          flush=True)

    done = pd.read_csv(csv) if csv.exists() else pd.DataFrame()
    rows = done.to_dict("records")
    have = {(r["model"], r["n_train"], r["seed"]) for r in rows}
    for n in args.sizes:
        for seed in range(args.seeds):
            idx = np.random.default_rng(1000 + seed).choice(len(pool_X), n, replace=False)
            Xt, yt = pool_X[idx], pool_y[idx]
            for name in args.models:
                if (name, n, seed) in have:
                    continue
                tic = time.perf_counter()
                model = make_model(name, seed, args.device).fit(Xt, yt)
                auc = weighted_roc_auc(y_test, model.predict_proba(X_test)[:, 1], X_test)
                rows.append({"model": name, "n_train": n, "seed": seed, "test_auc": auc,
                             "optimal_auc": ceiling, "gap": ceiling - auc,
                             "seconds": time.perf_counter() - tic, "device": args.device})
                pd.DataFrame(rows).to_csv(csv, index=False)  # saved as it goes
                print(f"n={n:6d} seed={seed} {name:18s} AUC {auc:.4f} gap {ceiling - auc:.4f}"
                      f" ({rows[-1]['seconds']:.1f} s)", flush=True)

    df = pd.DataFrame(rows)
    df = df[df["model"].isin(args.models) & df["n_train"].isin(args.sizes)]
    table = df.groupby(["n_train", "model"])["test_auc"].agg(["mean", "std", "count"])
    wide = table.apply(lambda r: f"{r['mean']:.4f} ± {r['std']:.4f}", axis=1).unstack("model")
    wide["optimal"] = f"{ceiling:.4f}"
    means = table["mean"].unstack("model")
    best_component = means[[m for m in ("invariant", "hgb") if m in means]].max(axis=1)
    if "hybrid" in means:
        wide["hybrid - max(invariant, hgb)"] = (means["hybrid"] - best_component).map(
            "{:+.4f}".format)
    md = wide.reset_index().to_markdown(index=False)
    stem.with_suffix(".md").write_text(
        f"pT-weighted test AUC, mean ± std over seeds ({N_TEST:,} test events, "
        f"{RESOLUTION:.0%} smearing, fitted on {', '.join(sorted(df['device'].unique()))}).\n\n"
        f"{md}\n")
    print(md)
    _plot(table, ceiling, stem.with_suffix(".png"))
    return df


def _plot(table: pd.DataFrame, ceiling: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {"invariant": "invariant net", "hybrid": "hybrid (this library)",
              "hybrid_paper_init": "hybrid (paper's inputs and init)",
              "hgb": "tree on (m, pT1, pT2)"}
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, sub in table.groupby(level="model"):
        n = sub.index.get_level_values("n_train")
        ax.errorbar(n, ceiling - sub["mean"], yerr=sub["std"], marker="o", capsize=3,
                    label=labels.get(name, name))
    ax.axhline(0.0, color="k", lw=0.8, ls="--", label="Bayes-optimal (gap 0)")
    ax.set_xscale("log")
    sizes = sorted(set(table.index.get_level_values("n_train")))
    ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training events (before the 20 % validation share)")
    ax.set_ylabel("gap to the Bayes-optimal AUC (smaller is better)")
    ax.set_ylim(bottom=-0.002)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
