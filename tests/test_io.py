"""Tests of the event readers and writers (sklearn_bsym.datasets._io)."""

from __future__ import annotations

import gzip
import itertools
from contextlib import nullcontext

import numpy as np
import pandas as pd
import pylhe
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import (
    load_event_file,
    load_events,
    load_lhe,
    make_labelled_dataset,
    save_events,
)
from sklearn_bsym.events import check_events, feature_names

MADGRAPH = "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz"
POWHEG = "pylhe-testfile-powheg-box-v2-Z.lhe"
Z_MASS = 91.1876


# ---------------------------------------------------------------- small LHE files written here
def _massless(px, py, pz):
    return (px, py, pz, float(np.sqrt(px**2 + py**2 + pz**2)))


MU_MINUS = _massless(10.0, 20.0, 30.0)
MU_PLUS = _massless(-10.0, -20.0, 5.0)
E_PLUS = _massless(3.0, -40.0, 12.5)
E_MINUS = _massless(-3.0, 40.0, -7.25)
GLUON = _massless(0.0, 0.0, 0.0)

# (pdg id, status, four-momentum); the beams and the Z make the events look like real ones.
_BEAMS = [(2, -1, (0.0, 0.0, 50.0, 50.0)), (-2, -1, (0.0, 0.0, -40.0, 40.0))]
EVENT_MUMU_REVERSED = _BEAMS + [
    (23, 2, (0.0, 0.0, 10.0, 90.0)),
    (13, 1, MU_MINUS),
    (-13, 1, MU_PLUS),
]
EVENT_EE = _BEAMS + [(23, 2, (0.0, 0.0, 1.0, 91.0)), (-11, 1, E_PLUS), (11, 1, E_MINUS)]
EVENT_MUMU_JET = _BEAMS + [(-13, 1, MU_PLUS), (13, 1, MU_MINUS), (21, 1, (1.0, 2.0, 2.0, 3.0))]
EVENT_MU_E = _BEAMS + [(-11, 1, E_PLUS), (13, 1, MU_MINUS)]
EVENT_THREE_MU = _BEAMS + [(-13, 1, MU_PLUS), (13, 1, MU_MINUS), (-13, 1, E_PLUS)]
EVENT_NO_LEPTON = _BEAMS + [(21, 1, (1.0, 2.0, 2.0, 3.0)), (21, 1, (-1.0, -2.0, -2.0, 3.0))]

_HEADER = """<LesHouchesEvents version="3.0">
<header>
<!-- written by tests/test_io.py -->
</header>
<init>
2212 2212 6.5E+03 6.5E+03 0 0 247000 247000 3 1
1.0E+03 1.0E+01 1.0E+00 1
</init>
"""


def _lhe_text(events) -> str:
    blocks = []
    for particles in events:
        lines = [f" {len(particles)} 1 1.0E+00 9.1E+01 7.5E-03 1.2E-01"]
        for pid, status, (px, py, pz, e) in particles:
            mothers = "0 0" if status == -1 else "1 2"
            lines.append(f" {pid} {status} {mothers} 0 0 {px!r} {py!r} {pz!r} {e!r} 0.0 0.0 9.0")
        blocks.append("<event>\n" + "\n".join(lines) + "\n</event>\n")
    return _HEADER + "".join(blocks) + "</LesHouchesEvents>\n"


def _write_lhe(path, events, *, gz=False):
    text = _lhe_text(events)
    if gz:
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture
def mixed_lhe(tmp_path):
    """Four events: two with a mu+ mu- pair (one listing mu- first), one e+e-, one e+ mu-."""
    events = [EVENT_MUMU_REVERSED, EVENT_EE, EVENT_MUMU_JET, EVENT_MU_E]
    return _write_lhe(tmp_path / "mixed.lhe", events)


# ---------------------------------------------------------------- the real generator files
def _first_pair_from_pylhe(path, positive_id, n=20):
    """The positive-charge lepton of the first n events, read with plain pylhe loops."""
    rows = []
    events = pylhe.LHEFile.fromfile(path).events
    for event in itertools.islice(events, n):
        ids = [p.id for p in event.particles if p.status == 1]
        if ids.count(positive_id) == 1 and ids.count(-positive_id) == 1:
            p = next(p for p in event.particles if p.status == 1 and p.id == positive_id)
            rows.append((p.px, p.py, p.pz, p.e))
    events.close()
    return np.array(rows)


@pytest.mark.parametrize(
    ("filename", "lepton", "n_selected", "n_read"),
    [(MADGRAPH, "mu", 4994, 10000), (MADGRAPH, "e", 5006, 10000), (POWHEG, "e", 100, 100)],
)
def test_real_files(lhe_dir, filename, lepton, n_selected, n_read):
    path = lhe_dir / filename
    if n_selected < n_read:
        with pytest.warns(UserWarning, match=f"skipped {n_read - n_selected} of {n_read} events"):
            X, info = load_lhe(path, lepton=lepton, return_info=True)
    else:
        X, info = load_lhe(path, lepton=lepton, return_info=True)
    assert X.shape == (n_selected, 8)
    assert X.dtype == np.float64
    assert info["n_events_read"] == n_read
    assert info["n_selected"] == n_selected
    assert info["n_skipped"] == n_read - n_selected
    assert info["weights"].shape == (n_selected,)
    check_events(X, n_particles=2)
    # Leptons are (nearly) massless, and the pair sits on the Z peak.
    assert np.all(np.abs(kinematics.mass(X[:, :4])) < 0.2)
    assert np.all(np.abs(kinematics.mass(X[:, 4:])) < 0.2)
    median = np.median(kinematics.mass(X[:, :4] + X[:, 4:]))
    assert abs(median - Z_MASS) < 2.0
    # Positive charge first: the antilepton (negative PDG id) of each event, as pylhe lists it.
    antilepton = -11 if lepton == "e" else -13
    expected = _first_pair_from_pylhe(path, antilepton)
    assert_array_equal(X[: len(expected), :4], expected)


