"""The hybrid's edge: its gap to the Bayes-optimal AUC against training size, next to its own
invariant branch, the paper's hybrid and the gradient-boosted tree on (mass, pT1, pT2), and
(``--models ... hybrid_x5``) five hybrids averaged by ``EnsembleClassifier`` as a model of its own.

Every model is trained as the study trains it (10 % smearing, pT weights fitted on the training
events, 20 % of them held out for early stopping / the tree's early stopping) and scored once on
a fixed test set of 20,000 events with the pT-weighted ROC AUC; the Bayes-optimal AUC of the same
test set is the ceiling. Sizes are training events before the validation share.

    python benchmarks/hybrid_edge.py                          # 2,000 ... 80,000 events, 5 seeds
    python benchmarks/hybrid_edge.py --sizes 2000 4000 --seeds 5
    python benchmarks/hybrid_edge.py --device cuda            # the same on a GPU
    python benchmarks/hybrid_edge.py --quick                  # tiny check that it runs
    python benchmarks/hybrid_edge.py --models invariant hybrid hybrid_x5 hgb --sizes 2000 8000

Writes one CSV row per fit as it finishes (rerun to resume), then a table of mean +- std over
seeds and a figure of the gap to the limit (``--output`` stem: .csv, .md, .png).

The diagnostic: where each model loses against the Bayes-optimal discriminant. Every event's
share of the weighted AUC (:func:`sklearn_bsym.preprocessing.roc_auc_contributions`) is summed in
bins of the leading muon's pT and of the dimuon mass (equal-count bins of the test set); the
optimal discriminant's share minus the model's is the AUC the model loses in that bin, and the
bins of one variable add up to the model's whole gap. One row per fit and bin goes to
``<stem>_bins.csv`` as the fit finishes; ``<stem>_bins.md`` and ``<stem>_bins.png`` show the
mean over seeds.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch

from sklearn_bsym import kinematics
from sklearn_bsym.events import to_particles
from sklearn_bsym.optimal import optimal_discriminant
from sklearn_bsym.preprocessing import (
    PtReweightedClassifier,
    PtReweighter,
    roc_auc_contributions,
    weighted_roc_auc,
)
from sklearn_bsym.studies import MODEL_STYLE, StudyConfig
from sklearn_bsym.studies import make_model as make_study_model

try:
    from _bench_data import smeared_test_and_pool
except ImportError:  # run as a module
    from benchmarks._bench_data import smeared_test_and_pool

RESOLUTION = 0.10
N_TEST = 20_000
#: Training events are drawn from one fixed pool (the study's 80,000), so the test set and the
#: Bayes-optimal ceiling are the same whichever sizes a run asks for, and a resumed CSV stays
#: consistent.
N_POOL = 80_000


#: Equal-count bins of each diagnostic variable on the test set.
N_BINS = 8


def diagnostic_bins(X: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per diagnostic variable: each event's bin index and the bin edges (equal-count bins)."""
    particles = to_particles(X)
    values = {
        "leading muon pT [GeV]": kinematics.pt(particles).max(axis=1),
        "dimuon mass [GeV]": kinematics.mass(kinematics.system(particles)),
    }
    out = {}
    for name, value in values.items():
        edges = np.quantile(value, np.linspace(0.0, 1.0, N_BINS + 1))
        out[name] = (np.clip(np.searchsorted(edges, value, side="right") - 1, 0, N_BINS - 1),
                     edges)
    return out


def binned_loss(shares: np.ndarray, optimal_shares: np.ndarray, bins: dict) -> list[dict]:
    """Rows (variable, bin, edges, AUC lost in the bin) of one fit; the losses of one variable
    add up to the fit's gap to the optimal AUC."""
    rows = []
    for variable, (index, edges) in bins.items():
        lost = np.bincount(index, optimal_shares - shares, minlength=N_BINS)
        for b in range(N_BINS):
            rows.append({"variable": variable, "bin": b, "lo": edges[b], "hi": edges[b + 1],
                         "auc_lost": lost[b]})
    return rows


