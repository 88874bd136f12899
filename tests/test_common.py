"""scikit-learn's estimator checks over every public estimator of the package, found by walking
it, and the same properties re-checked on real events.

Estimators are found the way scikit-learn's own ``all_estimators`` finds its
(``sklearn_bsym._discovery.public_estimators``: every public module's ``__all__`` is searched
for estimator classes), so a new estimator is checked without being listed here (the test
fails until it has tiny settings in ``TINY``).

scikit-learn's checks feed made-up data: 1, 2, 3, 5 or 10 Gaussian columns (not 4 per
particle), negative energies, multiclass or string labels. The estimators here reject such
input by design with the event contract's ValueError (:mod:`sklearn_bsym.events`; for the
reweighter, its 0/1 label contract), so every check that needs its made-up X (or y) to be
accepted fails (the checks of a bad target alone pass: labels are checked before the event
contract). Those checks are listed per estimator below and passed, each with its reason, to
scikit-learn's ``check_estimator`` as ``expected_failed_checks`` (:func:`expected_failed_checks`:
``check_estimator(est, expected_failed_checks=expected_failed_checks(est))`` is clean), and each
is asserted to fail FOR THAT REASON (the contract's ValueError in the exception chain): a
listed check that passes, or fails for another reason, fails the suite. The second half of
this file runs the properties those checks guard (fit returns self, parameters untouched,
pickling, feature counts and names, order and subset invariance, idempotence, read-only and
Fortran input, NaN/inf) on generated two-muon events instead.
"""

from __future__ import annotations

import inspect
import pickle
import re
import traceback

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_estimator, check_param_validation
from skorch import NeuralNet, NeuralNetBinaryClassifier

from sklearn_bsym._discovery import public_estimators
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.events import feature_names
from sklearn_bsym.nn import (
    EnsembleClassifier,
    HybridClassifier,
    InvariantClassifier,
    LGATrClassifier,
    PFNClassifier,
    lgatr_available,
)
from sklearn_bsym.preprocessing import PtReweighter

pytestmark = pytest.mark.usefixtures("one_torch_thread")

_NET = {"max_epochs": 2, "batch_size": 8, "random_state": 0}
#: Tiny constructor arguments of each public estimator (by class name).
TINY = {
    "MomentumSmearer": {"random_state": 0},
    "MinkowskiInvariants": {},
    "SymmetryInvariants": {"symmetry": "longitudinal"},
    "DimuonFeatures": {},
    "ColliderFeatures": {},
    "PtReweighter": {"n_bins": 10},
    "PtReweightedClassifier": {"estimator": LogisticRegression()},
    "BayesOptimalClassifier": {},
    "PFNClassifier": {"Phi_sizes": (8, 4), "F_sizes": (8,), **_NET},
    "InvariantClassifier": {"hidden_sizes": (8,), **_NET},
    "HybridClassifier": {"Phi_sizes": (8, 4), "invariant_sizes": (8, 4), "weight_sizes": (8,),
                         "F_sizes": (8,), **_NET},
    "LGATrClassifier": {"num_blocks": 1, "hidden_mv_channels": 2, "hidden_s_channels": 4,
                        "num_heads": 1, **_NET},
    "EnsembleClassifier": {"estimator": PFNClassifier(Phi_sizes=(8, 4), F_sizes=(8,),
                                                      max_epochs=2, batch_size=8),
                           "n_members": 2, "random_state": 0},
}


def public_estimator_classes() -> list[type]:
    """Every estimator class in the ``__all__`` of a public module of the package."""
    return sorted(set(public_estimators().values()), key=lambda c: c.__name__)


def _tiny(cls):
    return cls(**TINY[cls.__name__])


CLASSES = public_estimator_classes()
#: The estimators that need an optional package, and whether it is installed: without it they
#: are left out of the checks below (tests/test_lgatr.py checks the refusal instead).
OPTIONAL = {"LGATrClassifier": lgatr_available()}
ESTIMATORS = [_tiny(cls) for cls in CLASSES
              if cls.__name__ in TINY and OPTIONAL.get(cls.__name__, True)]


