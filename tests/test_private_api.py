"""The private names of skorch and scikit-learn that sklearn_bsym relies on, one test each.

Each has no public way to do what the package does with it (the reason is given beside it).
When a release renames, removes or changes one, its test fails with one message that names
the name, the installed release, where the package uses it and what to do; the tested range is
pinned in pyproject.toml (skorch) and its floor is run by the minimums job (noxfile.py).
"""

from __future__ import annotations

import inspect

import pytest
import sklearn
import skorch
import torch
from skorch import NeuralNet, NeuralNetBinaryClassifier

from sklearn_bsym.nn import PFNClassifier


def _broken(library, name: str, what: str, where: str) -> str:
    return (f"{library.__name__} {library.__version__}: {name} {what}; sklearn_bsym relies on it "
            f"in {where}. Adapt {where} to this release, or install the tested range "
            "(pyproject.toml).")


def _check_parameters(library, owner, name: str, expected: list[str], where: str) -> None:
    """``owner.name`` exists and its parameters begin with ``expected`` (the ones the package
    passes by position; an entry ``"=name"`` is a keyword it passes, which may stand anywhere)."""
    member = getattr(owner, name, None)
    qualified = f"{getattr(owner, '__name__', owner)}.{name}"
    assert member is not None, _broken(library, qualified, "is gone", where)
    found = list(inspect.signature(member).parameters)
    positional = [p for p in expected if not p.startswith("=")]
    keywords = [p[1:] for p in expected if p.startswith("=")]
    wanted = ", ".join([*positional, *(f"{k}=" for k in keywords)])
    assert found[: len(positional)] == positional and set(keywords) <= set(found), _broken(
        library, qualified, f"takes ({', '.join(found)}), not ({wanted}, ...)", where)


class _Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, x):
        return self.linear(x).squeeze(-1)


# -- skorch ---------------------------------------------------------------------------------
# The trainer core (nn/_training.py) puts the modules, criteria and loaded parameters on the
# resolved device ``device_`` ("auto" is not a torch device); skorch has no hook for that but
# its private initializers, which it calls from initialize().
SKORCH_METHODS = [
    ("_initialize_module", ["self", "reason"], "nn/_training.py Trainer._initialize_module"),
    ("_initialize_criterion", ["self", "reason"],
     "nn/_training.py Trainer._initialize_criterion"),
    ("_current_init_context", ["self", "name"], "nn/_training.py Trainer._initialize_part"),
    ("_format_reinit_msg", ["self", "name", "kwargs"], "nn/_training.py Trainer._initialize_part"),
    ("_get_module", ["self", "name", "msg"], "nn/_training.py Trainer.load_params"),
    # train/eval mode of every module and criterion at once (the networks' own predict loop,
    # the ensemble's member-major loop)
    ("_set_training", ["self", "training"], "nn/_classifiers.py, nn/_ensemble.py"),
    # the nonlinearity skorch applies in predict_proba, for the networks' batched prediction
    ("_get_predict_nonlinearity", ["self"], "nn/_classifiers.py predict_proba"),
]


@pytest.mark.parametrize(("name", "params", "where"), SKORCH_METHODS)
def test_skorch_private_methods(name, params, where):
    _check_parameters(skorch, NeuralNet, name, params, where)


def test_skorch_initialize_calls_the_private_initializers():
    source = inspect.getsource(NeuralNet.initialize)
    for name in ("_initialize_module", "_initialize_criterion"):
        assert f"{name}(" in source, _broken(
            skorch, "NeuralNet.initialize", f"no longer calls {name}",
            "nn/_training.py (the device_ of modules and criteria)")


def test_skorch_default_callbacks_property():
    # The package's default callbacks replace skorch's (validation AUC, early stopping on it,
    # one-cycle schedule, BatchNorm recalibration): skorch reads them from this property.
    member = inspect.getattr_static(NeuralNet, "_default_callbacks", None)
    assert isinstance(member, property), _broken(
        skorch, "NeuralNet._default_callbacks", "is no property", "nn/_training.py")
    assert "_default_callbacks" in inspect.getsource(NeuralNet.get_default_callbacks), _broken(
        skorch, "NeuralNet.get_default_callbacks", "no longer reads _default_callbacks",
        "nn/_training.py")


def test_skorch_bookkeeping_of_parts_and_arguments():
    # _modules and _criteria: the parts _initialize_part puts on device_; _params_to_validate
    # and prefixes_: the arguments the networks check at construction (skorch only at fit).
    net = NeuralNetBinaryClassifier(_Tiny, misspelt=1, module__width=None)
    where = "nn/_classifiers.py _refuse_unknown_arguments"
    assert set(getattr(net, "_params_to_validate", ())) == {"misspelt", "module__width"}, \
        _broken(skorch, "NeuralNet._params_to_validate", "no longer lists the unchecked "
                "arguments", where)
    prefixes = getattr(net, "prefixes_", None)
    assert isinstance(prefixes, list) and "iterator_train" in prefixes, _broken(
        skorch, "NeuralNet.prefixes_", "no longer lists the parts' prefixes", where)
    net = NeuralNetBinaryClassifier(_Tiny).initialize()
    assert (getattr(net, "_modules", None), getattr(net, "_criteria", None)) == (
        ["module"], ["criterion"]), _broken(
        skorch, "NeuralNet._modules/_criteria", "no longer name the parts",
        "nn/_training.py Trainer._initialize_part")