def diagnostic_test_set(n_test: int, n_pool: int) -> SimpleNamespace:
    """The fixed test set and training pool (``X_test, y_test, pool_X, pool_y``), the
    Bayes-optimal AUC of the weighted problem on it (``ceiling``), and what the per-bin
    diagnostic needs: the test set's pT weights (``test_weight``, those of
    ``weighted_roc_auc``), the optimal discriminant's per-event AUC shares (``optimal_shares``)
    and the events' bins (``bins``)."""
    X_test, y_test, pool_X, pool_y = smeared_test_and_pool(n_test, n_pool,
                                                           resolution=RESOLUTION, seed=0)
    # The ceiling: the exact likelihood ratio of the weighted problem (weights of the pool).
    optimal = optimal_discriminant(
        X_test, resolution=RESOLUTION, reweighter=PtReweighter().fit(pool_X, pool_y))
    test_weight = PtReweighter().fit(X_test, y_test).compute_sample_weight(X_test, y_test)
    return SimpleNamespace(
        X_test=X_test, y_test=y_test, pool_X=pool_X, pool_y=pool_y,
        ceiling=weighted_roc_auc(y_test, optimal, X_test), test_weight=test_weight,
        optimal_shares=roc_auc_contributions(y_test, optimal, test_weight),
        bins=diagnostic_bins(X_test))


#: The paper's hybrid: its general subnet on the four-vectors alone, symmetry factor from 0.5.
PAPER_HYBRID = {"particle_inputs": "momenta", "invariant_weight_init": None}


def make_model(name: str, seed: int, device: str):
    """The study's own model (its validation share, early stopping and tree recipe), with the
    pT weights fitted on the training events by ``PtReweightedClassifier`` as in the study;
    ``hybrid_x5`` is the study's average of five hybrids, ``hybrid_paper_init`` the paper's
    hybrid."""
    paper = name == "hybrid_paper_init"
    config = StudyConfig(model_params={
        "invariant": {"device": device},
        "hybrid": {"device": device, **(PAPER_HYBRID if paper else {})},
    })
    study_name = "hybrid" if paper else name
    return PtReweightedClassifier(make_study_model(study_name, config, seed))


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[2_000, 4_000, 8_000, 16_000, 40_000, 80_000])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--models", nargs="+",
                        choices=["invariant", "hybrid", "hybrid_paper_init", "hybrid_x5", "hgb"],
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
    bench = diagnostic_test_set(n_test, n_pool)
    X_test, y_test, pool_X, pool_y = bench.X_test, bench.y_test, bench.pool_X, bench.pool_y
    ceiling, test_weight = bench.ceiling, bench.test_weight
    optimal_shares, bins = bench.optimal_shares, bench.bins
    print(f"Bayes-optimal pT-weighted test AUC: {ceiling:.4f}  (load {os.getloadavg()[0]:.1f})",
          flush=True)

    bins_csv = stem.parent / f"{stem.name}_bins.csv"
    rows = pd.read_csv(csv).to_dict("records") if csv.exists() else []
    bin_rows = pd.read_csv(bins_csv).to_dict("records") if bins_csv.exists() else []
    have = {(r["model"], r["n_train"], r["seed"]) for r in rows}
    have_bins = {(r["model"], r["n_train"], r["seed"]) for r in bin_rows}
    for n in args.sizes:
        for seed in range(args.seeds):
            idx = np.random.default_rng(1000 + seed).choice(len(pool_X), n, replace=False)
            Xt, yt = pool_X[idx], pool_y[idx]
            for name in args.models:
                if (name, n, seed) in have and (name, n, seed) in have_bins:
                    continue
                tic = time.perf_counter()
                model = make_model(name, seed, args.device).fit(Xt, yt)
                score = model.predict_proba(X_test)[:, 1]
                auc = weighted_roc_auc(y_test, score, X_test)
                shares = roc_auc_contributions(y_test, score, test_weight)
                bin_rows = [r for r in bin_rows if (r["model"], r["n_train"], r["seed"])
                            != (name, n, seed)]
                bin_rows += [{"model": name, "n_train": n, "seed": seed, **row}
                             for row in binned_loss(shares, optimal_shares, bins)]
                pd.DataFrame(bin_rows).to_csv(bins_csv, index=False)
                rows = [r for r in rows if (r["model"], r["n_train"], r["seed"]) != (name, n, seed)]
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
    _diagnostic(pd.DataFrame(bin_rows), args, stem)
    return df


