"""ROOT files through uproot: the shipped real files and NanoAOD-style edge cases written here."""

from __future__ import annotations

import re

import awkward as ak
import numpy as np
import pandas as pd
import pytest
import uproot
from numpy.testing import assert_allclose

from sklearn_bsym import events, kinematics
from sklearn_bsym.datasets import load_event_file, load_root, make_labelled_dataset

ZMUMU_COLUMNS = [
    {"px": f"px{i}", "py": f"py{i}", "pz": f"pz{i}", "E": f"E{i}", "charge": f"Q{i}"}
    for i in (1, 2)
]


@pytest.fixture(scope="module")
def root_dir(lhe_dir):
    path = lhe_dir.parent / "root"
    if not path.is_dir():
        pytest.skip(f"shared ROOT test files not found at {path}")
    return path


def _pair_mass(X):
    return kinematics.mass(events.to_particles(X).sum(axis=1))


def _write_nano(path, muons, *, tree="Events", drop=(), kind="ttree"):
    """A NanoAOD-style file: jagged Muon_pt/eta/phi/mass/charge branches from a list of events,
    each a list of (pt, eta, phi, charge) tuples."""
    counts = np.array([len(event) for event in muons], dtype=np.int64)
    flat = np.array([m for event in muons for m in event], dtype=np.float64).reshape(-1, 4)
    columns = {"pt": flat[:, 0], "eta": flat[:, 1], "phi": flat[:, 2],
               "mass": np.full(len(flat), 0.10566), "charge": flat[:, 3]}
    branches = {
        f"Muon_{k}": ak.unflatten(v.astype(np.int32 if k == "charge" else np.float32), counts)
        for k, v in columns.items() if f"Muon_{k}" not in drop
    }
    with uproot.recreate(path) as file:
        if kind == "ttree":
            file.mktree(tree, {k: v.type for k, v in branches.items()}).extend(branches)
        else:  # uproot writes a dict of arrays as an RNTuple
            file[tree] = branches
    return path


# ---------------------------------------------------------------- the shipped real files


def test_zmumu_flat_branches_peak_at_the_z(root_dir):
    with pytest.warns(UserWarning,
                      match=r"Skipped 157 of 2304 .*157 with only same-charge leptons"):
        X, info = load_root(root_dir / "uproot-Zmumu.root", columns=ZMUMU_COLUMNS,
                            return_info=True)
    assert info["tree"] == "events" and info["n_selected"] == 2147
    m = _pair_mass(X)
    assert abs(np.median(m) - 91.19) < 2.0
    in_window = (m > 85) & (m < 97)
    assert in_window.mean() > 0.6
    # Positive first: the file's own charges agree after the reordering.
    raw = uproot.open(root_dir / "uproot-Zmumu.root")["events"].arrays(library="np")
    opposite = raw["Q1"] * raw["Q2"] < 0
    expected_first = np.where(raw["Q1"][opposite] > 0, raw["E1"][opposite], raw["E2"][opposite])
    assert_allclose(X[:, 3], expected_first)


def test_zmumu_without_columns_explains_the_mapping(root_dir):
    with pytest.raises(ValueError, match=r"no complete jagged Muon collection.*columns="):
        load_event_file(root_dir / "uproot-Zmumu.root")


def test_hzz_jagged_cartesian_collection(root_dir):
    path = root_dir / "uproot-HZZ.root"
    with pytest.warns(UserWarning, match="42 with more than one of a charge.*pair='leading'"):
        X, info = load_root(path, return_info=True)
    assert info["branches"] == ["Muon_Px", "Muon_Py", "Muon_Pz", "Muon_E", "Muon_Charge"]
    assert info["skipped"]["one lepton"] == 949
    with pytest.warns(UserWarning, match="Skipped 1015 of 2421"):
        X_lead = load_root(path, pair="leading")
    assert X_lead.shape[0] == X.shape[0] + 42
    assert abs(np.median(_pair_mass(X)) - 91.19) < 3.0


