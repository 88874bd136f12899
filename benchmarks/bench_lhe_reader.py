"""Read the real LHE test files with load_lhe and print what was selected, and how fast.

For each file in ``<shared>/data/lhe`` and each lepton flavour: events read and selected, the
dilepton mass quantiles (5/50/95 %), the mean |pT(l+) - pT(l-)| and the load time (best of
``--repeat`` runs, pylhe parsing included). Writes the table as CSV with ``--out``.

    python benchmarks/bench_lhe_reader.py                       # full files (10,000 + 100 events)
    python benchmarks/bench_lhe_reader.py --max-events 500      # quick check
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import load_lhe

_DEFAULT_SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"


def _row(path: Path, lepton: str, max_events: int | None, repeat: int) -> dict:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                # Skipped events are expected here: the files mix flavours.
                warnings.simplefilter("ignore", UserWarning)
                X, info = load_lhe(path, lepton=lepton, max_events=max_events, return_info=True)
        except ValueError as exc:
            print(f"{path.name}, lepton={lepton!r}: ValueError: {exc}")
            return {"file": path.name, "lepton": lepton, "error": "ValueError (printed above)"}
        best = min(best, time.perf_counter() - start)
    mass = kinematics.mass(X[:, :4] + X[:, 4:])
    q05, q50, q95 = np.quantile(mass, [0.05, 0.5, 0.95])
    dpt = np.abs(kinematics.pt(X[:, :4]) - kinematics.pt(X[:, 4:]))
    return {
        "file": path.name,
        "lepton": lepton,
        "read": info["n_events_read"],
        "selected": info["n_selected"],
        "m_q05": round(q05, 2),
        "m_median": round(q50, 2),
        "m_q95": round(q95, 2),
        "mean_dpt": round(float(dpt.mean()), 2),
        "load_s": round(best, 3),
    }


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = os.environ.get("SKLEARN_BSYM_SHARED", _DEFAULT_SHARED)
    parser.add_argument("--lhe-dir", type=Path, default=Path(shared) / "data" / "lhe")
    parser.add_argument("--max-events", type=int, default=None, help="events read per file")
    parser.add_argument("--repeat", type=int, default=1, help="timing: best of this many reads")
    parser.add_argument("--out", type=Path, default=None, help="also write the table as CSV")
    args = parser.parse_args(argv)
    files = sorted(args.lhe_dir.glob("*.lhe*"))
    if not files:
        raise SystemExit(f"No .lhe or .lhe.gz files in {args.lhe_dir}; pass --lhe-dir.")
    # Warm-up, so that the timings do not include importing pylhe and awkward.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            load_lhe(files[0], lepton="e", max_events=1)
        except ValueError:
            pass
    rows = [
        _row(path, lepton, args.max_events, args.repeat) for path in files for lepton in ("mu", "e")
    ]
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200):
        print(table.to_string(index=False))
    if args.out is not None:
        table.to_csv(args.out, index=False)
    return table


if __name__ == "__main__":
    main()
