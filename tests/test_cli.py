"""The command line: ``python -m sklearn_bsym``."""

from __future__ import annotations

import re

import pytest

from sklearn_bsym.__main__ import build_parser, config_from_args, main
from sklearn_bsym.studies import FULL, QUICK

OPTIONS = [
    "--quick",
    "--full",
    "--output",
    "--n-jobs",
    "--dask",
    "--seeds",
    "--n-events",
    "--fractions",
    "--resolution",
    "--scan",
    "--no-scan",
    "--scan-resolutions",
    "--signal",
    "--background",
    "--models",
    "--epochs",
    "--preset",
    "--random-state",
    "--no-progress",
    "--no-plots",
    "--lepton",
    "--tree",
    "--columns",
    "--n-threads",
    "--debug",
]


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in OPTIONS:
        assert option in text, option
    assert "resume" in text


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], QUICK),
        (["--quick"], QUICK),
        (["--full"], FULL),
    ],
)
def test_protocols(argv, expected):
    assert config_from_args(build_parser().parse_args(argv)) == expected


def test_options_reach_the_config():
    args = build_parser().parse_args(
        [
            "--full",
            "--seeds", "2",
            "--n-events", "3000",
            "--fractions", "0.5", "1",
            "--resolution", "0.05",
            "--no-scan",
            "--models", "hybrid", "hgb", "hybrid",
            "--epochs", "4",
            "--preset", "fast",
            "--random-state", "7",
        ]
    )  # fmt: skip
    config = config_from_args(args)
    assert config.n_seeds == 2 and config.n_events == 3000
    assert config.fractions == (0.5, 1.0) and config.resolution == 0.05
    assert config.scan_resolutions == ()
    assert config.models == ("hybrid", "hgb")
    assert config.max_epochs == 4 and config.preset == "fast" and config.random_state == 7


