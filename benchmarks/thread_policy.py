"""The estimators' thread policy (``n_threads``), timed quiet and beside a busy process.

    python benchmarks/thread_policy.py                 # ~2-5 minutes on 2 cores
    python benchmarks/thread_policy.py --repeats 5 --busy 2

A default ``HybridClassifier`` is fitted on 20,000 generated events for 4 epochs and then
predicts 100,000 events, with torch's default threads (``n_threads=None``: one per core) and
with the policy (the default ``n_threads``), first on the machine as it is ("quiet"), then
beside ``--busy`` processes that each burn one core ("loaded"), as a user's other work or
another job would. Each time is the median of ``--repeats`` runs; the settings alternate
within a repeat, so drift of the machine's load hits both alike. The table also gives the AUC
of each setting's fit on the predicted events: the thread count changes the float32 summation
order, so the two fits differ as two seeds do, not in quality.

Results: ``benchmarks/results/thread_policy.json`` and ``.md``. Timings depend on what else
runs on the machine: record it (the load average is saved) and compare settings only within
one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from sklearn_bsym._threads import DEFAULT_THREADS
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.nn import HybridClassifier

BURN = "while True:\n    pass\n"


def _busy(n: int) -> list[subprocess.Popen]:
    """``n`` processes that each keep one core busy until they are ended."""
    procs = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(n)]
    time.sleep(1.0)  # let them reach full speed
    return procs


def _timed(setting, X, y, X_predict, epochs: int):
    clf = HybridClassifier(max_epochs=epochs, random_state=0, n_threads=setting)
    start = time.perf_counter()
    clf.fit(X, y)
    fit = time.perf_counter() - start
    start = time.perf_counter()
    proba = clf.predict_proba(X_predict)[:, 1]
    return fit, time.perf_counter() - start, proba


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-events", type=int, default=20_000)
    parser.add_argument("--n-predict", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", type=int, default=1, help="busy processes when loaded")
    parser.add_argument("--output", default="benchmarks/results/thread_policy.json")
    args = parser.parse_args(argv)

    X, y = make_dimuon_events(args.n_events, random_state=0)
    X_predict, y_predict = make_dimuon_events(args.n_predict, random_state=1)
    default_threads = torch.get_num_threads()
    settings = {f"torch default ({default_threads} threads)": None,
                f"policy (n_threads={DEFAULT_THREADS})": DEFAULT_THREADS}
    rows = []
    for condition in ("quiet", "loaded"):
        procs = _busy(args.busy) if condition == "loaded" else []
        try:
            times = {name: {"fit": [], "predict": []} for name in settings}
            aucs = {name: [] for name in settings}
            load = os.getloadavg()[0]
            for _ in range(args.repeats):
                for name, setting in settings.items():
                    fit, predict, proba = _timed(setting, X, y, X_predict, args.epochs)
                    aucs[name].append(roc_auc_score(y_predict, proba))
                    times[name]["fit"].append(fit)
                    times[name]["predict"].append(predict)
                    print(f"{condition:6s} {name}: fit {fit:.2f} s, predict {predict:.3f} s",
                          flush=True)
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
        for name in settings:
            rows.append({
                "condition": condition,
                "setting": name,
                "n_threads": settings[name],
                "fit_s": round(statistics.median(times[name]["fit"]), 3),
                "predict_s": round(statistics.median(times[name]["predict"]), 3),
                "fit_runs_s": [round(t, 3) for t in times[name]["fit"]],
                "predict_runs_s": [round(t, 3) for t in times[name]["predict"]],
                "auc": round(float(np.median(aucs[name])), 4),
                "load_average_1min_at_start": round(load, 2),
            })
    assert torch.get_num_threads() == default_threads, "a limit leaked out of a call"

    lines = [
        f"HybridClassifier (defaults), fit on {args.n_events:,} events for {args.epochs} "
        f"epochs, predict {args.n_predict:,} events; median of {args.repeats}; loaded = beside "
        f"{args.busy} busy process(es); {os.cpu_count()} cores.",
        "",
        "| condition | setting | fit (s) | predict (s) | AUC | load avg |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(f"| {r['condition']} | {r['setting']} | {r['fit_s']:.2f} | "
                     f"{r['predict_s']:.3f} | {r['auc']:.4f} | "
                     f"{r['load_average_1min_at_start']} |")
    table = "\n".join(lines)
    print("\n" + table)
    record = {
        "config": vars(args),
        "cores": os.cpu_count(),
        "torch_default_threads": default_threads,
        "policy_n_threads": DEFAULT_THREADS,
        "machine": platform.platform(),
        "torch": torch.__version__,
        "rows": rows,
    }
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    path.with_suffix(".md").write_text(table + "\n")
    print(f"written to {path} and {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
