"""Scoring many files: serially, on joblib's workers (``--n-jobs 2``) and on a local Dask
cluster (``--dask local --n-jobs 2``), measured (issue 32).

A default hybrid (the fast preset on 20,000 generated events, pT-reweighted, as ``fit`` makes
it) scores a dataset of several files through the command line, ``python -m sklearn_bsym
score``, in a fresh process per run:

- parquet: ``--files`` files of ``--events`` generated events each (the layout of
  ``save_events``), into one output in the inputs' order;
- NanoAOD-style ROOT: the same events as jagged ``Muon_*`` collections, with an extra muon in
  a third of the events, scored with ``--pair closest``, one output per input
  (``{stem}_scores.root``).

Each configuration runs ``--repeats`` times; the table gives the median wall time of the whole
command (interpreter start, model load, worker start-up and scoring), the events per second
that makes, the median peak resident memory of the command's process tree (the parent and its
workers together, sampled every 20 ms) and the machine's load average during the runs; the
scores of every run are compared with the serial run's (bit for bit). The same command on the
same number of files of 1,000 events each gives its fixed cost (start-up); the events per
second after it, ``(events - small events) / (wall - small wall)``, is the per-event cost that
a larger dataset pays.

    python benchmarks/score_parallel.py              # 8 files x 250,000 events (a few minutes)
    python benchmarks/score_parallel.py --quick      # 4 files x 5,000 events: check that it runs

Writes ``benchmarks/results/score_parallel.json`` and ``score_parallel.md`` (not with
``--quick``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
#: Events per file of the runs that measure each configuration's fixed cost.
SMALL = 1_000
CONFIGS = {"serial": [], "--n-jobs 2": ["--n-jobs", "2"],
           "--dask local --n-jobs 2": ["--dask", "local", "--n-jobs", "2"]}


def _model(folder: Path) -> Path:
    from sklearn_bsym.datasets import make_dimuon_events
    from sklearn_bsym.deploy import measure_support, save_model
    from sklearn_bsym.nn import HybridClassifier
    from sklearn_bsym.preprocessing import MomentumSmearer, PtReweightedClassifier

    X, y = make_dimuon_events(20_000, random_state=0)
    X = MomentumSmearer(0.10, random_state=1).fit_transform(X)
    model = PtReweightedClassifier(HybridClassifier(random_state=0)).fit(X, y)
    return save_model(model, folder / "hybrid.skops",
                      metadata={"support": measure_support(X), "lepton": "mu"})


def _inputs(folder: Path, n_files: int, n_events: int) -> dict[str, list[Path]]:
    """The parquet files and the NanoAOD-style ROOT files of the same events."""
    import awkward as ak
    import uproot

    from sklearn_bsym import events, kinematics
    from sklearn_bsym.datasets import make_dimuon_events, save_events
    from sklearn_bsym.preprocessing import MomentumSmearer

    paths: dict[str, list[Path]] = {"parquet": [], "root": []}
    for i in range(n_files):
        X, _ = make_dimuon_events(n_events, random_state=100 + i)
        X = MomentumSmearer(0.10, random_state=200 + i).fit_transform(X)
        paths["parquet"].append(folder / f"run{i}.parquet")
        save_events(paths["parquet"][-1], X)
        p = events.to_particles(X)
        rng = np.random.default_rng(300 + i)
        extra = rng.random(n_events) < 1 / 3  # a third muon: pile-up, heavy flavour
        counts = 2 + extra
        cols = {"pt": kinematics.pt(p), "eta": kinematics.eta(p), "phi": kinematics.phi(p),
                "charge": np.tile([1, -1], (n_events, 1)).astype(np.float64)}
        third = {"pt": rng.uniform(3, 20, n_events), "eta": rng.uniform(-2.4, 2.4, n_events),
                 "phi": rng.uniform(-np.pi, np.pi, n_events),
                 "charge": rng.choice([-1.0, 1.0], n_events)}
        branches = {}
        for key in cols:
            full = np.column_stack([cols[key], third[key]])
            flat = full[np.arange(3) < counts[:, None]]
            dtype = np.int32 if key == "charge" else np.float32
            branches[f"Muon_{key}"] = ak.unflatten(flat.astype(dtype), counts)
        branches["Muon_mass"] = ak.unflatten(np.full(counts.sum(), 0.10566, np.float32),
                                             counts)
        paths["root"].append(folder / f"nano{i}.root")
        with uproot.recreate(paths["root"][-1]) as file:
            file.mktree("Events", {k: v.type for k, v in branches.items()}).extend(branches)
    return paths


def _run(argv: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak MB of the process tree, output) of ``python -m sklearn_bsym
    ARGV``."""
    import psutil

    tic = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "sklearn_bsym", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    parent = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        total = 0
        try:
            for p in [parent, *parent.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(0.02)
    wall = time.perf_counter() - tic
    out = proc.stdout.read()
    if proc.returncode:
        raise RuntimeError(f"score {' '.join(argv)} failed:\n{out}")
    return wall, peak / 2**20, out


def _scores(paths: list[Path]) -> np.ndarray:
    import pandas as pd
    import uproot

    parts = []
    for path in paths:
        if path.suffix == ".root":
            with uproot.open(path) as file:
                parts.append(file["scores"]["score"].array(library="np"))
        else:
            parts.append(pd.read_parquet(path)["score"].to_numpy())
    return np.concatenate(parts)


def measure(folder: Path, n_files: int, n_events: int, repeats: int) -> dict:
    model = _model(folder)
    paths = _inputs(folder, n_files, n_events)
    tiny = folder / "small"
    tiny.mkdir()
    small = _inputs(tiny, n_files, SMALL)
    rows = []
    for kind, inputs in paths.items():
        options = (["--output", str(folder / "scores.parquet")] if kind == "parquet" else
                   ["--output", str(folder / "{stem}_scores.root"), "--pair", "closest",
                    "--tree", "Events"])
        # (The small files write to the same outputs: only their time is kept.)
        outputs = ([folder / "scores.parquet"] if kind == "parquet" else
                   [folder / f"{p.stem}_scores.root" for p in inputs])
        reference = None
        for name, extra in CONFIGS.items():
            runs = {"small": [], "full": []}
            for _ in range(repeats):
                for size in runs:
                    files = small[kind] if size == "small" else inputs
                    before = os.getloadavg()[0]
                    wall, peak, out = _run(["score", str(model), *map(str, files), *options,
                                            "--no-progress", *extra])
                    runs[size].append((wall, peak, (before + os.getloadavg()[0]) / 2))
                    if size == "full":
                        scores = _scores(outputs)
                        if reference is None:
                            reference = scores
                        if not np.array_equal(scores, reference, equal_nan=True):
                            raise RuntimeError(f"{kind} {name}: the scores differ from the "
                                               "serial run's")
                        scored = next(line for line in out.splitlines()
                                      if line.startswith("Scored"))
            wall = statistics.median(w for w, _, _ in runs["full"])
            fixed = statistics.median(w for w, _, _ in runs["small"])
            events, few = n_files * n_events, n_files * SMALL
            row = {"format": kind, "config": name, "files": n_files, "events": events,
                   "wall_s": wall, "walls_s": [w for w, _, _ in runs["full"]],
                   "events_per_s": events / wall, "fixed_s": fixed,
                   "fixed_walls_s": [w for w, _, _ in runs["small"]],
                   "events_per_s_after_start": (events - few) / max(wall - fixed, 1e-9),
                   "peak_mb": statistics.median(p for _, p, _ in runs["full"]),
                   "load": statistics.median(ld for *_, ld in runs["full"] + runs["small"]),
                   "same_as_serial": True, "scored": scored}
            rows.append(row)
            print(f"{kind:8s} {name:24s} {wall:6.1f} s  {row['events_per_s']:>9,.0f} ev/s  "
                  f"start {fixed:5.1f} s  after start {row['events_per_s_after_start']:>9,.0f} "
                  f"ev/s  peak {row['peak_mb']:5.0f} MB  load {row['load']:.1f}", flush=True)
    return {"rows": rows, "model": "PtReweightedClassifier(HybridClassifier()) fitted on "
            "20,000 smeared generated events (the fast preset)"}


def _markdown(r: dict) -> str:
    lines = [
        "# Scoring many files in parallel (benchmarks/score_parallel.py)", "",
        f"Machine: {r['machine']}. Model: {r['model']}. Median of {r['repeats']} runs of the "
        "whole command `python -m sklearn_bsym score` in a fresh process (interpreter start, "
        "model load, worker start-up, reading, scoring, writing); peak memory of the process "
        "tree (parent and workers together); load: the 1-minute load average during the runs "
        "(2 cores; other work shares the machine). Fixed cost: the same command on as many files "
        f"of {SMALL:,} events; events/s after it: (events - those) / (wall - fixed cost), the "
        "per-event cost a larger dataset pays. Every run's scores equal the serial run's bit "
        "for bit.", "",
        "| input | configuration | files x events | wall (s) | events/s | fixed cost (s) | "
        "events/s after it | peak memory (MB) | load |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in r["rows"]:
        what = ("parquet, one output" if row["format"] == "parquet"
                else "NanoAOD ROOT, extra muons, --pair closest, one output per input")
        lines.append(f"| {what} | {row['config']} | {row['files']} x "
                     f"{row['events'] // row['files']:,} | {row['wall_s']:.1f} | "
                     f"{row['events_per_s']:,.0f} | {row['fixed_s']:.1f} | "
                     f"{row['events_per_s_after_start']:,.0f} | {row['peak_mb']:.0f} | "
                     f"{row['load']:.1f} |")
    lines += ["", "Scored (last run of each input):", ""]
    for row in r["rows"]:
        if row["config"] == "serial":
            lines.append(f"- {row['format']}: {row['scored']}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--events", type=int, default=250_000, help="events per file")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true",
                        help="4 files of 5,000 events, one run each: check that it runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.events, args.repeats = 4, 5_000, 1
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(Path(tmp), args.files, args.events, args.repeats)
    result.update(machine=f"{platform.machine()}, {os.cpu_count()} cores, Python "
                  f"{platform.python_version()}", repeats=args.repeats)
    if args.quick:
        return
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "score_parallel.json").write_text(json.dumps(result, indent=1))
    (RESULTS / "score_parallel.md").write_text(_markdown(result))
    print(f"Wrote {RESULTS / 'score_parallel.md'}")


if __name__ == "__main__":
    main()
