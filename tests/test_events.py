"""Inputs that never turn into NaN or a silent swap: converters, by-name columns, range checks."""

from __future__ import annotations

import gzip
import re

import awkward as ak
import numpy as np
import pandas as pd
import pytest
import vector
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import DataConversionWarning
from sklearn.linear_model import LogisticRegression

from sklearn_bsym import events, kinematics
from sklearn_bsym.datasets import (
    load_event_file,
    load_lhe,
    make_dimuon_events,
    make_labelled_dataset,
)
from sklearn_bsym.nn import EnsembleClassifier, HybridClassifier, InvariantClassifier
from sklearn_bsym.optimal import BayesOptimalClassifier, optimal_discriminant
from sklearn_bsym.preprocessing import (
    MinkowskiInvariants,
    MomentumSmearer,
    PtReweightedClassifier,
    PtReweighter,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    return make_dimuon_events(200, random_state=0)


def _estimators():
    return [
        InvariantClassifier(max_epochs=1, batch_size=64, random_state=0),
        HybridClassifier(max_epochs=1, batch_size=64, random_state=0),
        BayesOptimalClassifier(resolution=0.1),
        MinkowskiInvariants(),
        MomentumSmearer(0.1, random_state=0),
    ]


# ---------------------------------------------------------------- range, float16, NaN


@pytest.mark.parametrize("estimator", _estimators(), ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("scale", [1e6, 1e18, 1e30])
def test_huge_momenta_are_an_error_for_every_estimator(data, estimator, scale):
    X, y = data
    X_big = X.copy()
    X_big[:5] *= scale
    with pytest.raises(ValueError, match=r"beyond 100000 GeV .*convert MeV"):
        estimator.fit(X_big, y)


def test_optimal_discriminant_refuses_huge_momenta(data):
    X, _ = data
    with pytest.raises(ValueError, match="beyond 100000 GeV"):
        optimal_discriminant(X * 1e30)
    assert np.isfinite(optimal_discriminant(X[:20])).all()


@pytest.mark.parametrize("estimator", _estimators(), ids=lambda e: type(e).__name__)
def test_float16_names_precision(data, estimator):
    X, y = data
    with pytest.raises(ValueError, match="float16, which keeps about 3 significant digits"):
        estimator.fit(X.astype(np.float16), y)
    frame = pd.DataFrame(X, columns=events.feature_names(2)).astype(np.float16)
    with pytest.raises(ValueError, match="column 'mu0_px' is float16"):
        estimator.fit(frame, y)


def test_nan_is_an_error(data):
    X, y = data
    X = X.copy()
    X[3, 2] = np.nan
    with pytest.raises(ValueError):
        InvariantClassifier(max_epochs=1).fit(X, y)


# ---------------------------------------------------------------- one validation for all


def _fits():
    """Every kind of estimator's fit, and optimal_discriminant, as functions of (X, y)."""
    estimators = [
        MomentumSmearer(0.1, random_state=0),
        PtReweighter(),
        PtReweightedClassifier(LogisticRegression()),
        HybridClassifier(max_epochs=1, batch_size=64, random_state=0),
        EnsembleClassifier(InvariantClassifier(max_epochs=1, batch_size=64), n_members=2,
                           random_state=0),
        BayesOptimalClassifier(resolution=0.1),
    ]
    fits = {type(e).__name__: e.fit for e in estimators}
    fits["optimal_discriminant"] = lambda X, y: optimal_discriminant(X)
    return fits


def _messages(calls, *args) -> set[str]:
    """The error message of each call, with the caller's name replaced by a placeholder."""
    found = set()
    for name, call in calls.items():
        with pytest.raises(ValueError) as info:
            call(*args)
        found.add(str(info.value).replace(name, "<caller>"))
    return found


def _bad_events(X):
    nan, inf, spacelike, huge = X.copy(), X.copy(), X.copy(), X.copy()
    nan[3, 2] = np.nan
    inf[5, 0] = np.inf
    spacelike[7, 3] = -1.0
    huge[9, 1] = 1e7
    empty = X.copy()
    empty[4] = 0.0  # no particle at all: it fitted and predicted 0.0
    # Names that are not the layout's (here the mu- first) were taken by position, silently.
    foreign = pd.DataFrame(X, columns=[f"{charge}_{c}" for charge in ("minus", "plus")
                                       for c in events.COMPONENTS])
    return {"nan": nan, "inf": inf, "spacelike": spacelike, "huge": huge, "6 columns": X[:, :6],
            "float16": X.astype(np.float16), "no particle": empty,
            "particle view": X.reshape(len(X), -1, 4), "foreign names": foreign}


@pytest.mark.parametrize("kind", list(_bad_events(np.ones((10, 8)))))
def test_same_bad_events_same_error_everywhere(data, kind):
    """validate_events is the one validation: every estimator and optimal_discriminant refuse
    the same bad events with the same message (the event contract's, naming the fix)."""
    X, y = data
    messages = _messages(_fits(), _bad_events(X)[kind], y)
    assert len(messages) == 1, messages


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (lambda y: None, "requires y to be passed"),
        (lambda y: np.ones_like(y), r"one class only \(\[1\]\); <caller> needs both"),
        (lambda y: np.arange(len(y)) % 3, "The type of the target is multiclass"),
        (lambda y: y + 0.5, "The type of the target is continuous"),
        (lambda y: np.where(y == 1, np.nan, 0.0), "Input y contains NaN"),
        (lambda y: 2 * y - 1, r"y holds the labels \[-1, 1\]; <caller> needs labels 1 = signal "
         r"and 0 = background: map them first, e.g. y = \(labels == 1\)\.astype\(int\)\.$"),
        (lambda y: np.where(y == 1, "signal", "background"),
         r"y holds the labels \['background', 'signal'\]; <caller> needs labels 1 = signal and "
         r"0 = background: map them first, e.g. y = \(labels == 'signal'\)\.astype\(int\)\.$"),
        (lambda y: y[:-1], "X has 200 events but y has 199 labels; pass one label per event"),
    ],
)
def test_same_bad_labels_same_error_everywhere(data, labels, match):
    """check_labels is the one label check: every classifier (and the reweighter) gives the same
    message for the same bad labels."""
    X, y = data
    fits = {k: v for k, v in _fits().items()
            if k not in ("MomentumSmearer", "optimal_discriminant")}
    if labels(y) is None:  # a classifier's fit(X, None); the networks predict with y=None
        fits = {k: v for k, v in fits.items() if k.startswith(("Pt", "Bayes"))}
    messages = _messages(fits, X, labels(y))
    assert len(messages) == 1, messages
    assert re.search(match, messages.pop())


