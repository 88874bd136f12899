"""Run independent fits through joblib, locally or on Dask, and store each one as it finishes.

A task is a pure function of its arguments, so the result of a fit does not depend on which
backend ran it or in what order. Finished fits are written by the calling process (not by the
workers), which keeps a remote Dask cluster without access to the output folder usable.

Several processes may run the same tasks on one store: each task is claimed with the store's
per-fit file lock when it is dispatched, so the processes share the work; a task another process
holds is waited for at the end and read back (or run here if that process died).

Ctrl-C (or a task reporting :class:`TaskInterruptedError`) stops the run: finished fits stay
stored, nothing half-done is stored, local workers are ended (joblib's own abort, as the stream
of results is closed at once), and :class:`TasksInterrupted` says how many fits are stored
(counted in the store: also those another run on the folder stored) and how many remain. A
failed write (disk full, folder made unwritable) stops it the same way with a
:class:`TasksWriteError`.

On Dask the tasks are submitted to the cluster's workers directly (not through joblib, which
runs them one by one in this process when the cluster has a single worker thread).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from joblib import Parallel, delayed, effective_n_jobs, parallel_config

from ._store import ResultStore, StoreWriteError, release

__all__ = [
    "run_tasks",
    "dask_backend",
    "TaskInterruptedError",
    "TasksInterrupted",
    "TasksWriteError",
]

#: Seconds to wait for a Dask scheduler before giving up with a one-line error.
DASK_CONNECT_TIMEOUT = 5


class TaskInterruptedError(RuntimeError):
    """Raised by a task whose work was cut short (its worker got Ctrl-C): nothing is stored."""


class TasksInterrupted(KeyboardInterrupt):
    """The run stopped on Ctrl-C; ``n_stored`` fits are stored, ``n_remaining`` are not."""

    def __init__(self, n_stored: int, n_remaining: int):
        super().__init__(f"{n_stored} fits stored, {n_remaining} remain")
        self.n_stored = n_stored
        self.n_remaining = n_remaining


class TasksWriteError(StoreWriteError):
    """A result could not be written; ``n_stored`` fits are stored, ``n_remaining`` are not.
    The message is the one line of the failed write."""

    def __init__(self, message: str, n_stored: int, n_remaining: int):
        super().__init__(message)
        self.n_stored = n_stored
        self.n_remaining = n_remaining


@contextlib.contextmanager
def dask_backend(
    address: str | None,
    *,
    n_workers: int | None = None,
    processes: bool = True,
    timeout: float = DASK_CONNECT_TIMEOUT,
):
    """Context in which joblib calls run on Dask.

    Parameters
    ----------
    address : str or None
        None: no Dask (the context does nothing). ``"local"``: start a ``LocalCluster`` on this
        machine with ``n_workers`` single-threaded workers (all CPU cores when None). Anything else:
        the address of a running scheduler, such as ``"tcp://10.0.0.5:8786"``; a scheduler that
        does not answer within a few seconds raises a ConnectionError naming the address.
    n_workers : int, optional
        Workers of a local cluster.
    processes : bool, default=True
        Local cluster workers as processes (True) or threads in this process (False, for tests).
    timeout : float, default=DASK_CONNECT_TIMEOUT
        Seconds to wait for a remote scheduler.
    """
    if address is None:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is an optional extra
        raise ValueError(
            "--dask needs the optional Dask dependency; install it with "
            "`pip install 'sklearn-bsym[dask]'`."
        ) from exc
    if address == "local":
        n = n_workers if n_workers and n_workers > 0 else (os.cpu_count() or 1)
        # Workers started while SIGINT is ignored keep ignoring it: a terminal's Ctrl-C then
        # reaches this process only, which stops the study and closes the cluster, instead of
        # every worker printing its own traceback.
        # Dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536, which also pins glibc's
        # mmap threshold at 128 KiB: every tensor of a network's batch is then mapped and
        # unmapped afresh, and a hybrid's predict_proba ran 3-4 times slower in a worker than
        # in this process (benchmarks/score_parallel.py). The workers keep glibc's defaults.
        import dask

        with _sigint_ignored(), dask.config.set(
                {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=processes,
                # A free port of this machine's loopback: None still takes 8787 for the HTTP
                # server, and fails (or warns) wherever anything else listens there.
                dashboard_address="127.0.0.1:0",
                # Workers log only what stops them: a fit's error reaches the study through its
                # future, and a worker whose heartbeat races the scheduler's close after a
                # Ctrl-C logs the lost connection with a traceback at ERROR level.
                silence_logs=logging.CRITICAL,
            )
        client = Client(cluster)
    else:
        cluster = None
        try:
            client = Client(address, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConnectionError(
                f"Cannot reach the Dask scheduler at {address} within {timeout:g} s "
                f"({type(exc).__name__}); check the address and that "
                "the scheduler runs, or use --dask local."
            ) from None
    try:
        with parallel_config(backend="dask"):
            yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def _sigint_ignored():
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_tasks(
    func: Callable[..., dict[str, Any]],
    tasks: Sequence[tuple[str | tuple[str, ...], tuple]],
    store: ResultStore,
    *,
    n_jobs: int | None = None,
    dask: str | None = None,
    dask_processes: bool = True,
    progress: bool = False,
    on_done: Callable[[str], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    on_parallel: Callable[[int], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Results of ``func(*args)`` for every ``(key, args)`` in ``tasks``, resuming from ``store``.

    Fits already in ``store`` are read back (corrupt ones are warned about and redone); the rest
    run through ``joblib.Parallel(n_jobs)`` (or on Dask, see :func:`dask_backend`) and each is
    saved as soon as it finishes, so an interruption loses only the fits in flight.

    A task may also stand for several fits trained together (an ensemble): its key is then a
    tuple of keys and ``func(*args)`` returns ``{key: payload}`` for each of them. Such a task
    runs when any of its keys is missing (or corrupt) in ``store``; its payloads are saved
    under their own keys, except those already stored, which are kept as they are.

    Parameters
    ----------
    func : callable
        Picklable task function (a module-level function) returning a JSON-serializable dict
        (for a task with a tuple of keys: a dict of such dicts, one per key).
    tasks : sequence of (key, args)
        Unique keys (file names of the stored fits), or tuples of them, and the arguments of
        each call.
    store : ResultStore
    n_jobs : int, optional
        joblib's ``n_jobs`` for local runs (None = serial); the number of local Dask workers.
    dask : str, optional
        ``"local"`` or a scheduler address; see :func:`dask_backend`.
    dask_processes : bool, default=True
        Local Dask workers as processes; False runs them as threads (quick tests).
    progress : bool, default=False
        Show a tqdm progress bar over the fits that need running.
    on_done : callable, optional
        Called with the key of each fit that was run and saved (not loaded).
    on_plan : callable, optional
        Called once, before anything runs (after the store is found writable), with (fits
        reused from the store, fits to run).
    on_parallel : callable, optional
        Called with the number of tasks that run at once, once the backend is up (on Dask:
        the cluster's worker threads).

    Returns
    -------
    dict
        Key -> payload for every single key, in the order of ``tasks``.

    Raises
    ------
    TasksInterrupted
        On Ctrl-C, or when a task raises :class:`TaskInterruptedError`; what finished is stored.
    TasksWriteError
        When a result cannot be written; what was written before stays stored.
    """
    keys = [key for task_key, _ in tasks for key in _keys_of(task_key)]
    if len(set(keys)) != len(keys):
        raise ValueError("Task keys must be unique; two fits would share one result file.")
    results: dict[str, dict[str, Any]] = {}
    todo = []
    for task_key, args in tasks:
        missing = False
        for key in _keys_of(task_key):
            payload = store.load(key)
            if payload is None:
                missing = True
            else:
                results[key] = payload
        if missing:
            todo.append((task_key, args))
    if todo:
        store.check_writable()
    if on_plan is not None:
        on_plan(len(results), len(keys) - len(results))
    if todo:
        options = (n_jobs, dask, dask_processes, progress, on_done, on_parallel)
        try:
            _run_claimed(func, todo, store, results, *options)
        except (KeyboardInterrupt, TaskInterruptedError, StoreWriteError) as exc:
            # Counted in the store: another run on the folder may have stored fits too.
            n_stored = store.count(keys)
            if isinstance(exc, StoreWriteError):
                raise TasksWriteError(str(exc), n_stored, len(keys) - n_stored) from None
            raise TasksInterrupted(n_stored, len(keys) - n_stored) from None
    return {key: results[key] for key in keys}