def test_every_public_estimator_is_checked():
    assert {"EnsembleClassifier", "BayesOptimalClassifier", "PFNClassifier"} <= {
        c.__name__ for c in CLASSES}
    missing = [c.__name__ for c in CLASSES if c.__name__ not in TINY]
    assert not missing, f"add tiny settings to TINY for {missing}"


# --- which checks fail on the generic data, and why ------------------------------------------

#: Checks whose made-up X reaches every estimator's fit or transform.
_DATA = {"check_estimators_dtypes", "check_estimators_nan_inf", "check_estimators_pickle",
         "check_fit2d_1feature", "check_fit_check_is_fitted", "check_fit_idempotent",
         "check_n_features_in", "check_pipeline_consistency"}
_FIT = {"check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object",
        "check_estimators_fit_returns_self", "check_estimators_overwrite_params",
        "check_f_contiguous_array_estimator", "check_fit2d_predict1d",
        "check_fit_score_takes_y", "check_methods_sample_order_invariance",
        "check_methods_subset_invariance", "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit", "check_readonly_memmap_input"}
_TRANSFORMER = {"check_transformer_data_not_an_array", "check_transformer_general",
                "check_transformer_preserve_dtypes", "check_fit2d_1sample"}
_CLASSIFIER = {"check_classifier_data_not_an_array", "check_classifiers_classes",
               "check_classifiers_train", "check_supervised_y_2d"}
_WEIGHTED = {"check_all_zero_sample_weights_error", "check_classifiers_one_label_sample_weights",
             "check_sample_weight_equivalence_on_dense_data", "check_sample_weights_list",
             "check_sample_weights_not_an_array", "check_sample_weights_not_overwritten",
             "check_sample_weights_pandas_series", "check_sample_weights_shape"}

_CONTRACT_FAILS = {
    "MomentumSmearer": _DATA | _FIT | _TRANSFORMER,
    "MinkowskiInvariants": _DATA | _FIT | _TRANSFORMER,
    "SymmetryInvariants": _DATA | _FIT | _TRANSFORMER,
    "DimuonFeatures": _DATA | _FIT | _TRANSFORMER,
    "ColliderFeatures": _DATA | _FIT | _TRANSFORMER,
    "PtReweighter": _DATA | _FIT,
    "PtReweightedClassifier": _DATA | _FIT | _CLASSIFIER | {"check_decision_proba_consistency"},
    "BayesOptimalClassifier": (_DATA | _FIT | _CLASSIFIER | _WEIGHTED
                               | {"check_decision_proba_consistency"}),
    # The weights are checked before the events (all zero is refused at once).
    "EnsembleClassifier": (_DATA | _FIT | _CLASSIFIER
                           | (_WEIGHTED - {"check_all_zero_sample_weights_error"})),
    **dict.fromkeys(
        ["PFNClassifier", "InvariantClassifier", "HybridClassifier", "LGATrClassifier"],
        _DATA | _FIT | _CLASSIFIER | _WEIGHTED
        | {"check_decision_proba_consistency", "check_estimators_partial_fit_n_features"}),
}
#: Checks that fail by design for another reason: (reason, exception type, message pattern).
_DESIGN_FAILS = {
    name: {
        # The check passes "kwargs", the name of **kwargs itself (skorch's module__* & co.),
        # as an argument.
        "check_do_not_raise_errors_in_init_or_set_params": (
            "an unknown constructor argument is refused at once, as Python refuses one to an "
            "estimator without **kwargs, not at fit; the check passes 'kwargs', the name of "
            "the **kwargs that takes skorch's module__*, optimizer__* and callbacks__* "
            "settings, as an argument",
            TypeError, r"got unexpected argument\(s\) kwargs;"),
    }
    for name in ["PFNClassifier", "InvariantClassifier", "HybridClassifier", "LGATrClassifier"]
}
_CONTRACT_REASON = ("event contract: the estimator takes canonical events, 4 columns (px, py, "
                    "pz, E) per particle with E >= |p| (sklearn_bsym.events), and 0/1 labels; "
                    "the check's made-up data is refused with a ValueError that says so")


