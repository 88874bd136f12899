"""The one table of the study's models and network presets: CLI, study, report and figures.

Importing this module is cheap (no torch, no scikit-learn), so ``python -m sklearn_bsym --help``
can list the models without loading them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ModelSpec",
    "MODEL_TABLE",
    "MODELS",
    "DEFAULT_MODELS",
    "NETWORKS",
    "NETWORK_PRESETS",
    "make_model",
]


@dataclass(frozen=True)
class ModelSpec:
    """One model of the study.

    Attributes
    ----------
    name : str
        The name used on the command line, in fit keys and in every table.
    label : str
        Its name on figures.
    colour : str
        Its matplotlib colour on figures.
    kind : {"network", "average", "reference", "ceiling"}
        A network of the paper, the average of several networks of one kind trained together
        (:class:`~sklearn_bsym.nn.EnsembleClassifier`), a trained reference, or the
        Bayes-optimal ceiling (no training).
    default : bool
        Whether a study runs it when no models are named (an average costs several fits).
    members : int
        Networks averaged (``kind="average"``); they are of the kind ``base``.
    base : str or None
        The network that an average is made of.
    """

    name: str
    label: str
    colour: str
    kind: str
    default: bool = True
    members: int = 1
    base: str | None = None


#: Every model, in the order of tables and legends.
MODEL_TABLE: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("pfn", "PFN (general)", "tab:blue", "network"),
        ModelSpec("invariant", "invariant", "tab:orange", "network"),
        ModelSpec("hybrid", "hybrid", "tab:green", "network"),
        ModelSpec("hybrid_x5", "5 hybrids averaged", "tab:purple", "average", default=False,
                  members=5, base="hybrid"),
        ModelSpec("hgb", "HGB on (m, pT1, pT2)", "tab:gray", "reference"),
        ModelSpec("optimal", "Bayes optimal", "black", "ceiling"),
    )
}
#: Every model name a study accepts.
MODELS = tuple(MODEL_TABLE)
#: The models a study runs when none are named.
DEFAULT_MODELS = tuple(name for name, spec in MODEL_TABLE.items() if spec.default)
#: The three networks of the paper.
NETWORKS = tuple(name for name, spec in MODEL_TABLE.items() if spec.kind == "network")
#: Names of the network presets (the keys of :data:`sklearn_bsym.nn.PRESETS`; a test checks that
#: they agree, so the command line can offer them without importing torch).
NETWORK_PRESETS = ("fast", "paper")

_NETWORK_CLASSES = {
    "pfn": "PFNClassifier",
    "invariant": "InvariantClassifier",
    "hybrid": "HybridClassifier",
}


def make_model(name: str, config, random_state: int):
    """The unfitted classifier ``name`` of a study, before smearing and reweighting.

    Networks get the config's preset, epoch cap and validation fraction (epoch selection on
    their own training subset); an ``"average"`` (``hybrid_x5``) is an
    :class:`~sklearn_bsym.nn.EnsembleClassifier` of its base network so configured (its own
    ``model_params`` override the base network's), members seeded from ``random_state``,
    probabilities averaged; ``"hgb"`` is a histogram gradient-boosted tree on the physics
    features (dimuon mass and the two muon pTs) with early stopping on the same share.
    """
    extra: dict[str, Any] = dict(config.model_params.get(name, {}))
    spec = MODEL_TABLE.get(name)
    if spec is not None and spec.kind == "average":
        from dataclasses import replace

        from ..nn import EnsembleClassifier

        base_params = {**config.model_params.get(spec.base, {}), **extra}
        base_config = replace(config, model_params={**config.model_params,
                                                     spec.base: base_params})
        template = make_model(spec.base, base_config, random_state)
        return EnsembleClassifier(template, n_members=spec.members, random_state=random_state)
    if spec is not None and spec.kind == "network":
        from .. import nn

        cls = getattr(nn, _NETWORK_CLASSES[name])
        params: dict[str, Any] = {
            "preset": config.preset,
            "random_state": random_state,
            "verbose": 0,
        }
        if config.max_epochs is not None:
            params["max_epochs"] = config.max_epochs
        if "validation_fraction" in cls().get_params():
            params["validation_fraction"] = config.validation_fraction
        params.update(extra)
        return cls(**params)
    if name == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.pipeline import make_pipeline

        from ..preprocessing import DimuonFeatures

        params = {
            "early_stopping": True,
            "validation_fraction": config.validation_fraction,
            "random_state": random_state,
        }
        params.update(extra)
        return make_pipeline(DimuonFeatures(), HistGradientBoostingClassifier(**params))
    trainable = [n for n, s in MODEL_TABLE.items() if s.kind != "ceiling"]
    raise ValueError(f"No trainable model named {name!r}; choose from {trainable}.")