def test_nanoaod_ttree_and_rntuple(root_dir):
    tree_file = root_dir / "nanoAOD_2015_CMS_Open_Data_ttbar.root"
    # 200 ttbar events, none with exactly one mu+ and one mu-: counted, then a clear error.
    with pytest.raises(ValueError, match=r"no event with the leptons asked for in its 200 "
                       r"events.*160 with no lepton"):
        load_event_file(tree_file, lepton="mu")
    rntuple = root_dir / "cmsopendata2015_ttbar_19980_NANOAOD_RNTupleImporter_rntuple_v1-0-0-1.root"
    with pytest.warns(UserWarning, match="Skipped 9 of 10"):
        X, info = load_event_file(rntuple, tree="Events", return_info=True)
    assert info["branches"] == ["Muon_pt", "Muon_eta", "Muon_phi", "Muon_mass", "Muon_charge"]
    # Fields by their own names: the layout of the "_collectionN" record differs between uproot
    # versions (5.7.6 and 5.7.7).
    fields = uproot.open(rntuple)["Events"].arrays(["Muon_pt", "Muon_mass", "Muon_charge"])
    raw = ak.zip({name: fields[name] for name in fields.fields})
    both = (ak.sum(raw.Muon_charge > 0, axis=1) == 1) & (ak.sum(raw.Muon_charge < 0, axis=1) == 1)
    pair = raw[both]
    pos = pair[pair.Muon_charge > 0]
    assert_allclose(kinematics.pt(X[:, :4]), ak.to_numpy(ak.flatten(pos.Muon_pt)), rtol=1e-6)
    assert_allclose(kinematics.mass(X[:, :4]), ak.flatten(pos.Muon_mass), atol=1e-3)


def test_real_root_files_to_fitted_pipeline(root_dir):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from sklearn_bsym.preprocessing import MinkowskiInvariants

    with pytest.warns(UserWarning, match="Skipped"):
        signal = load_root(root_dir / "uproot-Zmumu.root", columns=ZMUMU_COLUMNS)
    with pytest.warns(UserWarning, match="Skipped"):
        background = load_root(root_dir / "uproot-HZZ.root", pair="leading")
    X, y = make_labelled_dataset(signal, background, random_state=0)
    model = make_pipeline(MinkowskiInvariants(), LogisticRegression(max_iter=1000)).fit(X, y)
    assert model.predict_proba(X).shape == (X.shape[0], 2)


# ---------------------------------------------------------------- NanoAOD-style edge cases


@pytest.mark.parametrize("kind", ["ttree", "rntuple"])
def test_written_nanoaod_selection_and_counts(tmp_path, kind):
    path = _write_nano(tmp_path / "nano.root", kind=kind, muons=[
        [(40.0, 0.5, 0.1, 1), (35.0, -0.3, 2.9, -1)],                      # a pair
        [],                                                                # no muon
        [(30.0, 0.0, 0.0, 1)],                                             # one muon
        [(30.0, 0.0, 0.0, 1), (25.0, 1.0, 1.0, 1)],                        # same sign
        [(50.0, 0.2, 0.0, -1), (45.0, 0.1, 3.0, 1), (20.0, 0.0, 1.0, 1)],  # three muons
    ])  # fmt: skip
    with pytest.warns(UserWarning, match=r"Skipped 4 of 5 .*1 with no lepton, 1 with one "
                      r"lepton, 1 with only same-charge leptons, 1 with more than one"):
        X, info = load_root(path, return_info=True)
    assert X.shape == (1, 8)
    assert_allclose(kinematics.pt(X[0, :4]), 40.0, rtol=1e-6)  # positive first
    assert_allclose(kinematics.pt(X[0, 4:]), 35.0, rtol=1e-6)
    with pytest.warns(UserWarning, match="Skipped 3 of 5"):
        X_lead = load_root(path, pair="leading", step_size=2)  # chunks of 2 entries
    # Three muons: the leading mu+ (45 GeV) and the mu- (50 GeV).
    assert_allclose(kinematics.pt(X_lead[1].reshape(2, 4)), [45.0, 50.0], rtol=1e-6)
    X_two = load_root(path, max_events=1)
    assert X_two.shape == (1, 8)


