"""Outputs that survive shared folders, concurrent runs and Ctrl-C: model files and scores are
written through a temporary file unique to the run, created exclusively, never followed through
a link, then renamed (sklearn_bsym._files.atomic_output); fit and score check their outputs and
inputs before any work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline

from sklearn_bsym import _files
from sklearn_bsym.__main__ import EXIT_INTERRUPTED, main
from sklearn_bsym.datasets import make_dimuon_events, save_events
from sklearn_bsym.datasets._io import _CSV_FLOATS
from sklearn_bsym.deploy import load_model, save_model, score_files
from sklearn_bsym.preprocessing import DimuonFeatures

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model():
    X, y = make_dimuon_events(1000, random_state=0)
    return make_pipeline(DimuonFeatures(),
                         HistGradientBoostingClassifier(max_iter=5, random_state=0)).fit(X, y)


@pytest.fixture
def model_file(model, tmp_path):
    return save_model(model, tmp_path / "model.skops")


@pytest.fixture
def events(tmp_path):
    X = make_dimuon_events(300, random_state=4)[0]
    save_events(tmp_path / "events.parquet", X)
    return tmp_path / "events.parquet", X


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _error_line(capsys, argv, code=2) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


# ---------------------------------------------------------------- the atomic writer
def test_the_writer_replaces_the_file_whole_or_not_at_all(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with _files.atomic_output(path) as fh:
            fh.write(b"half")
            raise RuntimeError
    assert path.read_bytes() == b"old" and _leftovers(tmp_path) == []
    with pytest.raises(KeyboardInterrupt):
        with _files.atomic_output(path) as fh:
            fh.write(b"half")
            raise KeyboardInterrupt
    assert path.read_bytes() == b"old" and _leftovers(tmp_path) == []
    _files.replace_atomically(path, b"new")
    assert path.read_bytes() == b"new"


def test_two_writers_of_one_file_never_mix(tmp_path):
    path = tmp_path / "out.csv"
    with _files.atomic_output(path) as first, _files.atomic_output(path) as second:
        first.write(b"a" * 1000)
        second.write(b"b" * 10)
        first.write(b"a" * 1000)
    # The inner block ends first: its file is renamed into place, then the outer one's.
    assert path.read_bytes() == b"a" * 2000 and _leftovers(tmp_path) == []


def test_a_planted_link_at_the_temporary_name_is_never_followed(tmp_path, monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    tokens = iter(["deadbeef", "cafebabe"])
    monkeypatch.setattr(_files.secrets, "token_hex", lambda n: next(tokens))
    planted = _files.temporary_path(tmp_path, "out.bin").with_name(
        f".out.bin.{_files._HOST}-{os.getpid()}.deadbeef.tmp")
    planted.symlink_to(victim)
    _files.replace_atomically(tmp_path / "out.bin", b"data")
    assert victim.read_text() == "precious" and (tmp_path / "out.bin").read_bytes() == b"data"
    assert planted.is_symlink()  # not ours: left as it was


def test_a_link_at_the_output_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "out.bin").symlink_to(victim)
    _files.replace_atomically(tmp_path / "out.bin", b"data")
    assert victim.read_text() == "precious"
    assert not (tmp_path / "out.bin").is_symlink()
    assert (tmp_path / "out.bin").read_bytes() == b"data"


def test_outputs_get_the_permissions_of_any_new_file(tmp_path):
    previous = os.umask(0o027)
    try:
        _files.replace_atomically(tmp_path / "out.bin", b"data")
    finally:
        os.umask(previous)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o640


def test_a_killed_writer_s_temporary_file_is_removed_by_the_next(tmp_path):
    code = ("import os, sys; from pathlib import Path; from sklearn_bsym._files import "
            "temporary_path; p = temporary_path(Path(sys.argv[1]), 'out.csv'); "
            "p.write_text('x'); print(p)")
    dead = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, check=True).stdout.strip()
    live = _files.temporary_path(tmp_path, "out.csv")
    live.write_text("x")  # this process is alive: kept
    other = _files.temporary_path(tmp_path, "other.csv")
    other.write_text("x")  # another output's: kept
    _files.remove_stale_temporaries(tmp_path / "out.csv")
    assert not os.path.exists(dead) and live.exists() and other.exists()


# ---------------------------------------------------------------- 1, 2: score's writes
def test_two_score_runs_on_one_output_each_write_a_whole_file(model, tmp_path, monkeypatch):
    """Run A writes its first chunk, run B writes the same output from start to end, then A
    finishes: each wrote a whole file of its own, and the output is A's, the last renamed
    (with the old fixed temporary name, B truncated A's file and renamed it away, and A's
    later rows landed in B's output: 200,000 rows for 100,000, or a torn row)."""
    import threading

    from sklearn_bsym.deploy import _score

    inputs = {}
    for name, n in (("a", 300), ("b", 200)):
        X = make_dimuon_events(n, random_state=n)[0]
        save_events(tmp_path / f"{name}.parquet", X)
        inputs[name] = model.predict_proba(X)[:, 1]
    out = tmp_path / "same.csv"
    b_done, calls, real = threading.Event(), {"a": 0}, _score.signal_score

    def scores(estimator, X):
        if threading.current_thread().name == "a":
            calls["a"] += 1
            if calls["a"] == 2:
                assert b_done.wait(60)
        return real(estimator, X)

    monkeypatch.setattr(_score, "signal_score", scores)
    errors = []

    def run_a():
        try:
            score_files(model, tmp_path / "a.parquet", out, chunk_size=100)
        except Exception as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=run_a, name="a")
    thread.start()
    score_files(model, tmp_path / "b.parquet", out, chunk_size=100)
    assert_array_equal(pd.read_csv(out, **_CSV_FLOATS)["score"], inputs["b"])
    b_done.set()
    thread.join(60)
    assert not errors and not thread.is_alive()
    assert_array_equal(pd.read_csv(out, **_CSV_FLOATS)["score"], inputs["a"])
    assert _leftovers(tmp_path) == []