def test_real_file_flavour_counts(lhe_dir):
    _, info = load_lhe(lhe_dir / POWHEG, lepton="e", return_info=True)
    assert info["lepton_ids"] == {-11: 100, 11: 100}
    assert info["pairs"] == {"e": 100, "mu": 0, "tau": 0}


def test_real_file_wrong_flavour_names_the_right_one(lhe_dir):
    msg = r"no mu\+ mu- pairs in its 100 events.*e\+ e- pairs in 100 events; pass lepton='e'"
    with pytest.raises(ValueError, match=msg):
        load_lhe(lhe_dir / POWHEG, lepton="mu")


def test_real_file_max_events(lhe_dir):
    X = load_lhe(lhe_dir / POWHEG, lepton=11, max_events=7)
    assert X.shape == (7, 8)
    assert_array_equal(X, load_lhe(lhe_dir / POWHEG, lepton="e")[:7])


# ---------------------------------------------------------------- small files: selection
@pytest.mark.parametrize("gz", [False, True])
def test_selection_order_and_skip_warning(tmp_path, gz):
    events = [EVENT_MUMU_REVERSED, EVENT_EE, EVENT_MUMU_JET, EVENT_MU_E]
    path = _write_lhe(tmp_path / ("f.lhe.gz" if gz else "f.lhe"), events, gz=gz)
    msg = r"skipped 2 of 4 events .*: 1 with no lepton, 1 with one lepton\. Looked for a mu\+ mu-"
    with pytest.warns(UserWarning, match=msg):
        X = load_lhe(path)
    assert_array_equal(X, np.array([MU_PLUS + MU_MINUS, MU_PLUS + MU_MINUS]))


def test_gzip_detected_from_content(tmp_path):
    path = _write_lhe(tmp_path / "no_suffix.lhe", [EVENT_EE], gz=True)
    assert_array_equal(load_lhe(path, lepton="e"), np.array([E_PLUS + E_MINUS]))


def test_event_with_two_antimuons_is_skipped(tmp_path):
    path = _write_lhe(tmp_path / "f.lhe", [EVENT_THREE_MU, EVENT_MUMU_JET])
    with pytest.warns(UserWarning, match=r"skipped 1 of 2 .* 1 with more than one of a charge"):
        X = load_lhe(path)
    assert X.shape == (1, 8)


@pytest.mark.parametrize(
    ("lepton", "expected"),
    [
        ("mu", MU_PLUS + MU_MINUS),
        ("MU", MU_PLUS + MU_MINUS),
        (13, MU_PLUS + MU_MINUS),
        (-13, MU_PLUS + MU_MINUS),
        (np.int64(13), MU_PLUS + MU_MINUS),
        ((13, -13), MU_PLUS + MU_MINUS),
        ("e", E_PLUS + E_MINUS),
        (11, E_PLUS + E_MINUS),
        ((-11, 13), E_PLUS + MU_MINUS),
        ([13, -11], E_PLUS + MU_MINUS),
    ],
)
def test_lepton_choices(tmp_path, lepton, expected):
    path = _write_lhe(tmp_path / "f.lhe", [EVENT_MUMU_REVERSED, EVENT_EE, EVENT_MU_E])
    with pytest.warns(UserWarning, match="skipped 2 of 3"):
        X = load_lhe(path, lepton=lepton)
    assert_array_equal(X, np.array([expected]))


@pytest.mark.parametrize(
    ("lepton", "match"),
    [
        ("muon", "Unknown lepton 'muon'"),
        (22, "not a charged lepton"),
        (True, "must be a name, a PDG id or a pair"),
        ((13, 11), "two leptons of the same charge"),
        ((13, 22), "not a pair of charged-lepton ids"),
        ((13, -13, 11), "must be a name, a PDG id or a pair"),
        (13.0, "must be a name, a PDG id or a pair"),
    ],
)
def test_bad_lepton(mixed_lhe, lepton, match):
    with pytest.raises(ValueError, match=match):
        load_lhe(mixed_lhe, lepton=lepton)


def test_return_info(mixed_lhe):
    with pytest.warns(UserWarning, match="skipped"):
        _, info = load_lhe(mixed_lhe, return_info=True)
    assert info["n_events_read"] == 4
    assert info["n_selected"] == 2
    assert info["n_skipped"] == 2
    assert info["lepton_ids"] == {-13: 2, -11: 2, 11: 1, 13: 3}
    assert info["pairs"] == {"e": 1, "mu": 2, "tau": 0}
    assert_allclose(info["weights"], [1.0, 1.0])


@pytest.mark.parametrize(("max_events", "n_selected"), [(1, 1), (2, 1), (3, 2), (100, 2)])
def test_max_events_counts_events_read(mixed_lhe, max_events, n_selected):
    with pytest.warns(UserWarning, match="skipped") if n_selected < max_events else nullcontext():
        X, info = load_lhe(mixed_lhe, max_events=max_events, return_info=True)
    assert X.shape == (n_selected, 8)
    assert info["n_events_read"] == min(max_events, 4)


