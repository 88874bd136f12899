"""The one table of the study's models and network presets: CLI, study, report and figures.

Each entry knows how to build its estimator (:meth:`ModelSpec.build`, the classes named by
dotted path and imported on use) and what it can do (:class:`ModelTags`, in the spirit of
scikit-learn's estimator tags); the study, its report, its figures and the benchmarks read
those, never a model's name. Importing this module is cheap (no torch, no scikit-learn), so
``python -m sklearn_bsym --help`` can list the models without loading them.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ModelTags",
    "ModelSpec",
    "MODEL_TABLE",
    "MODELS",
    "DEFAULT_MODELS",
    "NETWORKS",
    "NETWORK_PRESETS",
    "SYMMETRY_NAMES",
    "CEILING",
    "CEILINGS",
    "AZIMUTHAL_CEILING",
    "with_role",
    "make_model",
]

#: The estimator that averages members: the one ensemble of the study, for an averaged model
#: (``hybrid_x5``) and for the seeds of a point trained together (``--ensemble``).
_ENSEMBLE = "sklearn_bsym.nn.EnsembleClassifier"


@dataclass(frozen=True)
class ModelTags:
    """What a model of the study can do; the study reads these, never the model's name.

    Attributes
    ----------
    ceiling : bool
        The Bayes-optimal line: computed from the generator's densities, not trained.
    torch : bool
        Trains torch networks (the study gives them the preset and epoch cap, and limits
        torch's threads).
    epochs : bool
        Records a validation AUC per epoch (the epoch curves, Fig. 4).
    symmetry_factor : bool
        Has a symmetry-factor table (Fig. 5).
    validation_share : bool
        Holds out the study's ``validation_fraction`` of its training subset (epoch selection
        or early stopping).
    seeds_together : bool
        The seeds of a point can train as one ensemble (``--ensemble``).
    symmetric : bool
        Has the study's symmetry built in (``config.symmetry`` is its ``symmetry``).
    azimuthal : bool
        (A ceiling) the best AUC of a classifier invariant under rotations about the beam;
        it differs from the Bayes-optimal line only where the detector's resolution depends
        on the azimuth, so it is computed only there.
    """

    ceiling: bool = False
    torch: bool = False
    epochs: bool = False
    symmetry_factor: bool = False
    validation_share: bool = False
    seeds_together: bool = False
    symmetric: bool = False
    azimuthal: bool = False


_NETWORK = ModelTags(torch=True, epochs=True, validation_share=True, seeds_together=True)
_SYMMETRIC_NETWORK = dataclasses.replace(_NETWORK, symmetric=True)
_HYBRID = dataclasses.replace(_SYMMETRIC_NETWORK, symmetry_factor=True)
#: The chain hybrid of the study: a general, a Lorentz and a longitudinal branch
#: (``benchmarks/symmetry_chain.py``).
CHAIN_PARAMS = {"symmetry": ("lorentz", "longitudinal")}


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
    estimator : str or None
        Dotted path of its estimator class (imported when built); None for the ceiling.
    tags : ModelTags
        What it can do.
    role : {"general", "invariant", "hybrid", "chain", "reference"} or None
        Its part in the paper's comparison: the general network, the invariant one, the hybrid
        (whose lead over the other two the resolution scan draws), the chain hybrid, the
        trained reference line.
    default : bool
        Whether a study runs it when no models are named (an average costs several fits).
    members : int
        Networks averaged (:class:`~sklearn_bsym.nn.EnsembleClassifier`); they are the model
        ``base``, so configured.
    base : str or None
        The model that an average is made of.
    features : str or None
        Dotted path of a transformer put before the estimator (its input features).
    params : dict
        Fixed keyword arguments of the estimator.
    marker : str
        Its matplotlib marker on figures.
    requires : str or None
        An optional package its estimator needs (its import name; the extra of the same
        name installs it): a study that names the model without it is refused at once
        (:meth:`check_available`).
    """

    name: str
    label: str
    colour: str
    estimator: str | None
    tags: ModelTags = ModelTags()
    role: str | None = None
    default: bool = True
    members: int = 1
    base: str | None = None
    features: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    marker: str = "o"
    requires: str | None = None

    @property
    def available(self) -> bool:
        """Whether the optional package the model needs (if any) can be imported; found
        without importing it."""
        return self.requires is None or importlib.util.find_spec(self.requires) is not None

    def check_available(self) -> None:
        """Raise a one-line ValueError naming the extra to install when the model's optional
        package is missing."""
        if not self.available:
            raise ValueError(
                f"Model {self.name!r} needs the optional package {self.requires}, which is not "
                f"installed: pip install 'sklearn-bsym[{self.requires}]' (or leave "
                f"{self.name!r} out of --models)."
            )

    @property
    def average(self) -> bool:
        """Whether the model is an average of ``members`` networks."""
        return self.members > 1

    def build(self, config, random_state):
        """The unfitted estimator of this model in study ``config``, before smearing and
        reweighting.

        ``random_state`` is the model's seed, or a sequence of seeds: then the seeds' fits as
        one :class:`~sklearn_bsym.nn.EnsembleClassifier`, member ``k`` the fit with seed
        ``k``. Networks get the config's preset and epoch cap, models with a validation share
        the config's ``validation_fraction``, and ``config.model_params[name]`` on top; an
        average's members are its ``base`` model so configured, with the average's own
        ``model_params`` on top of the base's.
        """
        if isinstance(random_state, Sequence):
            seeds = [int(s) for s in random_state]
            return _load(_ENSEMBLE)(self.build(config, seeds[0]), n_members=len(seeds),
                                    random_state=seeds)
        return self._build(config, random_state, dict(config.model_params.get(self.name, {})))

    def _build(self, config, random_state, extra: dict[str, Any]):
        if self.average:
            base = MODEL_TABLE[self.base]
            template = base._build(config, random_state,
                                   {**config.model_params.get(base.name, {}), **extra})
            return _load(self.estimator)(template, n_members=self.members,
                                         random_state=random_state)
        params: dict[str, Any] = {"random_state": random_state}
        if self.tags.symmetric and config.symmetry != "lorentz":
            params["symmetry"] = config.symmetry
        if self.tags.torch:
            params.update(preset=config.preset, verbose=0)
            if config.max_epochs is not None:
                params["max_epochs"] = config.max_epochs
        if self.tags.validation_share:
            params["validation_fraction"] = config.validation_fraction
        params.update(extra)
        return self.make(**params)

    def make(self, **params):
        """The estimator with its class's defaults, the entry's fixed ``params`` and ``params``
        on top (none of the study's settings), after its ``features`` transformer if it has
        one: the model as a user builds it."""
        if self.estimator is None:
            raise ValueError(f"{self.name!r} is not trained; no estimator to build.")
        self.check_available()
        estimator = _load(self.estimator)(**{**self.params, **params})
        if self.features is None:
            return estimator
        from sklearn.pipeline import make_pipeline

        return make_pipeline(_load(self.features)(), estimator)


