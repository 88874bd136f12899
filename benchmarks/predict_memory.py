"""Peak memory of ``predict_proba`` on many events (issue 20, point 10).

A classifier with the default widths, fitted for one epoch on 2,000 events, predicts
``--events`` generated events in a fresh subprocess (the measurement of
``benchmarks/inference_speed.py``): its peak resident size, restarted just before the call, above
the resident size then, belongs to that call alone. Compare it with the input (float64 events)
plus the output.

    python benchmarks/predict_memory.py --label after      # 5,000,000 events, the invariant net
    python benchmarks/predict_memory.py --quick             # tiny check that it runs

Writes ``benchmarks/results/predict_memory_<label>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import torch
from inference_speed import CLASSIFIERS, _run

from sklearn_bsym.datasets import make_dimuon_events

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--classifier", choices=list(CLASSIFIERS), default="invariant")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--label", default="run", help="name of the results file")
    parser.add_argument("--quick", action="store_true", help="20,000 events: check that it runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.events = 20_000
    torch.set_num_threads(args.threads)
    X_fit, y_fit = make_dimuon_events(2000, random_state=1)
    clf = CLASSIFIERS[args.classifier](max_epochs=1, batch_size=256, random_state=0)
    clf.fit(X_fit, y_fit)
    X, _ = make_dimuon_events(args.events, random_state=0)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        data, model = os.path.join(tmp, "X.npy"), os.path.join(tmp, "model.pkl")
        np.save(data, X)
        del X
        with open(model, "wb") as f:
            pickle.dump(clf, f)
        r = _run(model, data, "predict", 0, args.threads)
    row = {
        "label": args.label,
        "classifier": args.classifier,
        "events": args.events,
        "threads": args.threads,
        "predict_s": r["seconds"],
        "peak_extra_mb": r["peak_extra_bytes"] / 2**20,
        "input_mb": r["input_bytes"] / 2**20,
        "output_mb": r["output_bytes"] / 2**20,
        "peak_extra_bytes_per_event": r["peak_extra_bytes"] / args.events,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    print(f"{args.classifier} predict_proba on {args.events:,} events: {row['predict_s']:.1f} s, "
          f"peak +{row['peak_extra_mb']:.0f} MB above the {row['input_mb']:.0f} MB input "
          f"(output {row['output_mb']:.0f} MB; {row['peak_extra_bytes_per_event']:.0f} B/event)")
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"predict_memory_{args.label}.json"
        path.write_text(json.dumps(row, indent=1) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
