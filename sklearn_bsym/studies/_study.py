"""Run (or resume) a study: its points through the runner, then its report.

The protocol of one point is :mod:`._protocol`; the config and named protocols are
:mod:`._config`; the data and seeds :mod:`._data`; the stored record :mod:`._record`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ._config import StudyConfig, n_train
from ._data import load_study_data
from ._protocol import fit_key, point_payloads, study_points, study_tasks
from ._record import FitRecord
from ._runner import TasksWriteError, run_tasks
from ._store import ResultStore, StoreWriteError

__all__ = ["run_study", "ExecutionPlan", "plan_execution", "StudyInterrupted"]


class StudyInterrupted(KeyboardInterrupt):
    """A study stopped by Ctrl-C; its message says what is stored and how to resume."""


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask, not the whole machine)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class ExecutionPlan:
    """How the fits run: ``parallel`` fits at once, each with ``threads`` torch/BLAS threads;
    ``parallel`` is None on a remote Dask cluster until it is reached (one fit per worker
    thread)."""

    parallel: int | None
    threads: int
    cores: int

    def describe(self) -> str:
        parallel = (
            "on the Dask cluster, one fit per worker thread"
            if self.parallel is None
            else f"{self.parallel} fit(s) in parallel"
        )
        return (
            f"{parallel}, {self.threads} torch/BLAS thread(s) each, "
            f"{self.cores} CPU core(s) available here"
        )


def plan_execution(
    n_jobs: int | None = None, *, dask: str | None = None, n_threads: int | None = None
) -> ExecutionPlan:
    """How the fits run: ``parallel`` fits at once with ``threads`` torch/BLAS threads each.

    By default each fit runs single-threaded and the cores go to parallel fits (``n_jobs``),
    so the fits never oversubscribe the machine, and the numbers of a seed do not depend on
    ``n_jobs``, Dask or the machine's load. Measured (``benchmarks/study_parallelism.py``, 8
    fits on 2 cores): 1 thread per fit 5.5 s, 2 threads 7.4 s on a quiet machine; at load ~5
    the 2-thread fits took 393 s. ``n_threads`` overrides (at most the cores per parallel fit
    is sensible). joblib's negative ``n_jobs`` count back from the cores (-1: all of them). On a
    remote Dask scheduler the fits run one per worker thread, with the same threads each as
    here, so that their numbers equal a serial run's.
    """
    if n_jobs == 0:
        raise ValueError("n_jobs=0 runs nothing; use None or 1 (serial), N > 1, or -1 (all cores).")
    if n_threads is not None and n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}.")
    cores = available_cores()
    if dask not in (None, "local"):
        return ExecutionPlan(parallel=None, threads=n_threads or 1, cores=cores)
    if n_jobs is None:
        parallel = cores if dask == "local" else 1
    elif n_jobs < 0:
        parallel = max(1, cores + 1 + n_jobs)
    else:
        parallel = n_jobs
    return ExecutionPlan(parallel=parallel, threads=n_threads or 1, cores=cores)


def _record_validator(config: StudyConfig):
    """``validate(key, payload)`` of the study's store: the payload must fit the schema, its own
    slot (model, fraction, resolution, seed, training size of its key) and the set's data (pool,
    test and test-signal sizes); else a ValueError names what differs."""
    data = load_study_data(config)
    sizes = {
        "n_pool": len(data.pool),
        "n_test": len(data.test),
        "n_test_signal": int(data.y[data.test].sum()),
    }
    slots = {}
    for point in study_points(config):
        for key, seed in zip(point.keys(), point.seeds or (None,), strict=True):
            size = 0 if point.fraction is None else n_train(point.fraction, sizes["n_pool"])
            slots[key] = {
                "model": point.model,
                "fraction": point.fraction,
                "resolution": point.resolution,
                "strength": point.strength,
                "seed": seed,
                "n_train": size,
            }

    def validate(key, payload):
        record = FitRecord.from_payload(payload)
        slot = slots.get(key, {})
        if not slot and fit_key(record.model, record.fraction, record.resolution,
                                record.seed, record.strength) != key:
            raise ValueError(
                f"it records model {record.model!r}, fraction {record.fraction!r}, resolution "
                f"{record.resolution!r}, seed {record.seed!r}, strength {record.strength!r}: a "
                "fit of another slot"
            )
        expected = {**slot, **sizes}
        wrong = [
            f"{name} {getattr(record, name)!r} (this slot: {value!r})"
            for name, value in expected.items()
            if getattr(record, name) != value
        ]
        if wrong:
            raise ValueError(
                f"it records {', '.join(wrong)}: a fit of another slot or result set"
            )
        return payload

    return validate


def run_study(
    config: StudyConfig,
    output="bsym_results",
    *,
    n_jobs: int | None = None,
    n_threads: int | None = None,
    dask: str | None = None,
    dask_processes: bool = True,
    progress: bool = False,
    plots: bool = True,
    on_done=None,
    log=None,
):
    """Run (or resume) a study and write its results, figures and summary.

    Parameters
    ----------
    config : StudyConfig
    output : path-like, default="bsym_results"
        Results go to ``<output>/<config.result_set_id()>/``: ``fits/*.json`` (one per fit),
        ``results.csv``, ``summary.json``, ``summary.md`` and the PNG figures. The folder must
        be writable unless every fit is already stored there (a finished read-only set is
        reported without writing).
    n_jobs : int, optional
        Parallel fits through joblib (None = serial); local Dask workers with ``dask="local"``.
    n_threads : int, optional
        torch/BLAS threads of each fit; by default 1 (see :func:`plan_execution`).
    dask : str, optional
        ``"local"`` (a LocalCluster on this machine) or the address of a Dask scheduler.
    dask_processes : bool, default=True
        Local Dask workers as processes; False uses threads (quick tests).
    progress : bool, default=False
        A progress bar over the fits.
    plots : bool, default=True
        Write the PNG figures (needs matplotlib).
    on_done : callable, optional
        Called with the key of every fit that ran (not loaded from disk).
    log : callable, optional
        Called with one-line messages: how many fits are reused and remain, how they run.

    Returns
    -------
    StudyResult
        The per-fit table, the summary, the claims and the paths written. The per-fit table
        (``results.csv``) covers every fit stored in the result set, also those of models,
        fractions or seeds outside this run's selection; the averaged tables and the claims
        use this run's seeds (``n_seeds``) only. ``write_error`` says why the files were not
        all written (a full disk, a folder in the way), with a :class:`ReportNotSavedWarning`.

    Raises
    ------
    StudyInterrupted
        On Ctrl-C: the finished fits are stored, nothing half-trained is; the message says how
        to resume.
    """
    from ._report import write_report

    plan = plan_execution(n_jobs, dask=dask, n_threads=n_threads)
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise NotADirectoryError(
            f"--output {output} is a file, not a folder; choose a folder for the results."
        )
    if not config.uses_generator:
        # Read the files here once, so that their warnings (same file twice, a lopsided class
        # mix) reach the user from this process rather than from a worker.
        load_study_data(config)
    set_id = config.result_set_id()
    folder = output / set_id
    store = ResultStore(folder, validate=_record_validator(config), set_id=set_id)
    tasks = [(key, (*args, plan.threads)) for key, args in study_tasks(config)]
    keys = [key for point in study_points(config) for key in point.keys()]
    execution = {"parallel": plan.parallel, "threads": plan.threads, "cores": plan.cores}
    ran = []

    def on_plan(n_reused: int, n_todo: int) -> None:
        ran.append(n_todo)
        if log is None:
            return
        if n_reused and n_todo:
            log(f"Resuming {folder}: reusing {n_reused} stored fits, {n_todo} remain.")
        elif n_reused:
            log(f"All {n_reused} fits are stored in {folder}; nothing to run.")
        if n_todo:
            log(f"Running {n_todo} fits: {plan.describe()}.")
        if n_todo > 1 and plan.parallel == 1 and plan.cores > 1 and n_jobs is None:
            log(
                f"Tip: {plan.cores} CPU cores are available; --n-jobs {plan.cores} runs "
                f"{plan.cores} fits at once, with the same numbers."
            )

    def on_parallel(n: int) -> None:
        if execution["parallel"] is None and log is not None:
            log(f"The Dask cluster at {dask} runs {n} fit(s) at once (its worker threads).")
        execution["parallel"] = n

    try:
        payloads = run_tasks(
            point_payloads,
            tasks,
            store,
            n_jobs=n_jobs,
            dask=dask,
            dask_processes=dask_processes,
            progress=progress,
            on_done=on_done,
            on_plan=on_plan,
            on_parallel=on_parallel,
        )
    except TasksWriteError as stop:
        raise StoreWriteError(
            f"{stop}; {stop.n_stored} fits are stored in {folder}, {stop.n_remaining} remain: "
            "run the same command again to resume."
        ) from None
    except KeyboardInterrupt:
        # Counted in the store (also for a second Ctrl-C while the run was stopping, which
        # never reached the runner's count).
        n_stored = store.count(keys)
        raise StudyInterrupted(
            f"Interrupted: {n_stored} fits are stored in {folder}, {len(keys) - n_stored} "
            "remain; run the same command again to resume."
        ) from None
    # The set's files describe every fit stored in it, also those outside this run's selection
    # (a rerun with fewer --models must not drop the others from results.csv and the summary).
    try:
        for key in store.keys():
            if key not in payloads and (payload := store.load(key)) is not None:
                payloads[key] = payload
        # A finished set in a read-only folder is reported without writing; a set whose fits
        # ran now is written, and a folder made unwritable meanwhile is the report's error.
        write = any(ran) or store.is_writable()
        return write_report(config, payloads, store, plots=plots, write=write,
                            execution=execution)
    except KeyboardInterrupt:
        raise StudyInterrupted(
            f"Interrupted while writing the report: all {len(keys)} fits of this run are "
            f"stored in {folder}; run the same command again to write it."
        ) from None