def test_two_score_processes_on_one_output_both_succeed(model_file, tmp_path):
    """The same race between two processes of the command line, started together."""
    inputs = {}
    for n in (2000, 3000):
        X = make_dimuon_events(n, random_state=n)[0]
        save_events(tmp_path / f"in{n}.parquet", X)
        inputs[n] = load_model(model_file).predict_proba(X)[:, 1]
    out = tmp_path / "same.csv"
    runs = [subprocess.Popen([sys.executable, "-m", "sklearn_bsym", "score", str(model_file),
                              str(tmp_path / f"in{n}.parquet"), "--output", str(out),
                              "--chunk-size", "100", "--no-progress"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for n in inputs]
    for run in runs:
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
    scores = pd.read_csv(out, **_CSV_FLOATS)["score"].to_numpy()
    assert any(np.array_equal(scores, expected) for expected in inputs.values()), len(scores)
    assert _leftovers(tmp_path) == []


def test_a_planted_link_does_not_redirect_the_scores(model, events, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / ".scores.csv.tmp").symlink_to(victim)  # the name of the old fixed temporary
    summary = score_files(model, events[0], tmp_path / "scores.csv")
    assert victim.read_text() == "precious" and summary.n_entries == 300
    (tmp_path / ".m.skops.tmp").symlink_to(victim)
    save_model(model, tmp_path / "m.skops")
    assert victim.read_text() == "precious"
    assert_array_equal(load_model(tmp_path / "m.skops").predict_proba(events[1]),
                       model.predict_proba(events[1]))


@pytest.mark.parametrize("suffix", [".root", ".parquet", ".csv"])
def test_scores_leave_no_temporary_file(model, events, tmp_path, suffix):
    score_files(model, events[0], tmp_path / f"scores{suffix}")
    assert _leftovers(tmp_path) == []


# ---------------------------------------------------------------- 6. Ctrl-C
def test_ctrl_c_on_score_is_one_line_and_writes_nothing(model_file, events, tmp_path, capsys,
                                                        monkeypatch):
    from sklearn_bsym.deploy import _score

    out = tmp_path / "scores.csv"
    out.write_text("old scores\n")
    real, calls = _score.signal_score, []

    def interrupted(estimator, X):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(estimator, X)

    monkeypatch.setattr(_score, "signal_score", interrupted)
    assert main(["score", str(model_file), str(events[0]), "--output", str(out),
                 "--chunk-size", "100", "--no-progress"]) == EXIT_INTERRUPTED
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"Interrupted: nothing was written ({out} is as it was)."
    assert "Traceback" not in "\n".join(err)
    assert out.read_text() == "old scores\n" and _leftovers(tmp_path) == []


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_real_ctrl_c_on_score_exits_130_in_one_line(model_file, tmp_path):
    X = make_dimuon_events(200_000, random_state=5)[0]
    save_events(tmp_path / "big.parquet", X)
    out = tmp_path / "scores.csv"
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:  # see test_interrupts: give the child the default handler
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sklearn_bsym", "score", str(model_file),
             str(tmp_path / "big.parquet"), "--output", str(out), "--chunk-size", "20",
             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(".scores.csv.") for p in tmp_path.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_INTERRUPTED, stderr
    assert stderr.strip().splitlines()[-1] == (
        f"Interrupted: nothing was written ({out} is as it was).")
    assert "Traceback" not in stderr and not out.exists() and _leftovers(tmp_path) == []


@pytest.fixture
def class_files(tmp_path):
    X, y = make_dimuon_events(1_000, random_state=0)
    save_events(tmp_path / "signal.parquet", X[y == 1])
    save_events(tmp_path / "background.parquet", X[y == 0])
    return tmp_path / "signal.parquet", tmp_path / "background.parquet"


def _fit_argv(signal_file, background_file, output, *extra):
    return ["fit", "--signal", str(signal_file), "--background", str(background_file),
            "--model", "invariant", "--epochs", "3", "--output", str(output), *extra]


def test_ctrl_c_on_fit_is_one_line_and_saves_nothing(class_files, tmp_path, capsys,
                                                     monkeypatch):
    """skorch ends training on a Ctrl-C and keeps the partly trained network; fit saves no
    such model."""
    from sklearn_bsym.nn._training import Trainer

    real = Trainer.notify

    def notify(self, method_name, **kwargs):
        if method_name == "on_epoch_end" and len(self.history) == 2:
            raise KeyboardInterrupt
        return real(self, method_name, **kwargs)

    monkeypatch.setattr(Trainer, "notify", notify)
    out = tmp_path / "model.skops"
    assert main(_fit_argv(*class_files, out)) == EXIT_INTERRUPTED
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"Interrupted: nothing was written ({out} is as it was)."
    assert not out.exists() and _leftovers(tmp_path) == []


# ---------------------------------------------------------------- 7. outputs checked first
def test_score_refuses_to_write_over_its_model(model_file, events, tmp_path, capsys):
    before = model_file.read_bytes()
    line = _error_line(capsys, ["score", str(model_file), str(events[0]), "--output",
                                str(model_file)])
    assert f"The output {model_file} is the model file" in line
    hard = tmp_path / "hard.skops"
    os.link(model_file, hard)
    line = _error_line(capsys, ["score", str(hard), str(events[0]), "--output",
                                str(model_file)])
    assert "is the model file" in line and model_file.read_bytes() == before


@pytest.mark.parametrize(
    ("output", "match"),
    [("missing/model.skops", "the folder {tmp}/missing does not exist"),
     ("signal.parquet", "is one of the inputs ({tmp}/signal.parquet)"),
     (".", "it is a folder")],
)
def test_fit_checks_its_output_before_any_work(class_files, tmp_path, capsys, output, match):
    argv = _fit_argv(*class_files, tmp_path / output)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match.format(tmp=tmp_path) in err and "Read " not in err, err


# ---------------------------------------------------------------- 8. misuse refused
@pytest.mark.parametrize("how", ["same", "symlink", "hardlink"])
def test_fit_refuses_the_same_file_as_signal_and_background(class_files, tmp_path, capsys,
                                                             how):
    signal_file = class_files[0]
    background = {"same": signal_file, "symlink": tmp_path / "link.parquet",
                  "hardlink": tmp_path / "hard.parquet"}[how]
    if how == "symlink":
        background.symlink_to(signal_file)
    elif how == "hardlink":
        os.link(signal_file, background)
    line = _error_line(capsys, _fit_argv(signal_file, background, tmp_path / "m.skops"))
    assert "--signal and --background are the same file" in line
    assert not (tmp_path / "m.skops").exists()


def test_a_lepton_that_no_input_reads_is_refused(class_files, model_file, events, tmp_path,
                                                  capsys):
    line = _error_line(capsys, _fit_argv(*class_files, tmp_path / "m.skops", "--lepton", "e"))
    assert "--lepton e does not apply to" in line and "remove --lepton" in line
    line = _error_line(capsys, ["score", str(model_file), str(events[0]), "--lepton", "e",
                                "--output", str(tmp_path / "s.csv")])
    assert f"--lepton e does not apply to {events[0]}" in line


def test_a_lepton_that_some_inputs_ignore_is_warned_about(model_file, events, tmp_path,
                                                          capsys, lhe_dir):
    import warnings

    lhe = sorted(lhe_dir.glob("*.lhe*"))[0]
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # shown as the command line shows it, not raised
        assert main(["score", str(model_file), str(lhe), str(events[0]), "--lepton", "mu",
                     "--output", str(tmp_path / "s.csv"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"warning: --lepton mu does not apply to {events[0]}" in err


# ---------------------------------------------------------------- siblings
@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".csv.gz"])
def test_save_events_writes_through_the_atomic_writer(tmp_path, suffix):
    from sklearn_bsym.datasets import load_events

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    path = tmp_path / f"events{suffix}"
    path.symlink_to(victim)
    X = make_dimuon_events(20, random_state=2)[0]
    save_events(path, X)
    assert victim.read_text() == "precious" and not path.is_symlink()
    assert_array_equal(load_events(path)[0], X)
    assert _leftovers(tmp_path) == []


def test_a_column_mapping_file_is_read_within_bounds(tmp_path, capsys):
    mapping = tmp_path / "mapping.json"
    with open(mapping, "wb") as fh:
        fh.truncate(2 * 2**20)  # 2 MB of zeros where a mapping takes a few hundred bytes
    with pytest.raises(SystemExit):
        main(["score", "m.skops", "in.csv", "--output", "s.csv", "--columns", str(mapping)])
    assert "cannot read the mapping file" in capsys.readouterr().err