def test_column_labels_warn_alike(data):
    """A column-vector y is scikit-learn's DataConversionWarning for the networks too."""
    X, y = data
    for est in (PtReweighter(), InvariantClassifier(max_epochs=1, batch_size=64)):
        with pytest.warns(DataConversionWarning, match="column-vector y"):
            est.fit(X, y.reshape(-1, 1))


@pytest.mark.parametrize(
    ("weight", "match"),
    [
        (lambda n: -np.ones(n), "Negative values in data passed to `sample_weight`"),
        (lambda n: np.where(np.arange(n) == 3, np.nan, 1.0), "Input sample_weight contains NaN"),
        (lambda n: np.zeros(n), "at least one non-zero number"),
        (lambda n: np.ones(n - 1), "sample_weight has 199 entries but X has 200 events"),
    ],
)
def test_bad_sample_weight_refused_alike_by_a_classifier_and_an_ensemble(data, weight, match):
    X, y = data
    net = InvariantClassifier(max_epochs=1, batch_size=64, random_state=0)
    fits = {"InvariantClassifier": net.fit,
            "EnsembleClassifier": EnsembleClassifier(net, n_members=2, random_state=0).fit}
    messages = _messages(fits, X, y, weight(len(y)))
    assert len(messages) == 1, messages
    assert re.search(match, messages.pop())


