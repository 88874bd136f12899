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
    from sklearn_bsym.studies import ReportNotSavedWarning

    out, _ = _copy(finished, tmp_path)
    _failing_writes(monkeypatch, lambda path: True)
    with pytest.warns(ReportNotSavedWarning, match="results.csv .No space left on device.: free "
                      "disk space; the results are shown but not all saved"):
        result = run_study(TINY, out)
    assert "| hgb |" in result.markdown
    assert result.write_error.startswith(f"Cannot write {result.folder / 'results.csv'}")


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
    """A file where the locks/ folder goes is named as such, with its fix (not "free disk
    space")."""
    from sklearn_bsym.studies import StoreWriteError

    out, fits = _copy(finished, tmp_path)
    (fits / f"{HGB_KEY}.json").unlink()
    (fits.parent / "locks").write_text("a file where the lock folder goes")
    with pytest.raises(StoreWriteError) as info:
        run_study(TINY, out, plots=False)
    message = str(info.value)
    assert "\n" not in message and "disk space" not in message and "permissions" not in message
    assert f"{fits.parent / 'locks'} is a file where a folder goes; move it away" in message
    assert "2 fits are stored in" in message and "1 remain: run the same command again" in message


# ---------------------------------------------------------------- issue 26: faults and misuse


def test_a_lock_survives_another_run_removing_the_lock_folder(tmp_path):
    """A run waits for a fit another run holds; that run stores it, removes its lock file and
    then the empty locks/ folder, as a run that finishes does. The waiting run reads the fit
    back (it failed: "Cannot write .../locks/t2.lock (No such file or directory)")."""
    import time

    store = ResultStore(tmp_path)
    other = store.lock("t2")
    other.acquire()
    ran, result = [], {}
    tasks = [(f"t{i}", ([("value", i)],)) for i in range(4)]
    thread = threading.Thread(
        target=lambda: result.update(run_tasks(dict, tasks, ResultStore(tmp_path),
                                               on_done=ran.append)))
    thread.start()
    deadline = time.monotonic() + 30
    while len(ran) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(ran) == ["t0", "t1", "t3"] and thread.is_alive()  # waiting for t2
    store.save("t2", {"value": "from the other run"})
    os.unlink(other.lock_file)
    store.remove_lock_folder()
    assert not (tmp_path / "locks").exists()
    other.release()
    thread.join(timeout=30)
    assert not thread.is_alive() and result["t2"] == {"value": "from the other run"}
    assert "t2" not in ran


def test_a_stop_counts_what_the_store_holds(tmp_path):
    """The count of a stopped run is read from the store: fits another run stored meanwhile
    count too (they were reported as remaining)."""
    from sklearn_bsym.studies import TasksInterrupted

    store = ResultStore(tmp_path)

    def task(value):
        if value == 1:
            store.save("t2", {"value": 2})  # another run stores t2 meanwhile
            raise KeyboardInterrupt
        return dict([("value", value)])

    tasks = [("t0", (0,)), ("t1", (1,)), ("t2", (2,))]
    with pytest.raises(TasksInterrupted) as info:
        run_tasks(task, tasks, ResultStore(tmp_path))
    assert (info.value.n_stored, info.value.n_remaining) == (2, 1)


