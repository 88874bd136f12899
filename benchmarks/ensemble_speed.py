"""Wall time of K seeds trained together (vectorized ensemble) against K sequential fits.

Default comparison (issue 7): the hybrid, 16,000 training events with 10 % smearing and pT
weights, batch 128 per member, the same epochs for both ways, K = 5 seeds:

    python benchmarks/ensemble_speed.py                       # CPU, 2 threads, 3 epochs
    python benchmarks/ensemble_speed.py --epochs 10 --members 5 --device cuda
    python benchmarks/ensemble_speed.py --quick               # tiny check that it runs

The full paper protocol (3 models x 10 training fractions x 5 seeds on 100,000 events, 20 %
test, 20 % of each training subset for validation and epoch selection, paper preset: batch 128,
100 epochs), trained as one vectorized ensemble per model (or per model and fraction with
``--grouping size``), for a GPU machine:

    python benchmarks/ensemble_speed.py --protocol --device cuda [--tf32] [--grouping size]
    python benchmarks/ensemble_speed.py --protocol --quick    # tiny check on CPU

Prints a table and writes the numbers as JSON (``--output``). The machine's load average is
recorded before and after, because timings on a shared machine depend on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from sklearn_bsym._random import spawn_seeds
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.nn import (
    EnsembleClassifier,
    EnsembleLinear,
)
from sklearn_bsym.preprocessing import MomentumSmearer, PtReweighter, weighted_roc_auc
from sklearn_bsym.studies import MODEL_TABLE, NETWORKS

#: The networks of the study's model table, name -> a factory of the estimator with its defaults.
MODELS = {name: MODEL_TABLE[name].make for name in NETWORKS}
FRACTIONS = tuple(round(0.1 * i, 1) for i in range(1, 11))


def smeared_weighted_data(n_train: int, n_test: int, seed: int = 0):
    X, y = make_dimuon_events(n_train + n_test, random_state=seed)
    X = MomentumSmearer(0.10, random_state=seed + 1).fit_transform(X)
    X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    w = PtReweighter().fit(X_train, y_train).compute_sample_weight(X_train, y_train)
    return X_train, y_train, w, X_test, y_test


def matmul_floor(stacked, x: torch.Tensor, device: str, repeats: int = 30) -> float:
    """Seconds per training step spent in the stacked network's matrix products alone.

    One forward pass records the input of every :class:`EnsembleLinear`; then the
    products of one step are timed on their own, at those shapes: the forward product, the
    weight gradient, and the input gradient where the input needs one (not for a network's
    first layer). No real training step can be faster than this: it is the arithmetic floor
    left once every other cost (elementwise work, BatchNorm, optimizer, Python, dispatch) is gone.
    """
    shapes = []
    layers = [m for m in stacked.modules() if isinstance(m, EnsembleLinear)]

    def recording(layer):
        def forward_columns(h):
            shapes.append((layer.weight.shape, h.shape[-1], h.requires_grad))
            return type(layer).forward_columns(layer, h)
        return forward_columns

    for layer in layers:  # an instance attribute shadows the method while recording
        layer.forward_columns = recording(layer)
    try:
        stacked.train()
        stacked(x)  # grad mode: a layer's input requires grad unless it comes from the data
    finally:
        for layer in layers:
            del layer.forward_columns
    ops = []
    for (k, n_out, n_in), rows, needs_input_grad in shapes:
        w = torch.randn(k, n_out, n_in, device=device)
        h = torch.randn(k, n_in, rows, device=device)
        g = torch.randn(k, n_out, rows, device=device)
        ops.append((w, h, g, needs_input_grad))

    def one_step():  # the products of a step as the stacked layers run them (columns)
        for w, h, g, needs_input_grad in ops:
            torch.bmm(w, h)
            torch.bmm(g, h.transpose(1, 2))
            if needs_input_grad:
                torch.bmm(w.transpose(1, 2), g)

    for _ in range(5):
        one_step()
    best = np.inf
    for _ in range(3):  # the fastest of three blocks: the floor, not a typical time
        sync_device(device)
        tic = time.perf_counter()
        for _ in range(repeats):
            one_step()
        sync_device(device)
        best = min(best, (time.perf_counter() - tic) / repeats)
    return best


def sync_device(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def compare(args) -> dict:
    """K seeds: one vectorized ensemble against K sequential fits of the same estimator."""
    X, y, w, X_test, y_test = smeared_weighted_data(args.events, args.test_events)
    template = MODELS[args.model](preset=args.preset, max_epochs=args.epochs,
                                  batch_size=args.batch_size, device=args.device)
    # First calls pay one-off costs (kernel selection, allocator growth): not what is compared.
    warm = clone(template).set_params(max_epochs=1)
    EnsembleClassifier(warm, n_members=2, random_state=0).fit(X[:1024], y[:1024], w[:1024])
    clone(warm).fit(X[:1024], y[:1024], sample_weight=w[:1024])
    load_before = os.getloadavg()
    # Alternate the two ways and keep the fastest of each: the machine's speed drifts.
    times_ensemble, times_separate = [], []
    for _ in range(args.repeat):
        sync_device(args.device)
        tic = time.perf_counter()
        ens = EnsembleClassifier(template, n_members=args.members, random_state=0).fit(
            X, y, sample_weight=w)
        sync_device(args.device)
        times_ensemble.append(time.perf_counter() - tic)
        tic = time.perf_counter()
        separate = [clone(template).set_params(random_state=seed).fit(X, y, sample_weight=w)
                    for seed in ens.seeds_]
        sync_device(args.device)
        times_separate.append(time.perf_counter() - tic)
    t_ensemble, t_separate = min(times_ensemble), min(times_separate)
    load_after = os.getloadavg()
    steps = args.epochs * len(separate[0].get_iterator(separate[0].get_dataset(X, y),
                                                       training=True))
    batch = torch.as_tensor(X[: args.batch_size], dtype=torch.float32, device=args.device)
    floor = matmul_floor(ens.module_, batch.repeat(args.members, 1), args.device)
    probs_ens = ens.predict_proba_members(X_test)[..., 1]
    probs_sep = [m.predict_proba(X_test)[:, 1] for m in separate]
    return {
        "model": args.model, "preset": args.preset, "members": args.members,
        "events": args.events, "epochs": args.epochs, "batch_size": args.batch_size,
        "device": args.device, "threads": torch.get_num_threads(),
        "ensemble_s": t_ensemble, "sequential_s": t_separate,
        "ensemble_s_all": times_ensemble, "sequential_s_all": times_separate,
        "speedup": t_separate / t_ensemble,
        "ensemble_s_per_epoch": t_ensemble / args.epochs,
        "sequential_s_per_epoch_per_fit": t_separate / args.epochs / args.members,
        "steps": steps,
        "matmul_floor_s_per_step": floor,
        "matmul_floor_s": floor * steps,
        "speedup_ceiling": t_separate / (floor * steps),
        "auc_ensemble_members": [roc_auc_score(y_test, p) for p in probs_ens],
        "auc_sequential": [roc_auc_score(y_test, p) for p in probs_sep],
        "weighted_auc_ensemble_members": [weighted_roc_auc(y_test, p, X_test)
                                          for p in probs_ens],
        "weighted_auc_sequential": [weighted_roc_auc(y_test, p, X_test) for p in probs_sep],
        "loadavg_before": load_before, "loadavg_after": load_after,
    }


def fit_members(template, X, y, w, subsets, grouping: str) -> list:
    """The members of ``subsets``, seeded by ``spawn_seeds(template.random_state, K)``: one
    ensemble for all (``"all"``) or one per subset size (``"size"``)."""
    seeds = spawn_seeds(template.random_state, len(subsets))
    sizes = [len(s) for s in subsets]
    groups = ([list(range(len(subsets)))] if grouping == "all" else
              [[i for i, n in enumerate(sizes) if n == size] for size in dict.fromkeys(sizes)])
    members = [None] * len(subsets)
    for group in groups:
        ens = EnsembleClassifier(template, n_members=len(group),
                                 random_state=[seeds[i] for i in group])
        ens.fit(X, y, sample_weight=w, subsets=[subsets[i] for i in group])
        for i, member in zip(group, ens.members_, strict=True):
            members[i] = member
    return members


def protocol(args) -> dict:
    """The paper's protocol as vectorized ensembles: every (model, fraction, seed) fit."""
    n_test = int(round(args.protocol_events * 0.2))
    n_pool = args.protocol_events - n_test
    X, y, w, X_test, y_test = smeared_weighted_data(n_pool, n_test)
    fractions = FRACTIONS[:: max(1, len(FRACTIONS) // args.fractions)][: args.fractions]
    rng = np.random.default_rng(0)
    subsets, labels = [], []
    for seed in range(args.seeds):
        order = rng.permutation(n_pool)
        for fraction in fractions:
            subsets.append(np.sort(order[: int(round(fraction * n_pool))]))
            labels.append((fraction, seed))
    out = {"events": args.protocol_events, "fractions": list(fractions), "seeds": args.seeds,
           "preset": args.preset, "epochs": args.epochs, "grouping": args.grouping,
           "device": args.device, "threads": torch.get_num_threads(),
           "loadavg_before": os.getloadavg(), "models": {}}
    total = 0.0
    for name in args.models:
        template = MODELS[name](preset=args.preset, max_epochs=args.epochs,
                                validation_fraction=0.2, device=args.device, random_state=1)
        sync_device(args.device)
        tic = time.perf_counter()
        members = fit_members(template, X, y, w, subsets, args.grouping)
        sync_device(args.device)
        elapsed = time.perf_counter() - tic
        total += elapsed
        aucs: dict[float, list[float]] = {}
        for (fraction, _), member in zip(labels, members, strict=True):
            aucs.setdefault(fraction, []).append(
                float(roc_auc_score(y_test, member.predict_proba(X_test)[:, 1])))
        out["models"][name] = {
            "seconds": elapsed, "fits": len(members),
            "auc_mean": {f"{f:g}": float(np.mean(a)) for f, a in aucs.items()},
            "auc_std": {f"{f:g}": float(np.std(a)) for f, a in aucs.items()},
            "epochs_run": [len(m.history) for m in members],
        }
        print(f"{name}: {len(members)} fits in {elapsed:.1f} s; test AUC by fraction: "
              + ", ".join(f"{f:g}: {np.mean(a):.3f}" for f, a in aucs.items()), flush=True)
    out["total_s"] = total
    out["loadavg_after"] = os.getloadavg()
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="hybrid")
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--events", type=int, default=16_000, help="training events")
    parser.add_argument("--test-events", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs (default 3; 100 with --protocol and the paper preset)")
    parser.add_argument("--batch-size", type=int, default=128, help="events per member")
    parser.add_argument("--preset", choices=["fast", "paper"], default=None,
                        help="training recipe (default fast; paper with --protocol)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch threads on CPU")
    parser.add_argument("--repeat", type=int, default=1,
                        help="time both ways this many times, alternating; keep the fastest")
    parser.add_argument("--protocol", action="store_true",
                        help="run the full paper protocol as ensembles (for a GPU)")
    parser.add_argument("--protocol-events", type=int, default=100_000)
    parser.add_argument("--fractions", type=int, default=10, help="training fractions (protocol)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per fraction (protocol)")
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS),
                        default=["pfn", "invariant", "hybrid"])
    parser.add_argument("--grouping", choices=["all", "size"], default="all",
                        help="protocol: one ensemble per model (all) or per model and fraction")
    parser.add_argument("--tf32", action="store_true",
                        help="allow TF32 matrix products on the GPU (faster, 10-bit mantissa)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that it runs")
    parser.add_argument("--output", default=None, help="JSON results file")
    args = parser.parse_args(argv)
    args.preset = args.preset or ("paper" if args.protocol else "fast")
    if args.epochs is None:
        args.epochs = 100 if args.protocol and args.preset == "paper" else 3
    if args.quick:
        args.events, args.test_events, args.epochs = 1_000, 1_000, 1
        args.protocol_events, args.fractions, args.seeds = 5_000, 2, 2
    torch.set_num_threads(args.threads)
    if args.tf32:
        torch.set_float32_matmul_precision("high")
    result = protocol(args) if args.protocol else compare(args)
    result["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(),
                         "torch": torch.__version__,
                         "gpu": (torch.cuda.get_device_name() if args.device.startswith("cuda")
                                 else None)}
    if args.protocol:
        print(f"protocol total: {result['total_s']:.1f} s on {args.device}")
    else:
        print(f"{args.members} x {args.model}, {args.events} events, {args.epochs} epochs, "
              f"batch {args.batch_size}/member, {args.device}, {result['threads']} threads")
        if args.repeat > 1:
            print(f"  fastest of {args.repeat} alternating runs of each")
        print(f"  ensemble   {result['ensemble_s']:8.1f} s  "
              f"({result['ensemble_s_per_epoch']:.2f} s per epoch for all members)")
        print(f"  sequential {result['sequential_s']:8.1f} s  "
              f"({result['sequential_s_per_epoch_per_fit']:.2f} s per epoch per fit)")
        print(f"  speed-up   {result['speedup']:8.2f} x")
        print(f"  floor      {result['matmul_floor_s']:8.1f} s  (the ensemble's matrix products "
              f"alone, {1e3 * result['matmul_floor_s_per_step']:.1f} ms per step: no ensemble "
              f"can beat {result['speedup_ceiling']:.2f} x here)")
        for key, label in (("weighted_auc", "pT-weighted test AUC"), ("auc", "test AUC")):
            ens_auc = np.asarray(result[f"{key}_ensemble_members"])
            sep_auc = np.asarray(result[f"{key}_sequential"])
            print(f"  {label}: ensemble members {ens_auc.mean():.4f} +- {ens_auc.std():.4f}, "
                  f"sequential fits {sep_auc.mean():.4f} +- {sep_auc.std():.4f}")
        print(f"  load avg   before {np.round(result['loadavg_before'], 2)}, "
              f"after {np.round(result['loadavg_after'], 2)}")
    if args.output:
        with open(args.output, "w") as fh:
            json.dump(result, fh, indent=2)
    return result


if __name__ == "__main__":
    main()