def _load(path: str):
    """The object named by a dotted path, ``"package.module.Name"``."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


#: The strongest conventional classifier a physicist would build: a gradient-boosted tree on the
#: standard collider variables with early stopping; its settings were chosen by a grid over
#: learning rate, leaves and iterations at 2,000 to 80,000 events
#: (``benchmarks/default_recipe.py --grid hgb_collider ...``).
_COLLIDER_TREE = {"early_stopping": True, "learning_rate": 0.03, "max_leaf_nodes": 7,
                  "max_iter": 1000}

#: Every model, in the order of tables and legends.
MODEL_TABLE: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("pfn", "PFN (general)", "tab:blue", "sklearn_bsym.nn.PFNClassifier",
                  _NETWORK, role="general"),
        ModelSpec("invariant", "invariant", "tab:orange", "sklearn_bsym.nn.InvariantClassifier",
                  _SYMMETRIC_NETWORK, role="invariant"),
        ModelSpec("hybrid", "hybrid", "tab:green", "sklearn_bsym.nn.HybridClassifier",
                  _HYBRID, role="hybrid"),
        ModelSpec("chain", "chain hybrid (general, Lorentz, longitudinal)", "tab:pink",
                  "sklearn_bsym.nn.HybridClassifier",
                  dataclasses.replace(_HYBRID, symmetric=False), role="chain",
                  default=False, params=dict(CHAIN_PARAMS), marker="D"),
        ModelSpec("hybrid_x5", "5 hybrids averaged", "tab:purple", _ENSEMBLE,
                  ModelTags(torch=True, validation_share=True), default=False, members=5,
                  base="hybrid"),
        ModelSpec("hgb", "HGB on (m, pT1, pT2)", "tab:gray",
                  "sklearn.ensemble.HistGradientBoostingClassifier",
                  ModelTags(validation_share=True),
                  features="sklearn_bsym.preprocessing.DimuonFeatures",
                  params={"early_stopping": True}, marker="s"),
        ModelSpec("hgb_collider", "HGB on collider variables", "tab:brown",
                  "sklearn.ensemble.HistGradientBoostingClassifier",
                  ModelTags(validation_share=True), role="reference",
                  features="sklearn_bsym.preprocessing.ColliderFeatures",
                  params=dict(_COLLIDER_TREE), marker="D"),
        # The strongest neural peer: L-GATr with the beam plane and time direction as spurions
        # (the optional extra lgatr); its fits cost a hundred times the hybrid's, and its
        # modules do not stack, so its seeds always train one by one.
        ModelSpec("lgatr", "L-GATr (spurions)", "tab:red", "sklearn_bsym.nn.LGATrClassifier",
                  ModelTags(torch=True, epochs=True, validation_share=True), default=False,
                  marker="^", requires="lgatr"),
        ModelSpec("optimal", "Bayes optimal", "black", None, ModelTags(ceiling=True)),
        ModelSpec("optimal_azimuthal", "Bayes optimal, invariant under rotations about the beam",
                  "dimgray", None, ModelTags(ceiling=True, azimuthal=True), default=False),
    )
}
#: Every model name a study accepts.
MODELS = tuple(MODEL_TABLE)
#: The models a study runs when none are named.
DEFAULT_MODELS = tuple(name for name, spec in MODEL_TABLE.items() if spec.default)
#: The three networks of the paper (single networks with a part in its comparison).
NETWORKS = tuple(
    name for name, spec in MODEL_TABLE.items()
    if spec.tags.torch and not spec.average and spec.role in ("general", "invariant", "hybrid")
)
#: The Bayes-optimal ceiling's name.
CEILING = next(name for name, spec in MODEL_TABLE.items()
               if spec.tags.ceiling and not spec.tags.azimuthal)
#: The ceiling of classifiers invariant under rotations about the beam.
AZIMUTHAL_CEILING = next(name for name, spec in MODEL_TABLE.items() if spec.tags.azimuthal)
#: Every ceiling (not trained).
CEILINGS = (CEILING, AZIMUTHAL_CEILING)
#: The symmetries a study may build into its networks (the names of
#: :data:`sklearn_bsym.symmetries.SYMMETRIES`; a test checks that they agree, so the command
#: line can offer them without importing the networks).
SYMMETRY_NAMES = ("lorentz", "longitudinal")


def with_role(role: str) -> str | None:
    """The name of the model that plays ``role`` (see :class:`ModelSpec`), None if none does."""
    return next((name for name, spec in MODEL_TABLE.items() if spec.role == role), None)


#: Names of the network presets (the keys of :data:`sklearn_bsym.nn.PRESETS`; a test checks that
#: they agree, so the command line can offer them without importing torch).
NETWORK_PRESETS = ("fast", "paper")


def make_model(name: str, config, random_state):
    """The unfitted classifier ``name`` of a study, before smearing and reweighting
    (:meth:`ModelSpec.build` of its entry in :data:`MODEL_TABLE`).

    Networks get the config's preset, epoch cap and validation fraction (epoch selection on
    their own training subset); ``hybrid_x5`` is an :class:`~sklearn_bsym.nn.EnsembleClassifier`
    of the hybrid so configured (its own ``model_params`` override the hybrid's), members
    seeded from ``random_state``, probabilities averaged; ``"hgb"`` is a histogram
    gradient-boosted tree on the physics features (dimuon mass and the two muon pTs) with
    early stopping on the same share. A sequence of seeds gives their fits as one ensemble.
    """
    spec = MODEL_TABLE.get(name)
    if spec is None or spec.estimator is None:
        trainable = [n for n, s in MODEL_TABLE.items() if s.estimator is not None]
        raise ValueError(f"No trainable model named {name!r}; choose from {trainable}.")
    return spec.build(config, random_state)