def test_a_second_ctrl_c_while_stopping_still_says_what_is_stored(tmp_path, capsys, monkeypatch):
    """Ctrl-C pressed again while the run cleans up: the CLI says what is stored (it said
    "nothing was stored")."""
    from sklearn_bsym.__main__ import main

    def second_ctrl_c(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(ResultStore, "remove_lock_folder", second_ctrl_c)
    argv = ["--n-events", "1000", "--fractions", "1", "--seeds", "2", "--models", "hgb",
            "--no-scan", "--no-progress", "--no-plots", "--output", str(tmp_path)]
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert "Interrupted: 2 fits are stored in" in err and "0 remain" in err
    assert "nothing was stored" not in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
@pytest.mark.parametrize("kind", ["dev_zero", "fifo", "huge", "link_to_a_file"])
def test_a_fit_file_that_is_no_regular_file_is_named_without_reading_it(tmp_path, kind):
    """A fit file linking to /dev/zero (memory without bound), a FIFO (a hang), a huge file or
    a link (followed out of the set) is named and not read."""
    from sklearn_bsym.studies._store import MAX_RECORD_BYTES

    store = ResultStore(tmp_path)
    store.save("a", {"value": 1})
    path = store.path("a")
    path.unlink()
    if kind == "dev_zero":
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero")
        path.symlink_to("/dev/zero")
        reason = "it is a symbolic link (to /dev/zero), not a file of its own"
    elif kind == "fifo":
        os.mkfifo(path)
        reason = "it is a FIFO (named pipe), not a regular file"
    elif kind == "huge":
        with open(path, "wb") as fh:
            fh.truncate(MAX_RECORD_BYTES + 1)
        reason = f"it holds more than {MAX_RECORD_BYTES:,} bytes"
    else:
        elsewhere = tmp_path / "elsewhere.json"
        ResultStore(tmp_path / "other").save("a", {"value": 2}).rename(elsewhere)
        path.symlink_to(elsewhere)
        reason = f"it is a symbolic link (to {elsewhere})"
    loaded = []
    reader = threading.Thread(target=lambda: loaded.append(_load_warned(store, "a")),
                              daemon=True)
    reader.start()
    reader.join(timeout=20)
    assert loaded, "reading the fit file hung"
    payload, message = loaded[0]
    assert payload is None and f"a.json: {reason}" in message
    store.save("a", {"value": 3})  # the fit redone replaces it, a link's target untouched
    assert path.is_file() and not path.is_symlink() and store.load("a") == {"value": 3}


def _load_warned(store, key):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        payload = store.load(key)
    return payload, " ".join(str(w.message) for w in caught)


@pytest.mark.parametrize("linked", ["set_folder", "fits"])
def test_a_symlinked_folder_is_replaced_and_its_target_left_untouched(finished, tmp_path, linked):
    """OUTPUT/<id> or its fits/ linked to another folder: the run neither reads nor writes
    through the link (it overwrote that folder's results.csv, summary and figures)."""
    out, fits = _copy(finished, tmp_path)
    folder = fits.parent
    target = tmp_path / "someone_elses"
    shutil.move(folder if linked == "set_folder" else fits, target)
    (target / "results.csv").write_text("their own table\n")
    before = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    (folder if linked == "set_folder" else fits).symlink_to(target, target_is_directory=True)
    ran = []
    with pytest.warns(CorruptResultWarning, match="symbolic link .*replaced by a folder"):
        result = run_study(TINY, out, plots=False, on_done=ran.append)
    after = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert after == before
    assert not folder.is_symlink() and not fits.is_symlink() and fits.is_dir()
    assert len(ran) == 3 and (folder / "results.csv").read_text() != "their own table\n"
    assert_allclose(result.fits["test_auc"], finished[1].fits["test_auc"])


def test_a_symlinked_lock_is_replaced(finished, tmp_path):
    """A lock file that is a link (here to a file of the user's) is no reason to stop the run,
    nor to write to the link's target."""
    out, fits = _copy(finished, tmp_path)
    (fits / f"{HGB_KEY}.json").unlink()
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("keep me")
    (fits.parent / "locks").mkdir()
    (fits.parent / "locks" / f"{HGB_KEY}.lock").symlink_to(theirs)
    ran = []
    run_study(TINY, out, plots=False, on_done=ran.append)
    assert ran == [HGB_KEY] and theirs.read_text() == "keep me"
    assert not (fits.parent / "locks").exists()


def test_what_a_killed_run_left_is_removed(finished, tmp_path):
    """The temporary file of a write cut short by a kill, an abandoned one of another machine
    and a lock file nobody holds are removed by the next run; a live writer's file is kept."""
    import subprocess
    import sys
    import time

    from sklearn_bsym.studies import _store

    out, fits = _copy(finished, tmp_path)
    folder = fits.parent
    killed = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; from sklearn_bsym."
         "studies._store import _temporary; p = _temporary(Path(sys.argv[1]), 'x.json'); "
         "p.write_text('{'); print(p)", str(fits)],
        capture_output=True, text=True, check=True, env={**os.environ},
    )
    left = [fits / killed.stdout.strip().rsplit("/", 1)[1]]
    old = folder / ".summary.md.12345.0badcafe.tmp"  # another machine's, 2 hours old
    old.write_text("#")
    os.utime(old, (time.time() - 7200,) * 2)
    live = _store._temporary(fits, "y.json")  # this process is alive: kept
    live.write_text("{")
    (folder / "locks").mkdir()
    (folder / "locks" / "pfn_f1_r0.1_s9.lock").write_text("")
    run_study(dataclasses.replace(TINY, models=("hgb",)), out, plots=False)
    assert not any(p.exists() for p in [*left, old]) and live.exists()
    assert not (folder / "locks").exists()


