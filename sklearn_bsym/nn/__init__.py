"""Neural networks: torch modules and the scikit-learn/skorch classifiers built on them."""

from __future__ import annotations

from ._classifiers import PRESETS, HybridClassifier, InvariantClassifier, PFNClassifier
from ._ensemble import (
    EnsembleBatchNorm1d,
    EnsembleClassifier,
    EnsembleLinear,
    EnsembleSequential,
    fit_ensemble_members,
    stack_modules,
    unstack_module,
)
from ._modules import (
    CONTEXTS,
    POOLINGS,
    HybridNetwork,
    InvariantNetwork,
    ParticleFlowNetwork,
    make_mlp,
    n_invariants,
)
from ._symmetry import plot_symmetry_factor, symmetry_factor_table

__all__ = [
    "EnsembleClassifier",
    "fit_ensemble_members",
    "stack_modules",
    "unstack_module",
    "EnsembleLinear",
    "EnsembleBatchNorm1d",
    "EnsembleSequential",
    "PRESETS",
    "PFNClassifier",
    "InvariantClassifier",
    "HybridClassifier",
    "symmetry_factor_table",
    "plot_symmetry_factor",
    "CONTEXTS",
    "POOLINGS",
    "HybridNetwork",
    "InvariantNetwork",
    "ParticleFlowNetwork",
    "make_mlp",
    "n_invariants",
]