def expected_failed_checks(estimator) -> dict[str, str]:
    """The scikit-learn checks ``estimator`` fails by design, each with its reason (what
    ``check_estimator``'s ``expected_failed_checks`` takes)."""
    name = type(estimator).__name__
    expected = dict.fromkeys(_CONTRACT_FAILS[name], _CONTRACT_REASON)
    expected.update({check: reason for check, (reason, *_) in _DESIGN_FAILS.get(name, {}).items()})
    return expected


def _from_contract(exc: BaseException) -> bool:
    """Whether a ValueError of the event contract (raised in sklearn_bsym/events.py) or of
    the reweighter's 0/1 label contract is in the exception's chain."""
    seen, todo = set(), [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ValueError):
            frames = traceback.extract_tb(e.__traceback__)
            if frames and frames[-1].filename.replace("\\", "/").endswith(
                    "sklearn_bsym/events.py"):
                return True
            if "needs labels 1 = signal and 0 = background" in str(e):
                return True
        todo += [e.__cause__, e.__context__]
    return False


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=[type(e).__name__ for e in ESTIMATORS])
def test_check_estimator(estimator):
    """scikit-learn's ``check_estimator`` reports no failure but the declared ones, and each
    declared one fails for its stated reason (one that passes fails the suite, as pytest's
    strict xfail)."""
    name = type(estimator).__name__
    expected = expected_failed_checks(estimator)
    results = check_estimator(estimator, expected_failed_checks=expected, on_fail=None,
                              on_skip=None)
    failed = {r["check_name"]: r["exception"] for r in results if r["status"] == "failed"}
    assert not failed, f"{name} fails scikit-learn's checks: {failed}"
    for result in results:
        check, exc = result["check_name"], result["exception"]
        if check not in expected:
            continue
        assert result["status"] == "xfail", f"{check} passes: remove it from the expected"
        if check in _CONTRACT_FAILS[name]:
            assert _from_contract(exc), (
                f"{check} was expected to fail on the event contract, but failed with {exc!r}")
        else:
            _, kind, pattern = _DESIGN_FAILS[name][check]
            assert isinstance(exc, kind) and re.search(pattern, str(exc)), repr(exc)


@pytest.mark.parametrize("cls", [PFNClassifier, InvariantClassifier, HybridClassifier,
                                 LGATrClassifier])
def test_networks_take_any_value_until_fit(cls):
    """What ``check_do_not_raise_errors_in_init_or_set_params`` asks, but for the name
    ``kwargs`` (see above), and what ``check_set_params`` asks: every named argument takes any
    value in ``__init__`` and ``set_params``, and ``get_params`` returns it (values are checked
    at fit)."""
    names = [p.name for p in inspect.signature(cls).parameters.values()
             if p.kind is not p.VAR_KEYWORD]
    for value in [-1, 3.0, "helloworld", np.array([1.0, 4.0]), [1], {}, [], -np.inf, None]:
        given = dict.fromkeys(names, value)
        for est in (cls(**given), cls().set_params(**given)):
            params = est.get_params(deep=True)
            assert all(params[name] is value for name in names)


# --- the same properties, on events -------------------------------------------------------


def _on_events(estimator):
    """The tiny estimator with batches sized for the 400 events below."""
    if "batch_size" in estimator.get_params(deep=False):
        return clone(estimator).set_params(batch_size=64)
    if isinstance(estimator, EnsembleClassifier):
        return clone(estimator).set_params(estimator__batch_size=64)
    return estimator


ON_EVENTS = [_on_events(e) for e in ESTIMATORS]
TRANSFORMERS = [e for e in ESTIMATORS if hasattr(e, "transform")]