def _run_claimed(func, todo, store, results, n_jobs, dask, dask_processes, progress, on_done,
                 on_parallel):
    """Run ``todo``: first every task no other process holds, then (waiting for their locks)
    those another process held, unless it stored them meanwhile."""
    held: dict[Any, list] = {}
    total = sum(len(_keys_of(task_key)) for task_key, _ in todo)
    try:
        with _progress_bar(total, progress) as bar:
            pending, blocking = todo, False
            while pending:
                deferred: list = []
                claimed = _claim(pending, store, results, held, deferred, blocking, bar)
                # closing: a failure in this loop (a write, Ctrl-C) closes the stream at once,
                # which stops joblib dispatching and ends its workers before anything else
                # runs; left open, its result thread kept submitting while the workers were
                # shut down, and the two waited on each other forever.
                with contextlib.closing(
                    _run(func, claimed, n_jobs, dask, dask_processes, on_parallel)
                ) as stream:
                    for task_key, payload in stream:
                        for key, one in _payloads_of(task_key, payload):
                            if key not in results:
                                store.save(key, one)
                                results[key] = one
                                if on_done is not None:
                                    on_done(key)
                        release(held.pop(task_key, []))
                        bar.update(len(_keys_of(task_key)))
                pending, blocking = deferred, True
    finally:
        for locks in held.values():
            release(locks)
        store.remove_lock_folder()


