"""Neural networks: torch modules and the scikit-learn/skorch classifiers built on them."""

from __future__ import annotations

from ._classifiers import HybridClassifier, InvariantClassifier, PFNClassifier
from ._ensemble import EnsembleClassifier
from ._lgatr import LGATrClassifier, LGATrNetwork, lgatr_available
from ._modules import (
    CONTEXTS,
    PARTICLE_INPUTS,
    POOLINGS,
    HybridNetwork,
    InvariantNetwork,
    ParticleFlowNetwork,
    make_mlp,
    momentum_inputs,
    n_invariants,
)
from ._recipes import PRESETS
from ._stacking import (
    EnsembleBatchNorm1d,
    EnsembleLinear,
    EnsembleSequential,
    stack_modules,
    unstack_module,
)
from ._symmetry import plot_symmetry_factor, symmetry_factor_table

#: The single-network classifiers (skorch classifiers of one torch network each): what a model
#: file stores as a network, what exports to ONNX, and what an
#: :class:`EnsembleClassifier` holds as members.
NETWORK_CLASSIFIERS = (PFNClassifier, InvariantClassifier, HybridClassifier, LGATrClassifier)

__all__ = [
    "EnsembleClassifier",
    "stack_modules",
    "unstack_module",
    "EnsembleLinear",
    "EnsembleBatchNorm1d",
    "EnsembleSequential",
    "PRESETS",
    "PFNClassifier",
    "InvariantClassifier",
    "HybridClassifier",
    "LGATrClassifier",
    "NETWORK_CLASSIFIERS",
    "LGATrNetwork",
    "lgatr_available",
    "symmetry_factor_table",
    "plot_symmetry_factor",
    "CONTEXTS",
    "PARTICLE_INPUTS",
    "POOLINGS",
    "HybridNetwork",
    "InvariantNetwork",
    "ParticleFlowNetwork",
    "make_mlp",
    "momentum_inputs",
    "n_invariants",
]
