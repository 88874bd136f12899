"""Run independent fits through joblib, locally or on Dask, and store each one as it finishes.

A task is a pure function of its arguments, so the result of a fit does not depend on which
backend ran it or in what order. Finished fits are written by the calling process (not by the
workers), which keeps a remote Dask cluster without access to the output folder usable.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from joblib import Parallel, delayed, parallel_config

from ._store import ResultStore

__all__ = ["run_tasks", "dask_backend"]


@contextlib.contextmanager
def dask_backend(address: str | None, *, n_workers: int | None = None, processes: bool = True):
    """Context in which joblib calls run on Dask.

    Parameters
    ----------
    address : str or None
        None: no Dask (the context does nothing). ``"local"``: start a ``LocalCluster`` on this
        machine with ``n_workers`` single-threaded workers (all CPU cores when None). Anything else:
        the address of a running scheduler, such as ``"tcp://10.0.0.5:8786"``.
    n_workers : int, optional
        Workers of a local cluster.
    processes : bool, default=True
        Local cluster workers as processes (True) or threads in this process (False, for tests).
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
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
        )
        client = Client(cluster)
    else:
        cluster = None
        client = Client(address)
    try:
        with parallel_config(backend="dask"):
            yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


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

    Returns
    -------
    dict
        Key -> payload for every single key, in the order of ``tasks``.
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
        total = sum(len(_keys_of(task_key)) for task_key, _ in todo)
        for task_key, payload in _run(func, todo, n_jobs, dask, dask_processes, progress, total):
            for key, one in _payloads_of(task_key, payload):
                if key in results:
                    continue
                store.save(key, one)
                results[key] = one
                if on_done is not None:
                    on_done(key)
    return {key: results[key] for key in keys}


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


def _keyed(func, key, args):
    return key, func(*args)


def _run(func, todo, n_jobs, dask, dask_processes, progress, total) -> Iterator[tuple[Any, dict]]:
    from tqdm.auto import tqdm

    with dask_backend(dask, n_workers=n_jobs, processes=dask_processes):
        # A Dask cluster sizes itself; joblib's n_jobs=-1 means "all of its workers".
        parallel = Parallel(
            n_jobs=-1 if dask is not None else n_jobs,
            return_as="generator_unordered",
        )
        stream = parallel(delayed(_keyed)(func, key, args) for key, args in todo)
        with tqdm(total=total, desc="fits", unit="fit", disable=not progress) as bar:
            for key, payload in stream:
                bar.update(len(_keys_of(key)))
                yield key, payload
