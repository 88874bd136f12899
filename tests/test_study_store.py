"""The result store in real folders: permissions, damaged payloads, bounds, shared folders."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat
import threading

import pytest
from numpy.testing import assert_allclose

from sklearn_bsym.studies import (
    CorruptResultWarning,
    FitRecord,
    ResultStore,
    StudyConfig,
    payload_checksum,
    run_study,
    run_tasks,
)

TINY = StudyConfig(
    n_events=1000,
    fractions=(1.0,),
    n_seeds=2,
    models=("hgb", "optimal"),
    scan_resolutions=(),
    model_params={"hgb": {"max_iter": 15}},
)
HGB_KEY = "hgb_f1_r0.1_s0"


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished")
    return out, run_study(TINY, out, plots=False)


def _copy(finished, tmp_path):
    out, _ = finished
    shutil.copytree(out, tmp_path / "copy")
    return tmp_path / "copy", tmp_path / "copy" / TINY.result_set_id() / "fits"


def _rewrite(path, change):
    """Edit a stored payload and recompute its checksum, as a careless (or clever) hand would."""
    record = json.loads(path.read_text())
    change(record["payload"])
    record["checksum"] = payload_checksum(record["payload"])
    path.write_text(json.dumps(record))


def test_files_respect_the_umask(tmp_path):
    old = os.umask(0o002)
    try:
        path = ResultStore(tmp_path).save("a", {"auc": 0.75})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o664  # group-readable, like any file


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p.update(test_auc="abc"), "test_auc must be a finite number, got 'abc'"),
        (lambda p: p.pop("fraction"), r"lacks \['fraction'\]"),
        (lambda p: p.update(model="mlp"), "model 'mlp' is not one of"),
        (lambda p: p.update(n_train=-3), "n_train must be a non-negative integer"),
        (
            lambda p: p.update(stop_reason="interrupted", n_epochs=5, epochs_planned=12),
            r"cut short \(stop_reason 'interrupted', 5 of 12 epochs\)",
        ),
    ],
)
def test_a_payload_off_the_schema_is_named_and_redone(finished, tmp_path, change, reason):
    out, fits = _copy(finished, tmp_path)
    _rewrite(fits / f"{HGB_KEY}.json", change)
    ran = []
    with pytest.warns(CorruptResultWarning, match=f"{HGB_KEY}.json: .*{reason}"):
        again = run_study(TINY, out, plots=False, on_done=ran.append)
    assert ran == [HGB_KEY]
    assert_allclose(again.fits["test_auc"], finished[1].fits["test_auc"])


def test_results_above_the_bayes_ceiling_are_flagged(finished, tmp_path):
    out, fits = _copy(finished, tmp_path)
    assert finished[1].flags == []
    _rewrite(fits / f"{HGB_KEY}.json", lambda p: p.update(test_auc=0.95))
    result = run_study(TINY, out, plots=False)
    (flag,) = result.flags
    assert flag.startswith("hgb (fraction 1, resolution 0.1, seed 0): test AUC 0.9500 exceeds")
    assert "### Flags" in result.markdown and result.summary["flags"] == [flag]


def test_a_record_refuses_a_fit_cut_short():
    fields = dict(
        model="pfn", fraction=1.0, n_train=800, seed=0, resolution=0.1, test_auc=0.7,
        train_auc=0.72, n_pool=800, n_test=200, n_test_signal=100, n_epochs=5,
        epochs_planned=12,
    )  # fmt: skip
    assert FitRecord(**fields, stop_reason="early_stopping").n_epochs == 5
    with pytest.raises(ValueError, match="cut short"):
        FitRecord(**fields, stop_reason="interrupted")


def _read_only(folder):
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)


def test_a_finished_read_only_set_reports_without_writing(finished, tmp_path, monkeypatch):
    out, fits = _copy(finished, tmp_path)
    folder = fits.parent
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    _read_only(out)
    if os.geteuid() == 0:
        # Root writes through read-only modes: test the same path by saying the folder is not
        # writable (what check_writable finds for everyone else).
        monkeypatch.setattr(ResultStore, "is_writable", lambda self: False)
    try:
        result = run_study(TINY, out)
    finally:
        for path in [out, *out.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before
    assert "| hgb |" in result.markdown
    assert folder / "results.csv" in result.files


def test_two_runs_on_one_folder_share_the_fits(tmp_path):
    """A fit another process holds (its lock taken) is waited for and read, not recomputed."""
    store = ResultStore(tmp_path)
    tasks = [(f"t{i}", ([("value", i)],)) for i in range(4)]
    other = store.lock("t2")
    other.acquire()
    ran, result = [], {}

    def run():
        result.update(run_tasks(dict, tasks, ResultStore(tmp_path), on_done=ran.append))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=3)
    assert thread.is_alive()  # waiting for t2
    assert sorted(ran) == ["t0", "t1", "t3"]
    store.save("t2", {"value": "from the other run"})
    other.release()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert result["t2"] == {"value": "from the other run"} and "t2" not in ran


def test_a_lock_left_by_a_dead_run_does_not_block(tmp_path):
    store = ResultStore(tmp_path)
    lock = store.lock("t0")
    lock.acquire()
    lock.release()  # the lock file stays, as after a killed run (the OS drops its lock)
    ran = []
    run_tasks(dict, [("t0", ([("value", 0)],))], store, on_done=ran.append)
    assert ran == ["t0"]


def test_interrupted_runner_says_what_is_stored(tmp_path):
    from sklearn_bsym.studies import TasksInterrupted

    tasks = [("t0", ([("value", 0)],)), ("t1", (None,))]

    def task(value):
        if value is None:
            raise KeyboardInterrupt
        return dict(value)

    with pytest.raises(TasksInterrupted) as info:
        run_tasks(task, tasks, ResultStore(tmp_path))
    assert (info.value.n_stored, info.value.n_remaining) == (1, 1)
    assert ResultStore(tmp_path).load("t0") == {"value": 0}
    assert ResultStore(tmp_path).load("t1") is None


def test_config_replace_keeps_lepton_out_of_generator_ids():
    assert dataclasses.replace(TINY, lepton="e").result_set_id() == TINY.result_set_id()
