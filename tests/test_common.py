"""scikit-learn's estimator checks over the preprocessing estimators, and the same properties
re-checked on real events.

scikit-learn's checks feed made-up data: 1, 2, 3, 5 or 10 Gaussian columns (not 4 per
particle), negative energies, multiclass or string labels. The estimators here reject such
input by design with a ValueError, so every check that needs its made-up X (or y) to be accepted
fails; those are listed in ``expected_failed_checks`` with that reason. The second half of this
file runs the properties those checks guard (fit returns self, parameters untouched, pickling,
dtypes, feature counts and names, order and subset invariance, idempotence, read-only and
Fortran input, NaN/inf) on generated two-muon events instead.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.events import feature_names
from sklearn_bsym.preprocessing import (
    DimuonFeatures,
    MinkowskiInvariants,
    MomentumSmearer,
    PtReweightedClassifier,
    PtReweighter,
)

TRANSFORMERS = [MomentumSmearer(random_state=0), MinkowskiInvariants(), DimuonFeatures()]
SUPERVISED = [PtReweighter(n_bins=10), PtReweightedClassifier(LogisticRegression())]
ESTIMATORS = TRANSFORMERS + SUPERVISED

_NOT_EVENTS = (
    "the check's X is not a four-vector array (not 4 columns per particle, or E < |p|); "
    "rejected by design with a ValueError (tested on events in this file instead)"
)
_NOT_LABELS = (
    "the check's y is not 0/1 signal/background labels (multiclass or strings); rejected by "
    "design with a ValueError (tested on events in this file instead)"
)
_COMMON = [
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit",
    "check_estimators_dtypes",
    "check_dtype_object",
    "check_pipeline_consistency",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1feature",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
]
_TRANSFORMER_ONLY = [
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_preserve_dtypes",
    # one-sample X with 2 or 3 columns: the column count is rejected before the sample count
    "check_fit2d_1sample",
]
_CLASSIFIER_ONLY = [
    "check_classifier_data_not_an_array",
    "check_classifiers_classes",
    "check_classifiers_train",
    "check_supervised_y_2d",
    "check_decision_proba_consistency",
]
# For the reweighter, y is checked first: several checks fail on their y, the rest on their X.
_Y_FIRST = {
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_estimators_dtypes",
    "check_dtype_object",
    "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1feature",
    "check_dict_unchanged",
    "check_fit2d_predict1d",
}


def _expected_failed_checks(estimator) -> dict[str, str]:
    if isinstance(estimator, PtReweighter):
        return {c: _NOT_LABELS if c in _Y_FIRST else _NOT_EVENTS for c in _COMMON}
    if isinstance(estimator, PtReweightedClassifier):
        failed = {c: _NOT_EVENTS for c in _COMMON + _CLASSIFIER_ONLY}
        for check in ("check_estimators_dtypes", "check_classifier_data_not_an_array",
                      "check_classifiers_classes"):
            failed[check] = _NOT_LABELS
        return failed
    return {c: _NOT_EVENTS for c in _COMMON + _TRANSFORMER_ONLY}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --- the same properties, on events -------------------------------------------------------


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
def test_fit_returns_self_and_keeps_params(estimator, events):
    X, y = events
    est = clone(estimator)
    before = pickle.dumps(est.get_params(deep=False))
    assert _fit(est, X, y) is est
    assert pickle.dumps(est.get_params(deep=False)) == before
    assert est.n_features_in_ == 8


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids(ESTIMATORS))
def test_not_fitted_raises(estimator, events):
    X, y = events
    with pytest.raises(NotFittedError):
        _outputs(clone(estimator), X, y)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids(ESTIMATORS))
def test_pickle_roundtrip(estimator, events):
    X, y = events
    est = _fit(clone(estimator), X, y)
    again = pickle.loads(pickle.dumps(est))
    assert_array_equal(_outputs(again, X, y), _outputs(est, X, y))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids(ESTIMATORS))
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
        assert_allclose(_outputs(est, X[order], y[order]), first[order], rtol=1e-12)
        # subset invariance: the first 50 rows alone give the same output
        assert_allclose(_outputs(est, X[:50], y[:50]), first[:50], rtol=1e-12)


@pytest.mark.parametrize("estimator", TRANSFORMERS, ids=_ids(TRANSFORMERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transformers_keep_dtype(estimator, dtype, events):
    X = events[0].astype(dtype)
    assert clone(estimator).fit_transform(X).dtype == dtype


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids(ESTIMATORS))
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


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids(ESTIMATORS))
def test_column_count_mismatch_raises(estimator, events):
    X, y = events
    est = _fit(clone(estimator), X, y)
    with pytest.raises(ValueError, match="X has 4 features, but .* is expecting 8"):
        _outputs(est, X[:, :4], y)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids(ESTIMATORS))
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


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids(ESTIMATORS))
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
