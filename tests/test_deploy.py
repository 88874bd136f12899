"""From a fitted model to scores in the user's files: model files, the measured model, scoring
in step with the inputs, ONNX export (sklearn_bsym.deploy)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from pandas.testing import assert_frame_equal
from sklearn.pipeline import Pipeline, make_pipeline

from sklearn_bsym.datasets import make_dimuon_events, save_events
from sklearn_bsym.datasets._io import _CSV_FLOATS  # exact float reading on every pandas
from sklearn_bsym.deploy import (
    FORMAT_VERSION,
    ModelFileError,
    load_model,
    measured_model,
    read_model_info,
    save_model,
    score_files,
)
from sklearn_bsym.nn import (
    EnsembleClassifier,
    HybridClassifier,
    InvariantClassifier,
    PFNClassifier,
)
from sklearn_bsym.preprocessing import (
    DimuonFeatures,
    MomentumSmearer,
    PtReweightedClassifier,
    PtReweighter,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: Tiny networks: the tests check the plumbing, not the physics.
TINY = {
    "pfn": (PFNClassifier, {"Phi_sizes": (16, 8), "F_sizes": (16,)}),
    "invariant": (InvariantClassifier, {"hidden_sizes": (16,)}),
    "hybrid": (HybridClassifier, {"Phi_sizes": (16, 8), "invariant_sizes": (16, 8),
                                  "weight_sizes": (8,), "F_sizes": (16,)}),
}


def _tiny(name, **params):
    cls, sizes = TINY[name]
    return cls(max_epochs=2, random_state=0, **sizes, **params)


@pytest.fixture(scope="module")
def data():
    return make_dimuon_events(2000, random_state=0)


@pytest.fixture(scope="module")
def models(data):
    """One fitted model of every kind a model file holds."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = data
    smeared = Pipeline([
        ("smear", MomentumSmearer(0.1, random_state=0)),
        ("clf", PtReweightedClassifier(_tiny("hybrid"), reweighter=PtReweighter(n_bins=20))),
    ])  # fmt: skip
    fitted = {
        "pfn": _tiny("pfn", validation_fraction=0.2),  # a history with valid_auc
        "invariant": _tiny("invariant"),
        "ensemble": EnsembleClassifier(_tiny("invariant"), n_members=3, random_state=1),
        "smeared_hybrid": smeared,
        "hgb": make_pipeline(DimuonFeatures(),
                             HistGradientBoostingClassifier(max_iter=20, random_state=0)),
    }
    return {name: model.fit(X, y) for name, model in fitted.items()}


