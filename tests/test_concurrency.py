"""Several runs of one study on one folder at once, and a disk that fills up during a run: real
command-line runs in subprocesses, as a user or a workflow manager starts them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes"),
]

# Nine quick fits (eight trees and the Bayes-optimal line): runs that start together finish
# at nearly the same moment, the window in which one removed the lock folder another used.
ARGV = [
    "--n-events", "1000", "--fractions", "0.5", "1", "--seeds", "4", "--models", "hgb",
    "optimal", "--no-scan", "--no-progress", "--no-plots",
]  # fmt: skip

# The study's writes (they all happen in the process that runs the study, never in its
# workers) fail with ENOSPC after FULL_AFTER of them: a disk that fills up mid-run.
FULL_DISK = """
import errno, os, sys
from sklearn_bsym.studies import _store
real, writes = _store._replace_atomically, []
def replace(path, data):
    writes.append(path)
    if len(writes) > int(os.environ["FULL_AFTER"]):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    real(path, data)
_store._replace_atomically = replace
from sklearn_bsym.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def _start(output: Path, *extra: str, code: str | None = None, env=None,
           argv=ARGV) -> subprocess.Popen:
    command = ["-c", code] if code else ["-m", "sklearn_bsym"]
    return subprocess.Popen(
        [sys.executable, *command, *argv, *extra, "--output", str(output)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )


def _finish(proc: subprocess.Popen, timeout: float) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
        pytest.fail(f"the run hung (killed after {timeout:g} s); its output: {err[-2000:]}")


@pytest.mark.parametrize(("n_runs", "extra"), [(3, ()), (2, ("--n-jobs", "2"))],
                         ids=["three_serial", "two_n_jobs"])
def test_identical_runs_started_at_once_all_succeed(tmp_path, n_runs, extra):
    """What the README promises: concurrent runs share the work. One of them failed in every
    trial ("Cannot write .../locks/<key>.lock (No such file or directory)")."""
    procs = [_start(tmp_path, *extra) for _ in range(n_runs)]
    results = [_finish(proc, 300) for proc in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "error:" not in err and "Traceback" not in err
    (table,) = tmp_path.glob("*/results.csv")
    assert len(pd.read_csv(table)) == 9
    assert not list(tmp_path.glob("*/locks")) and not list(tmp_path.glob("*/fits/.*"))


@pytest.mark.parametrize("extra", [(), ("--n-jobs", "2")], ids=["serial", "n_jobs"])
def test_a_full_disk_ends_the_run_with_one_line(tmp_path, extra):
    """A disk that fills up after 15 of 30 quick fits: one line naming the file, the fix and
    what is stored, exit status 2, and no hang (with --n-jobs 2 the run waited forever: joblib's
    result thread kept dispatching while the workers were shut down)."""
    argv = [*ARGV[:ARGV.index("--fractions")], "--fractions", "1", "--seeds", "30", "--models",
            "hgb", *ARGV[ARGV.index("--no-scan"):]]
    proc = _start(tmp_path, *extra, code=FULL_DISK, env={"FULL_AFTER": "15"}, argv=argv)
    _, err = _finish(proc, 180)
    assert proc.returncode == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err and "Exception" not in err, err
    assert not [line for line in err.splitlines() if line.startswith("warning:")], err
    assert len(list(tmp_path.glob("*/fits/*.json"))) == 15
    assert "(No space left on device): free disk space" in errors[0]
    assert "15 fits are stored in" in errors[0] and "15 remain" in errors[0]
