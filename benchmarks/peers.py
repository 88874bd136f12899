"""The hybrid beside its strongest neural peer, L-GATr, and the library's other models.

L-GATr (the Lorentz-equivariant geometric-algebra transformer, ``LGATrClassifier``, the optional
extra ``lgatr``) breaks the symmetry on purpose with reference multivectors, the beam plane and
the time direction; without them ("lgatr_invariant") it is a Lorentz-invariant network. The
question of the hybrid paper (how much of the symmetry to keep) answered by architecture.

Two stages, on the data of ``default_recipe.py`` (built-in generator, 10 % smearing, pT weights
fitted on the training events, the pT-weighted AUC on a fixed test set of 40,000 events, the
Bayes-optimal AUC beside; training subsets drawn by seed from one fixed pool, so the hybrid's
rows are those of ``default_recipe.py``):

    python benchmarks/peers.py --grid           # L-GATr's grid on a validation split
    python benchmarks/peers.py --grid second    # one of its stages (first, second, epochs)
    python benchmarks/peers.py                  # the table: 500 ... 32,000 events, 3 seeds
    python benchmarks/peers.py --sizes 32000 --seeds 1 --models lgatr   # a point on its own
    python benchmarks/peers.py --quick          # tiny check that it runs

``--grid``: L-GATr over blocks, channels and learning rate with spurions at 2,000 events, the
best point also without spurions, the two best and the one without spurions again at 8,000,
each fitted on 75 % of the training subset of seed 0 and scored on the other 25 % (the
pT-weighted validation AUC after the last epoch: the default recipe has no early stopping);
then the best point's epochs halved and doubled at 2,000. The test set is not looked at.
Writes ``<stem>_grid.csv`` (one row per fit, resumable) and ``<stem>_grid.md``.
``LGATrClassifier``'s defaults are the grid's choice.

The table: every model with its defaults, as a user fits it (``Est(random_state=seed).fit(X,
y, sample_weight=w)``), one torch thread, CPU seconds per fit. Writes ``<stem>.csv`` (one row
per fit, resumable), ``<stem>.md`` (AUC ± standard error, CPU seconds, the hybrid's lead over
L-GATr paired by seed and its CPU share), ``<stem>.png`` (AUC and CPU seconds against training
size, log axes) and ``<stem>_bins.csv``: per fit the AUC lost against the Bayes-optimal
discriminant in bins of leading-muon pT and dimuon mass; where L-GATr leads, ``<stem>.md``
shows in which bins.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sklearn_bsym.preprocessing import PtReweighter, roc_auc_contributions, weighted_roc_auc
from sklearn_bsym.studies import MODEL_STYLE, MODEL_TABLE

try:
    from _bench_data import extended_pool
    from default_recipe import fit_weighted, summarize
    from hybrid_edge import N_POOL, binned_loss, diagnostic_test_set
except ImportError:  # run as a module
    from benchmarks._bench_data import extended_pool
    from benchmarks.default_recipe import fit_weighted, summarize
    from benchmarks.hybrid_edge import N_POOL, binned_loss, diagnostic_test_set

N_TEST = 40_000
SIZES = [500, 2_000, 8_000, 32_000]
#: The models of the table: entries of the study's model table, and L-GATr without spurions.
MODELS = {
    "hybrid": ("hybrid", {}),
    "invariant": ("invariant", {}),
    "hgb_collider": ("hgb_collider", {}),
    "lgatr": ("lgatr", {}),
    "lgatr_invariant": ("lgatr", {"spurions": False}),
}
STYLE = {**MODEL_STYLE, "lgatr_invariant": ("L-GATr (no spurions)", "tab:pink")}

#: The grid at 2,000 events, with spurions: (blocks, multivector channels, scalar channels) and
#: learning rate; the best point is also fitted without spurions. Four blocks of the wider
#: channels (3.9 ms of CPU per event and epoch, four times two small blocks) are left out.
GRID = {"architecture": [(2, 8, 16), (4, 8, 16), (2, 16, 32)], "lr": [1e-3, 3e-3]}
#: The recipe the grid's points share at each size: batch and epochs. L-GATr needs a few hundred
#: optimizer steps to leave its first plateau (a flat loss at log 2 for 200-300 steps on 2,000
#: events at lr 2e-3, measured): 720 steps at 2,000 (1,500 training events), 940 at 8,000.
GRID_RECIPE = {2_000: {"batch_size": 128, "max_epochs": 60},
               8_000: {"batch_size": 128, "max_epochs": 20}}
#: Points of the 2,000-event grid taken on to 8,000: the best ones (with spurions), and the
#: best one without spurions.
GRID_CARRIED = 2
VALIDATION = 0.25


def grid_points() -> list[dict]:
    """The keyword arguments of every point of ``GRID`` (with spurions)."""
    points = []
    for (blocks, mv, s), lr in itertools.product(*GRID.values()):
        points.append({"num_blocks": blocks, "hidden_mv_channels": mv, "hidden_s_channels": s,
                       "lr": lr, "spurions": True})
    return points


def point_name(point: dict) -> str:
    return "|".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in sorted(point.items()))


def training_subset(pool_X, pool_y, n: int, seed: int, n_pool: int):
    """The training events of ``seed`` at size ``n``: those of ``default_recipe.py``."""
    drawn_from = n_pool if n <= n_pool else len(pool_X)
    idx = np.random.default_rng(1000 + seed).choice(drawn_from, n, replace=False)
    return pool_X[idx], pool_y[idx]


#: The grid's stages: each writes its own CSV, so they can run as parallel processes (the
#: later ones read the first's rows to pick their points).
STAGES = ("first", "second", "epochs")


def run_grid(pool_X, pool_y, n_pool: int, stem: Path, stage: str = "all",
             sizes=(2_000, 8_000)) -> pd.DataFrame:
    """The L-GATr grid (see the module notes), all stages or one; returns its rows."""
    def path(name: str) -> Path:
        return stem.parent / f"{stem.name}_grid{'' if name == 'first' else '_' + name}.csv"

    def read(name: str) -> list[dict]:
        return pd.read_csv(path(name)).to_dict("records") if path(name).exists() else []

    def fit(point: dict, n: int, name: str):
        params = {**GRID_RECIPE[n], **point}
        key = point_name(params)
        rows = read(name)
        if any((r["point"], r["n_train"]) == (key, n) for r in rows):
            return
        X, y = training_subset(pool_X, pool_y, n, 0, n_pool)
        w = PtReweighter().fit(X, y).compute_sample_weight(X, y)
        # patience above the epochs: every epoch runs, as in the default recipe
        est = MODEL_TABLE["lgatr"].make(random_state=0, validation_fraction=VALIDATION,
                                        patience=10_000, **params)
        cpu = time.process_time()
        est.fit(X, y, sample_weight=w)
        cpu = time.process_time() - cpu
        valid = np.asarray(est.history[:, "valid_auc"], dtype=float)
        rows.append({"point": key, "n_train": n, "stage": name, "valid_auc_last": valid[-1],
                     "valid_auc_best": valid.max(), "best_epoch": int(valid.argmax()) + 1,
                     "epochs": len(valid), "cpu_s": cpu, "params": json.dumps(point)})
        pd.DataFrame(rows).to_csv(path(name), index=False)
        print(f"grid n={n:6d} {key:80s} valid AUC {valid[-1]:.4f} (best {valid.max():.4f} "
              f"at epoch {valid.argmax() + 1}) {cpu:.0f} CPU s  (load "
              f"{os.getloadavg()[0]:.1f})", flush=True)

    def best(n: int) -> list[dict]:
        """The points fitted at ``n`` with the base recipe, best first."""
        df = pd.DataFrame(read("first") + read("second"))
        part = df[df["n_train"] == n].sort_values("valid_auc_last", ascending=False)
        return [json.loads(p) for p in part["params"]]

    first, second = sizes
    if stage in ("all", "first"):
        for point in grid_points():
            fit(point, first, "first")
        top = [p for p in best(first) if p["spurions"]][0]
        fit({**top, "spurions": False}, first, "first")
    if stage in ("all", "second"):
        ranked = [p for p in best(first) if p["spurions"]]
        for point in [*ranked[:GRID_CARRIED], {**ranked[0], "spurions": False}]:
            fit(point, second, "second")
    if stage in ("all", "epochs"):  # the best point's epochs halved and doubled
        top = [p for p in best(first) if p["spurions"]][0]
        for epochs in (GRID_RECIPE[first]["max_epochs"] // 2,
                       GRID_RECIPE[first]["max_epochs"] * 2):
            fit({**top, "max_epochs": epochs}, first, "epochs")
    df = pd.DataFrame(read("first") + read("second") + read("epochs"))
    write_grid_report(df, stem)
    return df


def write_grid_report(df: pd.DataFrame, stem: Path) -> None:
    lines = [f"L-GATr's grid: each point fitted on {1 - VALIDATION:.0%} of the training subset "
             f"(seed 0), scored on the other {VALIDATION:.0%} (pT-weighted validation AUC after "
             "the last epoch; the best epoch's beside). Batch and epochs: "
             + ", ".join(f"{n:,} events batch {r['batch_size']}, {r['max_epochs']} epochs"
                         for n, r in GRID_RECIPE.items())
             + " (the last rows of each size: the best point's epochs halved and doubled).", ""]
    for n, part in df.groupby("n_train"):
        part = part.sort_values("valid_auc_last", ascending=False)
        table = part[["point", "valid_auc_last", "valid_auc_best", "best_epoch", "epochs",
                      "cpu_s"]].round({"valid_auc_last": 4, "valid_auc_best": 4, "cpu_s": 0})
        lines += [f"## {n:,} events", "", table.to_markdown(index=False), ""]
    (stem.parent / f"{stem.name}_grid.md").write_text("\n".join(lines))
    print("\n".join(lines))


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--grid", nargs="?", const="all", choices=["all", *STAGES],
                        help="run L-GATr's grid (see above), or one of its stages (each in "
                             "its own CSV, so they can run in parallel processes)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that it runs")
    parser.add_argument("--output", default="benchmarks/results/peers",
                        help="output stem (.csv, .md, .png)")
    args = parser.parse_args(argv)
    MODEL_TABLE["lgatr"].check_available()
    torch.set_num_threads(1)
    stem = Path(args.output)
    stem.parent.mkdir(parents=True, exist_ok=True)
    n_test, n_pool = (2_000, 2_000) if args.quick else (N_TEST, N_POOL)
    if args.quick:
        args.sizes, args.seeds = [500], 1
    bench = diagnostic_test_set(n_test, n_pool)
    X_test, y_test = bench.X_test, bench.y_test
    pool_X, pool_y = extended_pool(bench.pool_X, bench.pool_y, max(n_pool, *args.sizes))
    print(f"Bayes-optimal pT-weighted test AUC: {bench.ceiling:.4f}", flush=True)
    if args.grid:
        return run_grid(pool_X, pool_y, n_pool, stem, args.grid)

    # One-time costs (torch's first calls) stay out of the first fit's CPU seconds.
    for model in args.models:
        entry, params = MODELS[model]
        if MODEL_TABLE[entry].tags.torch:
            MODEL_TABLE[entry].make(random_state=0, max_epochs=1, **params).fit(
                pool_X[:512], pool_y[:512])
    csv, bins_csv = stem.with_suffix(".csv"), stem.parent / f"{stem.name}_bins.csv"
    rows = pd.read_csv(csv).to_dict("records") if csv.exists() else []
    bin_rows = pd.read_csv(bins_csv).to_dict("records") if bins_csv.exists() else []
    have = {(r["model"], r["n_train"], r["seed"]) for r in rows}
    for n in args.sizes:
        for seed in range(args.seeds):
            X, y = training_subset(pool_X, pool_y, n, seed, n_pool)
            w = PtReweighter().fit(X, y).compute_sample_weight(X, y)
            for model in args.models:
                if (model, n, seed) in have:
                    continue
                entry, params = MODELS[model]
                est = MODEL_TABLE[entry].make(random_state=seed, **params)
                if args.quick and entry == "lgatr":
                    est.set_params(max_epochs=2)
                cpu = time.process_time()
                fit_weighted(est, X, y, w)
                cpu = time.process_time() - cpu
                score = est.predict_proba(X_test)[:, 1]
                auc = weighted_roc_auc(y_test, score, X_test)
                shares = roc_auc_contributions(y_test, score, bench.test_weight)
                rows.append({"model": model, "n_train": n, "seed": seed, "test_auc": auc,
                             "optimal_auc": bench.ceiling, "gap": bench.ceiling - auc,
                             "epochs": float(len(est.history)) if hasattr(est, "history")
                             else float(est.steps[-1][1].n_iter_), "cpu_s": cpu})
                bin_rows += [{"model": model, "n_train": n, "seed": seed, **b}
                             for b in binned_loss(shares, bench.optimal_shares, bench.bins)]
                pd.DataFrame(rows).to_csv(csv, index=False)
                pd.DataFrame(bin_rows).to_csv(bins_csv, index=False)
                print(f"n={n:6d} seed={seed} {model:16s} AUC {auc:.4f} ({cpu:.1f} CPU s, load "
                      f"{os.getloadavg()[0]:.1f})", flush=True)
    df = pd.DataFrame(rows)
    write_report(df, pd.DataFrame(bin_rows), bench.ceiling, stem)
    return df


def write_report(df: pd.DataFrame, bins: pd.DataFrame, ceiling: float, stem: Path) -> None:
    """``<stem>.md`` and ``<stem>.png`` (see the module notes)."""
    s = summarize(df)
    cell = s.apply(lambda r: f"{r.test_auc:.4f} ± {r.auc_se:.4f} ({r.cpu_s:.1f} s, "
                   f"{int(r['count'])} seeds)", axis=1)
    wide = s.assign(cell=cell).pivot(index="n_train", columns="model", values="cell")
    lines = [f"pT-weighted test AUC ± standard error over seeds ({N_TEST:,} test events, 10 % "
             f"smearing; Bayes-optimal {ceiling:.4f}); in brackets the CPU seconds of one fit "
             "(one thread) and the seeds.", "", wide.reset_index().to_markdown(index=False), ""]
    auc = df.pivot_table(index=["n_train", "seed"], columns="model", values="test_auc")
    cpu = df.pivot_table(index=["n_train", "seed"], columns="model", values="cpu_s")
    leads = []
    if {"hybrid", "lgatr"} <= set(auc):
        for n, part in auc.groupby(level="n_train"):
            lead = (part["hybrid"] - part["lgatr"]).dropna()
            if lead.empty:
                continue
            share = (cpu.loc[n, "hybrid"] / cpu.loc[n, "lgatr"]).dropna().mean()
            ahead = lead.mean() >= -lead.std(ddof=1) / np.sqrt(len(lead)) if len(lead) > 1 \
                else lead.mean() >= 0
            leads.append({"n_train": n, "seeds": len(lead),
                          "hybrid - L-GATr": f"{lead.mean():+.4f} ± "
                                             f"{lead.std(ddof=1) if len(lead) > 1 else 0:.4f}",
                          "hybrid CPU / L-GATr CPU": f"1/{1 / share:.0f}",
                          "ahead or tied (within 1 SE)": "yes" if ahead else "NO",
                          "at most 1/20 of its CPU": "yes" if share <= 1 / 20 else "NO"})
    if leads:
        lines += ["The hybrid against L-GATr, paired by seed (mean ± standard deviation):", "",
                  pd.DataFrame(leads).to_markdown(index=False), ""]
        lines += where_lgatr_leads(auc, bins)
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    _plot(s, ceiling, stem.with_suffix(".png"))


def where_lgatr_leads(auc: pd.DataFrame, bins: pd.DataFrame) -> list[str]:
    """Per size where L-GATr's mean AUC is above the hybrid's: the AUC each loses against the
    Bayes-optimal discriminant per bin (mean over seeds), and the hybrid's excess loss."""
    lines = []
    for n, part in auc.groupby(level="n_train"):
        if not part["lgatr"].mean() > part["hybrid"].mean():  # also where L-GATr has no fit
            continue
        b = bins[(bins["n_train"] == n) & bins["model"].isin(["hybrid", "lgatr"])]
        mean = b.groupby(["variable", "bin", "lo", "hi", "model"])["auc_lost"].mean().unstack()
        mean["hybrid - L-GATr"] = mean["hybrid"] - mean["lgatr"]
        table = mean.reset_index().round(5)
        lines += [f"Where L-GATr leads at {n:,} events: the AUC lost against the Bayes-optimal "
                  "discriminant per bin (equal-count bins of the test set; a variable's bins add "
                  "up to the gap), mean over seeds:", "", table.to_markdown(index=False), ""]
    return lines


def _plot(s: pd.DataFrame, ceiling: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.5))
    for model, part in s.groupby("model"):
        label, colour = STYLE.get(model, (model, None))
        ax.errorbar(part["n_train"], ceiling - part["test_auc"], yerr=part["auc_se"],
                    marker="o", capsize=3, label=label, color=colour)
        bx.plot(part["n_train"], part["cpu_s"], marker="o", label=label, color=colour)
    ax.set_ylabel("Bayes-optimal AUC - model AUC (log scale)")
    ax.set_title(f"Gap to the limit (Bayes-optimal AUC {ceiling:.4f})")
    bx.set_ylabel("CPU seconds per fit (one thread, log scale)")
    bx.set_title("Cost of one fit")
    for a in (ax, bx):
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("training events")
        a.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