def test_ensemble_checks_every_weight_not_only_its_members(data):
    """The weights are checked over all events, as a single fit checks them: a negative weight
    outside every member's subset is refused too."""
    X, y = data
    w = np.ones(len(y))
    w[-1] = -1.0
    ens = EnsembleClassifier(InvariantClassifier(max_epochs=1, batch_size=64), n_members=2)
    with pytest.raises(ValueError, match="Negative values .* non-negative with a positive sum"):
        ens.fit(X, y, sample_weight=w, subsets=[np.arange(100), np.arange(100)])


def test_validate_events_without_an_estimator(data):
    X, _ = data
    out = events.validate_events("my_function", X.astype(np.float32), dtype=np.float64)
    assert out.dtype == np.float64
    assert_array_equal(out, X.astype(np.float32))
    with pytest.raises(ValueError, match="Expected 2 particles"):
        events.validate_events(None, np.hstack([X, X]), n_particles=2)


# ---------------------------------------------------------------- DataFrame columns by name


def test_dataframe_columns_reordered_by_name(data):
    X, y = data
    frame = pd.DataFrame(X, columns=events.feature_names(2))
    swapped = frame[events.feature_names(2)[4:] + events.feature_names(2)[:4]]
    model = MinkowskiInvariants().fit(frame)
    assert_array_equal(model.transform(swapped), model.transform(frame))
    clf = InvariantClassifier(max_epochs=1, batch_size=64, random_state=0).fit(swapped, y)
    ref = InvariantClassifier(max_epochs=1, batch_size=64, random_state=0).fit(frame, y)
    assert_allclose(clf.predict_proba(frame), ref.predict_proba(frame), atol=1e-6)
    assert list(clf.feature_names_in_) == events.feature_names(2)


@pytest.mark.parametrize(
    ("columns", "match"),
    [
        (events.feature_names(2)[:7] + ["mu2_px"], r"missing \['mu1_E'\], unexpected \['mu2_px'\]"),
        (events.feature_names(2)[:7] + ["energy"], "mixes the event layout's column names"),
        (events.feature_names(1) + events.feature_names(1, prefix="e"), "several particle prefix"),
        (events.feature_names(2)[:7] + ["mu0_px"], r"duplicated \['mu0_px'\]"),
    ],
)
def test_dataframe_name_mismatch_is_an_error(data, columns, match):
    X, y = data
    frame = pd.DataFrame(X, columns=columns)
    with pytest.raises(ValueError, match=match):
        InvariantClassifier(max_epochs=1).fit(frame, y)
    with pytest.raises(ValueError, match=match):
        events.check_events(frame)


@pytest.mark.parametrize(
    "columns",
    [[f"c{i}" for i in range(8)],
     [f"{charge}_{c}" for charge in ("minus", "plus") for c in events.COMPONENTS],
     [4, 5, 6, 7, 0, 1, 2, 3]],
    ids=["other_names", "mu_minus_first", "positions_reordered"],
)
def test_dataframe_without_layout_names_is_refused(data, columns):
    """Columns that are not the layout's names (nor plain positions 0, 1, ...) were taken by
    position without a word; the error names the column-mapping reader."""
    X, y = data
    frame = pd.DataFrame(X, columns=columns)
    with pytest.raises(ValueError, match=r"are not the event layout's names.*column mapping "
                       r"\(sklearn_bsym\.datasets\.load_event_file\(path, columns=\[\.\.\.\]\)"):
        InvariantClassifier(max_epochs=1).fit(frame, y)
    assert_array_equal(events.check_events(frame.to_numpy()), X)


def test_dataframe_of_positions_is_positional(data):
    X, _ = data
    assert_array_equal(events.check_events(pd.DataFrame(X)), X)


def test_no_particle_event_is_refused_at_fit_and_predict(data):
    """An all-zero event fitted and predicted 0.0; it is refused by its row, also when a
    fitted estimator predicts it."""
    X, y = data
    clf = InvariantClassifier(max_epochs=1, batch_size=64, random_state=0).fit(X, y)
    empty = X[:5].copy()
    empty[2] = 0.0
    for call in (clf.predict_proba, clf.decision_function,
                 MomentumSmearer(0.1, random_state=0).fit(X).transform):
        with pytest.raises(ValueError, match=r"1 event\(s\) have no particle at all.*first "
                           r"rows: \[2\]"):
            call(empty)