@pytest.mark.parametrize("max_events", [0, -1, 1.5, True, "10"])
def test_bad_max_events(mixed_lhe, max_events):
    with pytest.raises(ValueError, match="max_events must be None"):
        load_lhe(mixed_lhe, max_events=max_events)


def test_no_pair_of_any_flavour(tmp_path):
    path = _write_lhe(tmp_path / "f.lhe", [EVENT_NO_LEPTON, EVENT_MU_E])
    msg = r"no mu\+ mu- pairs .* no same-flavour lepton pair; final-state lepton ids found: \{"
    with pytest.raises(ValueError, match=msg):
        load_lhe(path)


# ---------------------------------------------------------------- small files: bad files
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No event file at"):
        load_lhe(tmp_path / "absent.lhe")


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(IsADirectoryError, match=f"Event file {tmp_path} is a folder, not a file"):
        load_lhe(tmp_path)


def test_symbolic_links_that_lead_nowhere(tmp_path):
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    with pytest.raises(ValueError, match="loop.csv is a symbolic link that loops back on itself"):
        load_event_file(loop)
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "gone.csv")
    with pytest.raises(FileNotFoundError, match=r"dangling.csv: a symbolic link to .*gone.csv, "
                       "which does not exist"):
        load_event_file(dangling)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.lhe"
    path.write_text("")
    with pytest.raises(ValueError, match="is empty"):
        load_lhe(path)


def test_file_without_events(tmp_path):
    path = _write_lhe(tmp_path / "f.lhe", [])
    with pytest.raises(ValueError, match="contains no <event> blocks"):
        load_lhe(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("this is not xml at all\n", "not a complete, valid LHE"),
        ("<html><body>hi</body></html>\n", "Root element is not <LesHouchesEvents>"),
        (_HEADER.replace("<init>", "<foo>").replace("</init>", "</foo>"), "No <init> block"),
    ],
)
def test_not_an_lhe_file(tmp_path, text, match):
    path = tmp_path / "f.lhe"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_lhe(path)


def test_truncated_file_is_an_error_not_a_short_sample(tmp_path):
    text = _lhe_text([EVENT_MUMU_JET, EVENT_MUMU_JET, EVENT_MUMU_JET])
    path = tmp_path / "f.lhe"
    path.write_text(text[: text.rindex("<event>") + 20])
    with pytest.raises(ValueError, match="not a complete, valid LHE"):
        load_lhe(path)


def test_truncated_gzip(tmp_path):
    full = _write_lhe(tmp_path / "full.lhe.gz", [EVENT_MUMU_JET] * 50, gz=True)
    path = tmp_path / "cut.lhe.gz"
    path.write_bytes(full.read_bytes()[:-40])
    with pytest.raises(ValueError, match="Could not read .* as an LHE file"):
        load_lhe(path)


def test_unphysical_momenta_in_file(tmp_path):
    bad = [*_BEAMS, (-13, 1, (10.0, 0.0, 0.0, -10.0)), (13, 1, MU_MINUS)]
    path = _write_lhe(tmp_path / "f.lhe", [bad])
    with pytest.raises(ValueError, match="unusable lepton four-momenta.*negative energy"):
        load_lhe(path)


# ---------------------------------------------------------------- parquet / CSV round trip
def _events(n=50, n_particles=2, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.normal(scale=30.0, size=(n, n_particles, 3))
    e = np.sqrt(np.sum(p**2, axis=-1, keepdims=True)) * (
        1 + rng.uniform(0, 1e-3, (n, n_particles, 1))
    )
    return np.concatenate([p, e], axis=-1).reshape(n, 4 * n_particles)


def _truth(n=50, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "mass": rng.uniform(70, 300, n),
            "cos_theta": rng.uniform(-1, 1, n) / 3.0,
            "process": rng.integers(0, 5, n),
        }
    )


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".csv.gz"])
def test_round_trip_exact(tmp_path, suffix):
    X, truth = _events(), _truth()
    X[0, 0] = 1.0 / 3.0
    X[1, 1] = 5e-300
    y = np.arange(50) % 2
    path = tmp_path / f"events{suffix}"
    save_events(path, X, y, truth=truth)
    X2, y2, truth2 = load_events(path, return_truth=True)
    assert X2.dtype == np.float64
    assert y2.dtype == np.int64
    assert_array_equal(X2, X)
    assert_array_equal(y2, y)
    pd.testing.assert_frame_equal(truth2, truth)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_round_trip_without_labels(tmp_path, suffix):
    X = _events(n_particles=3)
    path = tmp_path / f"events{suffix}"
    save_events(path, pd.DataFrame(X))
    X2, y2, truth = load_events(path, return_truth=True)
    assert_array_equal(X2, X)
    assert y2 is None
    assert truth is None
    assert list(
        pd.read_csv(path).columns if suffix == ".csv" else pd.read_parquet(path).columns
    ) == (feature_names(3))


def test_parquet_keeps_float32(tmp_path):
    X = _events().astype(np.float32)
    save_events(tmp_path / "f.parquet", X, np.ones(50))
    X2, y2 = load_events(tmp_path / "f.parquet")
    assert X2.dtype == np.float32
    assert_array_equal(X2, X)
    assert_array_equal(y2, np.ones(50, dtype=np.int64))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y": np.full(50, 2)},
         r"y holds the labels \[2\]; save_events needs labels 1 = signal and 0"),
        ({"y": np.ones(49)}, "X has 50 events but y has 49 labels; pass one label per event"),
        ({"truth": pd.DataFrame({"a": np.ones(3)})}, "truth has 3 rows but X has 50"),
    ],
)
def test_save_bad_inputs(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        save_events(tmp_path / "f.csv", _events(), **kwargs)


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.full((3, 8), np.nan), "NaN or inf"),
        (-np.abs(_events(3)), "negative energy"),
        (np.ones((3, 7)), "not a positive multiple of 4"),
    ],
)
def test_save_bad_events(tmp_path, X, match):
    with pytest.raises(ValueError, match=match):
        save_events(tmp_path / "f.parquet", X)


