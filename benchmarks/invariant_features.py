"""A tree on each symmetry's invariants: what the features of a symmetric classifier carry.

A HistGradientBoostingClassifier (early stopping, 3 seeds) on the features of
:class:`sklearn_bsym.preprocessing.SymmetryInvariants` for the Lorentz group, on
:func:`~sklearn_bsym.kinematics.longitudinal_invariants` alone (pT, masses, rapidity and azimuthal
differences), on both together (about the library's ``"longitudinal"`` symmetry, whose map adds
the Lorentz pair products and pair mass to them), and on the (not invariant) collider features
plus the azimuths, under the
paper's smearing (sigma = 0.1 pT) and under the azimuth-dependent
:class:`~sklearn_bsym.preprocessing.DetectorResolution` (strength 0.9). Test AUC, unweighted and
pT-weighted (PtReweighter weights fitted on the scored events), mean and std over the seeds.
Writes a CSV.

    python benchmarks/invariant_features.py                 # 100,000 training, 40,000 test events
    python benchmarks/invariant_features.py --quick         # 10,000 / 4,000, for a check
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.events import to_particles
from sklearn_bsym.preprocessing import (
    ColliderFeatures,
    DetectorResolution,
    MomentumSmearer,
    PtReweighter,
    SymmetryInvariants,
)


def _longitudinal(X):
    """kinematics' longitudinal invariants alone, on the log scale of SymmetryInvariants."""
    return kinematics.signed_log(kinematics.longitudinal_invariants(to_particles(X)))


def _lorentz(X):
    return SymmetryInvariants(symmetry="lorentz").fit_transform(X)


FEATURES = {
    "lorentz": _lorentz,
    "longitudinal": _longitudinal,
    "longitudinal+lorentz": lambda X: np.hstack([_longitudinal(X), _lorentz(X)]),
    "collider+phi": lambda X: np.hstack([ColliderFeatures().fit_transform(X),
                                         kinematics.phi(to_particles(X))]),
}
DETECTORS = {
    "r=0.1": 0.10,
    "r=0.1, phi strength 0.9": DetectorResolution(0.10, strength=0.9),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-test", type=int, default=40_000)
    parser.add_argument("--n-train", type=int, default=100_000)
    parser.add_argument("--n-seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10,000 training, 4,000 test")
    parser.add_argument("--output", type=Path, default=Path("invariant_features.csv"))
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_test, args.n_train = 4_000, 10_000
    X_test, y_test = make_dimuon_events(args.n_test, random_state=args.random_state)
    X_train, y_train = make_dimuon_events(args.n_train, random_state=args.random_state + 1)
    rows = []
    for detector_name, resolution in DETECTORS.items():
        smear = MomentumSmearer(resolution, random_state=args.random_state + 2)
        Xs_train, Xs_test = smear.fit_transform(X_train), smear.fit_transform(X_test)
        w = PtReweighter().fit(Xs_test, y_test).compute_sample_weight(Xs_test, y_test)
        for name, features in FEATURES.items():
            F_train, F_test = features(Xs_train), features(Xs_test)
            aucs, weighted = [], []
            # One thread: OpenMP threads on busy shared cores slow the trees down many times.
            with threadpool_limits(1):
                for seed in range(args.n_seeds):
                    tree = HistGradientBoostingClassifier(max_iter=500, early_stopping=True,
                                                          random_state=args.random_state + seed)
                    score = tree.fit(F_train, y_train).predict_proba(F_test)[:, 1]
                    aucs.append(roc_auc_score(y_test, score))
                    weighted.append(roc_auc_score(y_test, score, sample_weight=w))
            rows.append({"detector": detector_name, "features": name,
                         "n_features": F_train.shape[1], "auc_mean": np.mean(aucs),
                         "auc_std": np.std(aucs), "auc_pt_weighted_mean": np.mean(weighted),
                         "auc_pt_weighted_std": np.std(weighted), "n_seeds": args.n_seeds,
                         "n_train": args.n_train, "n_test": args.n_test})
            print(f"{detector_name}, {name}: done", flush=True)
    table = pd.DataFrame(rows)
    print(table.drop(columns=["n_seeds", "n_train", "n_test"])
          .to_string(index=False, float_format="%.4f"))
    table.to_csv(args.output, index=False)
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
