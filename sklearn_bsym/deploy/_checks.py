"""The objects of a model file checked against the model they belong to, before any of them
computes: which estimators a model file may hold, their parameters, their widths, the trees of a
gradient-boosted tree (every node index inside its node array, every feature index inside its
inputs), a network's sizes and weights against a network built on torch's ``"meta"`` device
(shapes only: nothing allocated), and last a prediction on two generated events that must give
finite probabilities.

Each check raises :class:`Unfit` with the reason, in words, for the one-line
:class:`~sklearn_bsym.deploy.ModelFileError` of :func:`~sklearn_bsym.deploy.load_model`.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator

from ._archive import shown

__all__ = ["MAX_FEATURES", "Unfit", "library_types", "estimators_of", "foreign_types",
           "check_objects", "check_network_fitted", "check_network_state", "check_predicts"]

#: Widest input of an estimator in a model file: 64 particles of 4 columns (the networks'
#: pairwise invariants grow as the square of the particles).
MAX_FEATURES = 256
#: scikit-learn's estimators that a model of this library holds: pipelines, the
#: gradient-boosted tree of the study's references (its binning and its classes' encoder
#: inside; its trees are checked node by node), and estimators whose predictions are NumPy
#: arithmetic that checks its shapes (PtReweightedClassifier's default, a scaler).
_SKLEARN_ESTIMATORS = (
    "sklearn.pipeline.Pipeline",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.preprocessing._data.StandardScaler",
)
# The devices a saved network may name (cuda falls back to the CPU where it is missing).
_DEVICE = re.compile(r"^(cpu|auto|mps|cuda(:\d+)?)$")


class Unfit(ValueError):
    """A loaded object that does not fit the model it belongs to; the message is the reason."""


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _library_classes() -> list[type]:
    """The public classes of :mod:`~sklearn_bsym.nn`, :mod:`~sklearn_bsym.optimal` and
    :mod:`~sklearn_bsym.preprocessing` (from their ``__all__``: a new one counts as soon as it
    is public)."""
    from .. import nn, optimal, preprocessing

    return [obj for module in (nn, optimal, preprocessing) for obj in
            (getattr(module, public) for public in module.__all__) if isinstance(obj, type)]


def _is_parameter_object(cls: type) -> bool:
    """A parameter of an estimator that is an object of its own, with scikit-learn's
    ``get_params`` and a ``validate`` of its parameters (a detector model,
    :class:`~sklearn_bsym.preprocessing.DetectorResolution`)."""
    return (not issubclass(cls, BaseEstimator) and callable(getattr(cls, "get_params", None))
            and callable(getattr(cls, "validate", None)))


def library_types() -> set[str]:
    """The types of this library a model file may hold: its public estimators and parameter
    objects."""
    return {_name(c) for c in _library_classes()
            if issubclass(c, BaseEstimator) or _is_parameter_object(c)}


def _allowed() -> set[str]:
    """The estimator types a model file may hold: this library's public estimators and
    ``_SKLEARN_ESTIMATORS``."""
    return set(_SKLEARN_ESTIMATORS) | {_name(c) for c in _library_classes()
                                       if issubclass(c, BaseEstimator)}


def _parameter_types() -> set[type]:
    return {c for c in _library_classes() if _is_parameter_object(c)}


def _is_network(obj) -> bool:
    from ..nn import NETWORK_CLASSIFIERS

    return isinstance(obj, NETWORK_CLASSIFIERS)


def estimators_of(obj):
    """``(estimator, where)`` for every estimator inside ``obj`` (itself included), found
    through attributes, lists, tuples and dicts; a network or a parameter object (see
    :func:`_is_parameter_object`) is yielded, not looked inside."""
    stack, seen, parameters = [(obj, type(obj).__name__)], set(), tuple(_parameter_types())
    while stack:
        item, where = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, BaseEstimator) or _is_network(item) or isinstance(item, parameters):
            yield item, where
            if not isinstance(item, BaseEstimator):
                continue
            children = [(v, f"{where}.{k}") for k, v in vars(item).items() if k != "steps"]
            steps = vars(item).get("steps")
            if isinstance(steps, list):  # a pipeline's steps by their names
                children += [(s[1], f"{where}[{s[0]!r}]") if _pair(s) else (s, f"{where}.steps")
                             for s in steps]
        elif isinstance(item, list | tuple):
            children = [(v, f"{where}[{i}]") for i, v in enumerate(item)]
        elif isinstance(item, dict):
            children = [(v, f"{where}[{k!r}]") for k, v in item.items()]
        else:
            continue
        stack.extend(reversed(children))


def _pair(step) -> bool:
    return isinstance(step, tuple) and len(step) == 2 and isinstance(step[0], str)


def foreign_types(obj) -> list[str]:
    """The estimator types inside ``obj`` that a model file does not hold, sorted."""
    allowed = _allowed()
    return sorted({_name(type(e)) for e, _ in estimators_of(obj)
                   if isinstance(e, BaseEstimator) and _name(type(e)) not in allowed})


def check_objects(model) -> None:
    """Check every estimator inside the loaded ``model`` (its networks were checked as they
    were built): its type, its parameters (scikit-learn's constraints), its width, and a
    gradient-boosted tree's trees."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    allowed = _allowed()
    for est, where in estimators_of(model):
        if _is_network(est):
            continue
        if not isinstance(est, BaseEstimator):  # a parameter object: its own check
            try:
                est.validate()
            except Exception as exc:
                raise Unfit(f"its {where} has parameters its class refuses "
                            f"({' '.join(str(exc).split())[:300]})") from None
            continue
        name = _name(type(est))
        if name not in allowed:
            raise Unfit(f"it holds a {name} ({where}), which no model of this library holds")
        try:
            if hasattr(type(est), "_parameter_constraints"):
                est._validate_params()
            if isinstance(est, Pipeline):
                est._validate_steps()
        except Exception as exc:  # scikit-learn's InvalidParameterError, TypeError, ...
            raise Unfit(f"its {where} has parameters its class refuses "
                        f"({' '.join(str(exc).split())[:300]})") from None
        _check_width(est, where)
        if isinstance(est, HistGradientBoostingClassifier) and "_predictors" in vars(est):
            _check_boosted_trees(est, where)


def _check_width(est, where: str, *, events: bool = False) -> int | None:
    """``n_features_in_`` of ``est`` (None if unset): an integer in [1, MAX_FEATURES] (a
    multiple of 4 for ``events``), with as many ``feature_names_in_`` as inputs."""
    attrs = vars(est)
    if "n_features_in_" not in attrs:
        return None
    n = attrs["n_features_in_"]
    if isinstance(n, bool) or not isinstance(n, Integral) or not 1 <= n <= MAX_FEATURES or (
            events and n % 4):
        rule = "a multiple of 4 from 4" if events else "an integer from 1"
        raise Unfit(f"its {where} reads n_features_in_={shown(n)} inputs, where a model file "
                    f"holds {rule} to {MAX_FEATURES} ({MAX_FEATURES // 4} particles)")
    names = attrs.get("feature_names_in_")
    if names is not None and not (isinstance(names, np.ndarray) and names.shape == (n,)
                                  and all(isinstance(s, str) for s in names.tolist())):
        raise Unfit(f"its {where} names its inputs otherwise than its {n} columns "
                    "(feature_names_in_)")
    return int(n)


def _check_boosted_trees(est, where: str) -> None:
    """A fitted HistGradientBoostingClassifier's state as its predict reads it: one tree per
    iteration (two classes), no categorical splits, and in every tree each split's children
    after it and inside the node array (so a prediction ends, in bounds) and its feature inside
    the inputs; finite leaf values and baseline."""
    from sklearn._loss.loss import HalfBinomialLoss
    from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    attrs = vars(est)
    n_features = _check_width(est, where)
    if n_features is None:
        raise Unfit(f"its {where} has trees but no n_features_in_")
    classes = attrs.get("classes_")
    if not (isinstance(classes, np.ndarray) and classes.shape == (2,)) or attrs.get(
            "n_trees_per_iteration_") != 1:
        raise Unfit(f"its {where} is not a classifier of two classes with one tree per "
                    "iteration")
    baseline = attrs.get("_baseline_prediction")
    if not (isinstance(baseline, np.ndarray) and baseline.shape == (1, 1)
            and baseline.dtype.kind == "f" and np.isfinite(baseline).all()):
        raise Unfit(f"its {where} has no finite baseline prediction of shape (1, 1)")
    if type(attrs.get("_loss")) is not HalfBinomialLoss:
        raise Unfit(f"its {where} has no binomial loss")
    binner = attrs.get("_bin_mapper")
    if type(binner) is not _BinMapper or not _no_categories(vars(binner).get("is_categorical_"),
                                                            n_features, required=True):
        raise Unfit(f"its {where} has no binning of its {n_features} inputs without "
                    "categories")
    if attrs.get("_preprocessor") is not None or not _no_categories(
            attrs.get("is_categorical_"), n_features, required=False):
        raise Unfit(f"its {where} has categorical features, which no model of this library "
                    "has")
    predictors = attrs["_predictors"]
    if not isinstance(predictors, list) or not all(
            isinstance(it, list) and len(it) == 1 and type(it[0]) is TreePredictor
            for it in predictors):
        raise Unfit(f"its {where} does not hold one tree per iteration")
    for i, (tree,) in enumerate(predictors):
        reason = _tree_problem(vars(tree), n_features, PREDICTOR_RECORD_DTYPE)
        if reason:
            raise Unfit(f"its {where}'s tree {i} {reason}")


def _no_categories(flags, n_features: int, *, required: bool) -> bool:
    if flags is None:
        return not required
    return (isinstance(flags, np.ndarray) and flags.shape == (n_features,)
            and flags.dtype.kind in "bui" and not flags.any())


def _tree_problem(tree: dict, n_features: int, record) -> str | None:
    """Why a TreePredictor's state cannot be predicted with safely (None if it can)."""
    nodes = tree.get("nodes")
    if not isinstance(nodes, np.ndarray) or nodes.dtype != record or nodes.ndim != 1 or (
            nodes.size == 0):
        return "has no node array of scikit-learn's node records"
    for key in ("binned_left_cat_bitsets", "raw_left_cat_bitsets"):
        bits = tree.get(key)
        if not (isinstance(bits, np.ndarray) and bits.ndim == 2 and bits.shape[1] == 8
                and bits.dtype == np.uint32):
            return f"has no {key} of shape (n, 8)"
    n = nodes.size
    inner = np.flatnonzero(nodes["is_leaf"] == 0)
    left, right = nodes["left"][inner].astype(np.int64), nodes["right"][inner].astype(np.int64)
    outside = (left <= inner) | (left >= n) | (right <= inner) | (right >= n)
    if outside.any():
        k = inner[np.argmax(outside)]
        return (f"points node {k} to nodes {int(nodes['left'][k])} and "
                f"{int(nodes['right'][k])}, where its {n} nodes allow only later ones")
    features = nodes["feature_idx"][inner]
    if ((features < 0) | (features >= n_features)).any():
        k = inner[np.argmax((features < 0) | (features >= n_features))]
        return (f"splits node {k} on feature {int(nodes['feature_idx'][k])} of "
                f"{n_features} inputs")
    if nodes["is_categorical"][inner].any():
        return "has categorical splits, which no model of this library has"
    leaves = nodes["is_leaf"] != 0
    if not np.isfinite(nodes["value"][leaves]).all() or np.isnan(
            nodes["num_threshold"][inner]).any():
        return "has leaf values or thresholds that are not numbers"
    return None


# -- networks ----------------------------------------------------------------------------------
#: The fitted attributes a model file keeps of a network besides its weights and history
#: (``n_events_``: the size of its fit, which ``"auto"`` layer sizes follow).
NETWORK_FITTED = ("n_features_in_", "feature_names_in_", "n_events_", "seed_", "stop_reason_",
                  "epochs_planned_")


def check_network_fitted(net, params: dict, fitted: dict, n_arrays: int) -> list:
    """Check what a saved network gives besides its weights, before any part of it is built:
    its device, its sequence parameters (no more entries than it has weight arrays: each
    size is a layer), and its fitted attributes (``n_features_in_`` a multiple of 4 up to
    MAX_FEATURES, the history a JSON list); returns the history."""
    device = params.get("device", "cpu")
    if not isinstance(device, str) or not _DEVICE.match(device):
        raise Unfit(f"its {type(net).__name__} names the device {shown(device)}")
    for key, value in params.items():
        if isinstance(value, list | tuple) and len(value) > max(n_arrays, 2):
            raise Unfit(f"its {type(net).__name__}'s parameter {key} lists {len(value):,} "
                        f"entries, more than its {n_arrays} weight arrays")
    unknown = sorted(set(fitted) - {*NETWORK_FITTED, "history"})
    if unknown or "n_features_in_" not in fitted or "history" not in fitted:
        raise Unfit(f"its {type(net).__name__} has fitted attributes "
                    f"{shown(sorted(fitted))}, not those of a fitted network")
    for key, value in fitted.items():
        if key != "history":
            vars(net)[key] = value
    _check_width(net, type(net).__name__, events=True)
    for key, kind in (("seed_", Integral), ("epochs_planned_", Integral),
                      ("n_events_", Integral), ("stop_reason_", str)):
        value = fitted.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kind) or (
                key == "n_events_" and value < 1)):
            raise Unfit(f"its {type(net).__name__} has {key}={shown(value)}")
    try:
        history = json.loads(fitted["history"]) if isinstance(fitted["history"], str) else None
    except (ValueError, RecursionError):
        history = None
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        raise Unfit(f"its {type(net).__name__}'s training history is not a list of epochs")
    return history