def test_a_forged_auc_is_out_of_bounds(finished, tmp_path):
    out, fits = _copy(finished, tmp_path)
    _rewrite(fits / f"{HGB_KEY}.json", lambda p: p.update(test_auc=1.5))
    ran = []
    with pytest.warns(CorruptResultWarning, match=r"test_auc must be in \[0, 1\], got 1.5"):
        result = run_study(TINY, out, plots=False, on_done=ran.append)
    assert ran == [HGB_KEY] and result.flags == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p.update(train_auc=-0.1), r"train_auc must be in \[0, 1\]"),
        (lambda p: p.update(fit_time=-1.0), r"fit_time must be in \[0, inf\)"),
        (lambda p: p.update(n_train=801), r"n_train \(801\) is more than n_pool \(800\)"),
        (lambda p: p.update(n_epochs=3, epochs_planned=2),
         r"n_epochs \(3\) is more than epochs_planned \(2\)"),
        (lambda p: p.update(valid_auc=[0.7]), "valid_auc has 1 entries, one per epoch"),
        (lambda p: p.update(n_epochs=2, epochs_planned=2, valid_auc=[0.7, 1.2]),
         r"valid_auc entry must be in \[0, 1\]"),
        (lambda p: p.update(symmetry={"w_general_mean": [2.0]}), "symmetry must be a table"),
    ],
)
def test_record_values_are_bounded_by_their_meaning(finished, tmp_path, change, reason):
    out, fits = _copy(finished, tmp_path)
    _rewrite(fits / f"{HGB_KEY}.json", change)
    with pytest.warns(CorruptResultWarning, match=f"{HGB_KEY}.json: .*{reason}"):
        run_study(TINY, out, plots=False)


def test_the_tables_average_the_runs_own_seeds(finished, tmp_path):
    """A stored fit of a seed outside the run's --seeds (here forged, AUC 0.99) is listed but
    not averaged into the tables, the claims or the flags' verdicts."""
    out, fits = _copy(finished, tmp_path)
    forged = fits / "hgb_f1_r0.1_s7.json"
    shutil.copy(fits / f"{HGB_KEY}.json", forged)
    record = json.loads(forged.read_text())
    record["key"] = "hgb_f1_r0.1_s7"
    record["payload"].update(seed=7, test_auc=0.99)
    record["checksum"] = payload_checksum(record["payload"])
    forged.write_text(json.dumps(record))
    result = run_study(TINY, out, plots=False)
    row = result.curve[result.curve["model"] == "hgb"].iloc[0]
    reference = finished[1].curve[finished[1].curve["model"] == "hgb"].iloc[0]
    assert row["n"] == 2 and row["mean"] == pytest.approx(reference["mean"])
    assert 7 in set(result.fits["seed"])  # listed in results.csv all the same