@pytest.mark.parametrize("name", ["f.txt", "f.lhe", "f.root"])
def test_save_bad_extension(tmp_path, name):
    with pytest.raises(ValueError, match=r"supported extensions are \.parquet, \.csv, \.csv\.gz"):
        save_events(tmp_path / name, _events())


def test_save_path_must_be_a_path(tmp_path):
    with pytest.raises(ValueError, match="Expected a file path"):
        save_events(123, _events())


def _table(X, **extra):
    table = pd.DataFrame(X, columns=feature_names(X.shape[1] // 4))
    for name, values in extra.items():
        table[name] = values
    return table


@pytest.mark.parametrize(
    ("table", "match"),
    [
        (pd.DataFrame({"a": [1.0], "b": [2.0]}), "not an event file written by save_events"),
        (_table(_events(3)).iloc[:, ::-1], "not an event file written by save_events"),
        (_table(_events(3)).iloc[:, :7], "not an event file written by save_events"),
        (_table(_events(3)).iloc[:0], "no rows"),
        (_table(np.full((2, 8), np.inf)), "NaN or inf"),
        (_table(-np.abs(_events(3))), "negative energy"),
        (_table(_events(3), label=[0, 1, 3]), "column 'label'.*multiclass; load_events needs "
         "labels 1 = signal and 0 = background"),
        (_table(_events(3), label=[0.0, np.nan, 1.0]), "column 'label'.*NaN"),
    ],
)
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_load_bad_tables(tmp_path, table, match, suffix):
    path = tmp_path / f"f{suffix}"
    if suffix == ".csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path, index=False)
    with pytest.raises(ValueError, match=match):
        load_events(path)


@pytest.mark.parametrize(
    ("name", "content", "error", "match"),
    [
        ("f.parquet", b"not a parquet file", ValueError, "Could not read .* as a parquet"),
        ("f.csv", b"", ValueError, "is empty"),
        ("f.csv", b"\xff\xfe\x00garbage\x81", ValueError, "Could not read .* as a CSV"),
        ("f.lhe", b"<LesHouchesEvents/>", ValueError, "is an LHE file; read it with load_lhe"),
        ("f.txt", b"1,2,3", ValueError, r"unsupported file extension\. Supported: \.lhe"),
        ("f.root", b"root", ValueError, "is a ROOT file; read it with load_root"),
    ],
)
def test_load_events_bad_files(tmp_path, name, content, error, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error, match=match):
        load_events(path)


def test_load_events_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="No event file at"):
        load_events(tmp_path / "absent.parquet")


# ---------------------------------------------------------------- load_event_file
def test_load_event_file_dispatch(tmp_path, mixed_lhe):
    X = _events()
    save_events(tmp_path / "f.parquet", X, np.zeros(50))
    save_events(tmp_path / "f.csv", X)
    assert_array_equal(load_event_file(tmp_path / "f.parquet"), X)
    assert_array_equal(load_event_file(str(tmp_path / "f.csv"), max_events=5), X[:5])
    with pytest.warns(UserWarning, match="skipped 3 of 4"):
        X_e, info = load_event_file(mixed_lhe, lepton="e", return_info=True)
    assert_array_equal(X_e, np.array([E_PLUS + E_MINUS]))
    assert info["n_selected"] == 1


def test_load_event_file_errors(tmp_path):
    save_events(tmp_path / "f.csv", _events())
    with pytest.raises(ValueError, match=r"\['step_size'\] do not apply to the table"):
        load_event_file(tmp_path / "f.csv", step_size=10)
    X, info = load_event_file(tmp_path / "f.csv", return_info=True)
    assert info == {"selection": "the particles as they are", "n_events_read": len(X),
                    "n_selected": len(X), "n_skipped": 0, "skipped": {}}
    with pytest.raises(ValueError, match="layout of save_events .* through a column mapping"):
        load_event_file(tmp_path / "f.csv", pair="leading")
    (tmp_path / "f.root").write_bytes(b"root")
    with pytest.raises(ValueError, match="Could not open .*f.root as a ROOT file"):
        load_event_file(tmp_path / "f.root")
    with pytest.raises(FileNotFoundError):
        load_event_file(tmp_path / "absent.csv")


# ---------------------------------------------------------------- make_labelled_dataset
def test_labelled_dataset_from_arrays():
    sig, bkg = _events(30, seed=1), _events(20, seed=2)
    X, y = make_labelled_dataset(sig, pd.DataFrame(bkg), random_state=0)
    assert X.shape == (50, 8)
    assert y.dtype == np.int64
    assert y.sum() == 30
    # Each row keeps its label: signal rows are exactly the signal events.
    assert_array_equal(np.sort(X[y == 1], axis=0), np.sort(sig, axis=0))
    assert_array_equal(np.sort(X[y == 0], axis=0), np.sort(bkg, axis=0))
    # Shuffled (interleaved), reproducibly.
    assert not np.array_equal(y, np.sort(y)[::-1])
    X2, y2 = make_labelled_dataset(sig, bkg, random_state=0)
    assert_array_equal(X2, X)
    assert_array_equal(y2, y)
    _, y3 = make_labelled_dataset(sig, bkg, random_state=1)
    assert not np.array_equal(y3, y)


def test_labelled_dataset_unshuffled_and_max_events():
    sig, bkg = _events(30, seed=1), _events(20, seed=2)
    X, y = make_labelled_dataset(sig, bkg, shuffle=False, max_events=10)
    assert_array_equal(X, np.concatenate([sig[:10], bkg[:10]]))
    assert_array_equal(y, [1] * 10 + [0] * 10)


def test_labelled_dataset_from_files(tmp_path, mixed_lhe):
    bkg = _events(5)
    save_events(tmp_path / "bkg.parquet", bkg)
    with pytest.warns(UserWarning, match="skipped 2 of 4"):
        X, y = make_labelled_dataset(mixed_lhe, tmp_path / "bkg.parquet", shuffle=False)
    assert_array_equal(X[:2], np.array([MU_PLUS + MU_MINUS] * 2))
    assert_array_equal(X[2:], bkg)
    assert_array_equal(y, [1, 1, 0, 0, 0, 0, 0])


@pytest.mark.parametrize(
    ("signal", "background", "error", "match"),
    [
        (_events(5), _events(5, n_particles=3), ValueError, "signal has 8 columns .* 12"),
        (np.tile([1.0, 0.0, 0.0, -1.0], (5, 2)), _events(5), ValueError, "signal must be a file"),
        (_events(5), [[np.nan] * 8], ValueError, "background must be a file .*NaN"),
        (_events(5), "absent.parquet", FileNotFoundError, "No event file"),
    ],
)
def test_labelled_dataset_bad_inputs(signal, background, error, match):
    with pytest.raises(error, match=match):
        make_labelled_dataset(signal, background)


# ---------------------------------------------------------------- values of table columns
COLLIDER_MAPPING = [
    {"pt": f"pt{i}", "eta": f"eta{i}", "phi": f"phi{i}", "mass": f"m{i}", "pdg_id": f"id{i}"}
    for i in (1, 2)
]


def _collider_table(n=6):
    columns = {}
    for i, pid in ((1, -13), (2, 13)):
        columns.update({f"pt{i}": np.full(n, 30.0 + i), f"eta{i}": np.zeros(n),
                        f"phi{i}": np.full(n, i - 1.0), f"m{i}": np.full(n, 0.10566),
                        f"id{i}": np.full(n, pid)})
    return pd.DataFrame(columns)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize(
    ("column", "values", "what"),
    [
        ("pt1", {3: -30.0}, r"column 'pt1' \(pt\) holds a negative pT in 1 row\(s\), first at "
                            r"row 3 \(counting from 0; value -30.0\)"),
        ("m2", {1: -0.1, 4: -1.0}, r"column 'm2' \(mass\) holds a negative mass in 2 row\(s\), "
                                   "first at row 1, 4"),
        ("id1", {2: -13.7}, r"column 'id1' \(pdg_id\) holds a pdg_id that is not whole .*row 2"),
        ("eta2", {0: np.inf}, r"column 'eta2' \(eta\) holds NaN or inf .*row 0"),
        ("phi1", {5: "abc"}, r"column 'phi1' \(phi\) holds text or empty cells, not numbers "
                             r"\(dtype object\) in 1 row\(s\), first at row 5 .*value 'abc'"),
    ],
)
def test_unphysical_mapped_columns_are_refused(tmp_path, suffix, column, values, what):
    """A negative pT or mass, a fractional PDG id, inf or text is named, never turned into a
    plausible event (a muon pointing the other way, a positive mass, id -13)."""
    table = _collider_table()
    table[column] = table[column].astype(str if "abc" in values.values() else float)
    for row, value in values.items():
        table.loc[row, column] = value
    path = tmp_path / f"events{suffix}"
    if suffix == ".csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path, index=False)
    with pytest.raises(ValueError, match=f"{path}: {what}.*--columns") as info:
        load_event_file(path, columns=COLLIDER_MAPPING)
    assert "\n" not in str(info.value)


def test_a_text_cell_in_a_saved_file_names_its_column(tmp_path):
    table = _table(_events(4))
    table["mu1_py"] = table["mu1_py"].astype(object)
    table.loc[2, "mu1_py"] = "1.2.3"
    path = tmp_path / "events.csv"
    table.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"column 'mu1_py' \(py\) holds text .*row 2"):
        load_events(path)


