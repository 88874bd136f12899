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
        # A record edited to another slot (checksum recomputed) is not this slot's fit.
        (lambda p: p.update(seed=1), r"seed 1 \(this slot: 0\)"),
        (lambda p: p.update(fraction=0.5), r"fraction 0.5 \(this slot: 1.0\)"),
        (lambda p: p.update(resolution=0.2), r"resolution 0.2 \(this slot: 0.1\)"),
        (lambda p: p.update(model="pfn"), r"model 'pfn' \(this slot: 'hgb'\)"),
        (lambda p: p.update(n_pool=1600), r"n_pool 1600 \(this slot: 800\)"),
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


@pytest.mark.parametrize("legacy", [False, True], ids=["as_copied", "without_set_entry"])
def test_a_fit_copied_from_another_set_is_named_and_redone(finished, tmp_path, legacy):
    """A 1,000-event fit dropped into a 1,200-event set: the set id (or, in a file written
    before it was recorded, the split sizes) gives it away."""
    out, fits = _copy(finished, tmp_path)
    other = dataclasses.replace(TINY, n_events=1200)
    first = run_study(other, out, plots=False)
    target = out / other.result_set_id() / "fits" / f"{HGB_KEY}.json"
    record = json.loads((fits / f"{HGB_KEY}.json").read_text())
    if legacy:
        del record["set"]
    target.write_text(json.dumps(record))
    reason = "belongs to result set" if not legacy else r"n_pool 800 \(this slot: 960\)"
    ran = []
    with pytest.warns(CorruptResultWarning, match=f"{HGB_KEY}.json: .*{reason}"):
        again = run_study(other, out, plots=False, on_done=ran.append)
    assert ran == [HGB_KEY]
    assert_allclose(again.fits["test_auc"], first.fits["test_auc"])


def _nan_literal(path):
    path.write_text(path.read_text().replace('"fit_time"', '"x": NaN, "fit_time"', 1))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_nan_literal, "it holds the non-JSON number NaN"),
        (lambda path: path.write_text("[" * 100_000 + "]" * 100_000), "it is nested too deeply"),
        (lambda path: (path.unlink(), path.mkdir()), "it is a folder"),
        (lambda path: (path.unlink(), (path / "inner").mkdir(parents=True)), "it is a folder"),
    ],
    ids=["nan_literal", "deep_nesting", "empty_folder", "full_folder"],
)
def test_an_unreadable_fit_is_named_once_and_redone(finished, tmp_path, damage, reason):
    import warnings

    out, fits = _copy(finished, tmp_path)
    path = fits / f"{HGB_KEY}.json"
    damage(path)
    ran = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if (path / "inner").exists():
            # A folder with files in it is the user's: named, and left alone.
            with pytest.raises(OSError, match=f"{HGB_KEY}.json: a folder with files"):
                run_study(TINY, out, plots=False, on_done=ran.append)
            again = None
        else:
            again = run_study(TINY, out, plots=False, on_done=ran.append)
    named = [w for w in caught if issubclass(w.category, CorruptResultWarning)]
    assert len(named) == 1 and f"{HGB_KEY}.json: {reason}" in str(named[0].message)
    if again is not None:
        assert ran == [HGB_KEY]
        assert_allclose(again.fits["test_auc"], finished[1].fits["test_auc"])


def _failing_writes(monkeypatch, fails):
    """Make the store's writes fail with ENOSPC (a full disk) where ``fails(path)`` says so."""
    import errno

    from sklearn_bsym.studies import _store

    real = _store._replace_atomically

    def replace(path, data):
        if fails(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, data)

    monkeypatch.setattr(_store, "_replace_atomically", replace)


def test_a_full_disk_mid_run_names_the_file_and_how_to_resume(tmp_path, monkeypatch):
    from sklearn_bsym.studies import StoreWriteError

    saved = []
    _failing_writes(monkeypatch, lambda path: saved.append(path) or len(saved) > 1)
    with pytest.raises(StoreWriteError) as info:
        run_study(TINY, tmp_path, plots=False)
    message = str(info.value)
    assert "\n" not in message
    assert f"Cannot write {saved[1]} (No space left on device)" in message
    assert "1 fits are stored" in message and "run the same command again to resume" in message
    monkeypatch.undo()
    ran = []
    run_study(TINY, tmp_path, plots=False, on_done=ran.append)
    assert len(ran) == 2  # the stored fit is kept; the other and the optimum are run


def test_a_full_disk_after_every_fit_still_shows_the_tables(finished, tmp_path, monkeypatch):
    out, _ = _copy(finished, tmp_path)
    _failing_writes(monkeypatch, lambda path: True)
    with pytest.warns(UserWarning, match="results.csv .No space left on device.; the results "
                      "are shown but not all saved"):
        result = run_study(TINY, out)
    assert "| hgb |" in result.markdown


def test_the_set_files_keep_every_stored_model_and_no_lock(finished, tmp_path):
    """A rerun with fewer models reports the whole set (results.csv and the summary keep the
    other models); integers stay integers in results.csv; no lock file stays behind."""
    import pandas as pd

    out, fits = _copy(finished, tmp_path)
    folder = fits.parent
    again = run_study(dataclasses.replace(TINY, models=("hgb",)), out, plots=False)
    assert set(again.fits["model"]) == {"hgb", "optimal"}
    table = pd.read_csv(folder / "results.csv", dtype=str, keep_default_na=False)
    assert set(table["model"]) == {"hgb", "optimal"}
    assert set(table.loc[table["model"] == "hgb", "seed"]) == {"0", "1"}
    assert set(table.loc[table["model"] == "optimal", "seed"]) == {""}
    assert "| optimal |" in (folder / "summary.md").read_text()
    fresh = run_study(dataclasses.replace(TINY, n_events=1100), tmp_path / "fresh", plots=False)
    assert not (fresh.folder / "locks").exists()


def test_a_lock_that_cannot_be_made_is_one_line_with_what_is_stored(finished, tmp_path):
    from sklearn_bsym.studies import StoreWriteError

    out, fits = _copy(finished, tmp_path)
    (fits / f"{HGB_KEY}.json").unlink()
    (fits.parent / "locks").write_text("a file where the lock folder goes")
    with pytest.raises(StoreWriteError, match=r"Cannot write .*locks.* \(File exists\); 2 fits "
                       "are stored in .*, 1 remain.*run the same command again to resume"):
        run_study(TINY, out, plots=False)
