"""Which symmetry, and the chain hybrid: each branch and each hybrid against training size,
under two detectors.

Each model is fitted as a user fits it, ``Est(random_state=seed).fit(X, y, sample_weight=w)``
with the library's pT weights (``PtReweighter`` fitted on the training events), and scored
by the pT-weighted ROC AUC on 40,000 independent test events, beside two limits of the same
test events: the Bayes-optimal AUC (the exact likelihood ratio with the detector) and the best
AUC of a classifier invariant under rotations about the beam
(``optimal_discriminant(..., azimuthally_invariant=True)``, the ceiling of every network with
the longitudinal symmetry built in, up to what the boosts add).

Detectors (:class:`~sklearn_bsym.preprocessing.MomentumSmearer` of the true events):
``pt``, the paper's smearing sigma/pT = 0.1, which breaks the Lorentz group and keeps the
longitudinal one; ``phi``, ``DetectorResolution(0.1, strength=0.9)``, sigma/pT = 0.1 (1 + 0.9
cos phi), which breaks the longitudinal group too.

Models: ``invariant`` (Lorentz) and ``invariant_longitudinal``, ``pfn``, the two-branch
``hybrid`` (Lorentz) and ``hybrid_longitudinal``, the ``chain`` hybrid (general, Lorentz and
longitudinal branches, one symmetry factor) and both hybrids with the weight network seeing the
azimuth (``hybrid_phi``, ``chain_phi``: ``context="pt_eta_phi"``); and a symmetry of one's own,
``invariant_rotations``: the longitudinal features and the pair's rapidity, invariant under
rotations about the beam but not under boosts along it (what the boosts cost the longitudinal
network where the detector keeps the rotations); and ``invariant_longitudinal_minimal``, the
longitudinal network on :func:`~sklearn_bsym.kinematics.longitudinal_invariants` alone,
without the Lorentz invariants that the library's map adds.

    python benchmarks/symmetry_chain.py                        # both detectors, 3 seeds
    python benchmarks/symmetry_chain.py --detectors phi --sizes 500 2000 --seeds 1
    python benchmarks/symmetry_chain.py --report               # table and figure of the CSV
    python benchmarks/symmetry_chain.py --quick                # tiny: check that it runs

One CSV row per fit is written as it finishes (rerun to resume; the limits are rows too); then
a table per detector (AUC mean ± standard deviation over seeds, the limits in its heading), the
lead of each hybrid over the best of its own branches per size, and a figure of AUC against
training size (``--output`` stem: .csv, .md, .png). Each fit runs with one torch thread.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.nn import HybridClassifier, InvariantClassifier, PFNClassifier
from sklearn_bsym.optimal import optimal_discriminant
from sklearn_bsym.preprocessing import (
    DetectorResolution,
    MomentumSmearer,
    PtReweighter,
    weighted_roc_auc,
)
from sklearn_bsym.symmetries import Symmetry, longitudinal_map

N_TEST = 40_000
#: Training sets are drawn from this many events (the largest size with independent seeds).
N_POOL = 200_000
SIZES = [500, 2_000, 8_000, 32_000, 80_000]
DETECTORS = {
    "pt": 0.10,
    "phi": DetectorResolution(0.10, strength=0.9),
}
DETECTOR_LABELS = {
    "pt": "paper's smearing, sigma/pT = 0.1",
    "phi": "phi-dependent detector, sigma/pT = 0.1 (1 + 0.9 cos phi)",
}
CHAIN = ("lorentz", "longitudinal")


def rotation_invariants(p):
    """The longitudinal features and the pair's rapidity: invariant under rotations about the
    beam, not under boosts along it."""
    rapidity = kinematics.rapidity(kinematics.system(p))[..., None]
    features = longitudinal_map(p)
    if torch.is_tensor(p):
        return torch.cat([features, rapidity], dim=-1)
    return np.concatenate([features, rapidity], axis=-1)


ROTATIONS = Symmetry("rotations", rotation_invariants)
MINIMAL = Symmetry("longitudinal_minimal", kinematics.longitudinal_invariants)
#: (class, keyword arguments, the branches whose best the model is compared with).
MODELS = {
    "invariant": (InvariantClassifier, {}, ()),
    "invariant_longitudinal": (InvariantClassifier, {"symmetry": "longitudinal"}, ()),
    "pfn": (PFNClassifier, {}, ()),
    "hybrid": (HybridClassifier, {}, ("pfn", "invariant")),
    "hybrid_longitudinal": (HybridClassifier, {"symmetry": "longitudinal"},
                            ("pfn", "invariant_longitudinal")),
    "chain": (HybridClassifier, {"symmetry": CHAIN},
              ("pfn", "invariant", "invariant_longitudinal")),
    "hybrid_phi": (HybridClassifier, {"context": "pt_eta_phi"}, ("pfn", "invariant")),
    "chain_phi": (HybridClassifier, {"symmetry": CHAIN, "context": "pt_eta_phi"},
                  ("pfn", "invariant", "invariant_longitudinal")),
    "invariant_rotations": (InvariantClassifier, {"symmetry": ROTATIONS}, ()),
    "invariant_longitudinal_minimal": (InvariantClassifier, {"symmetry": MINIMAL}, ()),
}
LIMITS = {"limit": "Bayes-optimal limit",
          "limit_azimuthal": "limit of classifiers invariant under rotations about the beam"}
STYLE = {
    "invariant": ("tab:orange", "o-"), "invariant_longitudinal": ("tab:red", "o--"),
    "pfn": ("tab:blue", "s-"), "hybrid": ("tab:green", "^-"),
    "hybrid_longitudinal": ("tab:olive", "^--"), "chain": ("tab:purple", "D-"),
    "hybrid_phi": ("tab:cyan", "v:"), "chain_phi": ("tab:pink", "D:"),
    "invariant_rotations": ("tab:brown", "o:"),
    "invariant_longitudinal_minimal": ("tab:gray", "o:"),
}


def detector_data(name: str, n_test: int, n_pool: int):
    """(X_test, y_test, X_pool, y_pool) measured by detector ``name``: the same true events
    for every detector (test: seed 0, pool: seed 1), smeared with seed 2 (test) and 3 (pool)."""
    X_test, y_test = make_dimuon_events(n_test, random_state=0)
    X_pool, y_pool = make_dimuon_events(n_pool, random_state=1)
    resolution = DETECTORS[name]
    X_test = MomentumSmearer(resolution, random_state=2).fit_transform(X_test)
    X_pool = MomentumSmearer(resolution, random_state=3).fit_transform(X_pool)
    return X_test, y_test, X_pool, y_pool


def limit_rows(detector: str, X_test, y_test, X_pool, y_pool) -> list[dict]:
    """The two limits of the test events (the pT weights of the discriminant from the pool,
    as a classifier's come from its training events)."""
    reweighter = PtReweighter().fit(X_pool, y_pool)
    rows = []
    for name, azimuthal in (("limit", False), ("limit_azimuthal", True)):
        cpu = time.process_time()
        score = optimal_discriminant(X_test, resolution=DETECTORS[detector],
                                     reweighter=reweighter, azimuthally_invariant=azimuthal)
        rows.append({"detector": detector, "model": name, "n_train": 0, "seed": -1,
                     "test_auc": weighted_roc_auc(y_test, score, X_test),
                     "cpu_s": time.process_time() - cpu})
    return rows


def mean_weights(est, X) -> dict:
    """A hybrid's mean symmetry factor per branch on ``X`` (``w_<branch>`` columns)."""
    if not hasattr(est, "symmetry_factor"):
        return {}
    weights = est.symmetry_factor(X).mean(axis=0)
    return {f"w_{branch}": float(w) for branch, w in zip(est.branches_, weights, strict=True)}


def run(detectors, sizes, seeds, models, n_test, n_pool, csv: Path) -> pd.DataFrame:
    rows = pd.read_csv(csv).to_dict("records") if csv.exists() else []
    have = {(r["detector"], r["model"], r["n_train"], r["seed"]) for r in rows}

    def save(row):
        rows.append(row)
        pd.DataFrame(rows).to_csv(csv, index=False)  # saved as it goes

    for detector in detectors:
        X_test, y_test, X_pool, y_pool = detector_data(detector, n_test, n_pool)
        if (detector, "limit", 0, -1) not in have:
            for row in limit_rows(detector, X_test, y_test, X_pool, y_pool):
                save(row)
                print(f"{detector}: {row['model']} {row['test_auc']:.4f} "
                      f"({row['cpu_s']:.0f} CPU s)", flush=True)
        for n in sizes:
            for seed in range(seeds):
                idx = np.random.default_rng(1000 + seed).choice(len(X_pool), n, replace=False)
                Xt, yt = X_pool[idx], y_pool[idx]
                w = PtReweighter().fit(Xt, yt).compute_sample_weight(Xt, yt)
                for model in models:
                    if (detector, model, n, seed) in have:
                        continue
                    cls, params, _ = MODELS[model]
                    est = cls(random_state=seed, **params)
                    cpu = time.process_time()
                    est.fit(Xt, yt, sample_weight=w)
                    cpu = time.process_time() - cpu
                    auc = weighted_roc_auc(y_test, est.predict_proba(X_test)[:, 1], X_test)
                    save({"detector": detector, "model": model, "n_train": n, "seed": seed,
                          "test_auc": auc, "cpu_s": cpu, "epochs": len(est.history),
                          "params": json.dumps(params, default=lambda s: s.name),
                          **mean_weights(est, X_test)})
                    print(f"{detector} n={n:6d} seed={seed} {model:24s} AUC {auc:.4f} "
                          f"({cpu:.1f} CPU s)", flush=True)
    return pd.DataFrame(rows)


def _cell(values: pd.Series) -> str:
    return f"{values.mean():.4f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.4f}"


def report(df: pd.DataFrame, stem: Path) -> str:
    lines = []
    for detector in [d for d in DETECTORS if d in set(df["detector"])]:
        d = df[df["detector"] == detector]
        limits = {m: float(d.loc[d["model"] == m, "test_auc"].iloc[0])
                  for m in LIMITS if m in set(d["model"])}
        fits = d[d["n_train"] > 0]
        models = [m for m in MODELS if m in set(fits["model"])]
        lines.append(f"### {DETECTOR_LABELS[detector]}\n")
        lines.append(
            f"pT-weighted test AUC, mean ± standard deviation over seeds ({N_TEST:,} test "
            f"events); Bayes-optimal limit {limits.get('limit', np.nan):.4f}, limit of "
            "classifiers invariant under rotations about the beam "
            f"{limits.get('limit_azimuthal', np.nan):.4f}.\n")
        table = (fits.groupby(["n_train", "model"])["test_auc"].apply(_cell)
                 .unstack()[models])
        seeds = fits.groupby("n_train")["seed"].nunique().rename("seeds")
        lines.append(pd.concat([seeds, table], axis=1).to_markdown() + "\n")
        lines.append("Each hybrid against the best of its own branches at each size (mean "
                     "difference ± standard error, paired by seed):\n")
        rows = []
        for model in models:
            branches = [b for b in MODELS[model][2] if b in models]
            if not branches:
                continue
            for n, at in fits.groupby("n_train"):
                means = at.groupby("model")["test_auc"].mean()
                best = max(branches, key=lambda b: means.get(b, -np.inf))
                a = at[at["model"] == model].set_index("seed")["test_auc"]
                b = at[at["model"] == best].set_index("seed")["test_auc"]
                diff = (a - b).dropna()
                if diff.empty:
                    continue
                se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
                rows.append({"model": model, "n_train": n, "best branch": best,
                             "lead": f"{diff.mean():+.4f} ± {se:.4f}"})
        if rows:
            lead = pd.DataFrame(rows).pivot(index="n_train", columns="model", values="lead")
            best = pd.DataFrame(rows).pivot(index="n_train", columns="model",
                                            values="best branch")
            lines.append(lead[[m for m in models if m in lead]].to_markdown() + "\n")
            lines.append("(the best branch: "
                         + "; ".join(f"{m}: {', '.join(f'{n:,} {b}' for n, b in best[m].items())}"
                                     for m in models if m in best) + ")\n")
        weights = [c for c in fits.columns if c.startswith("w_")]
        chains = fits[fits["model"].isin(["chain", "chain_phi"])]
        if weights and len(chains):
            mean = chains.groupby(["model", "n_train"])[weights].mean().dropna(axis=1,
                                                                             how="all")
            lines.append("Mean symmetry factor of each branch on the test events:\n")
            lines.append(mean.round(3).to_markdown() + "\n")
        cpu = fits.groupby(["n_train", "model"])["cpu_s"].median().unstack()[models]
        lines.append("Median CPU seconds of one fit (one thread; the machine was shared):\n")
        lines.append(cpu.round(1).to_markdown() + "\n")
    text = "\n".join(lines)
    stem.with_suffix(".md").write_text(text)
    _plot(df, stem.with_suffix(".png"))
    return text


def _plot(df: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    detectors = [d for d in DETECTORS if d in set(df["detector"])]
    fig, axes = plt.subplots(1, len(detectors), figsize=(6.5 * len(detectors) + 2.5, 4.8),
                             squeeze=False, sharey=True)
    for ax, detector in zip(axes[0], detectors, strict=True):
        d = df[df["detector"] == detector]
        fits = d[d["n_train"] > 0]
        for model in [m for m in MODELS if m in set(fits["model"])]:
            s = fits[fits["model"] == model].groupby("n_train")["test_auc"]
            color, style = STYLE[model]
            ax.errorbar(s.mean().index, s.mean(), yerr=s.std(ddof=1).fillna(0.0), fmt=style,
                        color=color, label=model, ms=4, capsize=2, lw=1.2)
        values = []
        for model, ls in (("limit", "-"), ("limit_azimuthal", "--")):
            value = d.loc[d["model"] == model, "test_auc"]
            if len(value):
                values.append(f"{float(value.iloc[0]):.4f}")
                ax.axhline(float(value.iloc[0]), color="black", ls=ls, lw=1,
                           label=LIMITS[model])
        ax.set_xscale("log")
        ax.set_xlabel("training events")
        ax.set_title(f"{DETECTOR_LABELS[detector]}\nlimits {' and '.join(values)}",
                     fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("pT-weighted test AUC")
    lo = df.loc[(df["n_train"] >= 2_000) | (df["n_train"] == 0), "test_auc"].min()
    axes[0][0].set_ylim(max(0.5, lo - 0.01), None)
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--detectors", nargs="+", choices=list(DETECTORS),
                        default=list(DETECTORS))
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--report", action="store_true",
                        help="only write the table and figure of the CSV")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that it runs")
    parser.add_argument("--output", default="benchmarks/results/symmetry_chain",
                        help="output stem (.csv, .md, .png)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    stem = Path(args.output)
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv = stem.with_suffix(".csv")
    n_test, n_pool = (2_000, 4_000) if args.quick else (N_TEST, N_POOL)
    if args.quick:
        args.sizes, args.seeds = [500, 1_000], 2
    if args.report:
        df = pd.read_csv(csv)
    else:
        df = run(args.detectors, args.sizes, args.seeds, args.models, n_test, n_pool, csv)
    print(report(df, stem))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