@pytest.fixture(scope="module")
def events():
    X, y = make_dimuon_events(400, random_state=1)
    return X, y


def _fit(estimator, X, y):
    # the transformers take y and ignore it, as scikit-learn's do
    return estimator.fit(X, y)


def _outputs(estimator, X, y):
    """What a fitted estimator produces: transform, weights, or probabilities."""
    if isinstance(estimator, PtReweighter):
        return estimator.compute_sample_weight(X, y)
    if is_classifier(estimator):
        return estimator.predict_proba(X)
    return estimator.transform(X)


def _ids(estimators):
    return [type(e).__name__ for e in estimators]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids(ESTIMATORS))
def test_parameters_are_declared_and_checked_at_fit(estimator, events):
    """Every estimator declares its parameters in ``_parameter_constraints`` (a network: all but
    skorch's own arguments, which skorch checks) and its fit refuses a value of the wrong type
    with scikit-learn's InvalidParameterError, naming the parameter."""
    name = type(estimator).__name__
    params = {p for p in estimator.get_params(deep=False) if not p.startswith("_")}
    if not isinstance(estimator, NeuralNet):
        check_param_validation(name, estimator)  # scikit-learn's own check: all, at every fit
        return
    skorch_own = {p for cls in (NeuralNet, NeuralNetBinaryClassifier)
                  for p in inspect.signature(cls.__init__).parameters}
    declared = set(estimator._parameter_constraints)
    assert params - skorch_own <= declared, sorted(params - skorch_own - declared)
    X, y = events
    bad = type("BadType", (), {})()
    for param in sorted(declared & params):
        est = clone(estimator).set_params(**{param: bad})
        with pytest.raises(InvalidParameterError, match=f"The '{param}' parameter of {name} "):
            est.fit(X, y)


@pytest.mark.parametrize("estimator", ON_EVENTS, ids=_ids(ON_EVENTS))
def test_fit_returns_self_and_keeps_params(estimator, events):
    X, y = events
    est = clone(estimator)
    before = pickle.dumps(est.get_params(deep=False))
    assert _fit(est, X, y) is est
    assert pickle.dumps(est.get_params(deep=False)) == before
    assert est.n_features_in_ == 8


@pytest.mark.parametrize("estimator", ON_EVENTS, ids=_ids(ON_EVENTS))
def test_not_fitted_raises(estimator, events):
    X, y = events
    with pytest.raises(NotFittedError):
        _outputs(clone(estimator), X, y)


@pytest.mark.parametrize("estimator", ON_EVENTS, ids=_ids(ON_EVENTS))
def test_pickle_roundtrip(estimator, events):
    X, y = events
    est = _fit(clone(estimator), X, y)
    again = pickle.loads(pickle.dumps(est))
    assert_array_equal(_outputs(again, X, y), _outputs(est, X, y))


@pytest.mark.parametrize("estimator", ON_EVENTS, ids=_ids(ON_EVENTS))
def test_model_file_roundtrip(estimator, events, tmp_path):
    """Every estimator saves to a model file (sklearn_bsym.deploy) and loads back exactly, its
    column names included."""
    from sklearn_bsym.deploy import load_model, save_model

    X, y = events
    df = pd.DataFrame(X, columns=feature_names(2))
    est = _fit(clone(estimator), df, y)
    again = load_model(save_model(est, tmp_path / "model.skops"))
    assert_array_equal(_outputs(again, df, y), _outputs(est, df, y))
    if hasattr(est, "feature_names_in_"):
        assert_array_equal(again.feature_names_in_, est.feature_names_in_)