def check_network_state(net, state) -> None:
    """The saved weights ``state`` against the network that ``net``'s parameters build, built
    on torch's ``"meta"`` device (shapes, no memory): the same names, shapes and dtypes, and
    finite numbers, or :class:`Unfit` naming the first difference."""
    import torch

    with torch.device("meta"):
        module = net.build_module()
    expected = module.state_dict()
    where = type(net).__name__
    if not isinstance(state, dict) or set(state) != set(expected):
        missing = sorted(set(expected) - set(state)) if isinstance(state, dict) else []
        extra = sorted(set(state) - set(expected)) if isinstance(state, dict) else []
        raise Unfit(f"its {where}'s weights are not those of its network (missing "
                    f"{shown(missing[:3])}, unexpected {shown(extra[:3])})")
    for key, tensor in expected.items():
        array = state[key]
        dtype = torch.empty((), dtype=tensor.dtype).numpy().dtype
        if not isinstance(array, np.ndarray) or array.shape != tuple(tensor.shape) or (
                array.dtype != dtype):
            got = (f"{array.dtype}{list(array.shape)}" if isinstance(array, np.ndarray)
                   else type(array).__name__)
            raise Unfit(f"its {where}'s weight {shown(key)} is {got}, where its network "
                        f"holds {dtype}{list(tensor.shape)}")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise Unfit(f"its {where}'s weight {shown(key)} holds numbers that are not finite")


