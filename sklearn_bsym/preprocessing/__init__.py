"""Transformers of events: detector smearing, pT reweighting, the invariants of a symmetry.

All of them are scikit-learn estimators working on the canonical event layout
(:mod:`sklearn_bsym.events`) and need no torch. A smeared, invariant-feature tree classifier,
scored leak-free with the pT-weighted AUC (weights fitted on each scored fold, from the
measured pT):

>>> from sklearn.ensemble import HistGradientBoostingClassifier
>>> from sklearn.model_selection import cross_val_score
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn_bsym.datasets import make_dimuon_events
>>> from sklearn_bsym.preprocessing import (
...     MinkowskiInvariants, MomentumSmearer, pt_weighted_roc_auc)
>>> X, y = make_dimuon_events(4000, random_state=0)
>>> model = make_pipeline(
...     MomentumSmearer(0.10, random_state=0),
...     MinkowskiInvariants(),
...     HistGradientBoostingClassifier(),
... )
>>> scores = cross_val_score(model, X, y, cv=3, scoring=pt_weighted_roc_auc)
>>> bool(0.7 < scores.mean() < 0.8)  # 0.75 with the newest versions, 0.74 at the floors
True
"""

from __future__ import annotations

from ._invariants import (
    ColliderFeatures,
    DimuonFeatures,
    MinkowskiInvariants,
    SymmetryInvariants,
)
from ._reweighting import (
    PtReweightedClassifier,
    PtReweighter,
    pt_weighted_roc_auc,
    roc_auc_contributions,
    signal_score,
    split_measurement,
    weighted_roc_auc,
)
from ._smearing import (
    DetectorResolution,
    MomentumSmearer,
    check_resolution,
    is_detector_model,
    is_zero_resolution,
    relative_resolution,
)

__all__ = [
    "MomentumSmearer",
    "DetectorResolution",
    "relative_resolution",
    "check_resolution",
    "is_detector_model",
    "is_zero_resolution",
    "PtReweighter",
    "PtReweightedClassifier",
    "pt_weighted_roc_auc",
    "weighted_roc_auc",
    "roc_auc_contributions",
    "signal_score",
    "split_measurement",
    "MinkowskiInvariants",
    "SymmetryInvariants",
    "DimuonFeatures",
    "ColliderFeatures",
]
