"""Inference: ``predict_proba`` on many events against a bare forward of the same module.

For each classifier (default widths, briefly fitted), ``predict_proba`` on ``--events`` events
is timed and its peak memory measured, against the bare module under ``torch.inference_mode``
at its best batch size (of ``--batches``). Each measurement runs in a fresh subprocess, so the
peak resident memory it reports (the peak resident size, VmHWM, restarted just before the call,
above the resident size then) belongs to that call alone. Repeats alternate the two ways; the
fastest of each is kept.

    python benchmarks/inference_speed.py                  # 1,000,000 events, 2 threads
    python benchmarks/inference_speed.py --quick          # tiny check that it runs

Prints a table and writes JSON (``--output``), with the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.studies import MODEL_TABLE, NETWORKS

#: The networks of the study's model table, name -> a factory of the estimator with its defaults.
CLASSIFIERS = {name: MODEL_TABLE[name].make for name in NETWORKS}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> None:
    """Restart this process's peak resident size (VmHWM) at its current size. ``ru_maxrss``
    cannot be reset, and a child started by ``subprocess`` inherits the parent's peak in it,
    so a parent that generated many events would be measured instead of the call."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_bytes() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


def _measure(args) -> dict:
    """One measurement, in this (fresh) process."""
    torch.set_num_threads(args.threads)
    with open(args.model, "rb") as f:
        clf = pickle.load(f)
    X = np.load(args.data)
    if args.mode == "predict":
        clf.predict_proba(X[:1000])  # one-off set-up (threads, allocator) is not the subject
        _reset_peak()
        before = _rss_bytes()
        tic = time.perf_counter()
        out = clf.predict_proba(X)
        seconds = time.perf_counter() - tic
        out_bytes = out.nbytes
    else:
        module = clf.module_.eval()
        xt = torch.as_tensor(X, dtype=torch.float32)
        with torch.inference_mode():
            module(xt[:1000])
        _reset_peak()
        before = _rss_bytes()
        tic = time.perf_counter()
        with torch.inference_mode():
            out = torch.cat([torch.sigmoid(module(xt[lo:lo + args.batch]))
                             for lo in range(0, len(xt), args.batch)])
        seconds = time.perf_counter() - tic
        out_bytes = out.numel() * out.element_size()
    peak = _peak_bytes()
    return {"seconds": seconds, "peak_extra_bytes": max(0, peak - before),
            "input_bytes": X.nbytes, "output_bytes": out_bytes}


def _run(model, data, mode, batch, threads) -> dict:
    cmd = [sys.executable, __file__, "--one", "--model", model, "--data", data, "--mode", mode,
           "--batch", str(batch), "--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batches", type=int, nargs="+", default=[8192, 65536, 262144])
    parser.add_argument("--classifiers", default="pfn,invariant,hybrid")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that it runs")
    parser.add_argument("--output", default=None, help="JSON results file")
    # internal: one measurement in a subprocess
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=8192, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(_measure(args)))
        return
    if args.quick:
        args.events, args.repeats, args.batches = 20_000, 1, [4096, 16384]
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    X, _ = make_dimuon_events(args.events, random_state=0)
    X_fit, y_fit = make_dimuon_events(2000, random_state=1)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "X.npy")
        np.save(data, X)
        for name in args.classifiers.split(","):
            clf = CLASSIFIERS[name](max_epochs=1, batch_size=256, random_state=0).fit(X_fit, y_fit)
            model = os.path.join(tmp, f"{name}.pkl")
            with open(model, "wb") as f:
                pickle.dump(clf, f)
            best_predict, best_bare = None, {}
            for _ in range(args.repeats):
                r = _run(model, data, "predict", 0, args.threads)
                if best_predict is None or r["seconds"] < best_predict["seconds"]:
                    best_predict = r
                for batch in args.batches:
                    r = _run(model, data, "bare", batch, args.threads)
                    if batch not in best_bare or r["seconds"] < best_bare[batch]["seconds"]:
                        best_bare[batch] = r
            batch = min(best_bare, key=lambda b: best_bare[b]["seconds"])
            bare = best_bare[batch]
            io = best_predict["input_bytes"] + best_predict["output_bytes"]
            row = {
                "classifier": name, "events": args.events, "threads": args.threads,
                "predict_s": best_predict["seconds"], "bare_s": bare["seconds"],
                "bare_best_batch": batch, "time_ratio": best_predict["seconds"] / bare["seconds"],
                "predict_peak_extra_mb": best_predict["peak_extra_bytes"] / 2**20,
                "input_plus_output_mb": io / 2**20,
                "memory_ratio": best_predict["peak_extra_bytes"] / io,
                "bare_s_by_batch": {b: r["seconds"] for b, r in best_bare.items()},
            }
            results.append(row)
            print(f"{name:9s}: predict_proba {row['predict_s']:.2f} s, bare forward "
                  f"{row['bare_s']:.2f} s at batch {batch} -> {row['time_ratio']:.2f}x; peak "
                  f"+{row['predict_peak_extra_mb']:.0f} MB for {row['input_plus_output_mb']:.0f}"
                  f" MB in+out ({row['memory_ratio']:.2f}x)", flush=True)
    load_after = os.getloadavg()
    print(f"load average before {load_before}, after {load_after}")
    if args.output:
        with open(args.output, "w") as f:
            json.dump({"results": results, "load_before": load_before,
                       "load_after": load_after, "cpus": os.cpu_count()}, f, indent=1)
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