# ---------------------------------------------------------------- awkward and vector


def _muons(X):
    p = events.to_particles(X)
    return kinematics.pt(p), kinematics.eta(p), kinematics.phi(p), kinematics.mass(p)


def test_from_pt_eta_phi_mass_round_trip(data):
    X, _ = data
    assert_allclose(events.from_pt_eta_phi_mass(*_muons(X)), X, rtol=1e-9, atol=1e-9)


def test_awkward_and_vector_inputs_convert(data):
    X, _ = data
    pt, eta, phi, mass = _muons(X)
    records = ak.zip({"pt": pt, "eta": eta, "phi": phi, "mass": mass})
    assert_allclose(events.from_awkward(records), X, rtol=1e-9, atol=1e-9)
    cartesian = ak.zip({"Px": X[:, 0::4], "Py": X[:, 1::4], "Pz": X[:, 2::4], "E": X[:, 3::4]})
    assert_allclose(events.from_awkward(cartesian), X)
    vec_ak = vector.zip({"pt": pt, "eta": eta, "phi": phi, "mass": mass})
    assert_allclose(events.from_awkward(vec_ak), X, rtol=1e-9, atol=1e-9)
    vec_np = vector.array({"px": X[:, 0], "py": X[:, 1], "pz": X[:, 2], "E": X[:, 3]})
    assert_allclose(events.from_awkward(vec_np), X[:, :4])
    jagged = ak.Array([[{"x": 1.0, "y": 0.0, "z": 0.0, "t": 2.0}], []])
    assert_array_equal(events.from_awkward(jagged, n_particles=2),
                       [[1, 0, 0, 2, 0, 0, 0, 0], [0] * 8])
    with pytest.raises(ValueError, match="more than n_particles=1"):
        events.from_awkward(ak.Array([[{"x": 1.0, "y": 0.0, "z": 0.0, "t": 2.0}] * 2]),
                            n_particles=1)
    with pytest.raises(ValueError, match="no four-momentum fields"):
        events.from_awkward(ak.zip({"a": [1.0]}))


@pytest.mark.parametrize("kind", ["records", "vector-awkward", "vector-numpy", "jagged"])
def test_estimators_name_the_converter(data, kind):
    X, y = data
    pt, eta, phi, mass = _muons(X)
    inputs = {
        "records": ak.zip({"pt": pt, "eta": eta, "phi": phi, "mass": mass}),
        "vector-awkward": vector.zip({"pt": pt, "eta": eta, "phi": phi, "mass": mass}),
        "vector-numpy": vector.array({"x": X[:, 0], "y": X[:, 1], "z": X[:, 2], "t": X[:, 3]}),
        "jagged": ak.Array([[1.0, 2.0], [3.0]]),
    }
    for estimator in _estimators():
        with pytest.raises(ValueError, match=r"sklearn_bsym\.events\.from_awkward"):
            estimator.fit(inputs[kind], y)


def test_awkward_to_fitted_pipeline(data):
    X, y = data
    pt, eta, phi, mass = _muons(X)
    muons = vector.zip({"pt": pt, "eta": eta, "phi": phi, "mass": mass})
    clf = InvariantClassifier(max_epochs=1, batch_size=64, random_state=0)
    proba = clf.fit(events.from_awkward(muons), y).predict_proba(X)
    assert np.isfinite(proba).all()
    # A regular numeric awkward array is the layout itself.
    assert_array_equal(events.check_events(ak.Array(X)), X)


# ---------------------------------------------------------------- foreign CSV layouts