def test_user_files_default_to_all_events(tmp_path):
    args = build_parser().parse_args(["--signal", "s.csv", "--background", "b.csv"])
    config = config_from_args(args)
    assert config.n_events is None and not config.uses_generator


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fractions", "0", "1"], "--fractions: 0 is out of range; allowed: (0, 1]"),
        (["--resolution", "nan"], "--resolution: nan is out of range; allowed: [0, 1]"),
        (["--resolution", "inf"], "--resolution: inf is out of range; allowed: [0, 1]"),
        (["--scan-resolutions", "0", "-0.1"], "allowed: [0, 1]"),
        (["--resolution", "10"], "10 is out of range; allowed: [0, 1] (10 % is 0.1)"),
        (["--scan-resolutions", "0", "2.5"], "(2.5 % is 0.025)"),
        (["--seeds", "0"], "--seeds: 0 is out of range; allowed: [1, inf)"),
        (["--n-jobs", "0"], "0 runs nothing"),
        (["--epochs", "two"], "'two' is not an integer"),
        (["--n-events", "100"], "use --n-events 1250 or more"),
        (["--lepton", "tau"], "invalid choice"),
        (["--signal", "s.lhe"], "both --signal and --background"),
        (["--models", "mlp"], "invalid choice"),
    ],
)
def test_bad_options_exit_with_a_message(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_tiny_run_prints_the_table(tmp_path, capsys):
    argv = [
        "--n-events", "600",
        "--fractions", "1",
        "--seeds", "1",
        "--models", "hgb",
        "--no-scan",
        "--no-progress",
        "--no-plots",
        "--output", str(tmp_path),
    ]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "### Test AUC against training fraction" in out
    assert "| hgb |" in out
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert (folder / "results.csv").is_file() and (folder / "summary.md").is_file()
    assert str(folder) in out


def test_missing_user_file_is_an_error(tmp_path, capsys):
    argv = ["--signal", str(tmp_path / "s.lhe"), "--background", str(tmp_path / "b.lhe")]
    assert main([*argv, "--output", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_lepton_and_tree_reach_the_config():
    args = build_parser().parse_args(
        ["--signal", "s.root", "--background", "b.root", "--lepton", "e", "--tree", "Events"]
    )
    config = config_from_args(args)
    assert config.lepton == "e" and config.tree == "Events"
    assert config_from_args(build_parser().parse_args([])).lepton == "mu"


def test_help_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sklearn_bsym.__main__ import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted({'torch', 'pandas', 'sklearn', 'skorch'} & set(sys.modules))\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out
    assert "9 minutes" in out  # the measured --full time, as in the user guide


def _one_line_error(capsys, argv, code=2):
    assert main(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in "\n".join(err), err
    return errors[0]


TINY_ARGV = [
    "--n-events", "600", "--fractions", "1", "--seeds", "1", "--models", "hgb",
    "--no-scan", "--no-progress", "--no-plots",
]  # fmt: skip


def test_output_that_is_a_file_is_one_line(tmp_path, capsys):
    target = tmp_path / "results.txt"
    target.write_text("not a folder")
    line = _one_line_error(capsys, [*TINY_ARGV, "--output", str(target)])
    assert "is a file, not a folder" in line and str(target) in line


def test_unwritable_output_fails_before_any_fit(tmp_path, capsys):
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders; the error path cannot be reached")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        line = _one_line_error(capsys, [*TINY_ARGV, "--output", str(locked / "out")])
    finally:
        locked.chmod(0o700)
    assert "Cannot write results to" in line and str(locked / "out") in line
    assert "--output" in line


def test_output_below_a_file_fails_before_any_fit(tmp_path, capsys):
    """What root can test of an unwritable --output: a folder that cannot be created."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    line = _one_line_error(capsys, [*TINY_ARGV, "--output", str(blocker / "out")])
    assert "Cannot write results to" in line and str(blocker / "out") in line


def test_unreachable_dask_scheduler_is_one_line(tmp_path, capsys):
    address = "tcp://127.0.0.1:1"
    line = _one_line_error(capsys, [*TINY_ARGV, "--output", str(tmp_path), "--dask", address])
    assert f"Cannot reach the Dask scheduler at {address} within" in line


def test_dask_connect_timeout_is_an_option():
    from sklearn_bsym.studies import dask_backend

    with pytest.raises(ConnectionError, match="within 0.5 s"):
        with dask_backend("tcp://127.0.0.1:1", timeout=0.5):
            pass


def test_debug_shows_the_traceback(tmp_path):
    target = tmp_path / "file"
    target.write_text("")
    with pytest.raises(NotADirectoryError):
        main([*TINY_ARGV, "--output", str(target), "--debug"])


def test_rerun_says_what_it_reuses(tmp_path, capsys):
    argv = [*TINY_ARGV, "--output", str(tmp_path)]
    assert main(argv) == 0
    assert "Running 1 fits: 1 fit(s) in parallel" in capsys.readouterr().err
    assert main([*argv[:5], "2", *argv[6:]]) == 0  # --seeds 2: one stored, one new
    err = capsys.readouterr().err
    assert "reusing 1 stored fits, 1 remain" in err


def test_same_file_as_signal_and_background_warns(tmp_path, capsys):
    from sklearn_bsym.datasets import make_dimuon_events, save_events

    X, y = make_dimuon_events(1000, random_state=0)
    path = tmp_path / "events.csv"
    save_events(path, X[y == 1])
    argv = [*TINY_ARGV, "--signal", str(path), "--background", str(path)]
    assert main([*argv, "--output", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "warning: --signal and --background are the same file" in err


def test_lopsided_class_mix_warns(tmp_path, capsys):
    from sklearn_bsym.datasets import make_dimuon_events, save_events

    X, y = make_dimuon_events(3000, random_state=0)
    signal, background = tmp_path / "s.csv", tmp_path / "b.csv"
    save_events(signal, X[y == 1][:1470])
    save_events(background, X[y == 0][:30])
    argv = [*TINY_ARGV[2:], "--signal", str(signal), "--background", str(background)]
    main([*argv, "--output", str(tmp_path / "out")])  # may then fail: 30 background events
    err = capsys.readouterr().err
    assert "warning: The events are 98.0 % signal and 2.0 % background" in err


def _file_study(tmp_path, capsys, signal, background, *options):
    """A one-fit study of two event files in ``tmp_path`` through the command line."""
    argv = [
        "--signal", str(tmp_path / signal),
        "--background", str(tmp_path / background),
        *options,
        "--fractions", "1",
        "--seeds", "1",
        "--models", "hgb",
        "--no-scan",
        "--no-progress",
        "--no-plots",
        "--output", str(tmp_path / "out"),
    ]  # fmt: skip
    assert main(argv) == 0
    assert "| hgb |" in capsys.readouterr().out
    return argv


def test_root_files_run_the_study(tmp_path, capsys):
    """A NanoAOD-style ROOT file per class goes from disk through the command line's study."""
    ak = pytest.importorskip("awkward")
    uproot = pytest.importorskip("uproot")
    import numpy as np

    from sklearn_bsym import events, kinematics
    from sklearn_bsym.datasets import make_dimuon_events

    X, y = make_dimuon_events(1_200, random_state=0)
    p = events.to_particles(X)
    for name, selected in (("sig", y == 1), ("bkg", y == 0)):
        q = p[selected]
        pt = kinematics.pt(q)
        columns = {"pt": pt, "eta": kinematics.eta(q), "phi": kinematics.phi(q),
                   "mass": kinematics.mass(q), "charge": np.ones_like(pt) * [1, -1]}
        branches = {f"Muon_{k}": ak.from_regular(v) for k, v in columns.items()}
        with uproot.recreate(tmp_path / f"{name}.root") as file:
            file.mktree("Events", {k: v.type for k, v in branches.items()}).extend(branches)
    _file_study(tmp_path, capsys, "sig.root", "bkg.root", "--tree", "Events")


def test_foreign_csv_runs_the_study_through_a_column_mapping(tmp_path, capsys):
    """CSV files with other code's column names (px_0 ... energy_0, id_0) and a JSON mapping."""
    import json

    import pandas as pd

    from sklearn_bsym import events
    from sklearn_bsym.datasets import make_dimuon_events

    X, y = make_dimuon_events(1_200, random_state=0)
    p = events.to_particles(X)
    for name, selected in (("sig", y == 1), ("bkg", y == 0)):
        q = p[selected][:, ::-1]  # mu- first: the pdg_id column must put the mu+ first again
        frame = {f"{c}_{i}": q[:, i, k] for i in range(2)
                 for k, c in enumerate(["px", "py", "pz", "energy"])}
        pd.DataFrame({**frame, "id_0": 13, "id_1": -13}).to_csv(tmp_path / f"{name}.csv",
                                                                 index=False)
    mapping = [{"px": f"px_{i}", "py": f"py_{i}", "pz": f"pz_{i}", "E": f"energy_{i}",
                "pdg_id": f"id_{i}"} for i in range(2)]
    (tmp_path / "mapping.json").write_text(json.dumps(mapping))
    argv = _file_study(tmp_path, capsys, "sig.csv", "bkg.csv",
                       "--columns", str(tmp_path / "mapping.json"))
    config = config_from_args(build_parser().parse_args(argv))
    assert json.loads(config.columns) == mapping


@pytest.mark.parametrize(("text", "message"), [
    ("[1", "not a JSON file or JSON text"),
    ('{"px": "a"}', "must be a JSON list with one object per particle"),
])
def test_bad_column_mapping_is_one_line(text, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--columns", text])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["folder", "symlink_loop"])
def test_an_event_file_that_is_no_file_says_what_it_is(tmp_path, capsys, kind):
    path = tmp_path / "signal.csv"
    if kind == "folder":
        path.mkdir()
        said = "is a folder, not a file"
    else:
        path.symlink_to(path)
        said = "is a symbolic link that loops back on itself"
    argv = [*TINY_ARGV, "--output", str(tmp_path / "out"), "--signal", str(path),
            "--background", str(path)]
    assert said in _one_line_error(capsys, argv)


def test_a_serial_run_on_several_cores_suggests_n_jobs(tmp_path, capsys, monkeypatch):
    from sklearn_bsym.studies import _study

    monkeypatch.setattr(_study, "available_cores", lambda: 4)
    assert main([*TINY_ARGV, "--seeds", "2", "--output", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "Tip: 4 CPU cores are available; --n-jobs 4 runs 4 fits at once" in err
    assert main([*TINY_ARGV, "--seeds", "3", "--n-jobs", "1", "--output", str(tmp_path)]) == 0
    assert "Tip" not in capsys.readouterr().err


def test_a_write_error_comes_before_running(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main([*TINY_ARGV, "--output", str(tmp_path / "file" / "out")]) == 2
    err = capsys.readouterr().err
    assert "Cannot write results to" in err and "Running" not in err


@pytest.mark.parametrize(
    ("option", "field", "bad"),
    [
        ("--seeds", "n_seeds", "0"),
        ("--n-events", "n_events", "0"),
        ("--fractions", "fractions", "1.5"),
        ("--resolution", "resolution", "-0.1"),
        ("--scan-resolutions", "scan_resolutions", "nan"),
        ("--epochs", "max_epochs", "0"),
        ("--random-state", "random_state", "4294967296"),
    ],
)
def test_cli_and_config_refuse_a_value_by_the_same_rule(capsys, option, field, bad):
    """One rule per option: the command line and StudyConfig name the same interval."""
    from sklearn_bsym.studies import RULES, StudyConfig

    rule = RULES[field]
    with pytest.raises(SystemExit):
        build_parser().parse_args([option, bad])
    assert f"{option}: {bad} is out of range; allowed: {rule}" in capsys.readouterr().err
    value = rule.kind(bad)
    as_field = (value,) if field in ("fractions", "scan_resolutions") else value
    with pytest.raises(ValueError, match=rf" in {re.escape(str(rule))}, got {value!r}\."):
        StudyConfig(**{field: as_field})


@pytest.mark.parametrize("cause", ["folder_in_the_way", "full_disk", "made_read_only"])
def test_a_report_not_saved_is_an_error_after_the_tables(tmp_path, capsys, monkeypatch, cause):
    """The fits are stored but results.csv is not: the tables are shown, then one error line
    and exit status 2, so that a script or workflow manager does not take the study as done."""
    import errno
    import os

    from sklearn_bsym.studies import ResultStore, _store

    argv = [*TINY_ARGV, "--output", str(tmp_path)]
    assert main(argv) == 0
    capsys.readouterr()
    (results,) = tmp_path.glob("*/results.csv")
    if cause == "folder_in_the_way":
        results.unlink()
        (results / "kept.txt").mkdir(parents=True)
        said = f"Cannot write {results}: a folder with files stands there; move it away"
    else:
        code = errno.ENOSPC if cause == "full_disk" else errno.EACCES

        def fail(path, data):
            if path.suffix != ".json" or path.parent.name != "fits":
                raise OSError(code, os.strerror(code))
            real(path, data)

        real = _store._replace_atomically
        monkeypatch.setattr(_store, "_replace_atomically", fail)
        said = f"Cannot write {results} (No space left on device): free disk space"
        if cause == "made_read_only":
            # The folder is made read-only while the fit runs (as root cannot do with chmod).
            (fit,) = tmp_path.glob("*/fits/*.json")
            fit.unlink()
            monkeypatch.setattr(ResultStore, "is_writable", lambda self: False)
            said = f"Cannot write {results} (Permission denied): fix the folder's permissions"
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "| hgb |" in captured.out and "Results in" not in captured.out
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and said in errors[0] and "warning:" not in captured.err
    assert "run the same command again to write them" in errors[0]


def test_ctrl_c_while_the_report_is_written_says_the_fits_are_stored(tmp_path, capsys,
                                                                    monkeypatch):
    """It said "Interrupted before any fit ran; nothing was stored"."""
    from sklearn_bsym.studies import _report

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_report, "summarize", interrupted)
    assert main([*TINY_ARGV, "--seeds", "2", "--output", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert "Interrupted while writing the report: all 2 fits of this run are stored" in err
    assert "nothing was stored" not in err


# ---------------------------------------------------------------- fit and score
@pytest.fixture
def class_files(tmp_path):
    """Signal and background events in two formats, as measured (parquet) and truth (CSV)."""
    from sklearn_bsym.datasets import make_dimuon_events, save_events

    X, y = make_dimuon_events(1_600, random_state=0)
    save_events(tmp_path / "signal.parquet", X[y == 1])
    save_events(tmp_path / "background.csv", X[y == 0])
    return tmp_path / "signal.parquet", tmp_path / "background.csv"


def _charged_csv(path, n, same_sign):
    """``n`` events with their own column names and charges; ``same_sign`` rows have two
    positive muons (the reader drops them)."""
    import json

    import numpy as np
    import pandas as pd

    from sklearn_bsym.datasets import make_dimuon_events

    X, _ = make_dimuon_events(n, random_state=9)
    p = X.reshape(-1, 2, 4)
    table = pd.DataFrame({f"{c}{i}": p[:, i, k] for i in range(2)
                          for k, c in enumerate(["px", "py", "pz", "E"])})
    charges = np.tile([1, -1], (n, 1))
    charges[same_sign] = [1, 1]
    table["q0"], table["q1"] = charges[:, 0], charges[:, 1]
    table.to_csv(path, index=False, float_format="%.17g")
    mapping = [{"px": f"px{i}", "py": f"py{i}", "pz": f"pz{i}", "E": f"E{i}", "charge": f"q{i}"}
               for i in range(2)]
    return X, json.dumps(mapping)


def test_fit_then_score_through_the_command_line(tmp_path, capsys, class_files):
    import numpy as np
    import uproot

    from sklearn_bsym.deploy import load_model, read_model_info

    signal, background = class_files
    model_file = tmp_path / "model.skops"
    argv = ["fit", "--signal", str(signal), "--background", str(background), "--model",
            "invariant", "--epochs", "2", "--resolution", "0.1", "--test-fraction", "0.25",
            "--output", str(model_file)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert ("Read 800 signal and 800 background events (the particles as they are; 2 leptons "
            "per event).") in captured.err
    assert "Training invariant on 600 signal and 600 background events, smeared by a 0.1 pT " \
           "resolution, pT-reweighted background." in captured.err
    assert re.search(r"Recipe: preset 'fast': AdamW, .* 2 epochs: 1,200 events", captured.err)
    assert re.search(r"AUC on the 400 held-out events \(0.25 share\): 0\.\d{4} pT-weighted",
                     captured.out)
    info = read_model_info(model_file)
    assert info["metadata"]["n_signal"] == 600 and info["metadata"]["resolution"] == 0.1
    assert info["estimator"] == ("Pipeline(smear: MomentumSmearer, clf: "
                                 "PtReweightedClassifier(InvariantClassifier))")

    X, mapping = _charged_csv(tmp_path / "data.csv", 300, same_sign=[3, 4, 250])
    out = tmp_path / "scores.root"
    assert main(["score", str(model_file), str(tmp_path / "data.csv"), "--columns", mapping,
                 "--output", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert ("No smearing: the inputs are taken as measured, so the model's measuring step(s) "
            "'smear' are left out") in captured.out
    assert ("Scored 297 of 300 entries; 3 dropped by the selection are NaN (3 only same-charge "
            "leptons).") in captured.out
    assert 'tree.AddFriend("scores", ' in captured.out
    with uproot.open(out) as file:
        scores = file["scores"]["score"].array(library="np")
    kept = np.setdiff1d(np.arange(300), [3, 4, 250])
    assert np.flatnonzero(np.isnan(scores)).tolist() == [3, 4, 250]
    clf = load_model(model_file)  # the measured part: the smearing is left out (format 2)
    assert type(clf).__name__ == "PtReweightedClassifier"
    assert read_model_info(model_file)["measured"]["skipped"] == ["smear"]
    assert np.allclose(scores[kept], clf.predict_proba(X[kept])[:, 1], rtol=1e-6, atol=0)


def test_fit_on_measured_files_without_reweighting_saves_the_bare_model(tmp_path, capsys,
                                                                       class_files):
    import pandas as pd
    from sklearn.pipeline import Pipeline

    from sklearn_bsym.datasets._io import _CSV_FLOATS
    from sklearn_bsym.deploy import load_model

    signal, background = class_files
    argv = ["fit", "--signal", str(signal), "--background", str(background), "--model", "hgb",
            "--no-reweight", "--output", str(tmp_path / "hgb.skops")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "taken as measured, no reweighting" in err and "scikit-learn's recipe" in err
    model = load_model(tmp_path / "hgb.skops")
    assert isinstance(model, Pipeline) and type(model[-1]).__name__ == (
        "HistGradientBoostingClassifier")
    X, mapping = _charged_csv(tmp_path / "d.csv", 40, same_sign=[])
    assert main(["score", str(tmp_path / "hgb.skops"), str(tmp_path / "d.csv"), "--columns",
                 mapping, "--output", str(tmp_path / "s.csv"), "--name", "bdt"]) == 0
    out = capsys.readouterr().out
    assert "No smearing" not in out and "Scored 40 of 40 entries; 0 dropped" in out
    scores = pd.read_csv(tmp_path / "s.csv", **_CSV_FLOATS)["bdt"]  # exactly as written
    assert (scores == model.predict_proba(X)[:, 1]).all()


def test_score_refuses_a_pickle_in_one_line(tmp_path, capsys):
    import pickle

    (tmp_path / "model.pkl").write_bytes(pickle.dumps({"a": 1}))
    (tmp_path / "in.csv").write_text("x\n1\n")
    line = _one_line_error(capsys, ["score", str(tmp_path / "model.pkl"),
                                    str(tmp_path / "in.csv"), "--output",
                                    str(tmp_path / "s.csv")])
    assert str(tmp_path / "model.pkl") in line and "it is a pickle" in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "--signal", "s.csv", "--output", "m.skops"], "--background"),
        (["fit", "--signal", "s.csv", "--background", "b.csv", "--output", "m.skops",
          "--model", "optimal"], "invalid choice: 'optimal'"),
        (["fit", "--signal", "s.csv", "--background", "b.csv", "--output", "m.skops",
          "--test-fraction", "1"], "--test-fraction: 1 is out of range; allowed: (0, 1)"),
        (["score", "m.skops", "in.root"], "the following arguments are required: --output"),
        (["score", "m.skops", "in.root", "--output", "s.root", "--chunk-size", "0"],
         "--chunk-size: 0 is out of range"),
    ],
)
def test_bad_command_options_exit_with_a_message(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_the_commands_keep_the_study_as_the_default(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "python -m sklearn_bsym fit ..." in text and "python -m sklearn_bsym score ..." in text
    for command in ("fit", "score"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert f"usage: python -m sklearn_bsym {command}" in capsys.readouterr().out


def test_command_help_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sklearn_bsym.__main__ import main\n"
        "for command in ('fit', 'score'):\n"
        "    try:\n"
        "        main([command, '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('HEAVY', sorted({'torch', 'pandas', 'sklearn', 'skorch'} & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out


# ---------------------------------------------------------------- real collision data
def _nano(path, events_list, *, extra=()):
    """A NanoAOD-style file: jagged Muon_pt/eta/phi/mass/charge from events given as
    ``(n, 4 * P)`` arrays (each event's P muons, charges +, -, +, -, ...), with the
    ``extra`` muons ``(entry, pt, eta, phi, charge)`` appended."""
    import awkward as ak
    import numpy as np
    import uproot

    from sklearn_bsym import events, kinematics

    p = events.to_particles(events_list)
    muons = [[(float(kinematics.pt(m)), float(kinematics.eta(m)), float(kinematics.phi(m)),
               1 - 2 * (k % 2)) for k, m in enumerate(event)] for event in p]
    for entry, *muon in extra:
        muons[entry].append(tuple(muon))
    counts = [len(m) for m in muons]
    flat = np.array([m for event in muons for m in event]).reshape(-1, 4)
    branches = {f"Muon_{k}": ak.unflatten(v, counts) for k, v in
                {"pt": flat[:, 0].astype(np.float32), "eta": flat[:, 1].astype(np.float32),
                 "phi": flat[:, 2].astype(np.float32),
                 "mass": np.full(len(flat), 0.10566, np.float32),
                 "charge": flat[:, 3].astype(np.int32)}.items()}
    with uproot.recreate(path) as file:
        file.mktree("Events", {k: v.type for k, v in branches.items()}).extend(branches)
        file["Runs"] = {"run": np.array([1], np.int32)}  # NanoAOD files hold several trees
    return path


def test_fit_on_forty_events_with_the_defaults(tmp_path, capsys):
    """A control-region-sized sample: 20 signal and 20 background events fit with the default
    model and recipe (the batch follows the sample, no validation split at that size)."""
    from sklearn_bsym.datasets import make_dimuon_events, save_events
    from sklearn_bsym.deploy import read_model_info

    X, y = make_dimuon_events(200, random_state=3)
    save_events(tmp_path / "s.parquet", X[y == 1][:20])
    save_events(tmp_path / "b.parquet", X[y == 0][:20])
    assert main(["fit", "--signal", str(tmp_path / "s.parquet"), "--background",
                 str(tmp_path / "b.parquet"), "--output", str(tmp_path / "m.skops")]) == 0
    err = capsys.readouterr().err
    assert "batch 20 (half the 40 training events, fewer than the preset's 256)" in err
    assert "no early stopping: a 0.2 share would hold out 8 events, fewer than 50" in err
    meta = read_model_info(tmp_path / "m.skops")["metadata"]
    assert meta["n_signal"] == 20 and meta["support"]["n_events"] == 40
    assert main(["fit", "--signal", str(tmp_path / "s.parquet"), "--background",
                 str(tmp_path / "b.parquet"), "--batch-size", "8", "--epochs", "2",
                 "--output", str(tmp_path / "m8.skops")]) == 0
    assert "batch 8, 2 epochs: 40 events" in capsys.readouterr().err
    line = _one_line_error(capsys, ["fit", "--signal", str(tmp_path / "s.parquet"),
                                    "--background", str(tmp_path / "b.parquet"), "--model",
                                    "hgb", "--batch-size", "8", "--output",
                                    str(tmp_path / "h.skops")])
    assert "--batch-size applies to the networks; hgb is not one" in line


def test_four_muons_from_a_collection_fit_and_score(tmp_path, capsys):
    """H -> ZZ -> 4 mu-like files (two pairs per event) fit with --n-leptons 4; score reads
    the leptons as the model was fitted, and --pair closest takes the Z candidates of
    events with an extra muon."""
    import json

    import numpy as np
    import uproot

    from sklearn_bsym.datasets import make_dimuon_events

    X, y = make_dimuon_events(400, random_state=0)
    four = np.hstack([X[:200], X[200:]])
    sig, bkg = four[y[:200] == 1][:40], four[y[:200] == 0][:40]
    _nano(tmp_path / "sig.root", sig)
    _nano(tmp_path / "bkg.root", bkg)
    model = str(tmp_path / "h4.skops")
    assert main(["fit", "--signal", str(tmp_path / "sig.root"), "--background",
                 str(tmp_path / "bkg.root"), "--tree", "Events", "--n-leptons", "4",
                 "--epochs", "2", "--output", model]) == 0
    err = capsys.readouterr().err
    assert "(exclusive mode (exactly 2 leptons of each charge); 4 leptons per event)" in err
    # Data: two four-muon events with a fifth muon, one with three muons.
    data = _nano(tmp_path / "data.root", four[:6],
                 extra=[(1, 8.0, 0.3, 1.0, 1), (4, 12.0, -1.0, 2.0, -1)])
    out = tmp_path / "scores.root"
    for pair, nan, said in (("exclusive", [1, 4], "4 scored; dropped: 2 more than 2 of a charge"),
                            ("closest", [], "6 scored")):
        assert main(["score", model, str(data), "--tree", "Events", "--pair", pair,
                     "--output", str(out), "--no-progress", "--counts",
                     str(tmp_path / "c.json")]) == 0
        text = capsys.readouterr().out
        assert f"Selection: {pair} mode" in text and f"{data}: 6 entries, {said}" in text
        with uproot.open(out) as file:
            scores = file["scores"]["score"].array(library="np")
        assert np.flatnonzero(np.isnan(scores)).tolist() == nan
        counts = json.loads((tmp_path / "c.json").read_text())
        assert counts["n_scored"] == 6 - len(nan) and counts["files"][0]["n_entries"] == 6
    assert counts["dropped"] == {"no lepton": 0, "fewer than 4 leptons": 0,
                                 "fewer than 2 of a charge": 0}
    line = _one_line_error(capsys, ["score", model, str(data), "--tree", "Events",
                                    "--n-leptons", "2", "--output", str(out)])
    assert f"trained on events of 4 leptons but {data} is read with 2" in line


def test_nanoaod_with_extra_muons_counts_each_mode(tmp_path, capsys):
    """The issue's file: events with a third muon are NaN only in exclusive mode, and say so."""
    import numpy as np
    import pandas as pd

    from sklearn_bsym.datasets import make_dimuon_events, save_events

    X, y = make_dimuon_events(600, random_state=1)
    save_events(tmp_path / "s.parquet", X[y == 1])
    save_events(tmp_path / "b.parquet", X[y == 0])
    model = str(tmp_path / "m.skops")
    assert main(["fit", "--signal", str(tmp_path / "s.parquet"), "--background",
                 str(tmp_path / "b.parquet"), "--model", "invariant", "--epochs", "2",
                 "--output", model]) == 0
    data = _nano(tmp_path / "data.root", X[:30],
                 extra=[(i, 15.0, 0.5, 1.0, 1 - 2 * (i % 2)) for i in range(0, 30, 3)])
    capsys.readouterr()
    expected = {"exclusive": "20 scored; dropped: 10 more than one of a charge",
                "leading": "30 scored", "closest": "30 scored"}
    for pair, line in expected.items():
        out = tmp_path / f"{pair}.csv"
        assert main(["score", model, str(data), "--tree", "Events", "--pair", pair,
                     "--output", str(out), "--support-column", "outside"]) == 0
        text = capsys.readouterr().out
        assert f"{data}: 30 entries, {line}" in text, text
        table = pd.read_csv(out)
        assert table["score"].notna().sum() == int(line.split()[0])
        assert (table["outside"] <= table["score"].notna()).all()
    assert "Outside the training support:" in text and "flagged in 'outside'" in text
    assert np.isnan(pd.read_csv(tmp_path / "exclusive.csv")["score"][::3]).all()


def test_cms_csv_without_masses_and_a_long_mapping_text(tmp_path, capsys):
    """A table of pt, eta, phi and charge per muon (CMS 2011 open data style): the muon mass
    is taken and said once; a four-muon mapping as JSON text (over 255 characters) is read
    as text, never as a path."""
    import json

    import numpy as np
    import pandas as pd

    from sklearn_bsym import kinematics
    from sklearn_bsym.datasets import make_dimuon_events

    X, y = make_dimuon_events(400, random_state=2)
    p = X.reshape(-1, 2, 4)
    for name, rows in (("sig", y == 1), ("bkg", y == 0)):
        q = p[rows]
        table = {f"{c}{i + 1}": f(q[:, i]) for i in range(2) for c, f in
                 (("pt", kinematics.pt), ("eta", kinematics.eta), ("phi", kinematics.phi))}
        table["Q1"], table["Q2"] = 1, -1
        pd.DataFrame(table).to_csv(tmp_path / f"{name}.csv", index=False)
    mapping = json.dumps([{"pt": f"pt{i}", "eta": f"eta{i}", "phi": f"phi{i}", "charge": f"Q{i}"}
                          for i in (1, 2)])
    assert main(["fit", "--signal", str(tmp_path / "sig.csv"), "--background",
                 str(tmp_path / "bkg.csv"), "--columns", mapping, "--model", "invariant",
                 "--epochs", "2", "--output", str(tmp_path / "m.skops")]) == 0
    err = capsys.readouterr().err
    assert err.count("Masses: Every particle of the mapping has no mass column, so they take "
                     "the muon mass, 0.1056584 GeV.") == 1
    long = json.dumps([{"pt": f"pt{i % 2 + 1}", "eta": f"eta{i % 2 + 1}",
                        "phi": f"phi{i % 2 + 1}", "mass": 0.10566, "charge": f"Q{i % 2 + 1}"}
                       for i in range(4)])
    assert len(long) > 255
    assert main(["score", str(tmp_path / "m.skops"), str(tmp_path / "sig.csv"), "--columns",
                 long, "--pair", "closest", "--output", str(tmp_path / "s.csv")]) == 0
    captured = capsys.readouterr()
    assert "constant mass, 0.10566 GeV" in captured.err and "Traceback" not in captured.err
    assert pd.read_csv(tmp_path / "s.csv")["score"].notna().all()
    assert np.isfinite(pd.read_csv(tmp_path / "s.csv")["score"]).all()


def test_signal_and_background_in_two_formats(tmp_path, capsys):
    """Signal in a NanoAOD collection (tree Events beside Runs), background in a CSV with its
    own names: --tree reaches the ROOT file only, --background-columns the CSV only."""
    import json

    import pandas as pd

    from sklearn_bsym.datasets import make_dimuon_events
    from sklearn_bsym.deploy import read_model_info

    X, y = make_dimuon_events(500, random_state=4)
    _nano(tmp_path / "sig.root", X[y == 1])
    q = X[y == 0].reshape(-1, 2, 4)
    pd.DataFrame({f"{c}_{i}": q[:, i, k] for i in range(2)
                  for k, c in enumerate(["px", "py", "pz", "e"])}).to_csv(
        tmp_path / "bkg.csv", index=False, float_format="%.17g")
    mapping = [{"px": f"px_{i}", "py": f"py_{i}", "pz": f"pz_{i}", "E": f"e_{i}"}
               for i in range(2)]
    assert main(["fit", "--signal", str(tmp_path / "sig.root"), "--background",
                 str(tmp_path / "bkg.csv"), "--tree", "Events", "--background-columns",
                 json.dumps(mapping), "--model", "invariant", "--epochs", "2", "--output",
                 str(tmp_path / "m.skops")]) == 0
    err = capsys.readouterr().err
    assert f"signal {tmp_path / 'sig.root'}: {(y == 1).sum()} entries" in err
    assert f"background {tmp_path / 'bkg.csv'}: {(y == 0).sum()} entries" in err
    meta = read_model_info(tmp_path / "m.skops")["metadata"]
    assert meta["background_columns"] == mapping and meta["columns"] is None


def test_several_files_scored_in_parallel_as_serially(tmp_path, capsys):
    import pandas as pd

    from sklearn_bsym.datasets import make_dimuon_events, save_events

    X, y = make_dimuon_events(600, random_state=5)
    save_events(tmp_path / "s.parquet", X[y == 1])
    save_events(tmp_path / "b.parquet", X[y == 0])
    model = str(tmp_path / "m.skops")
    assert main(["fit", "--signal", str(tmp_path / "s.parquet"), "--background",
                 str(tmp_path / "b.parquet"), "--model", "hgb", "--output", model]) == 0
    inputs = []
    for i in range(3):
        inputs.append(tmp_path / f"run{i}.parquet")
        save_events(inputs[-1], make_dimuon_events(300, random_state=20 + i)[0])
    argv = ["score", model, *map(str, inputs), "--no-progress", "--support-column", "out"]
    assert main([*argv, "--output", str(tmp_path / "serial.parquet")]) == 0
    assert main([*argv, "--output", str(tmp_path / "parallel.parquet"), "--n-jobs", "2"]) == 0
    assert main([*argv, "--output", str(tmp_path / "{stem}_s.root"), "--n-jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "Wrote 900 scores to 3 files" in out
    serial = pd.read_parquet(tmp_path / "serial.parquet")
    assert serial.equals(pd.read_parquet(tmp_path / "parallel.parquet"))
    assert (tmp_path / "run2_s.root").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["score", "m.skops", "in.root", "--output", "s.root", "--n-leptons", "3"],
         "--n-leptons: 3 is not an even number >= 2"),
        (["score", "m.skops", "in.root", "--output", "s.root", "--pair-mass", "-1"],
         "--pair-mass: -1 is out of range; allowed: (0, inf)"),
        (["score", "m.skops", "in.root", "--output", "s.root", "--pair", "best"],
         "invalid choice: 'best'"),
        (["score", "m.skops", "in.root", "--output", "s.root", "--columns", "absent.json"],
         "cannot read the mapping file 'absent.json' (No such file or directory); give the "
         "mapping as JSON text (a list, starting with '[')"),
        (["score", "m.skops", "in.root", "--output", "s.root", "--columns", "x" * 300],
         "(File name too long)"),
    ],
)
def test_bad_reader_options_exit_with_a_message(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_pair_mass_without_closest_is_one_line(tmp_path, capsys, class_files):
    signal, background = class_files
    line = _one_line_error(capsys, ["fit", "--signal", str(signal), "--background",
                                    str(background), "--pair-mass", "90", "--output",
                                    str(tmp_path / "m.skops")])
    assert "pair_mass=90.0 applies to pair='closest' only; pass pair='closest' (--pair " \
           "closest)" in line


def test_score_help_says_what_nan_means_in_each_mode(capsys):
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for said in ("in exclusive mode one with no lepton, one lepton, leptons of one charge only, "
                 "or more than one lepton of a charge", "in leading and closest mode one with "
                 "no lepton of a charge", "--n-jobs", "--dask", "--support-column", "{stem}"):
        assert said in text, said


def test_reader_options_reach_the_study_and_its_result_set(tmp_path):
    """The study reads its files with the same options; each one enters the result-set id
    only when it is not the default, so the sets made before the options existed resume."""
    import json

    from sklearn_bsym.studies import StudyConfig

    for name in ("s.csv", "b.csv"):
        (tmp_path / name).write_text("x\n1\n")
    files = ["--signal", str(tmp_path / "s.csv"), "--background", str(tmp_path / "b.csv")]
    mapping = '[{"pt": "pt1", "eta": "eta1", "phi": "phi1", "charge": "Q1"}]'
    config = config_from_args(build_parser().parse_args(
        [*files, "--pair", "closest", "--pair-mass", "90", "--n-leptons", "4",
         "--background-columns", mapping]))
    assert (config.pair, config.pair_mass, config.n_leptons) == ("closest", 90.0, 4)
    assert json.loads(config.background_columns)[0]["charge"] == "Q1"
    assert config.signal_columns is None
    plain = config_from_args(build_parser().parse_args(files))
    options = plain.result_options()
    assert not {"pair", "pair_mass", "n_leptons", "signal_columns"} & set(options)
    assert config.result_options()["pair"] == "closest"
    assert config.result_set_id() != plain.result_set_id()
    with pytest.raises(ValueError, match="pair_mass applies to pair='closest' only"):
        StudyConfig(pair_mass=90.0)
    with pytest.raises(ValueError, match="n_leptons must be an even int >= 2"):
        StudyConfig(n_leptons=3)
