"""Which collider variables let the tree separate the shared MadGraph file from the generator.

The companion of ``benchmarks/default_recipe_lhe.py``: the same signal (a MadGraph Z -> mu mu
LHE file), the same generated gamma* background (``--background boson_pt`` or ``lo``), 10 %
smearing and pT weights; the collider-variable tree (``hgb_collider``'s settings) fitted on
4,000 training events with all of its variables and without the pair's pT, its rapidity, the
muons' delta-phi and all three. Also printed: the medians of those variables per sample.

    python benchmarks/lhe_tree_variables.py \\
        ../shared/data/lhe/pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz

Writes ``benchmarks/results/lhe_tree_variables.md``.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedShuffleSplit

from sklearn_bsym.preprocessing import ColliderFeatures, PtReweighter, weighted_roc_auc
from sklearn_bsym.studies import MODEL_TABLE

try:
    from default_recipe_lhe import lhe_sample
except ImportError:  # run as a module
    from benchmarks.default_recipe_lhe import lhe_sample

DROPS = ([], ["pt_pair"], ["y_pair"], ["delta_phi_01"], ["pt_pair", "y_pair", "delta_phi_01"])
SHOWN = ("pt_pair", "y_pair", "delta_phi_01")


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("signal", help="LHE file of Z -> mu mu events")
    parser.add_argument("--n-train", type=int, default=4_000)
    parser.add_argument("--output", default="benchmarks/results/lhe_tree_variables.md")
    args = parser.parse_args(argv)
    lines = [f"The collider-variable tree on {Path(args.signal).name} against the generator's "
             f"gamma* ({args.n_train:,} training events, pT weights, 10 % smearing; pT-weighted "
             "test AUC on the rest).", ""]
    for background in ("boson_pt", "lo"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the file's events without a muon pair, counted
            X, y = lhe_sample(args.signal, background)
        features = ColliderFeatures().fit(X)
        F, names = features.transform(X), list(features.get_feature_names_out())
        medians = ", ".join(
            f"|{n}| {np.median(np.abs(F[y == 1, names.index(n)])):.2f} (signal) / "
            f"{np.median(np.abs(F[y == 0, names.index(n)])):.2f}" for n in SHOWN)
        lines += [f"**Background {background}.** Medians: {medians}.", "",
                  "| tree without | AUC |", "| --- | --- |"]
        train, test = next(StratifiedShuffleSplit(1, train_size=args.n_train,
                                                  random_state=args.n_train).split(X, y))
        w = PtReweighter().fit(X[train], y[train]).compute_sample_weight(X[train], y[train])
        for drop in DROPS:
            keep = [i for i, n in enumerate(names) if n not in drop]
            tree = HistGradientBoostingClassifier(**MODEL_TABLE["hgb_collider"].params,
                                                  random_state=0)
            tree.fit(F[train][:, keep], y[train], sample_weight=w)
            auc = weighted_roc_auc(y[test], tree.predict_proba(F[test][:, keep])[:, 1], X[test])
            lines.append(f"| {', '.join(drop) or '(all variables)'} | {auc:.4f} |")
        lines.append("")
    text = "\n".join(lines)
    Path(args.output).write_text(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