def _foreign_csv(path, X, *, swap_rows=(), ids=(-13, 13)):
    table = {}
    for i in range(2):
        for c, name in zip(range(4), ("px", "py", "pz", "energy"), strict=True):
            table[f"{name}_{i}"] = X[:, 4 * i + c]
        table[f"id_{i}"] = np.full(len(X), ids[i])
    frame = pd.DataFrame(table)
    for row in swap_rows:  # the mu- written first
        for name in ("px", "py", "pz", "energy", "id"):
            frame.loc[row, [f"{name}_0", f"{name}_1"]] = frame.loc[
                row, [f"{name}_1", f"{name}_0"]].to_numpy().copy()
    frame.to_csv(path, index=False, float_format="%.17g")
    return path


FOREIGN = [
    {"px": f"px_{i}", "py": f"py_{i}", "pz": f"pz_{i}", "E": f"energy_{i}", "pdg_id": f"id_{i}"}
    for i in range(2)
]


def test_foreign_csv_with_mapping(tmp_path, data):
    X, y = data
    path = _foreign_csv(tmp_path / "other.csv", X, swap_rows=[0, 5])
    assert_allclose(load_event_file(path, columns=FOREIGN), X, rtol=1e-15)
    parquet = tmp_path / "other.parquet"
    pd.read_csv(path).to_parquet(parquet)
    assert_allclose(load_event_file(parquet, columns=FOREIGN, max_events=10), X[:10])
    X2, y2 = make_labelled_dataset(path, path, columns=FOREIGN, shuffle=False)
    assert X2.shape == (2 * len(X), 8)
    with pytest.raises(ValueError, match=r"no event with the leptons .*an e\+ e- pair.*"
                       r"pdg_id is -11 or 11"):
        load_event_file(path, columns=FOREIGN, lepton="e")
    with pytest.raises(ValueError, match=r"has no column 'E_0'"):
        load_event_file(path, columns=[{**FOREIGN[0], "E": "E_0"}, FOREIGN[1]])


def test_foreign_csv_mapping_errors(tmp_path, data):
    X, _ = data
    path = _foreign_csv(tmp_path / "other.csv", X, ids=(13, 13))
    mixed = _foreign_csv(tmp_path / "mixed.csv", X[:3])
    frame = pd.read_csv(mixed)
    frame.loc[1, "id_0"] = 13  # two mu-: not a pair
    frame.to_csv(mixed, index=False)
    with pytest.warns(UserWarning, match=r"Skipped 1 of 3 .*1 with only same-charge leptons"
                      r".*pdg_id is -13 or 13"):
        assert load_event_file(mixed, columns=FOREIGN).shape == (2, 8)
    with pytest.raises(ValueError, match=r"no event with the leptons asked for in its 200 events"):
        load_event_file(path, columns=FOREIGN)
    for bad, match in [
        ({"px": "px_0"}, "must be a list with one dict per particle"),
        ([{"px": "px_0", "py": "py_0"}], r"needs exactly px, py, pz, E or pt, eta, phi \(and mass"),
        ([FOREIGN[0]], "maps 1 particle\\(s\\) with a pdg_id.*map an even number"),
        ([FOREIGN[0], {k: v for k, v in FOREIGN[1].items() if k != "pdg_id"}],
         "same ordering key"),
    ]:
        with pytest.raises(ValueError, match=match):
            load_event_file(path, columns=bad)
    with pytest.raises(ValueError, match="columns only apply to tables and ROOT"):
        lhe = tmp_path / "f.lhe"
        lhe.write_text("<LesHouchesEvents/>")
        load_event_file(lhe, columns=FOREIGN)


# ---------------------------------------------------------------- corrupt gzip


def test_corrupt_lhe_gz_names_the_file(tmp_path):
    good = gzip.compress(b"<LesHouchesEvents version='3.0'>\n<event>\n" * 200)
    corrupt = bytearray(good)
    corrupt[len(corrupt) // 2: len(corrupt) // 2 + 16] = b"\x00" * 16
    path = tmp_path / "broken.lhe.gz"
    path.write_bytes(bytes(corrupt))
    with pytest.raises(ValueError, match=r"broken\.lhe\.gz.*corrupt or truncated"):
        load_lhe(path)
