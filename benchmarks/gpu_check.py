"""The networks on a GPU: correctness against the CPU, throughput, and the paper protocol's time.

With ``device="cuda"`` (run on a machine with an NVIDIA GPU):

1. **agreement**: each classifier fitted with the same seed on the CPU and on the GPU (20,000
   events, 2 epochs, fast recipe, pT weights): probabilities finite, their largest difference
   and the test-AUC difference reported; the check fails if the AUCs differ by more than 0.01;
2. **throughput**: each classifier fitted on 1,000,000 events for ``--epochs`` epochs at batch
   1,024 and 8,192: training events per second (the first epoch, which pays one-off costs, is
   left out where there are two or more), and inference events per second;
3. **ensemble**: a 5-member :class:`~sklearn_bsym.nn.EnsembleClassifier` on the same events;
4. **protocol**: the paper's protocol (3 models x 10 fractions x 5 seeds = 150 fits on 100,000
   events, paper preset, batch 128) as one ensemble per model, for ``--protocol-epochs`` epochs;
   the 100-epoch time is projected from the measured time per epoch.

    python benchmarks/gpu_check.py --output gpu_check.json
    python benchmarks/gpu_check.py --device cpu --quick      # tiny sizes: check that it runs

Sections run in that order and stop early once ``--budget`` seconds have passed, so a short
lease still brings back what finished; results are written after every section.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch
from ensemble_speed import FRACTIONS, MODELS, smeared_weighted_data, sync_device
from sklearn.metrics import roc_auc_score

from sklearn_bsym.nn import EnsembleClassifier, HybridClassifier
from sklearn_bsym.preprocessing import weighted_roc_auc


def _epoch_seconds(clf) -> list[float]:
    return [float(d) for d in clf.history[:, "dur"]]


def agreement(args, out):
    X, y, w, X_test, y_test = smeared_weighted_data(args.agree_events, args.agree_events // 2)
    rows = {}
    for name, cls in MODELS.items():
        probs, aucs = {}, {}
        for device in ("cpu", args.device):
            clf = cls(max_epochs=2, random_state=0, device=device).fit(X, y, sample_weight=w)
            probs[device] = clf.predict_proba(X_test)[:, 1]
            aucs[device] = float(weighted_roc_auc(y_test, probs[device], X_test))
        finite = bool(np.isfinite(probs[args.device]).all())
        diff = float(np.max(np.abs(probs["cpu"] - probs[args.device])))
        ok = finite and abs(aucs["cpu"] - aucs[args.device]) <= 0.01
        rows[name] = {"finite": finite, "max_abs_prob_diff": diff, "auc_cpu": aucs["cpu"],
                      "auc_device": aucs[args.device], "ok": ok}
        print(f"agreement {name:9s}: finite={finite} max|dp|={diff:.2e} weighted AUC "
              f"cpu {aucs['cpu']:.4f} {args.device} {aucs[args.device]:.4f} "
              f"{'OK' if ok else 'FAIL'}", flush=True)
    out["agreement"] = rows


def throughput(args, out, data):
    X, y, w, X_test, y_test = data
    rows = {}
    for name, cls in MODELS.items():
        for batch in (1024, 8192):
            clf = cls(max_epochs=args.epochs, batch_size=batch, random_state=0,
                      device=args.device)
            sync_device(args.device)
            tic = time.perf_counter()
            clf.fit(X, y, sample_weight=w)
            sync_device(args.device)
            wall = time.perf_counter() - tic
            durs = _epoch_seconds(clf)
            steady = durs[1:] if len(durs) > 1 else durs
            tic = time.perf_counter()
            p = clf.predict_proba(X_test)[:, 1]
            sync_device(args.device)
            t_pred = time.perf_counter() - tic
            row = {"fit_s": wall, "epoch_s": durs,
                   "train_events_per_s": len(X) / float(np.mean(steady)),
                   "predict_events_per_s": len(X_test) / t_pred,
                   "finite": bool(np.isfinite(p).all()),
                   "test_auc": float(roc_auc_score(y_test, p))}
            rows[f"{name}_b{batch}"] = row
            print(f"throughput {name:9s} batch {batch:5d}: "
                  f"{row['train_events_per_s']:12,.0f} train ev/s, "
                  f"{row['predict_events_per_s']:12,.0f} predict ev/s, AUC {row['test_auc']:.4f}"
                  f", finite={row['finite']}", flush=True)
    out["throughput"] = rows


def ensemble(args, out, data):
    X, y, w, X_test, y_test = data
    template = HybridClassifier(max_epochs=args.epochs, batch_size=1024, device=args.device)
    sync_device(args.device)
    tic = time.perf_counter()
    ens = EnsembleClassifier(template, n_members=5, random_state=0).fit(X, y, sample_weight=w)
    sync_device(args.device)
    wall = time.perf_counter() - tic
    members = ens.predict_proba_members(X_test)[..., 1]
    aucs = [float(roc_auc_score(y_test, p)) for p in members]
    out["ensemble"] = {"members": 5, "batch_per_member": 1024, "epochs": args.epochs,
                       "fit_s": wall, "finite": bool(np.isfinite(members).all()),
                       "member_test_auc": aucs,
                       "train_events_per_s": 5 * len(X) * args.epochs / wall}
    print(f"ensemble 5 x hybrid: {wall:.1f} s for {args.epochs} epochs of {len(X):,} events "
          f"({out['ensemble']['train_events_per_s']:,.0f} member-events/s), member AUCs "
          + ", ".join(f"{a:.4f}" for a in aucs), flush=True)


def protocol(args, out):
    n_test = int(round(args.protocol_events * 0.2))
    n_pool = args.protocol_events - n_test
    X, y, w, X_test, y_test = smeared_weighted_data(n_pool, n_test, seed=1)
    rng = np.random.default_rng(0)
    subsets = []
    for _ in range(5):
        order = rng.permutation(n_pool)
        subsets += [np.sort(order[: int(round(f * n_pool))]) for f in FRACTIONS]
    rows, total = {}, 0.0
    for name, cls in MODELS.items():
        template = cls(preset="paper", max_epochs=args.protocol_epochs, validation_fraction=0.2,
                       patience=args.protocol_epochs + 1, device=args.device, random_state=1)
        sync_device(args.device)
        tic = time.perf_counter()
        members = EnsembleClassifier(template, n_members=len(subsets),
                                     random_state=template.random_state).fit(
            X, y, sample_weight=w, subsets=subsets).members_
        sync_device(args.device)
        wall = time.perf_counter() - tic
        total += wall
        epochs = max(len(m.history) for m in members)
        rows[name] = {"fits": len(members), "epochs": epochs, "seconds": wall,
                      "projected_100_epochs_s": wall / epochs * 100}
        print(f"protocol {name:9s}: {len(members)} fits x {epochs} epochs in {wall:.1f} s "
              f"(100 epochs: ~{wall / epochs * 100:.0f} s)", flush=True)
    out["protocol"] = {"models": rows, "seconds": total,
                       "projected_100_epochs_s": sum(r["projected_100_epochs_s"]
                                                     for r in rows.values())}
    print(f"protocol: 150 fits, {total:.1f} s for {args.protocol_epochs} epochs; 100 epochs "
          f"projected {out['protocol']['projected_100_epochs_s']:.0f} s", flush=True)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--events", type=int, default=1_000_000, help="throughput events")
    parser.add_argument("--epochs", type=int, default=2, help="throughput/ensemble epochs")
    parser.add_argument("--agree-events", type=int, default=20_000)
    parser.add_argument("--protocol-events", type=int, default=100_000)
    parser.add_argument("--protocol-epochs", type=int, default=5)
    parser.add_argument("--sections", nargs="+",
                        default=["agreement", "throughput", "ensemble", "protocol"])
    parser.add_argument("--budget", type=float, default=420.0,
                        help="seconds after which no new section starts")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that it runs")
    parser.add_argument("--output", default=None, help="JSON results file")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.agree_events, args.protocol_events = 10_000, 2_000, 3_000
        args.epochs, args.protocol_epochs = 1, 1
    start = time.perf_counter()
    out = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                       "torch": torch.__version__, "threads": torch.get_num_threads(),
                       "gpu": (torch.cuda.get_device_name() if args.device.startswith("cuda")
                               else None)},
           "args": vars(args), "sections_done": []}
    print(out["machine"], flush=True)
    data = None
    for section in args.sections:
        if time.perf_counter() - start > args.budget:
            print(f"budget of {args.budget:.0f} s spent: {section} skipped", flush=True)
            continue
        tic = time.perf_counter()
        if section == "agreement":
            agreement(args, out)
        elif section == "protocol":
            protocol(args, out)
        else:
            if data is None:
                data = smeared_weighted_data(args.events, 200_000 if not args.quick else 2_000)
            {"throughput": throughput, "ensemble": ensemble}[section](args, out, data)
        out["sections_done"].append(section)
        out[f"{section}_wall_s"] = time.perf_counter() - tic
        if args.output:
            with open(args.output, "w") as fh:
                json.dump(out, fh, indent=2)
    ok = all(r["ok"] for r in out.get("agreement", {}).values())
    print(f"total {time.perf_counter() - start:.0f} s; agreement {'OK' if ok else 'FAILED'}")
    return out


if __name__ == "__main__":
    main()