def test_skorch_check_f_arguments():
    # load_params maps the tensors to device_ (skorch maps them to device, which "auto" is
    # not); the file arguments are sorted as skorch sorts them.
    from skorch import utils

    where = "nn/_training.py Trainer.load_params"
    check = getattr(utils, "_check_f_arguments", None)
    assert check is not None, _broken(skorch, "skorch.utils._check_f_arguments", "is gone",
                                      where)
    parts, other = check("load_params", f_params="p.pt", f_optimizer="o.pt",
                         f_history="h.json")
    assert (parts, other) == ({"module_": "p.pt", "optimizer_": "o.pt"},
                              {"f_history": "h.json"}), _broken(
        skorch, "skorch.utils._check_f_arguments", f"returns {parts}, {other}", where)
    _check_parameters(skorch, NeuralNet, "load_params",
                      ["self", "f_params", "f_optimizer", "f_criterion", "f_history",
                       "checkpoint", "use_safetensors"], where)


def test_skorch_pickled_state_has_the_device():
    # __setstate__ resolves a pickled "auto" device on the machine that loads.
    state = NeuralNetBinaryClassifier(_Tiny).initialize().__getstate__()
    assert "device" in state, _broken(skorch, "NeuralNet.__getstate__", "holds no 'device'",
                                      "nn/_training.py Trainer.__setstate__")


# -- scikit-learn ---------------------------------------------------------------------------
# Parameter validation as scikit-learn's own estimators do it (InvalidParameterError with
# scikit-learn's messages): the contributor API has no public counterpart.
SKLEARN_CALLABLES = [
    ("sklearn.utils._param_validation", "Interval", ["type", "left", "right", "closed"]),
    ("sklearn.utils._param_validation", "StrOptions", ["options"]),
    ("sklearn.utils._param_validation", "HasMethods", ["methods"]),
    ("sklearn.utils._param_validation", "validate_parameter_constraints",
     ["parameter_constraints", "params", "caller_name"]),
    ("sklearn.base", "_fit_context", ["prefer_skip_nested_validation"]),
    # indexing of arrays, frames and lists alike (the ensemble's and reweighter's subsets)
    ("sklearn.utils", "_safe_indexing", ["X", "indices", "axis"]),
    # sample weights checked as scikit-learn's estimators check them (events.py)
    ("sklearn.utils.validation", "_check_sample_weight",
     ["sample_weight", "X", "=dtype", "=ensure_non_negative"]),
    # get_feature_names_out as scikit-learn's transformers answer it
    ("sklearn.utils.validation", "_check_feature_names_in",
     ["estimator", "input_features", "generate_names"]),
    # a model file's gradient-boosted trees are checked part by part before they predict
    # (deploy/_checks.py): their classes are scikit-learn's private ones
    ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor",
     ["nodes", "binned_left_cat_bitsets", "raw_left_cat_bitsets"]),
    ("sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper", ["n_bins"]),
    ("sklearn._loss.loss", "HalfBinomialLoss", []),
]


@pytest.mark.parametrize(("module", "name", "params"), SKLEARN_CALLABLES)
def test_sklearn_private_names(module, name, params):
    import importlib

    try:
        owner = importlib.import_module(module)
    except ImportError:
        pytest.fail(_broken(sklearn, module, "does not import", "the package (see the test)"))
    _check_parameters(sklearn, owner, name, params, f"the imports of {module}")


def test_sklearn_tree_record_dtype():
    from sklearn.ensemble._hist_gradient_boosting import common

    dtype = getattr(common, "PREDICTOR_RECORD_DTYPE", None)
    assert dtype is not None, _broken(
        sklearn, "PREDICTOR_RECORD_DTYPE", "is gone", "deploy/_checks.py")
    needed = {"value", "feature_idx", "num_threshold", "left", "right", "is_leaf"}
    assert needed <= set(dtype.names), _broken(
        sklearn, "PREDICTOR_RECORD_DTYPE", f"has the fields {dtype.names}", "deploy/_checks.py")


def test_sklearn_estimator_html_and_param_names():
    # The networks show their own parameters (not skorch's deep ones) in the HTML diagram and
    # list only theirs to clone: scikit-learn's private hooks of BaseEstimator.
    base = sklearn.base.BaseEstimator
    _check_parameters(sklearn, base, "_get_param_names", [], "nn/_classifiers.py")
    _check_parameters(sklearn, base, "_get_params_html", ["self", "deep"], "nn/_classifiers.py")
    if hasattr(base, "_get_fitted_attr_html") or _version(sklearn) >= (1, 8):
        _check_parameters(sklearn, base, "_get_fitted_attr_html", ["self"],
                          "nn/_classifiers.py")
    # and the networks answer them: their parameters, not skorch's bookkeeping
    names = PFNClassifier()._get_param_names()
    assert "lr" in names and not any(name.startswith("_") for name in names)


def _version(module) -> tuple[int, int]:
    major, minor = module.__version__.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)