def test_a_foreign_layout_points_to_the_column_mapping(tmp_path):
    path = tmp_path / "foreign.csv"
    _collider_table().to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"not an event file written by save_events.*--columns"):
        load_event_file(path)


@pytest.mark.parametrize("name", ["events.parquet", "events.csv.gz", "events.lhe.gz"])
def test_a_damaged_file_is_one_line_naming_it(tmp_path, name, mixed_lhe):
    path = tmp_path / name
    if name.endswith(".lhe.gz"):
        path.write_bytes(gzip.compress(mixed_lhe.read_bytes()))
    else:
        save_events(path, _events(2000))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError) as info:
        load_event_file(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


# ---------------------------------------------------------------- reading in chunks
def _chunked(chunks):
    parts = list(chunks)
    return (np.concatenate([c.X for c in parts]), np.concatenate([c.selected for c in parts]),
            [c.selected.size for c in parts])


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 100])
def test_lhe_in_chunks_flags_each_event(mixed_lhe, chunk_size):
    from sklearn_bsym.datasets import read_event_chunks

    chunks = read_event_chunks(mixed_lhe, chunk_size=chunk_size)
    assert chunks.n_entries is None  # an LHE file says its size only once read
    X, selected, sizes = _chunked(chunks)
    assert_array_equal(selected, [True, False, True, False])  # mumu, ee, mumu+jet, e mu
    assert max(sizes) <= chunk_size and sum(sizes) == 4
    with pytest.warns(UserWarning, match="skipped 2 of 4"):
        assert_array_equal(X, load_lhe(mixed_lhe))


