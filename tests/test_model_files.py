"""Crafted model files: every one is refused in one line naming the file, or loads to a model
that scores finite probabilities; none crashes the process, fills its memory or hangs it
(sklearn_bsym.deploy.load_model, and the command line's score). The fuzz test is in
test_model_fuzz.py."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline, make_pipeline

from sklearn_bsym.__main__ import main
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.deploy import (
    FORMAT_VERSION,
    ModelFileError,
    load_model,
    measured_model,
    read_model_info,
    save_model,
)
from sklearn_bsym.nn import InvariantClassifier
from sklearn_bsym.preprocessing import (
    DimuonFeatures,
    MomentumSmearer,
    PtReweightedClassifier,
    PtReweighter,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    return make_dimuon_events(2000, random_state=0)


@pytest.fixture(scope="module")
def fitted(data):
    """A gradient-boosted tree, a network, and a network and a tree behind a 0.1 pT smearing
    (as ``fit --resolution 0.1`` trains)."""
    X, y = data
    network = InvariantClassifier(hidden_sizes=(16,), max_epochs=1, random_state=0)
    return {
        "hgb": make_pipeline(DimuonFeatures(), HistGradientBoostingClassifier(
            max_iter=5, random_state=0)).fit(X, y),
        "network": network.fit(X, y),
        "smeared": Pipeline([
            ("smear", MomentumSmearer(0.1, random_state=0)),
            ("clf", PtReweightedClassifier(InvariantClassifier(
                hidden_sizes=(16,), max_epochs=1, random_state=0),
                reweighter=PtReweighter(n_bins=20))),
        ]).fit(X, y),  # fmt: skip
        "smeared_hgb": Pipeline([
            ("smear", MomentumSmearer(0.1, random_state=0)),
            ("clf", make_pipeline(DimuonFeatures(), HistGradientBoostingClassifier(
                max_iter=5, random_state=0))),
        ]).fit(X, y),  # fmt: skip
    }


@pytest.fixture
def files(fitted, tmp_path):
    return {name: save_model(model, tmp_path / f"{name}.skops")
            for name, model in fitted.items()}


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _refusal(path, *matches) -> str:
    with pytest.raises(ModelFileError) as error:
        load_model(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"Cannot load {path}: "), message
    for match in matches:
        assert match in message, message
    return message


def _nodes_member(members) -> str:
    """The name of the first tree's node array of a gradient-boosted tree's file."""
    for name, content in members.items():
        if name.endswith(".npy"):
            names = np.load(io.BytesIO(content)).dtype.names
            if names and "left" in names:
                return name
    raise AssertionError("no node array")


def _with_schema(members, edit) -> dict[str, bytes]:
    schema = json.loads(members["schema.json"])
    edit(schema["content"]["content"])  # SavedNetwork's state: cls, params, state, fitted
    return {**members, "schema.json": json.dumps(schema).encode()}


def _json_value(node, value):
    node["content"] = json.dumps(value)


# ---------------------------------------------------------------- 3. trees and networks
@pytest.mark.parametrize(
    ("field", "value", "match"),
    [("left", 10**6, "points node 0 to nodes 1000000"),
     ("right", "n_nodes", "where its"),  # one past the end: a small overrun
     ("left", 0, "allow only later ones"),  # a cycle: prediction would never end
     ("feature_idx", 3, "splits node 0 on feature 3 of 3 inputs"),
     ("is_categorical", 1, "categorical splits")],
)
def test_a_tree_whose_indices_leave_its_arrays_is_refused(files, tmp_path, field, value,
                                                          match):
    members = _members(files["hgb"])
    name = _nodes_member(members)
    nodes = np.load(io.BytesIO(members[name]))
    nodes[field][0] = nodes.size if value == "n_nodes" else value
    path = _write(tmp_path / "crafted.skops", {**members, name: _npy(nodes)})
    _refusal(path, "its Pipeline['histgradientboostingclassifier']'s tree 0", match)


@pytest.mark.parametrize("n_features", [4_000_000, 40_000, 10])
def test_a_network_of_absurd_width_is_refused_before_it_is_built(files, tmp_path, n_features):
    members = _with_schema(_members(files["network"]),
                           lambda s: _json_value(s["fitted"]["content"]["n_features_in_"],
                                                 n_features))
    path = _write(tmp_path / "crafted.skops", members)
    _refusal(path, f"its InvariantClassifier reads n_features_in_={n_features} inputs",
             "a multiple of 4 from 4 to 256")


def test_saved_sizes_unlike_the_weights_are_refused_before_allocating(files, tmp_path):
    def grow(state):
        sizes = state["params"]["content"]["hidden_sizes"]
        sizes["content"] = [dict(sizes["content"][0], content="30000", __id__=i)
                            for i in (1, 2)]

    path = _write(tmp_path / "crafted.skops", _with_schema(_members(files["network"]), grow))
    # Checked against a network built on torch's "meta" device: 30000 x 30000 costs nothing.
    _refusal(path, "its InvariantClassifier's weights are not those of its network")


def test_weights_of_another_shape_are_refused(files, tmp_path):
    members = _members(files["network"])
    schema = json.loads(members["schema.json"])
    state = schema["content"]["content"]["state"]["content"]
    key = next(k for k in state if k.endswith("0.weight"))
    members[state[key]["file"]] = _npy(np.zeros((3, 3), np.float32))
    _refusal(_write(tmp_path / "crafted.skops", members),
             f"its InvariantClassifier's weight '{key}' is float32[3, 3]")


def test_weights_that_are_not_numbers_are_refused(files, tmp_path):
    members = _members(files["network"])
    schema = json.loads(members["schema.json"])
    state = schema["content"]["content"]["state"]["content"]
    key = next(k for k in state if k.endswith("0.weight"))
    weights = np.load(io.BytesIO(members[state[key]["file"]]))
    weights[0, 0] = np.nan
    members[state[key]["file"]] = _npy(weights)
    _refusal(_write(tmp_path / "crafted.skops", members), "holds numbers that are not finite")


def _patch_declared_size(content: bytes, name: str, size: int) -> bytes:
    """The zip ``content`` with member ``name``'s uncompressed size set to ``size`` in its
    local header and in the central directory (its data unchanged)."""
    content, encoded = bytearray(content), name.encode()
    for signature, name_at, size_at in ((b"PK\x03\x04", 26, 22), (b"PK\x01\x02", 28, 24)):
        at = content.find(signature)
        while at >= 0:
            length = struct.unpack_from("<H", content, name_at + at)[0]
            start = at + (30 if signature == b"PK\x03\x04" else 46)
            if content[start:start + length] == encoded:
                struct.pack_into("<L", content, at + size_at, size)
            at = content.find(signature, at + 4)
    return bytes(content)


def test_a_zip_bomb_is_refused_before_it_inflates(files, tmp_path):
    members = {**_members(files["network"]), "1234.npy": b"\0" * (20 * 2**20)}
    bomb = _write(tmp_path / "bomb.skops", members)
    assert bomb.stat().st_size < 100_000
    _refusal(bomb, "its member '1234.npy' inflates", "a ratio no model file has")
    declared = tmp_path / "declared.skops"
    declared.write_bytes(_patch_declared_size(bomb.read_bytes(), "1234.npy", 3_000_000_000))
    _refusal(declared, "its member '1234.npy' declares 3,000,000,000 bytes")
    lying = tmp_path / "lying.skops"  # declares 1,000 bytes, inflates to 20 MB
    lying.write_bytes(_patch_declared_size(bomb.read_bytes(), "1234.npy", 1000))
    _refusal(lying, "its member '1234.npy' is damaged", "Bad CRC-32")


def test_a_padded_manifest_is_refused_before_it_is_read(files, tmp_path):
    members = _members(files["network"])
    padded = {**members, "sklearn_bsym.json": members["sklearn_bsym.json"] + b" " * 5 * 2**20}
    _refusal(_write(tmp_path / "padded.skops", padded),
             "its member 'sklearn_bsym.json' declares 5,2")
    declared = tmp_path / "declared.skops"
    declared.write_bytes(_patch_declared_size(files["network"].read_bytes(),
                                              "sklearn_bsym.json", 2_000_000_000))
    _refusal(declared, "declares 2,000,000,000 bytes, more than a model file's 4,194,304")


def test_an_array_whose_header_claims_more_than_it_holds_is_refused(files, tmp_path):
    members = _members(files["network"])
    name = next(n for n in members if n.endswith(".npy"))
    header = {**np.lib.format.header_data_from_array_1_0(np.zeros(1, np.float32)),
              "shape": (10**6, 10**6)}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    members[name] = buffer.getvalue() + b"\0" * 64  # 4 TB declared, 64 bytes held
    _refusal(_write(tmp_path / "crafted.skops", members),
             f"its array '{name}' declares 1,000,000,000,000 values of 4 bytes but holds 64")


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /dev/zero")
@pytest.mark.parametrize("kind", ["dev_zero", "fifo", "sparse", "folder"])
def test_a_model_path_that_is_no_regular_file_is_refused_at_once(tmp_path, kind):
    path = tmp_path / "model.skops"
    if kind == "dev_zero":
        path.symlink_to("/dev/zero")
        match = "it is a character device, not a regular file"
    elif kind == "fifo":
        os.mkfifo(path)  # opened without waiting for a writer
        match = "it is a FIFO (named pipe), not a regular file"
    elif kind == "sparse":
        with open(path, "wb") as fh:
            fh.truncate(300 * 2**20)  # 300 MB that take no disk: refused by its size
        match = "it holds more than 268,435,456 bytes"
    else:
        path.mkdir()
        match = "it is a folder, not a regular file"
    _refusal(path, match)


def test_a_link_to_a_model_file_loads(files, fitted, data, tmp_path):
    link = tmp_path / "latest.skops"
    link.symlink_to(files["network"])
    assert_array_equal(load_model(link).predict_proba(data[0]),
                       fitted["network"].predict_proba(data[0]))


def test_crafted_files_stay_within_memory(files, tmp_path):
    """The crafted files of the issue (an absurd width, sizes of 30000 x 30000, a member
    declaring 3 GB, a manifest declaring 2 GB, /dev/zero) in a process limited to 1.5 GB more
    address space than it has: each is refused."""
    members = _members(files["network"])
    crafted = {
        "width": _with_schema(members, lambda s: _json_value(
            s["fitted"]["content"]["n_features_in_"], 4_000_000)),
        "sizes": _with_schema(members, lambda s: s["params"]["content"]["hidden_sizes"].update(
            content=[{"__class__": "int", "__module__": "builtins", "__loader__": "JsonNode",
                      "content": "30000", "is_json": True, "__id__": i} for i in (1, 2)])),
    }
    paths = [_write(tmp_path / f"{name}.skops", m) for name, m in crafted.items()]
    bomb = _write(tmp_path / "bomb.skops", {**members, "1.npy": b"\0" * 2**20})
    for name, size in (("1.npy", 3_000_000_000), ("sklearn_bsym.json", 2_000_000_000)):
        path = tmp_path / f"declared_{size}.skops"
        path.write_bytes(_patch_declared_size(bomb.read_bytes(), name, size))
        paths.append(path)
    (tmp_path / "zero.skops").symlink_to("/dev/zero")
    paths.append(tmp_path / "zero.skops")
    code = (
        "import resource, sys\n"
        "from sklearn_bsym.deploy import ModelFileError, load_model\n"
        "import torch, sklearn.ensemble\n"
        "size = int(open('/proc/self/statm').read().split()[0]) * resource.getpagesize()\n"
        "resource.setrlimit(resource.RLIMIT_AS, (size + 1536 * 2**20, resource.RLIM_INFINITY))\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        load_model(path)\n"
        "        print('LOADED', path)\n"
        "    except ModelFileError as exc:\n"
        "        print('REFUSED', exc)\n"
    )
    if not os.path.exists("/proc/self/statm"):
        pytest.skip("needs /proc to size the address-space limit")
    out = subprocess.run([sys.executable, "-c", code, *map(str, paths)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert len(lines) == len(paths) and all(line.startswith("REFUSED") for line in lines), lines
    assert not any("Memory" in line or "allocate" in line for line in lines), lines


# ---------------------------------------------------------------- 4. manifest against model
def test_a_manifest_that_describes_another_model_is_refused(files, tmp_path):
    members = _members(files["network"])
    members["sklearn_bsym.json"] = _members(files["hgb"])["sklearn_bsym.json"]
    _refusal(_write(tmp_path / "crafted.skops", members),
             "its manifest describes the model as 'Pipeline(dimuonfeatures: DimuonFeatures, "
             "histgradientboostingclassifier: HistGradientBoostingClassifier)', but the file "
             "holds 'InvariantClassifier'")


def test_a_manifest_that_hides_the_smearing_is_refused(files, tmp_path):
    members = _members(files["smeared"])
    manifest = json.loads(members["sklearn_bsym.json"])
    manifest["measured"]["skipped"] = []
    members["sklearn_bsym.json"] = json.dumps(manifest).encode()
    _refusal(_write(tmp_path / "crafted.skops", members),
             "its manifest describes the measured part as", "after ['smear']")


def test_score_shows_the_manifest_it_checked(files, tmp_path, capsys):
    members = _members(files["network"])
    members["sklearn_bsym.json"] = _members(files["hgb"])["sklearn_bsym.json"]
    crafted = _write(tmp_path / "crafted.skops", members)
    events = tmp_path / "events.parquet"
    from sklearn_bsym.datasets import save_events

    save_events(events, make_dimuon_events(20, random_state=1)[0])
    assert main(["score", str(crafted), str(events), "--output",
                 str(tmp_path / "s.csv"), "--no-progress"]) == 2
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "its manifest describes the model as" in errors[0]
    assert "Model:" not in captured.err and not (tmp_path / "s.csv").exists()


# ---------------------------------------------------------------- 5. one line naming the file
def _manifest_of(files, **changes):
    manifest = json.loads(_members(files["network"])["sklearn_bsym.json"])
    manifest.update(changes)
    return manifest


@pytest.mark.parametrize(
    ("edit", "match"),
    [(lambda m: [1, 2], "is not a model manifest (no \"format\""),
     (lambda m: {k: v for k, v in m.items() if k != "versions"},
      "'versions' is not a table of version strings"),
     (lambda m: {k: v for k, v in m.items() if k != "estimator"},
      "'estimator' is not a description"),
     (lambda m: {**m, "format_version": True}, "gives the format version True, not a positive"),
     (lambda m: {**m, "format_version": -1}, "gives the format version -1, not a positive"),
     (lambda m: {**m, "format_version": "2"}, "gives the format version '2', not a positive"),
     (lambda m: {**m, "measured": "yes"}, "'measured' does not describe the measured part"),
     (lambda m: {**m, "metadata": [1]}, "'metadata' is not a table")],
)
def test_a_manifest_that_is_no_manifest_is_one_line(files, tmp_path, edit, match):
    members = _members(files["network"])
    members["sklearn_bsym.json"] = json.dumps(edit(json.loads(members["sklearn_bsym.json"])))
    path = _write(tmp_path / "crafted.skops", members)
    _refusal(path, match)
    with pytest.raises(ModelFileError, match="is not a model manifest|format version"):
        read_model_info(path)


def test_a_manifest_that_is_no_json_is_one_line(files, tmp_path):
    members = {**_members(files["network"]), "sklearn_bsym.json": b"{\"format\": NaN"}
    _refusal(_write(tmp_path / "crafted.skops", members), "its sklearn_bsym.json is damaged")


def test_a_damaged_member_is_one_line_naming_it(files, tmp_path):
    content = bytearray(files["network"].read_bytes())
    members = _members(files["network"])
    name = max((n for n in members if n.endswith(".npy")), key=lambda n: len(members[n]))
    with zipfile.ZipFile(files["network"]) as archive:
        info = archive.getinfo(name)
    content[info.header_offset + 30 + len(name) + 20] ^= 0xFF  # a byte of its data
    path = tmp_path / "damaged.skops"
    path.write_bytes(bytes(content))
    _refusal(path, f"its member '{name}' is damaged (")


@pytest.mark.parametrize("schema", ["\"a string\"", "[1, 2]", "{\"__class__\": 1}"])
def test_a_schema_that_is_no_model_is_refused_at_loading(files, tmp_path, schema):
    members = {**_members(files["network"]), "schema.json": schema.encode()}
    _refusal(_write(tmp_path / "crafted.skops", members))


def test_metadata_of_the_wrong_types_is_shown_without_failing(files, tmp_path, capsys):
    members = _members(files["hgb"])
    manifest = json.loads(members["sklearn_bsym.json"])
    manifest["metadata"] = {"n_signal": "1,000", "n_background": 5}
    members["sklearn_bsym.json"] = json.dumps(manifest).encode()
    crafted = _write(tmp_path / "crafted.skops", members)
    from sklearn_bsym.datasets import save_events

    save_events(tmp_path / "e.parquet", make_dimuon_events(20, random_state=1)[0])
    assert main(["score", str(crafted), str(tmp_path / "e.parquet"), "--output",
                 str(tmp_path / "s.csv"), "--no-progress"]) == 0
    assert "trained on" not in capsys.readouterr().err


def test_an_estimator_outside_the_models_of_this_library_is_refused(files, data, tmp_path):
    from sklearn.naive_bayes import GaussianNB

    X, y = data
    foreign = PtReweightedClassifier(GaussianNB()).fit(X[:200], y[:200])
    with pytest.raises(ValueError, match=r"type\(s\) \['sklearn.naive_bayes.GaussianNB'\], "
                       "which model files do not hold"):
        save_model(foreign, tmp_path / "foreign.skops")
    # The same model smuggled into a file: refused by name at loading.
    import skops.io

    members = _members(files["network"])
    with zipfile.ZipFile(io.BytesIO(skops.io.dumps(foreign))) as archive:
        members = {**{n: archive.read(n) for n in archive.namelist()},
                   "sklearn_bsym.json": members["sklearn_bsym.json"]}
    _refusal(_write(tmp_path / "crafted.skops", members),
             "it holds a sklearn.naive_bayes.GaussianNB (PtReweightedClassifier.estimator)")


# ---------------------------------------------------------------- 9. the measured part
def test_the_natural_call_scores_measured_events(files, fitted, data):
    X, _ = data
    model = fitted["smeared"]
    loaded = load_model(files["smeared"])
    assert_array_equal(loaded.predict_proba(X), measured_model(model).predict_proba(X))
    # The trap the natural call no longer falls into: the whole pipeline smears again.
    assert not np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    whole = load_model(files["smeared"], measured=False)
    assert_array_equal(whole.predict_proba(X), model.predict_proba(X))
    info = read_model_info(files["smeared"])
    assert info["format_version"] == FORMAT_VERSION == 2
    assert info["measured"] == {
        "estimator": "PtReweightedClassifier(InvariantClassifier)", "skipped": ["smear"],
        "smearing": [{"step": "smear", "estimator": "MomentumSmearer",
                      "params": {"mode": "transverse", "random_state": 0,
                                 "resolution": 0.1}}]}


def test_a_model_without_smearing_records_an_empty_measurement(files):
    assert read_model_info(files["hgb"])["measured"] == {
        "estimator": "Pipeline(dimuonfeatures: DimuonFeatures, histgradientboostingclassifier:"
                     " HistGradientBoostingClassifier)", "skipped": [], "smearing": []}


def _as_format_1(path, tmp_path, name):
    """The file ``path`` as sklearn_bsym 0.3.0 wrote it: model format 1, no measured entry."""
    members = _members(path)
    manifest = json.loads(members["sklearn_bsym.json"])
    del manifest["measured"]
    manifest["format_version"] = 1
    manifest["versions"]["sklearn_bsym"] = "0.3.0"
    members["sklearn_bsym.json"] = json.dumps(manifest).encode()
    return _write(tmp_path / name, members)


def test_a_format_1_file_loads_as_its_measured_part_with_a_warning(files, fitted, data,
                                                                   tmp_path):
    # Format 1 networks read momenta on another scale and are refused (tests/test_deploy.py);
    # a tree behind a smearer loads as its measured part, with a warning.
    X, _ = data
    old = _as_format_1(files["smeared_hgb"], tmp_path, "old.skops")
    with pytest.warns(UserWarning, match=r"model format 1, which did not record the smearing "
                      r"step\(s\) 'smear'.*measured=False gives the whole model"):
        loaded = load_model(old)
    assert_array_equal(loaded.predict_proba(X),
                       measured_model(fitted["smeared_hgb"]).predict_proba(X))
    whole = load_model(old, measured=False)  # asked for the whole: nothing to warn about
    assert_array_equal(whole.predict_proba(X), fitted["smeared_hgb"].predict_proba(X))
    load_model(_as_format_1(files["hgb"], tmp_path, "old_plain.skops"))  # no smearing: no warning
    assert "Refit it with this version" in _refusal(
        _as_format_1(files["smeared"], tmp_path, "old_network.skops"))


def test_score_refuses_a_crafted_tree_in_one_line(files, tmp_path, capsys):
    """It died of SIGSEGV (exit 139) on indices outside the node array."""
    members = _members(files["hgb"])
    name = _nodes_member(members)
    nodes = np.load(io.BytesIO(members[name]))
    nodes["left"][0] = 10**6
    crafted = _write(tmp_path / "crafted.skops", {**members, name: _npy(nodes)})
    from sklearn_bsym.datasets import save_events

    save_events(tmp_path / "e.parquet", make_dimuon_events(20, random_state=1)[0])
    assert main(["score", str(crafted), str(tmp_path / "e.parquet"), "--output",
                 str(tmp_path / "s.csv"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: Cannot load {crafted}: its Pipeline")
    assert not (tmp_path / "s.csv").exists()


def test_a_member_twice_is_refused(files, tmp_path):
    import warnings

    path = tmp_path / "twice.skops"
    members = _members(files["network"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate it writes
        with zipfile.ZipFile(path, "w") as archive:
            for name, content in members.items():
                archive.writestr(name, content)
            archive.writestr("schema.json", b"{}")
    _refusal(path, "it holds the member 'schema.json' twice")


def test_score_reads_a_format_1_file_as_measured(files, fitted, tmp_path, capsys):
    import warnings

    import pandas as pd

    from sklearn_bsym.datasets import save_events
    from sklearn_bsym.datasets._io import _CSV_FLOATS

    old = _as_format_1(files["smeared_hgb"], tmp_path, "old.skops")
    X = make_dimuon_events(50, random_state=3)[0]
    save_events(tmp_path / "e.parquet", X)
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # shown as the command line shows it, not raised
        assert main(["score", str(old), str(tmp_path / "e.parquet"), "--output",
                     str(tmp_path / "s.csv"), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "warning: Model file" in captured.err and "is of model format 1" in captured.err
    assert "the model's measuring step(s) 'smear' are left out" in captured.out
    scores = pd.read_csv(tmp_path / "s.csv", **_CSV_FLOATS)["score"].to_numpy()
    assert_array_equal(scores, measured_model(fitted["smeared_hgb"]).predict_proba(X)[:, 1])


def test_a_detector_model_saves_and_a_crafted_one_is_refused(data, tmp_path):
    from sklearn_bsym.preprocessing import DetectorResolution

    X, y = data
    model = Pipeline([
        ("smear", MomentumSmearer(DetectorResolution(0.1, strength=0.3), random_state=0)),
        ("clf", PtReweightedClassifier(make_pipeline(
            DimuonFeatures(), HistGradientBoostingClassifier(max_iter=3, random_state=0)))),
    ]).fit(X, y)  # fmt: skip
    path = save_model(model, tmp_path / "detector.skops")
    assert read_model_info(path)["measured"]["smearing"][0]["params"]["resolution"] == {
        "estimator": "DetectorResolution",
        "params": {"resolution": 0.1, "strength": 0.3, "phi_periods": 1, "endcap": 0.0}}
    assert_array_equal(load_model(path, measured=False).predict_proba(X),
                       model.predict_proba(X))
    members = _members(path)
    schema = members["schema.json"].decode()
    assert schema.count('"content": "0.3"') == 1
    members["schema.json"] = schema.replace('"content": "0.3"', '"content": "7.0"').encode()
    _refusal(_write(tmp_path / "crafted.skops", members),
             "its Pipeline['smear'].resolution has parameters its class refuses",
             "'strength' parameter of DetectorResolution")