@pytest.mark.parametrize(
    ("muons", "kwargs", "match"),
    [
        ([[]], {}, r"no event with the leptons asked for in its 1 events read: 1 with no lepton"),
        ([[(30.0, 0.0, 0.0, -1), (20.0, 0.0, 1.0, -1)]], {}, "1 with only same-charge"),
        ([[(30.0, 0.0, 0.0, 1), (20.0, 0.0, 1.0, -1)]], {"lepton": "e"},
         r"no complete jagged Electron collection: it has no Electron_\* branches"),
        ([[(30.0, 0.0, 0.0, 1), (20.0, 0.0, 1.0, -1)]], {"tree": "Other"},
         r"has no tree 'Other'; its trees: 'Events' \(TTree\)"),
        ([[(30.0, 0.0, 0.0, 1), (20.0, 0.0, 1.0, -1)]], {"pair": "best"}, "pair must be one"),
        ([[(30.0, 0.0, 0.0, 1), (20.0, 0.0, 1.0, -1)]], {"lepton": (-11, 13)},
         "one collection"),
    ],
)
def test_written_nanoaod_errors(tmp_path, muons, kwargs, match):
    path = _write_nano(tmp_path / "nano.root", muons)
    with pytest.raises(ValueError, match=match):
        load_root(path, **kwargs)


def test_missing_branch_empty_tree_and_several_trees(tmp_path):
    path = _write_nano(tmp_path / "nocharge.root", [[(30.0, 0.0, 0.0, 1)]], drop=("Muon_charge",))
    with pytest.raises(ValueError, match="no Muon_charge branch"):
        load_root(path)
    path = _write_nano(tmp_path / "empty.root", [])
    with pytest.raises(ValueError, match=r"contains no events \(0 entries read\)"):
        load_root(path)
    path = tmp_path / "two.root"
    with uproot.recreate(path) as file:
        file["a"] = {"x": np.zeros(2)}
        file["b"] = {"x": np.zeros(2)}
    with pytest.raises(ValueError, match=r"several trees: 'a' \(.*\), 'b' \(.*--tree"):
        load_event_file(path)
    with pytest.raises(ValueError, match=r"no branch 'px1', 'py1'.*its branches include \['x'\]"):
        load_root(path, tree="a", columns=ZMUMU_COLUMNS)
    (tmp_path / "zero.root").write_bytes(b"")
    with pytest.raises(ValueError, match="is empty"):
        load_root(tmp_path / "zero.root")


def test_flat_branches_with_collider_mapping(tmp_path):
    path = tmp_path / "flat.root"
    with uproot.recreate(path) as file:
        file["t"] = {"pt_a": np.array([30.0, 40.0]), "eta_a": np.zeros(2), "phi_a": np.zeros(2),
                     "m_a": np.zeros(2), "pt_b": np.array([20.0, 10.0]), "eta_b": np.zeros(2),
                     "phi_b": np.full(2, np.pi), "m_b": np.zeros(2)}
    mapping = [{"pt": f"pt_{s}", "eta": f"eta_{s}", "phi": f"phi_{s}", "mass": f"m_{s}"}
               for s in "ab"]
    X = load_event_file(path, columns=mapping)
    assert_allclose(X[:, 3], [30.0, 40.0])
    assert_allclose(X[:, 4], [-20.0, -10.0], atol=1e-12)
    jagged = _write_nano(tmp_path / "nano.root", [[(30.0, 0.0, 0.0, 1)]])
    with pytest.raises(ValueError, match="is a jagged collection"):
        load_root(jagged, columns=[{"pt": "Muon_pt", "eta": "Muon_eta", "phi": "Muon_phi",
                                    "mass": "Muon_mass"}])