# -- the last check: a prediction ---------------------------------------------------------------
def _probe_events(n_features: int) -> np.ndarray:
    """Two events of the built-in generator, their muons repeated to fill ``n_features``
    columns."""
    from ..datasets import make_dimuon_events

    X = make_dimuon_events(2, random_state=0)[0]
    return np.tile(X, math.ceil(n_features / X.shape[1]))[:, :n_features]


def check_predicts(model) -> None:
    """A fitted classifier's signal probability on two generated events of its width: finite
    and inside [0, 1], else :class:`Unfit` with what went wrong (a model that is not fitted,
    or no classifier, is left alone)."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    from ..preprocessing import signal_score

    n = getattr(model, "n_features_in_", None)
    if not hasattr(model, "predict_proba") or not isinstance(n, Integral):
        return
    try:
        check_is_fitted(model)
    except NotFittedError:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. fitted on a DataFrame, probed with an array
            scores = np.asarray(signal_score(model, _probe_events(int(n))), dtype=float)
    except Exception as exc:
        text = " ".join(str(exc).split())[:300]
        raise Unfit(f"it does not score events ({type(exc).__name__}: {text})") from None
    if scores.shape != (2,) or not np.isfinite(scores).all() or (
            (scores < 0) | (scores > 1)).any():
        raise Unfit(f"it scores events with {shown(scores.tolist())}, not two probabilities")