def test_lhe_in_chunks_without_the_pair_says_which_pairs_it_has(mixed_lhe):
    from sklearn_bsym.datasets import read_event_chunks

    with pytest.raises(ValueError, match=r"no tau\+ tau- pairs in its 4 events.*mu\+ mu- pairs "
                       r"in 2 events"):
        list(read_event_chunks(mixed_lhe, lepton="tau", chunk_size=3))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_mapped_table_in_chunks_flags_the_dropped_rows(tmp_path, suffix):
    from sklearn_bsym.datasets import make_dimuon_events, read_event_chunks

    X, _ = make_dimuon_events(23, random_state=0)
    p = X.reshape(-1, 2, 4)
    charge = np.tile([1, -1], (23, 1))
    charge[[2, 7, 19]] = [1, 1]  # same-sign pairs: dropped
    charge[[4, 11]] = [-1, 1]  # the negative muon first: swapped back
    table = pd.DataFrame({f"{c}{i}": p[:, i, k] for i in range(2)
                          for k, c in enumerate(["px", "py", "pz", "E"])})
    table["q0"], table["q1"] = charge[:, 0], charge[:, 1]
    path = tmp_path / f"events{suffix}"
    (table.to_csv(path, index=False, float_format="%.17g") if suffix == ".csv"
     else table.to_parquet(path, index=False))
    mapping = [{"px": f"px{i}", "py": f"py{i}", "pz": f"pz{i}", "E": f"E{i}", "charge": f"q{i}"}
               for i in range(2)]
    chunks = read_event_chunks(path, columns=mapping, chunk_size=5)
    assert chunks.n_entries == (23 if suffix == ".parquet" else None)
    got, selected, sizes = _chunked(chunks)
    assert sizes == [5, 5, 5, 5, 3]
    assert_array_equal(np.flatnonzero(~selected), [2, 7, 19])
    with pytest.warns(UserWarning, match="Skipped 3 of 23"):
        assert_array_equal(got, load_event_file(path, columns=mapping))
    assert_allclose(got[[4 - 1, 11 - 2]], X[[4, 11]][:, [4, 5, 6, 7, 0, 1, 2, 3]])


def test_canonical_table_in_chunks_names_the_row_of_a_bad_value(tmp_path):
    from sklearn_bsym.datasets import make_dimuon_events, read_event_chunks

    X, _ = make_dimuon_events(12, random_state=0)
    path = tmp_path / "events.parquet"
    save_events(path, X)
    got, selected, sizes = _chunked(read_event_chunks(path, chunk_size=5))
    assert_array_equal(got, X) and selected.all() and sizes == [5, 5, 2]
    table = pd.read_parquet(path)
    table.loc[8, "mu1_px"] = np.nan
    table.to_parquet(path, index=False)
    with pytest.raises(ValueError, match=r"'mu1_px' \(px\) holds NaN or inf in 1 row\(s\), "
                       r"first at row 8"):
        list(read_event_chunks(path, chunk_size=5))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"tree": "Events"}, "only applies to ROOT files"),
     ({"chunk_size": 0}, "chunk_size must be an int >= 1"),
     ({"columns": [{"px": "a"}]}, "needs exactly px, py, pz, E")],
)
def test_chunk_reader_checks_its_options_before_reading(tmp_path, kwargs, match):
    from sklearn_bsym.datasets import make_dimuon_events, read_event_chunks

    path = tmp_path / "events.csv"
    save_events(path, make_dimuon_events(10, random_state=0)[0])
    with pytest.raises(ValueError, match=match):
        read_event_chunks(path, **kwargs)


def test_labelled_dataset_of_several_files_per_class(tmp_path):
    from sklearn_bsym.datasets import make_dimuon_events

    X, y = make_dimuon_events(60, random_state=0)
    save_events(tmp_path / "s1.parquet", X[y == 1][:10])
    save_events(tmp_path / "s2.csv", X[y == 1][10:])
    save_events(tmp_path / "b.csv", X[y == 0])
    Xl, yl = make_labelled_dataset([tmp_path / "s1.parquet", str(tmp_path / "s2.csv")],
                                   tmp_path / "b.csv", shuffle=False)
    assert_array_equal(Xl, np.concatenate([X[y == 1], X[y == 0]]))
    assert_array_equal(yl, np.r_[np.ones((y == 1).sum()), np.zeros((y == 0).sum())])
    save_events(tmp_path / "wide.csv", np.hstack([X[:5], X[:5]]))
    with pytest.raises(ValueError, match=r"signal files hold events of different widths"):
        make_labelled_dataset([tmp_path / "s1.parquet", tmp_path / "wide.csv"], X[:5])


# ---------------------------------------------------------------- LHE: pair modes, N leptons
EVENT_FOUR_MU = _BEAMS + [(-13, 1, MU_PLUS), (13, 1, MU_MINUS), (-13, 1, E_PLUS),
                          (13, 1, E_MINUS)]