def test_tree_option_only_for_root(tmp_path):
    path = tmp_path / "f.csv"
    pd.DataFrame(np.array([[0.0, 0.0, 1.0, 1.0]]), columns=events.feature_names(1)).to_csv(
        path, index=False)
    with pytest.raises(ValueError, match="tree='Events' only applies to ROOT files"):
        load_event_file(path, tree="Events")


def test_importing_the_datasets_does_not_load_the_root_stack():
    # awkward and uproot are loaded when a ROOT file is read, not by every `import`.
    import subprocess
    import sys

    code = ("import sys, sklearn_bsym.datasets\n"
            "print('LOADED', sorted({'awkward', 'uproot'} & set(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "LOADED []" in out


# ---------------------------------------------------------------- damaged files, bad values


def _nano_bytes(tmp_path, n=2000):
    """A NanoAOD-style file of ``n`` two-muon events, compressed, as bytes."""
    rng = np.random.default_rng(0)
    muons = [[(rng.uniform(20, 60), rng.normal(), rng.uniform(-3, 3), q) for q in (1, -1)]
             for _ in range(n)]
    return _write_nano(tmp_path / "whole.root", muons).read_bytes()


@pytest.mark.parametrize("damage", ["zeroed_block", "truncated"])
def test_a_damaged_root_file_is_one_line_naming_it(tmp_path, damage):
    data = bytearray(_nano_bytes(tmp_path))
    middle = len(data) // 2
    if damage == "truncated":
        data = data[:middle]
    else:
        data[middle:middle + 64] = bytes(64)
    path = tmp_path / "damaged.root"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError) as info:
        load_root(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"Could not read {path}:Events as a ROOT file (")
    assert "re-download or re-create it" in message


@pytest.mark.parametrize(
    ("column", "value", "what"),
    [
        ("pt", -40.0, "branch 'Muon_pt' (pt) holds a negative pT in 1 row(s), first at row 2"),
        ("mass", -0.1, "branch 'Muon_mass' (mass) holds a negative mass"),
        ("eta", np.nan, "branch 'Muon_eta' (eta) holds NaN or inf"),
    ],
)
def test_unphysical_values_in_a_collection_are_refused(tmp_path, column, value, what):
    muons = [[(40.0, 0.5, 0.1, 1), (35.0, -0.3, 2.9, -1)]] * 4
    path = _write_nano(tmp_path / "nano.root", muons)
    with uproot.open(path) as file:
        arrays = file["Events"].arrays()
    flat = ak.to_numpy(ak.flatten(arrays[f"Muon_{column}"])).copy()
    flat[4] = value  # event 2, first muon
    arrays[f"Muon_{column}"] = ak.unflatten(flat, 2)
    with uproot.recreate(path) as file:
        file.mktree("Events", {k: arrays[k].type for k in arrays.fields}).extend(
            {k: arrays[k] for k in arrays.fields})
    # step_size=1: the entry numbers count across chunks.
    with pytest.raises(ValueError, match=re.escape(f"{path}:Events: {what}")) as info:
        load_root(path, step_size=1)
    assert "\n" not in str(info.value)


