"""The Bayes-optimal limit against the strength of a detector that breaks the azimuthal symmetry.

For each strength s of :class:`sklearn_bsym.preprocessing.DetectorResolution` (sigma/pT = r (1 +
s cos(k phi)) (1 + endcap eta^2), r = 0.10 by default): generate events (LO), smear them, and
report on the test events the AUC of

- ``limit``: the exact likelihood ratio (:func:`sklearn_bsym.optimal.optimal_discriminant`
  with the detector), the best any classifier can do;
- ``limit_azimuthal``: the best among classifiers invariant under rotations about the beam
  (``azimuthally_invariant=True``): the ceiling of a network with that symmetry (and an upper
  bound on the ceiling of one invariant under the whole longitudinal group);
- ``phi_blind``: the likelihood ratio that assumes the constant resolution r (what the limit
  was before the detector depended on phi);
- ``hgb_phi``: a HistGradientBoostingClassifier on the collider features plus both muons'
  azimuths (it can learn where the detector is good), trained on separate events;
- ``hgb_longitudinal``: the same tree on the longitudinal and Lorentz invariants
  (:class:`~sklearn_bsym.preprocessing.SymmetryInvariants`): invariant under rotations about
  the beam and boosts along it;

each unweighted and pT-weighted (PtReweighter weights fitted on the scored events, the
discriminants of the weighted problem), with the Hanley-McNeil standard error of the limit's AUC.
Writes a CSV and a PNG.

    python benchmarks/optimal_breaking.py                  # 40,000 test, 100,000 training events
    python benchmarks/optimal_breaking.py --quick          # 4,000 / 10,000, for a check
    python benchmarks/optimal_breaking.py --endcap 0.16 --output optimal_breaking_endcap.csv
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.events import to_particles
from sklearn_bsym.optimal import class_acceptance, optimal_discriminant
from sklearn_bsym.preprocessing import (
    ColliderFeatures,
    DetectorResolution,
    MomentumSmearer,
    PtReweighter,
    SymmetryInvariants,
)

STRENGTHS = [0.0, 0.25, 0.5, 0.75, 0.9]


def _auc_error(auc, n_pos, n_neg):
    """Hanley-McNeil standard error of an AUC."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)
    return float(np.sqrt(var / (n_pos * n_neg)))


def _with_phi(X):
    return np.hstack([ColliderFeatures().fit_transform(X), kinematics.phi(to_particles(X))])