def test_lhe_pair_modes_and_four_leptons(tmp_path):
    path = _write_lhe(tmp_path / "f.lhe", [EVENT_THREE_MU, EVENT_FOUR_MU, EVENT_MUMU_JET])
    with pytest.warns(UserWarning, match=r"skipped 2 of 3 .*2 with more than one of a charge"):
        assert load_lhe(path).shape == (1, 8)
    # leading: the higher-pT mu+ (E_PLUS's momentum, 40 GeV, over MU_PLUS's 22 GeV)
    X, info = load_lhe(path, pair="leading", return_info=True)
    assert info["skipped"] == {"no lepton": 0, "one lepton": 0, "only same-charge leptons": 0}
    assert_array_equal(X[0], E_PLUS + MU_MINUS)
    assert_array_equal(X[1], E_PLUS + E_MINUS)
    masses = {(a, b): float(kinematics.mass(np.add(a, b))) for a in (MU_PLUS, E_PLUS)
              for b in (MU_MINUS, E_MINUS)}
    best = min(masses, key=lambda k: abs(masses[k] - Z_MASS))
    X_z = load_lhe(path, pair="closest")
    assert_array_equal(X_z[1], best[0] + best[1])
    # Four muons: the two mu+ then the two mu-, each by decreasing pT.
    with pytest.warns(UserWarning, match=r"skipped 2 of 3 .*2 with fewer than 4 leptons.*"
                      r"Looked for 4 leptons, 2 mu\+ and 2 mu-"):
        X4, info = load_lhe(path, n_leptons=4, return_info=True)
    assert X4.shape == (1, 16) and info["selection"].startswith("exclusive mode (exactly 2")
    assert_array_equal(X4[0], E_PLUS + MU_PLUS + E_MINUS + MU_MINUS)


def test_lhe_in_chunks_counts_per_reason(mixed_lhe):
    from sklearn_bsym.datasets import read_event_chunks

    chunks = read_event_chunks(mixed_lhe, chunk_size=3)
    list(chunks)
    assert chunks.info == {"selection": "exclusive mode (exactly one lepton of each charge)",
                           "n_events_read": 4, "n_selected": 2, "n_skipped": 2,
                           "skipped": {"no lepton": 1, "one lepton": 1,
                                       "only same-charge leptons": 0,
                                       "more than one of a charge": 0}}
    empty = read_event_chunks(mixed_lhe, lepton="tau", allow_empty=True)
    assert sum(c.selected.sum() for c in empty) == 0 and empty.info["n_events_read"] == 4


# ---------------------------------------------------------------- mappings: masses, N particles
def _cms_csv(path, n=12, *, charges=None, mass=False):
    """A CMS 2011-style dimuon table: pt1, eta1, phi1, Q1, pt2, ... (and M1, M2 with mass)."""
    rng = np.random.default_rng(0)
    table = {}
    for i in (1, 2):
        table.update({f"pt{i}": rng.uniform(20, 50, n), f"eta{i}": rng.normal(size=n),
                      f"phi{i}": rng.uniform(-3, 3, n), f"Q{i}": np.full(n, 3 - 2 * i)})
        if mass:
            table[f"M{i}"] = np.full(n, 0.2)
    frame = pd.DataFrame(table)
    if charges is not None:
        for row, (q1, q2) in charges.items():
            frame.loc[row, ["Q1", "Q2"]] = [q1, q2]
    frame.to_csv(path, index=False, float_format="%.17g")
    return frame


CMS_MAPPING = [{"pt": f"pt{i}", "eta": f"eta{i}", "phi": f"phi{i}", "charge": f"Q{i}"}
               for i in (1, 2)]


def test_mapping_without_mass_takes_the_leptons(tmp_path):
    from sklearn_bsym.datasets import LEPTON_MASSES
    from sklearn_bsym.datasets._columns import mass_note

    frame = _cms_csv(tmp_path / "cms.csv", charges={3: (-1, 1), 5: (1, 1)})
    with pytest.warns(UserWarning, match="Skipped 1 of 12 .*1 with only same-charge leptons"):
        X = load_event_file(tmp_path / "cms.csv", columns=CMS_MAPPING)
    assert_allclose(kinematics.mass(X.reshape(-1, 4)), LEPTON_MASSES[13], rtol=1e-6)
    assert_allclose(kinematics.pt(X[:, :4]), np.delete(np.where(frame.Q1 > 0, frame.pt1,
                                                                frame.pt2), 5))
    with pytest.warns(UserWarning, match="Skipped 1 of 12"):
        X_e = load_event_file(tmp_path / "cms.csv", columns=CMS_MAPPING, lepton="e")
    assert_allclose(kinematics.mass(X_e.reshape(-1, 4)), LEPTON_MASSES[11], atol=1e-6)
    given = [{**spec, "mass": 0.10566} for spec in CMS_MAPPING]
    with pytest.warns(UserWarning, match="Skipped 1 of 12"):
        X_given = load_event_file(tmp_path / "cms.csv", columns=given)
    assert_allclose(kinematics.mass(X_given.reshape(-1, 4)), 0.10566, rtol=1e-6)
    assert mass_note(CMS_MAPPING) == ("Every particle of the mapping has no mass column, so "
                                      "they take the muon mass, 0.1056584 GeV.")
    assert mass_note(given) == "Every particle of the mapping has a constant mass, 0.10566 GeV."
    assert mass_note([CMS_MAPPING[0], {**CMS_MAPPING[1], "mass": "M2"}]) == (
        "Particle 0 has no mass column, so it takes the muon mass, 0.1056584 GeV.")
    assert mass_note(FOURVECTORS) is None


