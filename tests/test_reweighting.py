"""PtReweighter, PtReweightedClassifier and the pT-weighted AUC scorer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import (
    GridSearchCV,
    cross_val_score,
    cross_validate,
    learning_curve,
)
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeClassifier

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.events import feature_names, to_particles
from sklearn_bsym.preprocessing import (
    DimuonFeatures,
    MinkowskiInvariants,
    MomentumSmearer,
    PtReweightedClassifier,
    PtReweighter,
    pt_weighted_roc_auc,
    roc_auc_contributions,
    weighted_roc_auc,
)


@pytest.fixture(scope="module")
def data():
    return make_dimuon_events(3000, random_state=3)


def _event(pt, pz=0.0):
    """Two massless muons back to back in the transverse plane."""
    e = np.hypot(pt, pz)
    return [pt, 0.0, pz, e, -pt, 0.0, -pz, e]


def _first_pt(X):
    return kinematics.pt(to_particles(X)[:, 0, :])


class _SpyClassifier(ClassifierMixin, BaseEstimator):
    """Records what fit received; scores events by their first column."""

    def fit(self, X, y, sample_weight=None):
        self.classes_ = np.unique(y)
        self.sample_weight_ = sample_weight
        self.n_seen_ = len(X)
        self.n_features_in_ = np.shape(X)[1]
        return self

    def decision_function(self, X):
        return np.asarray(X)[:, 0]

    def predict(self, X):
        return (self.decision_function(X) > 0).astype(int)


# --- PtReweighter -------------------------------------------------------------------------


def test_hand_computed_weights():
    X = np.array([_event(20.0), _event(40.0), _event(20.0), _event(20.0), _event(40.0)])
    y = np.array([1, 1, 0, 0, 0])
    rw = PtReweighter(binning=[10.0, 30.0, 50.0]).fit(X, y)
    assert_array_equal(rw.signal_counts_, [1, 1])
    assert_array_equal(rw.background_counts_, [2, 1])
    # densities: signal (1/2, 1/2), background (2/3, 1/3) -> ratio (3/4, 3/2); then scaled so
    # that the background total (3/4 + 3/4 + 3/2 = 3) equals the signal's (2)
    assert_allclose(rw.density_ratio_, [0.75, 1.5])
    assert_allclose(rw.compute_sample_weight(X, y), [1.0, 1.0, 0.5, 0.5, 1.0])
    # the label-free ratio: per bin, 0 outside the edges
    outside = np.array([_event(60.0)])
    assert_allclose(rw.density_ratio(np.vstack([X, outside])), [0.75, 1.5, 0.75, 0.75, 1.5, 0.0])


@pytest.mark.parametrize("binning", ["quantile", "uniform"])
def test_weighted_background_matches_signal_spectrum(data, binning):
    X, y = data
    rw = PtReweighter(n_bins=20, binning=binning).fit(X, y)
    w = rw.compute_sample_weight(X, y)
    assert np.all(np.isfinite(w)) and np.all(w >= 0)
    assert_array_equal(w[y == 1], 1.0)
    assert_allclose(w[y == 0].sum(), (y == 1).sum())
    pt = _first_pt(X)
    sig, _ = np.histogram(pt[y == 1], bins=rw.bin_edges_)
    bkg, _ = np.histogram(pt[y == 0], bins=rw.bin_edges_, weights=w[y == 0])
    assert_allclose(bkg, sig, rtol=1e-9, atol=1e-9)
    # and the unweighted spectra do differ (the background has a long high-pT tail)
    raw, _ = np.histogram(pt[y == 0], bins=rw.bin_edges_)
    assert np.abs(raw - sig).max() > 20


def test_binning_options(data):
    X, y = data
    pt = _first_pt(X)
    quantile = PtReweighter(n_bins=10).fit(X, y)
    counts = quantile.signal_counts_ + quantile.background_counts_
    assert counts.sum() == len(X)
    assert counts.max() - counts.min() <= 2
    uniform = PtReweighter(n_bins=10, binning="uniform").fit(X, y)
    assert_allclose(np.diff(uniform.bin_edges_), (pt.max() - pt.min()) / 10)
    edges = [0.0, 30.0, 45.0, np.inf]
    explicit = PtReweighter(n_bins=99, binning=edges).fit(X, y)
    assert_array_equal(explicit.bin_edges_, edges)


def test_default_is_the_papers_first_muon_with_100_bins(data):
    X, y = data
    rw = PtReweighter().fit(X, y)
    assert rw.bin_edges_.size == 101
    assert_allclose(rw.bin_edges_[[0, -1]], [_first_pt(X).min(), _first_pt(X).max()])


def test_variables():
    # boson pT spectrum: the two muons differ in pT and the pair has a pT
    X, y = make_dimuon_events(2000, boson_pt=True, random_state=4)
    p = to_particles(X)
    leading = PtReweighter(variable="leading", n_bins=10).fit(X, y)
    assert_allclose(leading.bin_edges_[-1], kinematics.pt(p).max())
    dimuon = PtReweighter(variable="dimuon", n_bins=10).fit(X, y)
    assert_allclose(dimuon.bin_edges_[-1], kinematics.pt(kinematics.system(p)).max())
    assert np.all(np.isfinite(dimuon.compute_sample_weight(X, y)))


def test_dimuon_variable_at_leading_order_raises(data):
    X, y = data
    with pytest.raises(ValueError, match="single value .* use variable='first'"):
        PtReweighter(variable="dimuon").fit(X, y)


def test_out_of_range_and_empty_bins_warn_and_get_zero():
    X = np.array([_event(pt) for pt in (20, 20, 40, 60, 20, 40)], dtype=float)
    y = np.array([1, 1, 1, 1, 0, 0])
    rw = PtReweighter(binning=[10.0, 30.0, 50.0, 70.0]).fit(X, y)
    # the 50-70 bin has signal but no background
    X_new = np.array([_event(pt) for pt in (20, 65, 90, 5, 20)], dtype=float)
    y_new = np.array([1, 0, 0, 1, 0])
    with pytest.warns(UserWarning, match="2 of 5 event.* outside the fitted bins"):
        with pytest.warns(UserWarning, match="1 background event.* bins without training"):
            w = rw.compute_sample_weight(X_new, y_new)
    assert_array_equal(w, [1.0, 0.0, 0.0, 0.0, 1.0])


def test_no_overlap_between_classes_raises():
    X = np.array([_event(pt) for pt in (20, 25, 60, 65)], dtype=float)
    y = np.array([1, 1, 0, 0])
    with pytest.raises(ValueError, match="No bin holds both signal and background"):
        PtReweighter(binning=[10.0, 40.0, 70.0]).fit(X, y)


def test_all_weights_zero_raises():
    X = np.array([_event(pt) for pt in (20, 40, 20, 40)], dtype=float)
    y = np.array([1, 1, 0, 0])
    rw = PtReweighter(binning=[10.0, 30.0, 50.0]).fit(X, y)
    X_far = np.array([_event(pt) for pt in (20, 90)], dtype=float)
    with pytest.warns(UserWarning, match="outside the fitted bins"):
        with pytest.raises(ValueError, match="Every background event got weight 0"):
            rw.compute_sample_weight(X_far, [1, 0])


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (None, "requires y to be passed"),
        ([1, 1, 1, 1], "one class only"),
        ([0, 1, 2, 1], "Only binary classification is supported"),
        ([0.5, 1.5, 0.2, 0.1], "Only binary classification is supported.*continuous"),
        ([-1, 1, -1, 1], r"y holds the labels \[-1, 1\]; .* map them first"),
        ([0, 1, 0], "X has 4 events but y has 3 labels; pass one label per event"),
    ],
)
def test_bad_labels(y, match):
    X = np.array([_event(pt) for pt in (20, 40, 20, 40)], dtype=float)
    with pytest.raises(ValueError, match=match):
        PtReweighter().fit(X, y)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"variable": "second"}, "The 'variable' parameter of PtReweighter must be"),
        ({"n_bins": 0}, "The 'n_bins' parameter of PtReweighter must be"),
        ({"binning": "log"}, "The 'binning' parameter of PtReweighter must be"),
        ({"binning": [10.0, 5.0, 20.0]}, "strictly increasing"),
        ({"binning": [10.0]}, "at least 2 numbers"),
    ],
)
def test_bad_parameters(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        PtReweighter(**params).fit(X, y)


def test_bad_events(data):
    X, y = data
    rw = PtReweighter().fit(X, y)
    with pytest.raises(ValueError, match="X has 6 features"):
        rw.compute_sample_weight(X[:, :6], y)
    with pytest.raises(ValueError, match="not a positive multiple of 4"):
        PtReweighter().fit(X[:, :6], y)


# --- fit_resample (the paper's procedure) -----------------------------------------------------


def test_fit_resample(data):
    X, y = data
    X_res, y_res = PtReweighter(n_bins=20, random_state=0).fit_resample(X, y)
    n_sig = (y == 1).sum()
    assert (y_res == 1).sum() == n_sig and (y_res == 0).sum() == n_sig
    # every resampled row is an input row; signal rows are each kept once
    assert_array_equal(np.sort(X_res[y_res == 1], axis=0), np.sort(X[y == 1], axis=0))
    # the resampled background follows the signal's pT spectrum (within sampling noise)
    edges = np.quantile(_first_pt(X[y == 1]), np.linspace(0, 1, 6))
    sig, _ = np.histogram(_first_pt(X_res[y_res == 1]), edges)
    bkg, _ = np.histogram(_first_pt(X_res[y_res == 0]), edges)
    assert np.all(np.abs(bkg - sig) < 5 * np.sqrt(sig) + 5)
    again = PtReweighter(n_bins=20, random_state=0).fit_resample(X, y)
    assert_array_equal(again[0], X_res)
    other = PtReweighter(n_bins=20, random_state=1).fit_resample(X, y)
    assert not np.array_equal(other[0], X_res)


def test_fit_resample_keeps_pandas(data):
    X, y = data
    df, s = pd.DataFrame(X, columns=feature_names(2)), pd.Series(y, name="label")
    X_res, y_res = PtReweighter(n_bins=10, random_state=0).fit_resample(df, s)
    assert isinstance(X_res, pd.DataFrame) and isinstance(y_res, pd.Series)
    assert_array_equal(X_res.to_numpy(), df.loc[X_res.index].to_numpy())


def test_imblearn_pipeline(data):
    imblearn_pipeline = pytest.importorskip("imblearn.pipeline")
    X, y = data
    pipe = imblearn_pipeline.Pipeline(
        [
            ("smear", MomentumSmearer(0.10, random_state=0)),
            ("resample", PtReweighter(n_bins=20, random_state=0)),
            ("features", DimuonFeatures()),
            ("tree", DecisionTreeClassifier(max_depth=3, random_state=0)),
        ]
    )
    pipe.fit(X, y)
    # the sampler only acts in fit: the tree saw the balanced resample, predict sees every row
    assert pipe["tree"].tree_.n_node_samples[0] == 2 * (y == 1).sum()
    assert pipe.predict_proba(X).shape == (len(X), 2)
    scores = cross_val_score(pipe, X, y, cv=2, scoring=pt_weighted_roc_auc)
    assert np.all((scores > 0.5) & (scores < 1.0))


# --- PtReweightedClassifier ---------------------------------------------------------------


def test_classifier_passes_training_fold_weights(data):
    X, y = data
    clf = PtReweightedClassifier(_SpyClassifier(), reweighter=PtReweighter(n_bins=20)).fit(X, y)
    expected = PtReweighter(n_bins=20).fit(X, y).compute_sample_weight(X, y)
    assert_allclose(clf.estimator_.sample_weight_, expected)
    assert_array_equal(clf.classes_, [0, 1])
    assert clf.n_features_in_ == 8
    assert_array_equal(clf.decision_function(X), X[:, 0])
    assert not hasattr(clf, "predict_proba")


def test_classifier_pipeline_uses_measured_pt(data):
    X, y = data
    pipe = make_pipeline(MomentumSmearer(0.3, random_state=None), _SpyClassifier())
    for measured_after in (1, "momentumsmearer"):
        clf = PtReweightedClassifier(pipe, reweighter=PtReweighter(n_bins=20),
                                     measured_after=measured_after).fit(X, y)
        fitted_smearer = clf.estimator_[0]
        X_measured = fitted_smearer.transform(X)
        expected = PtReweighter(n_bins=20).fit(X_measured, y).compute_sample_weight(
            X_measured, y)
        # the weights are those of the smeared events that the pipeline's own smearer produced
        assert_allclose(clf.estimator_[-1].sample_weight_, expected)
        # the classifier was trained on that output: the head was fitted once, not re-drawn
        assert clf.estimator_[-1].n_seen_ == len(X)
        assert_allclose(clf.decision_function(X), X_measured[:, 0])
        true_pt = PtReweighter(n_bins=20).fit(X, y).compute_sample_weight(X, y)
        assert not np.allclose(expected, true_pt)
    # the user's estimator is untouched (fitted on a clone)
    assert pipe[0].random_state is None and not hasattr(pipe[0], "seed_")


def test_classifier_without_measured_after_weights_x_as_given(data):
    """No step of the estimator is inspected: by default X as given is the measured event."""
    X, y = data
    pipe = make_pipeline(MomentumSmearer(0.3, random_state=0), _SpyClassifier())
    clf = PtReweightedClassifier(pipe, reweighter=PtReweighter(n_bins=20)).fit(X, y)
    expected = PtReweighter(n_bins=20).fit(X, y).compute_sample_weight(X, y)
    assert_allclose(clf.estimator_[-1].sample_weight_, expected)


@pytest.mark.parametrize(
    ("estimator", "measured_after", "match"),
    [
        (_SpyClassifier(), 1, "names leading steps of a Pipeline"),
        (make_pipeline(MomentumSmearer(0.1), _SpyClassifier()), 2, "leaves no step to train"),
        (make_pipeline(MomentumSmearer(0.1), _SpyClassifier()), "smear", "is no step"),
    ],
)
def test_classifier_rejects_a_wrong_measured_after(data, estimator, measured_after, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        PtReweightedClassifier(estimator, measured_after=measured_after).fit(X, y)


class _MembersSpy(_SpyClassifier):
    """Records the per-member weights and subsets an ensemble-like estimator receives."""

    def fit(self, X, y, sample_weight=None, subsets=None):
        self.subsets_ = subsets
        return super().fit(X, y, sample_weight=sample_weight)


def test_classifier_fits_one_reweighter_per_subset(data):
    X, y = data
    X = MomentumSmearer(0.1, random_state=0).fit_transform(X)
    subsets = [np.arange(0, 1500), np.arange(2999, 999, -1)]
    rw = PtReweighter(variable="leading", n_bins=15)
    clf = PtReweightedClassifier(_MembersSpy(), reweighter=rw).fit(X, y, subsets=subsets)
    assert clf.estimator_.subsets_ is subsets and len(clf.reweighter_) == 2
    for idx, weight, fitted in zip(subsets, clf.estimator_.sample_weight_, clf.reweighter_,
                                   strict=True):
        # each member's weights: the configured reweighter fitted on its own events, in order
        alone = PtReweightedClassifier(_SpyClassifier(), reweighter=rw).fit(X[idx], y[idx])
        assert_allclose(weight, alone.estimator_.sample_weight_)
        assert_allclose(fitted.bin_edges_, alone.reweighter_.bin_edges_)


def test_classifier_rejects_sample_weight(data):
    X, y = data
    with pytest.raises(ValueError, match="computes sample_weight itself"):
        PtReweightedClassifier(_SpyClassifier()).fit(X, y, sample_weight=np.ones(len(y)))


def test_classifier_in_cross_val_score_is_leak_free(data):
    X, y = data
    clf = PtReweightedClassifier(_SpyClassifier(), reweighter=PtReweighter(n_bins=10))
    res = cross_validate(clf, X, y, cv=3, return_estimator=True, scoring=pt_weighted_roc_auc)
    for est in res["estimator"]:
        # each reweighter saw only its training fold (2/3 of the events)
        assert est.reweighter_.signal_counts_.sum() + est.reweighter_.background_counts_.sum() \
            == est.estimator_.n_seen_ == 2000


def test_grid_search_and_learning_curve(data):
    X, y = data
    clf = PtReweightedClassifier(
        make_pipeline(
            MomentumSmearer(0.10, random_state=0), DimuonFeatures(), LogisticRegression()
        ),
        reweighter=PtReweighter(n_bins=20),
        measured_after=1,
    )
    grid = GridSearchCV(
        clf, {"estimator__logisticregression__C": [0.01, 1.0]}, cv=2,
        scoring=pt_weighted_roc_auc,
    ).fit(X, y)
    assert grid.best_params_["estimator__logisticregression__C"] in (0.01, 1.0)
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    # scoring the fitted search itself reaches the smearer of its best estimator
    best = pt_weighted_roc_auc(grid.best_estimator_, X, y)
    assert_allclose(pt_weighted_roc_auc(grid, X, y), best)
    sizes, train, test = learning_curve(
        clf, X, y, train_sizes=[0.3, 1.0], cv=2, scoring=pt_weighted_roc_auc
    )
    assert test.shape == (2, 2) and np.all((test > 0.3) & (test < 1.0))


# --- the scorer -----------------------------------------------------------------------------


def test_scorer_weights_come_from_the_scored_fold_after_smearing(data):
    X, y = data
    model = make_pipeline(
        MomentumSmearer(0.10, random_state=0), DimuonFeatures(), LogisticRegression()
    ).fit(X[:1500], y[:1500])
    X_test, y_test = X[1500:], y[1500:]
    score = pt_weighted_roc_auc(model, X_test, y_test)
    X_measured = model[0].transform(X_test)
    proba = model.predict_proba(X_test)[:, 1]
    w = PtReweighter().fit(X_measured, y_test).compute_sample_weight(X_measured, y_test)
    assert_allclose(score, roc_auc_score(y_test, proba, sample_weight=w))
    assert_allclose(score, weighted_roc_auc(y_test, proba, X_measured))
    assert not np.isclose(score, roc_auc_score(y_test, proba))
    assert not np.isclose(score, weighted_roc_auc(y_test, proba, X_test))


def test_scorer_unwraps_classifier_and_uses_its_reweighter(data):
    X, y = data
    rw = PtReweighter(n_bins=7)
    clf = PtReweightedClassifier(
        make_pipeline(MomentumSmearer(0.2, random_state=1), _SpyClassifier()), reweighter=rw,
        measured_after=1,
    ).fit(X, y)
    X_measured = clf.estimator_[0].transform(X)
    expected = weighted_roc_auc(y, X_measured[:, 0], X_measured, reweighter=rw)
    assert_allclose(pt_weighted_roc_auc(clf, X, y), expected)
    # the recommended structure, the smearer before the classifier, scores the same
    outer = make_pipeline(MomentumSmearer(0.2, random_state=1),
                          PtReweightedClassifier(_SpyClassifier(), reweighter=rw)).fit(X, y)
    assert_allclose(pt_weighted_roc_auc(outer, X, y), expected)


def test_scorer_measures_a_plain_pipeline_up_to_its_first_feature_step(data):
    """Without a PtReweightedClassifier, the leading events-to-events steps measure."""
    X, y = data
    model = make_pipeline(MomentumSmearer(0.10, random_state=0), MinkowskiInvariants(),
                          LogisticRegression()).fit(X, y)
    X_measured = model[0].transform(X)
    proba = model.predict_proba(X)[:, 1]
    assert_allclose(pt_weighted_roc_auc(model, X, y), weighted_roc_auc(y, proba, X_measured))
    features_first = make_pipeline(DimuonFeatures(), LogisticRegression()).fit(X, y)
    proba = features_first.predict_proba(X)[:, 1]
    assert_allclose(pt_weighted_roc_auc(features_first, X, y), weighted_roc_auc(y, proba, X))


def test_weighted_roc_auc_validates(data):
    X, y = data
    with pytest.raises(ValueError, match="one class only"):
        weighted_roc_auc(np.ones(len(y)), X[:, 0], X)


@pytest.mark.parametrize("rounding", [None, 1])
@pytest.mark.parametrize("weighted", [False, True])
def test_auc_contributions_sum_to_the_auc_with_ties_and_weights(rounding, weighted):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    score = rng.normal(size=2000) + y
    if rounding is not None:
        score = np.round(score, rounding)  # many ties, each counted one half
    weight = rng.uniform(0.0, 3.0, 2000) if weighted else None
    shares = roc_auc_contributions(y, score, weight)
    assert shares.shape == (2000,) and (shares >= 0).all()
    assert_allclose(shares.sum(), roc_auc_score(y, score, sample_weight=weight), rtol=1e-12)


def test_auc_contributions_split_an_auc_difference_by_bin(data):
    # Two scores differ only on the events with a leading muon above 45 GeV: the binned
    # differences of the shares add up to the AUC difference, and most of it lands there (pairs
    # across the two bins are credited half to each event).
    X, y = data
    lead = kinematics.pt(to_particles(X)).max(axis=1)
    rng = np.random.default_rng(1)
    good = y + rng.normal(0, 0.8, len(y))
    worse = np.where(lead > 45, rng.normal(0, 1, len(y)), good)
    weight = PtReweighter().fit(X, y).compute_sample_weight(X, y)
    lost = roc_auc_contributions(y, good, weight) - roc_auc_contributions(y, worse, weight)
    total = (roc_auc_score(y, good, sample_weight=weight)
             - roc_auc_score(y, worse, sample_weight=weight))
    assert total > 0.02
    assert_allclose(lost[lead > 45].sum() + lost[lead <= 45].sum(), total, rtol=1e-10)
    assert lost[lead > 45].sum() > lost[lead <= 45].sum()


@pytest.mark.parametrize(
    ("y", "score", "weight", "match"),
    [
        ([1, 1, 1], [0.1, 0.2, 0.3], None, "one class only"),
        ([0, 1, 1], [0.1, np.nan, 0.3], None, "finite"),
        ([0, 1, 1], [0.1, 0.2, 0.3], [1.0, -1.0, 1.0], "Negative values .* non-negative"),
        ([0, 1, 1], [0.1, 0.2], None, "different lengths"),
        ([0, 1, 1], [0.1, 0.2, 0.3], [0.0, 1.0, 1.0], "positive total weight"),
    ],
)
def test_auc_contributions_reject_bad_input(y, score, weight, match):
    with pytest.raises(ValueError, match=match):
        roc_auc_contributions(y, score, weight)