def _claim(pending, store, results, held, deferred, blocking, bar) -> Iterator[tuple]:
    """The tasks of ``pending`` this process takes, locked; joblib pulls them lazily, so two
    processes on one store interleave. Tasks held elsewhere go to ``deferred`` (or, when
    ``blocking``, are waited for); tasks stored meanwhile are read back instead."""
    for task_key, args in pending:
        taken = []
        for key in _keys_of(task_key):
            lock = store.acquire(key, blocking=blocking)
            if lock is None:
                break
            taken.append(lock)
        if len(taken) < len(_keys_of(task_key)):
            release(taken)
            deferred.append((task_key, args))
            continue
        missing = False
        for key in _keys_of(task_key):
            if key not in results:
                payload = store.load(key)
                if payload is None:
                    missing = True
                else:
                    results[key] = payload
        if not missing:
            release(taken)
            bar.update(len(_keys_of(task_key)))
            continue
        held[task_key] = taken
        yield task_key, args


@contextlib.contextmanager
def _progress_bar(total: int, progress: bool):
    from tqdm.auto import tqdm

    with tqdm(total=total, desc="fits", unit="fit", disable=not progress) as bar:
        try:
            yield bar
        except BaseException:
            # Stopped (Ctrl-C, a failed write): erase the bar instead of drawing it once more, so
            # the line that says what is stored starts on a clean line.
            bar.leave = False
            raise


def _keys_of(task_key: str | tuple[str, ...]) -> tuple[str, ...]:
    return task_key if isinstance(task_key, tuple) else (task_key,)


def _payloads_of(task_key, payload) -> list[tuple[str, dict[str, Any]]]:
    """The (key, payload) pairs of one finished task."""
    if not isinstance(task_key, tuple):
        return [(task_key, payload)]
    if not isinstance(payload, dict) or set(payload) != set(task_key):
        got = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(
            f"A task with keys {list(task_key)} must return a dict with exactly these keys, "
            f"got {got}; return {{key: payload}} for each of its fits."
        )
    return [(key, payload[key]) for key in task_key]


_WATCHED = False


def _watch_parent(parent: int) -> None:
    """In a local worker process: exit within a second or two once ``parent`` (the process
    running the study) is gone, e.g. killed by SIGKILL, instead of finishing orphaned fits."""
    global _WATCHED
    if _WATCHED or os.getpid() == parent or os.getppid() != parent:
        return  # the study's own process, or not its direct child (Dask nannies watch theirs)
    _WATCHED = True

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="sklearn-bsym-parent-watch", daemon=True).start()


def _keyed(func, key, args, parent):
    _watch_parent(parent)
    return key, func(*args)


def _run(func, claimed, n_jobs, dask, dask_processes, on_parallel) -> Iterator[tuple[Any, dict]]:
    parent = os.getpid()
    with dask_backend(dask, n_workers=n_jobs, processes=dask_processes) as client:
        if client is not None:
            yield from _run_on_dask(client, func, claimed, parent, on_parallel)
            return
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        if on_parallel is not None:
            on_parallel(effective_n_jobs(n_jobs))
        stream = parallel(delayed(_keyed)(func, key, args, parent) for key, args in claimed)
        try:
            # Not ``yield from``: that would close the stream (joblib's abort) before this
            # ``finally`` could silence joblib's advice about the fits it cancels, which the
            # run's own stop message covers.
            for result in stream:  # noqa: UP028 (see above)
                yield result
        finally:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*still being processed by the "
                                        "workers have been cancelled")
                stream.close()


def _run_on_dask(client, func, claimed, parent, on_parallel) -> Iterator[tuple[Any, dict]]:
    """Submit the tasks of ``claimed`` to the cluster's workers, one per worker thread at a
    time (so that tasks are claimed as they start, as with joblib), in order of completion."""
    from distributed import as_completed

    client.wait_for_workers(1, timeout=DASK_CONNECT_TIMEOUT * 12)
    slots = max(1, sum(client.nthreads().values()))
    if on_parallel is not None:
        on_parallel(slots)
    tasks = iter(claimed)
    running = as_completed()

    def submit_next() -> None:
        for key, args in tasks:
            running.add(client.submit(_keyed, func, key, args, parent, pure=False))
            return

    for _ in range(slots):
        submit_next()
    try:
        for future in running:
            result = future.result()
            submit_next()
            yield result
    finally:
        client.cancel(list(running.futures))