FOURVECTORS = [{"px": f"px{i}", "py": f"py{i}", "pz": f"pz{i}", "E": f"E{i}"} for i in (1, 2)]


@pytest.mark.parametrize(
    ("columns", "kwargs", "match"),
    [
        ([{**CMS_MAPPING[0], "mass": -1.0}, CMS_MAPPING[1]], {}, "a constant mass must be"),
        ([{**CMS_MAPPING[0], "charge": 1}, CMS_MAPPING[1]], {},
         r"columns\[0\]\['charge'\] = 1 is not a column name .*only 'mass' takes a number"),
        ([{**CMS_MAPPING[0], "mass": True}, CMS_MAPPING[1]], {}, "is not a column name"),
        (CMS_MAPPING, {"lepton": (-11, 13)}, "pairs two flavours"),
        (CMS_MAPPING, {"n_leptons": 4}, "n_leptons=4 is more than the 2 particles"),
        (FOURVECTORS, {"pair": "leading"}, "has no charge or pdg_id, so its 2 particles"),
        (FOURVECTORS, {"n_leptons": 4}, "has no charge or pdg_id"),
    ],
)
def test_bad_mappings_say_the_fix(tmp_path, columns, kwargs, match):
    _cms_csv(tmp_path / "cms.csv")
    with pytest.raises(ValueError, match=match):
        load_event_file(tmp_path / "cms.csv", columns=columns, **kwargs)


def test_mapping_of_four_charged_particles(tmp_path):
    """Four mapped muons with charges (0: an empty slot): n_leptons=4 keeps the 2 + 2 rows,
    n_leptons=2 chooses a pair among the four."""
    from sklearn_bsym.datasets import read_event_chunks

    rng = np.random.default_rng(1)
    n = 10
    table = {}
    for i in range(4):
        table.update({f"pt{i}": rng.uniform(20, 50, n), f"eta{i}": rng.normal(size=n),
                      f"phi{i}": rng.uniform(-3, 3, n), f"q{i}": np.full(n, (-1) ** i)})
    frame = pd.DataFrame(table)
    frame.loc[0, "q3"] = 0  # a row with three muons
    frame.to_parquet(tmp_path / "four.parquet")
    mapping = [{"pt": f"pt{i}", "eta": f"eta{i}", "phi": f"phi{i}", "charge": f"q{i}"}
               for i in range(4)]
    with pytest.warns(UserWarning, match=r"Skipped 1 of 10 .*1 with fewer than 4 leptons"):
        X4 = load_event_file(tmp_path / "four.parquet", columns=mapping)
    pt = kinematics.pt(X4.reshape(-1, 4, 4))
    assert X4.shape == (9, 16) and (pt[:, 0] >= pt[:, 1]).all() and (pt[:, 2] >= pt[:, 3]).all()
    assert_allclose(np.sort(pt[:, :2], axis=1), np.sort(frame[["pt0", "pt2"]].to_numpy()[1:],
                                                        axis=1))
    X2 = load_event_file(tmp_path / "four.parquet", columns=mapping, n_leptons=2,
                         pair="closest")
    assert X2.shape == (10, 8)
    chunks = read_event_chunks(tmp_path / "four.parquet", columns=mapping, chunk_size=4)
    assert chunks.n_particles == 4
    assert [c.selected.tolist() for c in chunks][0] == [False, True, True, True]
    assert chunks.info["skipped"]["fewer than 4 leptons"] == 1


def test_labelled_dataset_of_two_formats_with_their_own_mappings(tmp_path):
    """Signal in a NanoAOD-style ROOT collection (read from its tree), background in a CSV with
    its own column names: one mapping for one class, the tree for the ROOT file only."""
    import awkward as ak
    import uproot

    frame = _cms_csv(tmp_path / "background.csv", n=30)
    muons = {"pt": [[40.0, 35.0], [50.0, 45.0, 20.0]], "eta": [[0.1, -0.2], [0.3, 0.0, 1.0]],
             "phi": [[0.0, 3.0], [0.5, -2.5, 1.0]], "mass": [[0.1, 0.1], [0.1, 0.1, 0.1]],
             "charge": [[1, -1], [-1, 1, 1]]}
    branches = {f"Muon_{k}": ak.Array(v) for k, v in muons.items()}
    with uproot.recreate(tmp_path / "signal.root") as file:
        file.mktree("Events", {k: v.type for k, v in branches.items()}).extend(branches)
        file["Runs"] = {"run": np.array([1])}
    X, y, info = make_labelled_dataset(
        tmp_path / "signal.root", tmp_path / "background.csv", tree="Events",
        background_columns=CMS_MAPPING, pair="leading", shuffle=False, return_info=True)
    assert X.shape == (32, 8) and y.tolist() == [1, 1] + [0] * 30
    assert_allclose(kinematics.pt(X[1].reshape(2, 4)), [45.0, 50.0], rtol=1e-6)
    assert [i["n_selected"] for i in info["signal"] + info["background"]] == [2, 30]
    assert info["background"][0]["selection"].startswith("leading mode")
    assert_allclose(kinematics.pt(X[2:, :4]), frame.pt1, rtol=1e-12)
    with pytest.raises(ValueError, match="tree='Events' only applies to ROOT files"):
        make_labelled_dataset(tmp_path / "background.csv", tmp_path / "background.csv",
                              tree="Events", columns=CMS_MAPPING)
