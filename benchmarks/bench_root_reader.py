"""Speed (events/s) and peak memory of the ROOT reader, load_root, on real and synthetic files.

Real files: the four of ``<shared>/data/root`` (the largest is the CMS NanoAOD TTree, 200 events,
947 branches). Synthetic: a NanoAOD-style TTree written here with uproot (``--synthetic`` events,
0-4 muons each, float32 ``Muon_pt/eta/phi/mass`` and int32 ``Muon_charge``) to show that memory
stays bounded by the chunk size (``step_size``) on a large file. Peak memory is tracemalloc's
(numpy and awkward buffers are traced). Prints a table and writes CSV with ``--out``.

    python benchmarks/bench_root_reader.py --out benchmarks/results/root_reader.csv
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import awkward as ak
import numpy as np
import pandas as pd
import uproot

from sklearn_bsym.datasets import load_root

_DEFAULT_SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
ZMUMU = [{"px": f"px{i}", "py": f"py{i}", "pz": f"pz{i}", "E": f"E{i}", "charge": f"Q{i}"}
         for i in (1, 2)]


def _write_synthetic(path: Path, n_events: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 5, n_events)
    n = int(counts.sum())
    branches = {
        "Muon_pt": rng.exponential(30.0, n).astype(np.float32) + 5,
        "Muon_eta": rng.uniform(-2.4, 2.4, n).astype(np.float32),
        "Muon_phi": rng.uniform(-np.pi, np.pi, n).astype(np.float32),
        "Muon_mass": np.full(n, 0.10566, np.float32),
        "Muon_charge": rng.choice(np.array([-1, 1], np.int32), n),
    }
    jagged = {k: ak.unflatten(v, counts) for k, v in branches.items()}
    with uproot.recreate(path) as file:
        tree = file.mktree("Events", {k: v.type for k, v in jagged.items()})
        step = 1_000_000
        for start in range(0, n_events, step):
            tree.extend({k: v[start:start + step] for k, v in jagged.items()})


def _measure(name, path, repeat, **kwargs):
    best, peak = np.inf, 0
    for _ in range(repeat):
        tracemalloc.start()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # skipped events are expected
            try:
                X, info = load_root(path, return_info=True, **kwargs)
            except ValueError as exc:
                tracemalloc.stop()
                # The file's name, not this machine's path to it (results are committed).
                return {"file": name, "error": str(exc).replace(str(path), Path(path).name)[:80]}
        best = min(best, time.perf_counter() - start)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return {
        "file": name,
        "options": ", ".join(f"{k}={v}" for k, v in kwargs.items() if k != "columns")
        + (", columns" if "columns" in kwargs else ""),
        "events_read": info["n_events_read"],
        "selected": info["n_selected"],
        "seconds": round(best, 4),
        "events_per_s": round(info["n_events_read"] / best),
        "peak_MiB": round(peak / 2**20, 1),
        "file_MiB": round(path.stat().st_size / 2**20, 2),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(
        os.environ.get("SKLEARN_BSYM_SHARED", _DEFAULT_SHARED)))
    parser.add_argument("--synthetic", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    rows = []
    root = args.shared / "data" / "root"
    if root.is_dir():
        rows.append(_measure("uproot-Zmumu.root", root / "uproot-Zmumu.root", args.repeat,
                             columns=ZMUMU))
        rows.append(_measure("uproot-HZZ.root", root / "uproot-HZZ.root", args.repeat))
        for lepton in ("mu", "e"):
            rows.append(_measure("nanoAOD_2015_CMS_Open_Data_ttbar.root",
                                 root / "nanoAOD_2015_CMS_Open_Data_ttbar.root", args.repeat,
                                 lepton=lepton, pair="leading"))
        rows.append(_measure(
            "NanoAOD RNTuple", root / ("cmsopendata2015_ttbar_19980_NANOAOD_RNTupleImporter_"
                                       "rntuple_v1-0-0-1.root"), args.repeat))
    else:
        print(f"(no shared ROOT files at {root}: synthetic file only)")
    if args.synthetic:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "synthetic_nano.root"
            _write_synthetic(path, args.synthetic)
            for step in ("10 MB", "100 MB"):
                rows.append(_measure(f"synthetic NanoAOD {args.synthetic:,}", path, 1,
                                     step_size=step))
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
