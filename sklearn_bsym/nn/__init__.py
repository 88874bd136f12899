"""Neural networks: torch modules and the scikit-learn/skorch classifiers built on them."""

from __future__ import annotations

from ._modules import (
    CONTEXTS,
    POOLINGS,
    HybridNetwork,
    InvariantNetwork,
    ParticleFlowNetwork,
    make_mlp,
    n_invariants,
)

__all__ = [
    "CONTEXTS",
    "POOLINGS",
    "HybridNetwork",
    "InvariantNetwork",
    "ParticleFlowNetwork",
    "make_mlp",
    "n_invariants",
]