def test_unphysical_flat_branches_are_refused(tmp_path):
    path = tmp_path / "flat.root"
    with uproot.recreate(path) as file:
        file["t"] = {"pt_a": np.array([30.0, -40.0]), "eta_a": np.zeros(2), "phi_a": np.zeros(2),
                     "m_a": np.zeros(2), "id_a": np.array([-13.0, -13.7]),
                     "pt_b": np.array([20.0, 10.0]), "eta_b": np.zeros(2),
                     "phi_b": np.full(2, np.pi), "m_b": np.zeros(2), "id_b": np.full(2, 13.0)}
    mapping = [{"pt": f"pt_{s}", "eta": f"eta_{s}", "phi": f"phi_{s}", "mass": f"m_{s}",
                "pdg_id": f"id_{s}"} for s in "ab"]
    with pytest.raises(ValueError, match=r"branch 'pt_a' \(pt\) holds a negative pT .*row 1"):
        load_event_file(path, columns=mapping)
    with uproot.recreate(path) as file:
        file["t"] = {"pt_a": np.array([30.0, 40.0]), "eta_a": np.zeros(2), "phi_a": np.zeros(2),
                     "m_a": np.zeros(2), "id_a": np.array([-13.0, -13.7]),
                     "pt_b": np.array([20.0, 10.0]), "eta_b": np.zeros(2),
                     "phi_b": np.full(2, np.pi), "m_b": np.zeros(2), "id_b": np.full(2, 13.0)}
    with pytest.raises(ValueError, match=r"'id_a' \(pdg_id\) holds a pdg_id that is not whole"):
        load_event_file(path, columns=mapping)


# ---------------------------------------------------------------- reading in chunks


@pytest.mark.parametrize("kind", ["ttree", "rntuple"])
def test_root_in_chunks_flags_each_entry(tmp_path, kind):
    from sklearn_bsym.datasets import read_event_chunks

    path = _write_nano(tmp_path / "nano.root", kind=kind, muons=[
        [(40.0, 0.5, 0.1, 1), (35.0, -0.3, 2.9, -1)],
        [],
        [(30.0, 0.0, 0.0, 1)],
        [(30.0, 0.0, 0.0, -1), (25.0, 1.0, 1.0, 1)],
        [(30.0, 0.0, 0.0, 1), (25.0, 1.0, 1.0, 1)],
    ])  # fmt: skip
    chunks = read_event_chunks(path, chunk_size=2)
    assert chunks.n_entries == 5
    parts = list(chunks)
    assert [c.selected.tolist() for c in parts] == [[True, False], [False, True], [False]]
    with pytest.warns(UserWarning, match="Skipped 3 of 5"):
        assert_allclose(np.concatenate([c.X for c in parts]), load_root(path))


def test_real_root_files_in_chunks_match_the_reader(root_dir):
    from sklearn_bsym.datasets import read_event_chunks

    for name, kwargs in (("uproot-HZZ.root", {}), ("uproot-Zmumu.root",
                                                   {"columns": ZMUMU_COLUMNS})):
        chunks = read_event_chunks(root_dir / name, chunk_size=500, **kwargs)
        parts = list(chunks)
        selected = np.concatenate([c.selected for c in parts])
        with pytest.warns(UserWarning, match="Skipped"):
            X, info = load_event_file(root_dir / name, return_info=True, **kwargs)
        assert selected.size == chunks.n_entries == info["n_events_read"]
        assert selected.sum() == info["n_selected"]
        assert np.array_equal(np.concatenate([c.X for c in parts]), X)


# ---------------------------------------------------------------- pair modes and N leptons


