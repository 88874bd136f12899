"""Generator calibration: quantiles of the built-in generator next to the reference table.

The reference is physics.md section 2 (the authors' MadGraph samples, 10,000 + 10,000 events).
Prints, per class and quantity, the 1/5/25/50/75/95/99 % quantiles of both and the deviation
(relative for mass and pT, absolute for the rapidity, whose quantiles lie near 0), whether every
quantile is within the tolerance (5 %; rapidity 0.05 absolute; signal mass 5..95 % within
1.5 GeV), and the time to generate 1,000,000 events.

    python benchmarks/generator_calibration.py               # 1,000,000 events
    python benchmarks/generator_calibration.py --n-events 100000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import (
    REFERENCE_PERCENTILES,
    REFERENCE_QUANTILES,
    REFERENCE_RAPIDITY_STD,
    make_dimuon_events,
)
from sklearn_bsym.events import to_particles


def quantities(X):
    p = to_particles(X)
    total = kinematics.system(p)
    return {
        "mass": kinematics.mass(total),
        "pt": kinematics.pt(p[:, 0]),
        "rapidity": kinematics.rapidity(total),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-events", type=int, default=1_000_000,
                        help="events to generate (default 1,000,000)")
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)

    make_dimuon_events(10, random_state=0)  # the one-time normalisation integrals
    start = time.perf_counter()
    X, y = make_dimuon_events(args.n_events, random_state=args.random_state)
    elapsed = time.perf_counter() - start
    print(f"generated {args.n_events:,} events in {elapsed:.2f} s")

    all_ok = True
    header = "  ".join(f"{q:>5d}%" for q in REFERENCE_PERCENTILES)
    for label, name in ((1, "signal"), (0, "background")):
        values = quantities(X[y == label])
        print(f"\n{name} ({int((y == label).sum()):,} events)   quantiles: {header}")
        for quantity, v in values.items():
            mine = np.percentile(v, REFERENCE_PERCENTILES)
            ref = np.asarray(REFERENCE_QUANTILES[label, quantity])
            if quantity == "rapidity":
                dev = mine - ref
                ok = np.abs(dev) <= 0.05
                dev_txt = "  ".join(f"{d:+6.3f}" for d in dev)
                kind = "abs"
            else:
                dev = mine / ref - 1
                ok = np.abs(dev) <= 0.05
                if label == 1 and quantity == "mass":
                    ok[1:-1] &= np.abs(mine - ref)[1:-1] <= 1.5
                dev_txt = "  ".join(f"{100 * d:+5.1f}%" for d in dev)
                kind = "rel"
            all_ok &= bool(ok.all())
            print(f"  {quantity:<9s} generator  " + "  ".join(f"{x:6.2f}" for x in mine))
            print(f"  {'':<9s} reference  " + "  ".join(f"{x:6.2f}" for x in ref))
            print(f"  {'':<9s} dev ({kind})  {dev_txt}   {'OK' if ok.all() else 'OUT'}")
        std = values["rapidity"].std()
        print(f"  rapidity std {std:.3f} (reference {REFERENCE_RAPIDITY_STD[label]:.2f})")
    print(f"\nall quantiles within tolerance: {all_ok}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