# ---------------------------------------------------------------- model files
def test_round_trip_is_bit_identical_in_a_new_process(models, data, tmp_path):
    X, _ = data
    np.save(tmp_path / "X.npy", X)
    for name, model in models.items():
        save_model(model, tmp_path / f"{name}.skops")
    code = (
        "import sys, numpy as np\n"
        "from sklearn_bsym.deploy import load_model\n"
        "folder = sys.argv[1]\n"
        "X = np.load(folder + '/X.npy')\n"
        "for name in sys.argv[2:]:\n"
        "    model = load_model(f'{folder}/{name}.skops')\n"
        "    np.save(f'{folder}/{name}.npy', model.predict_proba(X))\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path), *models], check=True)
    for name, model in models.items():
        # A model that smears loads as its measured part (format 2): it never smears again.
        assert_array_equal(np.load(tmp_path / f"{name}.npy"),
                           measured_model(model).predict_proba(X), name)
    whole = load_model(tmp_path / "smeared_hybrid.skops", measured=False)
    assert_array_equal(whole.predict_proba(X), models["smeared_hybrid"].predict_proba(X))


def test_a_loaded_network_keeps_its_settings_and_history(models, tmp_path):
    net = models["pfn"]
    loaded = load_model(save_model(net, tmp_path / "pfn.skops"))
    assert type(loaded) is PFNClassifier
    assert loaded.get_params()["Phi_sizes"] == (16, 8) and loaded.validation_fraction == 0.2
    assert loaded.history[:, "valid_auc"] == net.history[:, "valid_auc"]
    assert (loaded.stop_reason_, loaded.epochs_planned_) == (net.stop_reason_,
                                                             net.epochs_planned_)
    ensemble = load_model(save_model(models["ensemble"], tmp_path / "ensemble.skops"))
    assert [m.seed_ for m in ensemble.members_] == [m.seed_ for m in
                                                    models["ensemble"].members_]


def test_an_unfitted_model_round_trips(tmp_path):
    template = EnsembleClassifier(_tiny("hybrid", preset="paper"), n_members=4)
    loaded = load_model(save_model(template, tmp_path / "template.skops"))
    assert repr(loaded) == repr(template)
    assert not hasattr(loaded, "members_")


def test_the_manifest_records_versions_format_and_metadata(models, tmp_path):
    import sklearn_bsym

    path = save_model(models["smeared_hybrid"], tmp_path / "m.skops", metadata={"run": 7})
    info = read_model_info(path)
    assert info["format_version"] == FORMAT_VERSION
    assert info["versions"]["sklearn_bsym"] == sklearn_bsym.__version__
    assert info["metadata"] == {"run": 7}
    assert info["estimator"] == ("Pipeline(smear: MomentumSmearer, clf: "
                                 "PtReweightedClassifier(HybridClassifier))")


def _refusal(path) -> str:
    with pytest.raises(ModelFileError) as error:
        load_model(path)
    message = str(error.value)
    assert "\n" not in message and str(path) in message
    return message


class _Payload:
    """An object whose unpickling (or construction from its state) leaves a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))

    def __setstate__(self, state):
        open(state["marker"], "w").close()


def test_a_pickle_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "model.skops"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    assert "it is a pickle, which runs code when loaded" in _refusal(path)
    assert not marker.exists()


def test_a_torch_save_file_is_refused_by_its_pickle_member(models, tmp_path):
    import torch

    path = tmp_path / "net.pt"
    torch.save(models["pfn"].module_, path)  # a zip archive holding data.pkl
    message = _refusal(path)
    assert "carries a pickle payload" in message and "data.pkl" in message


def test_a_pickle_hidden_in_a_model_file_is_refused(models, tmp_path):
    marker = tmp_path / "ran"
    path = save_model(models["invariant"], tmp_path / "m.skops")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("extra.npy", pickle.dumps(_Payload(marker)))
    assert "carries a pickle payload ('extra.npy')" in _refusal(path)
    assert not marker.exists()


def _rewrite(path, schema=None, manifest=None):
    """The model file with its skops schema and/or manifest replaced."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if schema is not None:
        members["schema.json"] = json.dumps(schema).encode()
    if manifest is not None:
        members["sklearn_bsym.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _skops_schema(obj) -> dict:
    import io

    import skops.io

    return json.loads(zipfile.ZipFile(io.BytesIO(skops.io.dumps(obj))).read("schema.json"))


def test_an_unknown_type_is_refused_by_name_and_not_built(tmp_path):
    marker = tmp_path / "ran"
    path = save_model(PtReweighter(), tmp_path / "m.skops")
    # A valid skops file of another type, under a valid manifest: skops would build it with
    # __new__ and __setstate__ (which leaves the marker) if it were trusted.
    _rewrite(path, schema=_skops_schema(_Payload(marker)))
    message = _refusal(path)
    assert f"holds type(s) ['{_Payload.__module__}._Payload']" in message
    assert "nothing in it was run" in message and not marker.exists()


def test_a_function_in_a_model_file_is_refused(tmp_path):
    import os

    path = save_model(PtReweighter(), tmp_path / "m.skops")
    _rewrite(path, schema=_skops_schema({"f": os.system}))
    assert "posix.system" in _refusal(path)


def test_a_newer_format_is_refused_with_the_upgrade(tmp_path):
    path = save_model(PtReweighter(), tmp_path / "m.skops")
    manifest = read_model_info(path)
    manifest["format_version"] = FORMAT_VERSION + 1
    manifest["versions"]["sklearn_bsym"] = "9.0.0"
    _rewrite(path, manifest=manifest)
    message = _refusal(path)
    assert f"written in model format {FORMAT_VERSION + 1} by sklearn_bsym 9.0.0" in message
    assert "pip install -U sklearn-bsym" in message


@pytest.mark.parametrize("name", ["invariant", "smeared_hybrid"])
def test_a_network_of_format_1_is_refused_with_the_fix(models, tmp_path, name):
    # Format 1 (0.3.0) networks were trained on momenta divided by 100 GeV; read through this
    # version's log-scale inputs their weights would score wrongly, silently.
    path = save_model(models[name], tmp_path / "m.skops")
    manifest = read_model_info(path)
    manifest["format_version"] = 1
    manifest["versions"]["sklearn_bsym"] = "0.3.0"
    _rewrite(path, manifest=manifest)
    message = _refusal(path)
    assert "trained by sklearn_bsym 0.3.0 (model format 1)" in message
    assert "Refit it with this version" in message


def test_a_model_of_format_1_without_a_network_still_loads(tmp_path):
    X, y = make_dimuon_events(200, random_state=0)
    model = PtReweighter().fit(X, y)
    path = save_model(model, tmp_path / "m.skops")
    manifest = read_model_info(path)
    manifest["format_version"] = 1
    _rewrite(path, manifest=manifest)
    assert_allclose(load_model(path).compute_sample_weight(X, y),
                    model.compute_sample_weight(X, y))


@pytest.mark.parametrize("content", [b"just text", b""])
def test_a_file_that_is_no_model_file_is_refused(tmp_path, content):
    path = tmp_path / "m.skops"
    path.write_bytes(content)
    assert "it is not a model file" in _refusal(path)
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("schema.json", "{}")
    assert "it has no sklearn_bsym.json" in _refusal(plain)


def test_saving_refuses_what_loading_would_refuse(data, tmp_path):
    from skorch.callbacks import LRScheduler

    net = _tiny("invariant", callbacks=[LRScheduler()])
    with pytest.raises(ValueError, match=r"type\(s\) \['skorch.callbacks.lr_scheduler."
                       r"LRScheduler'\].*set_params\(callbacks=None\)"):
        save_model(net, tmp_path / "m.skops")
    assert not (tmp_path / "m.skops").exists()
    with pytest.raises(ValueError, match="metadata must be JSON-serializable"):
        save_model(PtReweighter(), tmp_path / "m.skops", metadata={"x": object()})


# ---------------------------------------------------------------- the measured model
def test_measured_model_leaves_out_the_smearing(models, data):
    X, _ = data
    model = models["smeared_hybrid"]
    measured, skipped = measured_model(model, return_skipped=True)
    assert measured is model["clf"] and skipped == ["smear"]
    # The trap: the whole pipeline smears measured events a second time.
    assert not np.array_equal(model.predict_proba(X), measured.predict_proba(X))
    assert_array_equal(model.predict_proba(X), measured.predict_proba(model["smear"].transform(X)))
    assert measured_model(models["pfn"]) is models["pfn"]


def test_measured_model_of_a_head_inside_the_reweighted_classifier(data):
    from sklearn.tree import DecisionTreeClassifier

    X, y = data
    inside = PtReweightedClassifier(make_pipeline(
        MomentumSmearer(0.1, random_state=0), DimuonFeatures(),
        DecisionTreeClassifier(max_depth=3, random_state=0)), measured_after=1).fit(X, y)
    measured, skipped = measured_model(inside, return_skipped=True)
    assert skipped == ["momentumsmearer"]
    assert [name for name, _ in measured.steps] == ["dimuonfeatures", "decisiontreeclassifier"]
    smeared = inside.estimator_[0].transform(X)
    assert_array_equal(measured.predict_proba(smeared), inside.predict_proba(X))


# ---------------------------------------------------------------- scoring files
def _charged_table(X, charges):
    p = X.reshape(-1, 2, 4)
    table = pd.DataFrame({f"{c}{i}": p[:, i, k] for i in range(2)
                          for k, c in enumerate(["px", "py", "pz", "E"])})
    table["q0"], table["q1"] = charges[:, 0], charges[:, 1]
    return table


MAPPING = [{"px": f"px{i}", "py": f"py{i}", "pz": f"pz{i}", "E": f"E{i}", "charge": f"q{i}"}
           for i in range(2)]


@pytest.mark.parametrize("suffix", [".root", ".parquet", ".csv"])
def test_scores_follow_the_entries_with_nan_where_dropped(models, tmp_path, suffix):
    import uproot

    model = models["smeared_hybrid"]
    X, _ = make_dimuon_events(300, random_state=5)
    charges = np.tile([1, -1], (300, 1))
    dropped = [0, 17, 123, 299]
    charges[dropped] = [-1, -1]
    _charged_table(X, charges).to_csv(tmp_path / "in.csv", index=False, float_format="%.17g")
    out = tmp_path / f"scores{suffix}"
    summary = score_files(model, tmp_path / "in.csv", out, columns=MAPPING, chunk_size=64)
    assert (summary.n_entries, summary.n_scored, summary.n_dropped) == (300, 296, 4)
    assert summary.skipped_steps == ["smear"]
    if suffix == ".root":
        with uproot.open(out) as file:
            scores = file["scores"]["score"].array(library="np")
    else:
        table = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out, **_CSV_FLOATS)
        scores = table["score"].to_numpy()
    expected = np.full(300, np.nan)
    for lo in range(0, 300, 64):  # the chunks: torch's float32 sums depend on the batch size
        keep = np.setdiff1d(np.arange(lo, min(lo + 64, 300)), dropped)
        expected[keep] = model["clf"].predict_proba(X[keep])[:, 1]  # measured: never smeared
    assert_array_equal(scores, expected)


def test_scores_of_a_root_tree_are_its_friend(models, tmp_path):
    """A NanoAOD-style tree: the scores tree has its entries, in its order."""
    import awkward as ak
    import uproot

    from sklearn_bsym import events, kinematics

    X, _ = make_dimuon_events(50, random_state=3)
    q = events.to_particles(X)
    columns = {"pt": kinematics.pt(q), "eta": kinematics.eta(q), "phi": kinematics.phi(q),
               "mass": kinematics.mass(q), "charge": np.tile([1, -1], (50, 1))}
    branches = {f"Muon_{k}": ak.from_regular(v) for k, v in columns.items()}
    branches = {k: v[[i for i in range(50) if i != 10]] for k, v in branches.items()}
    branches["Muon_charge"] = ak.concatenate([branches["Muon_charge"][:20],
                                              ak.Array([[1, 1]] * 29)])  # same-sign from 20 on
    with uproot.recreate(tmp_path / "nano.root") as file:
        file.mktree("Events", {k: v.type for k, v in branches.items()}).extend(branches)
    summary = score_files(models["pfn"], tmp_path / "nano.root", tmp_path / "s.root",
                          tree="Events", chunk_size=8)
    with uproot.open(tmp_path / "s.root") as file:
        scores = file["scores"]["score"].array(library="np")
    assert scores.size == 49 == summary.n_entries
    assert np.isfinite(scores[:20]).all() and np.isnan(scores[20:]).all()


def test_several_inputs_are_scored_one_after_the_other(models, tmp_path):
    X, _ = make_dimuon_events(30, random_state=1)
    save_events(tmp_path / "a.parquet", X[:12])
    save_events(tmp_path / "b.csv", X[12:])
    summary = score_files(models["hgb"], [tmp_path / "a.parquet", tmp_path / "b.csv"],
                          tmp_path / "s.parquet", name="hgb_score")
    assert summary.skipped_steps == [] and summary.n_dropped == 0
    assert_array_equal(pd.read_parquet(tmp_path / "s.parquet")["hgb_score"],
                       models["hgb"].predict_proba(X)[:, 1])


@pytest.mark.parametrize(
    ("output", "match"),
    [("scores.txt", "the output must end in .root, .parquet, .csv"),
     ("missing/scores.csv", "does not exist"),
     ("in.csv", "is one of the inputs")],
)
def test_bad_outputs_are_refused_before_reading(models, tmp_path, output, match):
    save_events(tmp_path / "in.csv", make_dimuon_events(10, random_state=0)[0])
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        score_files(models["pfn"], tmp_path / "in.csv", tmp_path / output)


def test_scores_summarize_each_input_per_reason(models, tmp_path):
    X, _ = make_dimuon_events(40, random_state=2)
    charges = np.tile([1, -1], (40, 1))
    charges[[1, 2, 3]] = [1, 1]
    _charged_table(X, charges).to_csv(tmp_path / "a.csv", index=False, float_format="%.17g")
    _charged_table(X[:10], np.tile([-1, -1], (10, 1))).to_csv(tmp_path / "b.csv", index=False)
    summary = score_files(models["pfn"], [tmp_path / "a.csv", tmp_path / "b.csv"],
                          tmp_path / "s.csv", columns=MAPPING)
    assert summary.selection == "exclusive mode (exactly one lepton of each charge)"
    assert [(f["input"], f["n_entries"], f["n_scored"], f["dropped"]["only same-charge leptons"])
            for f in summary.files] == [(str(tmp_path / "a.csv"), 40, 37, 3),
                                        (str(tmp_path / "b.csv"), 10, 0, 10)]
    assert summary.dropped["only same-charge leptons"] == 13 and summary.outside is None
    scores = pd.read_csv(tmp_path / "s.csv")["score"]
    assert scores.size == 50 and scores[40:].isna().all()  # an input without a pair: all NaN


def test_inputs_of_other_widths_are_refused_before_scoring(models, tmp_path):
    """A file read with another number of leptons than the model's: the fix, not torch's
    'X has 16 features' mid-run."""
    X, _ = make_dimuon_events(20, random_state=0)
    save_events(tmp_path / "four.parquet", np.hstack([X, X]))
    with pytest.raises(ValueError, match=r"trained on events of 2 leptons but .*four.parquet "
                       r"is read with 4 \(the particles as they are\); pass n_leptons=2"):
        score_files(models["pfn"], tmp_path / "four.parquet", tmp_path / "s.csv")
    assert not (tmp_path / "s.csv").exists()


def test_support_counts_and_flags_the_events_outside(models, tmp_path):
    from sklearn_bsym.deploy import measure_support, outside_support

    X, _ = make_dimuon_events(3000, random_state=4)
    support = measure_support(X, quantiles=(0.0, 1.0))
    assert support["n_events"] == 3000 and support["n_particles"] == 2
    assert support["mass"][0] >= 70.0 and support["eta"][1] <= 2.5
    inside = outside_support(X, support)
    assert list(inside) == ["mass", "pt", "eta"] and not inside.to_numpy().any()
    # Shift events out of the ranges: a boost to forward eta, a low-mass pair (J/psi-like).
    low = np.array([[0.0, 1.5, 0.2, 1.52, 0.0, -1.5, 0.2, 1.52]])
    data = np.vstack([X[:5], low])
    flags = outside_support(data, support)
    assert flags.iloc[5].tolist() == [True, True, False] and not flags.iloc[:5].any().any()
    save_events(tmp_path / "in.parquet", data)
    summary = score_files(models["pfn"], tmp_path / "in.parquet", tmp_path / "s.parquet",
                          support=support, support_column="outside")
    assert summary.outside == {"mass": 1, "pt": 1, "eta": 0, "any": 1}
    table = pd.read_parquet(tmp_path / "s.parquet")
    assert table["outside"].tolist() == [False] * 5 + [True]
    with pytest.raises(ValueError, match="read the events with the model's number of leptons"):
        outside_support(np.hstack([data, data]), support)
    with pytest.raises(ValueError, match="support must be a dict of measure_support"):
        score_files(models["pfn"], tmp_path / "in.parquet", tmp_path / "s.csv",
                    support={"mass": [1, 2]})
    with pytest.raises(ValueError, match="support_column needs the model's support"):
        score_files(models["pfn"], tmp_path / "in.parquet", tmp_path / "s.csv",
                    support_column="outside")
    with pytest.raises(ValueError, match="quantiles must be two numbers"):
        measure_support(X, quantiles=(0.9, 0.1))


@pytest.fixture(scope="module")
def several_inputs(tmp_path_factory):
    """Five inputs of three formats, one of them with dropped entries."""
    folder = tmp_path_factory.mktemp("inputs")
    paths = []
    for i in range(5):
        X, _ = make_dimuon_events(700 + 100 * i, random_state=10 + i)
        path = folder / f"part{i}.{('parquet', 'csv', 'csv.gz')[i % 3]}"
        if i == 2:
            charges = np.tile([1, -1], (len(X), 1))
            charges[::7] = [1, 1]
            path = folder / "part2.csv"
            _charged_table(X, charges).to_csv(path, index=False, float_format="%.17g")
        else:
            save_events(path, X)
        paths.append(path)
    return paths


def _read_scores(path):
    return pd.read_parquet(path) if str(path).endswith(".parquet") else pd.read_csv(
        path, **_CSV_FLOATS)


@pytest.mark.parametrize("backend", [{"n_jobs": 2}, {"dask": "local", "n_jobs": 2}])
def test_parallel_scores_are_the_serial_ones(models, several_inputs, tmp_path, backend):
    """Each input scored by another process gives the serial scores bit for bit, into one
    output in the inputs' order or one output per input (on Dask: the latter, which starts
    one cluster)."""
    from sklearn_bsym.deploy import measure_support

    if "dask" in backend:
        pytest.importorskip("distributed")
    inputs = several_inputs[:2] + several_inputs[3:]  # the tables in the layout of save_events
    options = {"support": measure_support(make_dimuon_events(2000, random_state=0)[0]),
               "support_column": "outside", "chunk_size": 300}
    serial = score_files(models["smeared_hybrid"], inputs, tmp_path / "serial.parquet",
                         **options)
    whole = _read_scores(tmp_path / "serial.parquet")
    if "dask" not in backend:
        parallel = score_files(models["smeared_hybrid"], inputs, tmp_path / "parallel.parquet",
                               **options, **backend)
        assert_frame_equal(_read_scores(tmp_path / "parallel.parquet"), whole)
        assert parallel.files == [{**f, "output": str(tmp_path / "parallel.parquet")}
                                  for f in serial.files]
        assert parallel.outside == serial.outside
    each = score_files(models["smeared_hybrid"], inputs, str(tmp_path / "{stem}_s.csv"),
                       **options, **backend)
    assert [Path(o).name for o in each.outputs] == ["part0_s.csv", "part1_s.csv",
                                                    "part3_s.csv", "part4_s.csv"]
    assert [f["n_entries"] for f in each.files] == [f["n_entries"] for f in serial.files]
    assert each.outside == serial.outside
    parts = pd.concat([_read_scores(o) for o in each.outputs], ignore_index=True)
    assert_frame_equal(parts, whole)


def _malloc_trim_threshold():
    import os

    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_local_dask_workers_keep_glibcs_malloc_defaults():
    """Dask's MALLOC_TRIM_THRESHOLD_=65536 made a network's prediction 3-4 times slower in a
    worker (every batch tensor mapped afresh): the local cluster's workers run without it."""
    pytest.importorskip("distributed")
    from sklearn_bsym.studies import dask_backend

    with dask_backend("local", n_workers=1) as client:
        assert list(client.run(_malloc_trim_threshold).values()) == [None]


def test_output_patterns(models, several_inputs, tmp_path):
    summary = score_files(models["hgb"], several_inputs[2], str(tmp_path / "{index}.root"),
                          columns=MAPPING)
    assert summary.outputs == [tmp_path / "0.root"] and summary.n_dropped == 129  # every 7th
    other = tmp_path / "other"
    other.mkdir()
    save_events(other / "part0.parquet", make_dimuon_events(10, random_state=0)[0])
    with pytest.raises(ValueError, match=r"gives .*part0.csv to several inputs .*add \{index\}"):
        score_files(models["hgb"], [several_inputs[0], other / "part0.parquet"],
                    str(tmp_path / "{stem}.csv"))
    with pytest.raises(ValueError, match=r"names \['name'\]; an output pattern knows"):
        score_files(models["hgb"], several_inputs[0], str(tmp_path / "{name}.csv"))


# ---------------------------------------------------------------- ONNX
@pytest.fixture(scope="module")
def onnxruntime():
    pytest.importorskip("onnxscript")
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def many_events():
    return make_dimuon_events(100_000, random_state=7)[0].astype(np.float32)


def _float32_error(model, X):
    """The most that float32 rounding moves ``model``'s probabilities on ``X``: its float32
    predictions against its network evaluated in float64."""
    import copy

    module = copy.deepcopy(model.module_).double().eval()
    with torch.no_grad():
        logit = module(torch.as_tensor(X, dtype=torch.float64)).reshape(len(X), -1)[:, -1]
    return np.abs(model.predict_proba(X)[:, 1] - torch.sigmoid(logit).numpy()).max()


@pytest.mark.parametrize("name", ["pfn", "invariant", "hybrid", "ensemble"])
def test_onnx_matches_predict_proba(onnxruntime, many_events, data, tmp_path, name):
    from sklearn_bsym.deploy import ONNX_INPUT, ONNX_OUTPUT, to_onnx

    X, y = data
    model = (EnsembleClassifier(_tiny("hybrid"), n_members=3, random_state=0) if name == "ensemble"
             else _tiny(name)).fit(X, y)
    path = to_onnx(model, tmp_path / f"{name}.onnx")
    session = onnxruntime.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == [ONNX_INPUT]
    assert [o.name for o in session.get_outputs()] == [ONNX_OUTPUT]
    p = session.run(None, {ONNX_INPUT: many_events})[0]
    assert p.shape == (100_000,) and p.dtype == np.float32
    # Within 1e-5 of predict_proba, or (a network whose float32 rounding alone moves its
    # probabilities further: the tiny two-epoch hybrid, 2e-5 from its own float64 evaluation)
    # within what float32 rounding moves them; default networks agree to a few 1e-6.
    tolerance = 1e-5 if name == "ensemble" else max(1e-5, 1.5 * _float32_error(model, many_events))
    assert np.abs(p - model.predict_proba(many_events)[:, 1]).max() <= tolerance
    for n in (1, 3):  # the batch axis is dynamic
        assert session.run(None, {ONNX_INPUT: many_events[:n]})[0].shape == (n,)


def test_onnx_of_a_smearing_pipeline_scores_measured_events(onnxruntime, models, data,
                                                            tmp_path):
    from sklearn_bsym.deploy import to_onnx

    X, _ = data
    model = models["smeared_hybrid"]
    session = onnxruntime.InferenceSession(str(to_onnx(model, tmp_path / "m.onnx")))
    p = session.run(None, {"events": X.astype(np.float32)})[0]
    expected = measured_model(model).predict_proba(X.astype(np.float32))[:, 1]
    assert np.abs(p - expected).max() <= 1e-5


def test_onnx_refuses_what_is_no_network(onnxruntime, models, tmp_path):
    from sklearn_bsym.deploy import to_onnx

    with pytest.raises(TypeError, match=r"classifies with Pipeline\(dimuonfeatures: "
                       r"DimuonFeatures, histgradientboostingclassifier: "
                       r"HistGradientBoostingClassifier\).*skl2onnx"):
        to_onnx(models["hgb"], tmp_path / "m.onnx")


def test_a_network_saved_on_cuda_loads_on_the_cpu_without_cuda(models, monkeypatch):
    import torch

    from sklearn_bsym.deploy import _persist

    saved = _persist._saved_network(models["invariant"])
    saved.params["device"] = "cuda"  # as written on a GPU machine (weights are saved on the CPU)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="saved with device='cuda', but CUDA is not available"):
        net = _persist._network(saved)
    assert net.device == "cpu" and net.device_ == "cpu"
    X = make_dimuon_events(100, random_state=2)[0]
    assert_array_equal(net.predict_proba(X), models["invariant"].predict_proba(X))


def test_a_network_whose_sizes_follow_its_fit_loads_at_those_sizes(tmp_path):
    # The hybrid's "auto" layer sizes follow the size of its fit (a shallow invariant route
    # below 2,000 events): the file keeps n_events_, so the loaded network is built as fitted.
    X, y = make_dimuon_events(300, random_state=0)
    small = HybridClassifier(max_epochs=1, random_state=0).fit(X, y)
    assert small.n_events_ == 300
    loaded = load_model(save_model(small, tmp_path / "small.skops"))
    assert loaded.n_events_ == 300
    assert_array_equal(loaded.predict_proba(X), small.predict_proba(X))
