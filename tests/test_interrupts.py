"""Ctrl-C and SIGKILL sent to a real study in a subprocess: nothing half-trained is stored, the
study stops cleanly and resumes to the numbers of an uninterrupted run, no worker outlives it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and process groups"),
]

# Three PFN fits of 3-5 s each (6,400 training events; the validation share stops them after
# 20-30 epochs), one torch thread (the same numbers in every run): long enough that the
# interrupts below land while a fit trains, whatever the recipe of that size.
EPOCHS = 40
ARGV = [
    "--n-events", "8000", "--fractions", "1", "--seeds", "3", "--models", "pfn", "--no-scan",
    "--epochs", str(EPOCHS), "--n-threads", "1", "--no-progress", "--no-plots",
]  # fmt: skip


def _start(output: Path, *extra: str) -> subprocess.Popen:
    # A test runner started in the background of a non-interactive shell ('cmd &') ignores
    # SIGINT, and a child inherits an ignored signal: the study would never see the Ctrl-C. A
    # terminal's foreground job has its default; give the child that (handled signals are reset
    # to the default across exec), then restore ours.
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "sklearn_bsym", *ARGV, *extra, "--output", str(output)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
    finally:
        signal.signal(signal.SIGINT, previous)


def _wait_for_a_fit(output: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(output.glob("*/fits/*.json")):
            return
        if proc.poll() is not None:
            pytest.fail(f"the study ended before any fit was stored: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("no fit stored in time")


def _group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def _table(output: Path) -> pd.DataFrame:
    (path,) = output.glob("*/results.csv")
    table = pd.read_csv(path).drop(columns="fit_time")
    return table.sort_values(["model", "seed"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    output = tmp_path_factory.mktemp("uninterrupted")
    proc = _start(output)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return _table(output)


def _stored_records(output: Path) -> list[dict]:
    import json

    return [json.loads(p.read_text())["payload"] for p in output.glob("*/fits/*.json")]


@pytest.mark.parametrize(
    "extra",
    [(), ("--n-jobs", "2"), ("--dask", "local", "--n-jobs", "2")],
    ids=["serial", "n_jobs", "dask"],
)
def test_ctrl_c_stops_cleanly_and_the_rerun_resumes(reference, tmp_path, extra):
    proc = _start(tmp_path, *extra)
    _wait_for_a_fit(tmp_path, proc)
    # What a terminal's Ctrl-C does. Python drops a KeyboardInterrupt raised inside a ctypes
    # callback and prints its traceback (threadpoolctl's scan of the loaded libraries, which
    # sklearn_bsym._threads makes once per process so that a Ctrl-C as a later fit starts is not
    # lost); a user who sees nothing happen presses Ctrl-C again, and so does this test.
    for _ in range(3 if not extra else 1):
        os.killpg(proc.pid, signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=3 if not extra else 60)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err and "Traceback" not in err
    assert _group_gone(proc.pid, timeout=10), "a worker outlived the interrupted study"
    stored = _stored_records(tmp_path)
    assert 1 <= len(stored) <= 3
    for record in stored:
        assert record["stop_reason"] in ("completed", "early_stopping")
        assert record["n_epochs"] <= record["epochs_planned"] == EPOCHS

    rerun = _start(tmp_path, *extra)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    if len(stored) < 3:
        assert f"reusing {len(stored)} stored fits, {3 - len(stored)} remain" in err
    assert_frame_equal(_table(tmp_path), reference)


def test_sigkill_leaves_no_worker_behind(tmp_path):
    proc = _start(tmp_path, "--n-jobs", "2", "--seeds", "6")
    _wait_for_a_fit(tmp_path, proc)
    proc.kill()
    proc.communicate(timeout=30)
    assert _group_gone(proc.pid, timeout=10), "loky workers outlived the killed study"
