"""Time and peak memory of each preprocessing transformer on many two-muon events.

For each step: wall time (best of ``--repeat`` runs) and the peak memory it allocates on top of
its input (tracemalloc, which sees numpy's buffers; measured in a separate run so that tracing
does not slow the timed runs), as a multiple of the input array's size. The goal on a 2-core
machine: under 1 s per 1,000,000 events and a peak under 3x the input. Events are random
massless muon pairs (pT, eta, phi drawn directly, much faster than the physics generator);
the cost of these transformers does not depend on the distribution. Writes the table as CSV
with ``--out``.

    python benchmarks/transformers.py --n-events 10000        # quick check
    python benchmarks/transformers.py                         # 1,000,000 events
    python benchmarks/transformers.py --n-events 10000000     # 10,000,000 (needs ~6 GB)
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from sklearn_bsym.preprocessing import (
    DimuonFeatures,
    MinkowskiInvariants,
    MomentumSmearer,
    PtReweighter,
)


def random_events(n: int, dtype, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` events of two massless muons (pT 10-200 GeV, |eta| < 2.5), labels 50/50."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, 8), dtype=dtype)
    for i in range(2):
        pt = 10.0 + rng.exponential(30.0, n)
        eta = rng.uniform(-2.5, 2.5, n)
        phi = rng.uniform(-np.pi, np.pi, n)
        X[:, 4 * i] = pt * np.cos(phi)
        X[:, 4 * i + 1] = pt * np.sin(phi)
        X[:, 4 * i + 2] = pt * np.sinh(eta)
        X[:, 4 * i + 3] = pt * np.cosh(eta)
    return X, rng.integers(0, 2, n)


def steps(X: np.ndarray, y: np.ndarray) -> dict:
    """What is measured: the transform of a fitted transformer (fit is validation only), and
    for the reweighter its fit plus the weights (the pT histograms are its work)."""
    smear_t = MomentumSmearer(0.10, random_state=0).fit(X[:10])
    smear_m = MomentumSmearer(0.10, mode="momentum", random_state=0).fit(X[:10])
    invariants = MinkowskiInvariants().fit(X[:10])
    dimuon = DimuonFeatures().fit(X[:10])
    return {
        "MomentumSmearer.transform (transverse)": lambda: smear_t.transform(X),
        "MomentumSmearer.transform (momentum)": lambda: smear_m.transform(X),
        "MinkowskiInvariants.transform": lambda: invariants.transform(X),
        "DimuonFeatures.transform": lambda: dimuon.transform(X),
        "PtReweighter.fit + compute_sample_weight": lambda: PtReweighter()
        .fit(X, y)
        .compute_sample_weight(X, y),
        "PtReweighter.fit_resample": lambda: PtReweighter(random_state=0).fit_resample(X, y),
    }


def measure(func, repeat: int) -> tuple[float, int]:
    best = np.inf
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - start)
        del out
    gc.collect()
    tracemalloc.start()
    out = func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del out
    return best, peak


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-events", type=int, default=1_000_000)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per step (best kept)")
    parser.add_argument("--out", type=Path, default=None, help="CSV file for the table")
    args = parser.parse_args(argv)

    X, y = random_events(args.n_events, np.dtype(args.dtype))
    rows = []
    for name, func in steps(X, y).items():
        seconds, peak = measure(func, args.repeat)
        rows.append(
            {
                "step": name,
                "n_events": args.n_events,
                "dtype": args.dtype,
                "seconds": round(seconds, 3),
                "s_per_1e6": round(seconds * 1e6 / args.n_events, 3),
                "peak_MB": round(peak / 2**20, 1),
                "peak_over_input": round(peak / X.nbytes, 2),
            }
        )
        print(f"{name:45s} {seconds:8.3f} s   peak {peak / 2**20:9.1f} MB "
              f"({peak / X.nbytes:.2f}x input)", flush=True)
    table = pd.DataFrame(rows)
    print(f"\ninput: {args.n_events} events, {args.dtype}, {X.nbytes / 2**20:.1f} MB")
    print(table.to_string(index=False))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
    return table


if __name__ == "__main__":
    main()