def _invariants(X):
    # kinematics' longitudinal invariants and the Lorentz ones (the library's "longitudinal"
    # symmetry holds them all, the squared masses once)
    return np.hstack([kinematics.signed_log(kinematics.longitudinal_invariants(to_particles(X))),
                      SymmetryInvariants(symmetry="lorentz").fit_transform(X)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-test", type=int, default=40_000)
    parser.add_argument("--n-train", type=int, default=100_000, help="HGB training events")
    parser.add_argument("--quick", action="store_true", help="4,000 test, 10,000 training")
    parser.add_argument("--resolution", type=float, default=0.10)
    parser.add_argument("--phi-periods", type=int, default=1)
    parser.add_argument("--endcap", type=float, default=0.0)
    parser.add_argument("--output", type=Path, default=Path("optimal_breaking.csv"))
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_test, args.n_train = 4_000, 10_000

    X_test, y_test = make_dimuon_events(args.n_test, random_state=args.random_state)
    X_train, y_train = make_dimuon_events(args.n_train, random_state=args.random_state + 1)
    class_acceptance(0), class_acceptance(1)  # one-time integrals
    n_pos, n_neg = int(y_test.sum()), int((1 - y_test).sum())
    rows = []
    for strength in STRENGTHS:
        detector = DetectorResolution(args.resolution, strength=strength,
                                      phi_periods=args.phi_periods, endcap=args.endcap)
        smear = MomentumSmearer(detector, random_state=args.random_state + 2)
        Xs_test, Xs_train = smear.fit_transform(X_test), smear.fit_transform(X_train)
        start = time.perf_counter()
        scores = {"limit": optimal_discriminant(Xs_test, resolution=detector)}
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        scores["limit_azimuthal"] = optimal_discriminant(Xs_test, resolution=detector,
                                                         azimuthally_invariant=True)
        seconds_azimuthal = time.perf_counter() - start
        scores["phi_blind"] = optimal_discriminant(Xs_test, resolution=args.resolution)
        # One thread: OpenMP threads on busy shared cores slow the trees down many times.
        with threadpool_limits(1):
            for name, features in (("hgb_phi", _with_phi), ("hgb_longitudinal", _invariants)):
                tree = HistGradientBoostingClassifier(max_iter=500, early_stopping=True,
                                                      random_state=args.random_state)
                tree.fit(features(Xs_train), y_train)
                scores[name] = tree.predict_proba(features(Xs_test))[:, 1]
        rw = PtReweighter().fit(Xs_test, y_test)
        w = rw.compute_sample_weight(Xs_test, y_test)
        # the discriminants of the weighted problem: log p_s / p_b - log w(x)
        log_w = np.log(np.maximum(rw.density_ratio(Xs_test), np.finfo(np.float64).tiny))
        row = {"strength": strength, "resolution": args.resolution,
               "phi_periods": args.phi_periods, "endcap": args.endcap}
        for name, score in scores.items():
            weighted = score - log_w if name in ("limit", "limit_azimuthal", "phi_blind") \
                else score
            row[f"{name}_auc"] = roc_auc_score(y_test, score)
            row[f"{name}_auc_pt_weighted"] = roc_auc_score(y_test, weighted, sample_weight=w)
        row["limit_auc_error"] = _auc_error(row["limit_auc"], n_pos, n_neg)
        row.update({f"seconds_limit_{args.n_test}": seconds,
                    f"seconds_limit_azimuthal_{args.n_test}": seconds_azimuthal,
                    "n_test": args.n_test, "n_train_hgb": args.n_train})
        rows.append(row)
        print(f"strength {strength}: done ({seconds:.0f} s + {seconds_azimuthal:.0f} s)",
              flush=True)
    table = pd.DataFrame(rows)
    shown = ["strength"] + [c for c in table.columns if c.endswith("_auc")]
    print(table[shown].to_string(index=False, float_format="%.4f"))
    print(table[["strength"] + [c for c in table.columns if c.endswith("_pt_weighted")]]
          .to_string(index=False, float_format="%.4f"))
    table.to_csv(args.output, index=False)
    print(f"\nwrote {args.output}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return 0
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
    labels = {"limit": "Bayes-optimal limit",
              "limit_azimuthal": "limit of azimuthally invariant classifiers",
              "phi_blind": "likelihood ratio blind to phi (constant r)",
              "hgb_phi": f"HGB, collider features + phi ({args.n_train:,} train)",
              "hgb_longitudinal": "HGB, longitudinal + Lorentz invariants"}
    styles = {"limit": "o-", "limit_azimuthal": "o--", "phi_blind": "^:", "hgb_phi": "s-",
              "hgb_longitudinal": "s--"}
    for ax, suffix, title in ((axes[0], "_auc", "unweighted"),
                              (axes[1], "_auc_pt_weighted", "pT-weighted")):
        for name, label in labels.items():
            ax.plot(table.strength, table[name + suffix], styles[name], label=label)
        ax.set_title(f"test AUC, {title}", fontsize=10)
        ax.set_xlabel(f"strength s: sigma/pT = {args.resolution:g} (1 + s cos "
                      f"{'' if args.phi_periods == 1 else args.phi_periods}phi)"
                      + (f" (1 + {args.endcap:g} eta^2)" if args.endcap else ""))
    axes[0].set_ylabel("test AUC")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.output.with_suffix(".png"), dpi=120)
    print(f"wrote {args.output.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