#: Label and colour of each model on the figures: the study's, and one for the paper's hybrid.
STYLE = {**MODEL_STYLE, "hybrid": ("hybrid (this library)", MODEL_STYLE["hybrid"][1]),
         "hybrid_paper_init": ("hybrid (paper's inputs and init)", "tab:pink")}


def _diagnostic(bin_rows: pd.DataFrame, args, stem: Path) -> None:
    """Table and figure of the AUC each model loses per bin (mean over seeds)."""
    bin_rows = bin_rows[bin_rows["model"].isin(args.models)
                        & bin_rows["n_train"].isin(args.sizes)]
    if bin_rows.empty:
        return
    mean = (bin_rows.groupby(["variable", "n_train", "model", "bin", "lo", "hi"])["auc_lost"]
            .mean().reset_index())
    parts = ["AUC lost against the Bayes-optimal discriminant per bin, in units of 0.001 AUC, "
             f"mean over seeds ({N_BINS} equal-count bins of the test set; a row adds up to the "
             "model's whole gap).\n"]
    for variable, sub in mean.groupby("variable", sort=False):
        sub = sub.assign(range=[f"{lo:.0f}-{hi:.0f}" for lo, hi in
                                     zip(sub["lo"], sub["hi"], strict=True)])
        wide = sub.pivot_table(index=["n_train", "model"], columns="bin", values="auc_lost")
        wide.columns = sub.drop_duplicates("bin").sort_values("bin")["range"].tolist()
        wide = 1e3 * wide
        wide["total"] = wide.sum(axis=1)
        parts += [f"### {variable}\n", wide.round(2).reset_index().to_markdown(index=False), ""]
    text = "\n".join(parts) + "\n"
    stem.parent.joinpath(f"{stem.name}_bins.md").write_text(text)
    print(text)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variables = list(dict.fromkeys(mean["variable"]))
    sizes = sorted(mean["n_train"].unique())
    if len(sizes) > 5:  # the smallest, three between and the largest
        sizes = [sizes[i] for i in sorted({round(k * (len(sizes) - 1) / 4) for k in range(5)})]
    fig, axes = plt.subplots(len(variables), len(sizes), figsize=(4.6 * len(sizes), 3.6 *
                             len(variables)), squeeze=False, sharey="row")
    for i, variable in enumerate(variables):
        for j, n in enumerate(sizes):
            ax = axes[i, j]
            sub = mean[(mean["variable"] == variable) & (mean["n_train"] == n)]
            for name, part in sub.groupby("model"):
                part = part.sort_values("bin")
                edges = np.append(part["lo"].to_numpy(), part["hi"].to_numpy()[-1])
                ax.stairs(1e3 * part["auc_lost"].to_numpy(), np.arange(len(edges)),
                          color=STYLE[name][1], label=f"{STYLE[name][0]} "
                                f"(gap {part['auc_lost'].sum():.4f})", lw=1.6)
            ax.axhline(0.0, color="k", lw=0.8)
            ax.set_xticks(np.arange(len(edges)), [f"{e:.0f}" for e in edges], fontsize=7)
            ax.set_xlabel(f"{variable} (equal-count bins)")
            ax.set_ylabel("AUC lost in the bin (x 0.001)")
            ax.set_title(f"{n:,} training events", fontsize=9)
            ax.legend(fontsize=7)
            ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(stem.parent / f"{stem.name}_bins.png", dpi=120)
    plt.close(fig)


def _plot(table: pd.DataFrame, ceiling: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, sub in table.groupby(level="model"):
        n = sub.index.get_level_values("n_train")
        ax.errorbar(n, ceiling - sub["mean"], yerr=sub["std"], marker="o", capsize=3,
                    color=STYLE[name][1], label=STYLE[name][0])
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