@pytest.mark.parametrize("estimator", ON_EVENTS, ids=_ids(ON_EVENTS))
def test_fit_idempotent_and_order_invariant(estimator, events):
    X, y = events
    est = _fit(clone(estimator), X, y)
    first = _outputs(est, X, y)
    assert_allclose(_outputs(_fit(est, X, y), X, y), first)
    order = np.random.default_rng(0).permutation(len(X))
    if isinstance(estimator, PtReweighter):
        # weights are normalised over the events given: compare a permuted call
        assert_allclose(_outputs(est, X[order], y[order]), first[order])
    else:
        # float32 networks: a product's summation blocks depend on the batch's row count
        atol = 1e-6 if isinstance(estimator, (NeuralNet, EnsembleClassifier)) else 0.0
        assert_allclose(_outputs(est, X[order], y[order]), first[order], rtol=1e-12, atol=atol)
        # subset invariance: the first 50 rows alone give the same output
        assert_allclose(_outputs(est, X[:50], y[:50]), first[:50], rtol=1e-12, atol=atol)


@pytest.mark.parametrize("estimator", TRANSFORMERS, ids=_ids(TRANSFORMERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transformers_keep_dtype(estimator, dtype, events):
    X = events[0].astype(dtype)
    assert clone(estimator).fit_transform(X).dtype == dtype


@pytest.mark.parametrize("estimator", ON_EVENTS, ids=_ids(ON_EVENTS))
@pytest.mark.parametrize("layout", ["fortran", "readonly", "int"])
def test_memory_layouts(estimator, layout, events):
    X, y = events
    if layout == "fortran":
        Xl = np.asfortranarray(X)
    elif layout == "readonly":
        Xl = X.copy()
        Xl.flags.writeable = False
    else:
        # integer GeV values are converted to float64
        Xl = np.round(X).astype(np.int64)
        Xl[:, 3::4] += 2  # keep E >= |p| after rounding
        X = Xl.astype(np.float64)
    reference = _fit(clone(estimator), X, y)
    expected = _outputs(reference, X, y)
    assert_allclose(_outputs(reference, Xl, y), expected)
    assert_allclose(_outputs(_fit(clone(estimator), Xl, y), Xl, y), expected)


@pytest.mark.parametrize("estimator", ON_EVENTS, ids=_ids(ON_EVENTS))
def test_column_count_mismatch_raises(estimator, events):
    X, y = events
    est = _fit(clone(estimator), X, y)
    with pytest.raises(ValueError, match="X has 4 features, but .* is expecting 8"):
        _outputs(est, X[:, :4], y)


@pytest.mark.parametrize("estimator", ON_EVENTS, ids=_ids(ON_EVENTS))
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_inf_raise(estimator, bad, events):
    X, y = events
    Xb = X.copy()
    Xb[3, 2] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        _fit(clone(estimator), Xb, y)
    est = _fit(clone(estimator), X, y)
    with pytest.raises(ValueError, match="NaN|infinity"):
        _outputs(est, Xb, y)


@pytest.mark.parametrize("estimator", ON_EVENTS, ids=_ids(ON_EVENTS))
def test_dataframe_input_and_names(estimator, events):
    X, y = events
    df = pd.DataFrame(X, columns=feature_names(2))
    est = _fit(clone(estimator), df, y)
    if not is_classifier(est):
        assert est.feature_names_in_.tolist() == feature_names(2)
    assert_allclose(_outputs(est, df, y), _outputs(_fit(clone(estimator), X, y), X, y))


@pytest.mark.parametrize("estimator", TRANSFORMERS, ids=_ids(TRANSFORMERS))
def test_set_output_pandas(estimator, events):
    X = pd.DataFrame(events[0], columns=feature_names(2))
    est = clone(estimator).set_output(transform="pandas")
    out = est.fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    assert out.columns.tolist() == est.get_feature_names_out().tolist()
    assert_array_equal(out.index, X.index)


@pytest.mark.parametrize("estimator", TRANSFORMERS, ids=_ids(TRANSFORMERS))
def test_blocked_transform_equals_whole(estimator, events, monkeypatch):
    X = events[0]
    whole = clone(estimator).fit(X).transform(X)
    monkeypatch.setattr("sklearn_bsym.preprocessing._common.BLOCK_ROWS", 7)
    assert_array_equal(clone(estimator).fit(X).transform(X), whole)