def test_real_files_per_pair_mode(root_dir):
    """The H -> ZZ sample's events with extra muons are kept by the leading and closest modes;
    its four-muon events read with n_leptons=4; the NanoAOD ttbar files hold (almost) no
    opposite-charge muon pair in any mode, each file's counts per reason say why."""
    from sklearn_bsym.datasets import PAIR_MODES, SkippedEventsWarning, read_event_chunks

    hzz = root_dir / "uproot-HZZ.root"
    near_z = {}
    for pair, n_selected in (("exclusive", 1364), ("leading", 1406), ("closest", 1406)):
        with pytest.warns(SkippedEventsWarning):
            X, info = load_root(hzz, pair=pair, return_info=True)
        assert info["n_selected"] == n_selected and info["selection"].startswith(pair)
        assert info["skipped"]["one lepton"] == 949
        near_z[pair] = np.mean(np.abs(_pair_mass(X) - 91.1876) < 10)
    assert near_z["closest"] > near_z["leading"]  # the Z candidate, where muons are extra
    with pytest.warns(SkippedEventsWarning, match="2354 with fewer than 4 leptons"):
        X4, info = load_root(hzz, n_leptons=4, return_info=True)
    assert X4.shape == (8, 16) and info["skipped"]["more than 2 of a charge"] == 0
    pt = kinematics.pt(events.to_particles(X4))
    assert (pt[:, 0] >= pt[:, 1]).all() and (pt[:, 2] >= pt[:, 3]).all()  # by charge, then pT
    raw = uproot.open(hzz)["events"].arrays(["Muon_Px", "Muon_Charge"])
    four = ak.num(raw.Muon_Charge) == 4
    assert ak.sum(four) == 8
    assert_allclose(np.sort(np.abs(X4[:, [0, 4, 8, 12]]), axis=1),
                    np.sort(np.abs(ak.to_numpy(raw.Muon_Px[four])), axis=1), rtol=1e-6)
    nano = "cmsopendata2015_ttbar_19980_NANOAOD_RNTupleImporter_rntuple_v1-0-0-1.root"
    # (The RNTuple takes seconds to open: one mode.)
    for name, kept, reasons, modes in (
            ("nanoAOD_2015_CMS_Open_Data_ttbar.root", 0, (160, 39, 1), PAIR_MODES),
            (nano, 1, (6, 2, 1), ("closest",))):
        for pair in modes:
            chunks = read_event_chunks(root_dir / name, pair=pair, allow_empty=True)
            assert sum(c.selected.sum() for c in chunks) == kept
            counts = chunks.info["skipped"]
            assert (counts["no lepton"], counts["one lepton"],
                    counts["only same-charge leptons"]) == reasons


def test_written_nanoaod_with_extra_muons(tmp_path):
    """A NanoAOD-style file whose events hold extra muons: each mode and the counts."""
    path = _write_nano(tmp_path / "nano.root", muons=[
        [(40.0, 0.5, 0.1, 1), (35.0, -0.3, 2.9, -1)],
        [(60.0, 0.0, 0.0, 1), (45.0, 0.2, 3.0, -1), (40.0, -0.1, 0.1, 1), (8.0, 1.5, 1.0, -1)],
        [(50.0, 0.2, 0.0, -1), (45.0, 0.1, 3.0, 1), (20.0, 0.0, 1.0, 1)],
        [(30.0, 0.0, 0.0, 1)],
    ])  # fmt: skip
    with pytest.warns(UserWarning, match=r"Skipped 3 of 4 .*2 with more than one of a charge.*"
                      r"pair='leading' or 'closest' \(--pair\) also take"):
        assert load_root(path).shape == (1, 8)
    with pytest.warns(UserWarning, match="Skipped 1 of 4 .*1 with one lepton"):
        X_lead, info = load_root(path, pair="leading", return_info=True)
    with pytest.warns(UserWarning, match="Skipped 1 of 4"):
        X_z = load_root(path, pair="closest", step_size=1)
    assert info["skipped"] == {"no lepton": 0, "one lepton": 1, "only same-charge leptons": 0}
    assert_allclose(kinematics.pt(events.to_particles(X_lead))[1], [60.0, 45.0], rtol=1e-6)
    assert_allclose(kinematics.pt(events.to_particles(X_z))[1], [40.0, 45.0], rtol=1e-6)
    with pytest.raises(ValueError, match="pair_mass=100 applies to pair='closest' only"):
        load_root(path, pair_mass=100)
    with pytest.warns(UserWarning, match="Skipped 3 of 4 .*3 with fewer than 4 leptons"):
        assert load_root(path, n_leptons=4).shape == (1, 16)
