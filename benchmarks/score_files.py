"""From fitted models to scores in files, measured (issue 27).

1. ROOT, end to end through the command line: ``fit`` on the CMS Z -> mu mu file of
   ``../shared/data/root`` (signal, flat branches through ``--columns``) against the
   opposite-charge muon pairs of the H -> ZZ sample (background, written here with the same
   branch names), for every trainable model of the table, 20 % held out; then ``score`` both
   ROOT files (the H -> ZZ one through its jagged ``Muon_*`` collection, NaN where it has no
   single mu+ mu- pair).
2. LHE, end to end: ``fit`` on the MadGraph Z file's mu+ mu- events (truth level, so
   ``--resolution 0.1``) against generated gamma* background, then ``score`` the LHE file.
3. ``score`` of 2,000,000 generated events from parquet with the hybrid of step 1: wall time,
   and peak resident memory above the interpreter with torch and the model loaded (a fresh
   process, its peak restarted before the call).
4. ONNX parity: each network of step 1 exported with ``to_onnx`` and run in ONNX Runtime on
   100,000 generated events, against ``predict_proba``; the model files' sizes.

    python benchmarks/score_files.py              # all of it (a few minutes on 2 cores)
    python benchmarks/score_files.py --quick      # 20,000 events in step 3: check that it runs

Writes ``benchmarks/results/score_files.json`` and ``score_files.md`` (not with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
SHARED = Path(os.environ.get("SKLEARN_BSYM_SHARED",
                             Path(__file__).resolve().parents[1] / ".." / "shared"))
ZMUMU_COLUMNS = [{"px": f"px{i}", "py": f"py{i}", "pz": f"pz{i}", "E": f"E{i}",
                  "charge": f"Q{i}"} for i in (1, 2)]
MODELS = ("pfn", "invariant", "hybrid", "hybrid_x5", "hgb")
NETWORKS = ("pfn", "invariant", "hybrid", "hybrid_x5")


def _cli(*args) -> tuple[float, str]:
    """(seconds, output) of ``python -m sklearn_bsym ARGS`` in a fresh process."""
    tic = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sklearn_bsym", *map(str, args)],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - tic
    if done.returncode:
        raise RuntimeError(f"sklearn_bsym {' '.join(map(str, args))} failed:\n{done.stderr}")
    return seconds, done.stdout + done.stderr


def _hzz_background(folder: Path) -> Path:
    """The H -> ZZ file's opposite-charge muon pairs, as flat branches named like the Z -> mu mu
    file's (so one ``--columns`` reads both)."""
    import uproot

    from sklearn_bsym import events
    from sklearn_bsym.datasets import load_root

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = load_root(SHARED / "data" / "root" / "uproot-HZZ.root")
    p = events.to_particles(X)
    branches = {f"{c}{i + 1}": p[:, i, k] for i in range(2)
                for k, c in enumerate(["px", "py", "pz", "E"])}
    branches["Q1"], branches["Q2"] = np.ones(len(X), np.int32), -np.ones(len(X), np.int32)
    path = folder / "hzz_pairs.root"
    with uproot.recreate(path) as file:
        file["events"] = branches
    return path


def _scored(output: str) -> dict:
    line = next(line for line in output.splitlines() if line.startswith("Scored"))
    numbers = [int(w.replace(",", "").rstrip(";")) for w in line.split() if w[0].isdigit()]
    return {"n_scored": numbers[0], "n_entries": numbers[1], "n_nan": numbers[2]}


def _root_end_to_end(folder: Path) -> dict:
    from sklearn_bsym.deploy import read_model_info

    root = SHARED / "data" / "root"
    columns = folder / "zmumu_columns.json"
    columns.write_text(json.dumps(ZMUMU_COLUMNS))
    background = _hzz_background(folder)
    fits = {}
    for model in MODELS:
        path = folder / f"{model}.skops"
        seconds, _ = _cli("fit", "--signal", root / "uproot-Zmumu.root", "--background",
                          background, "--columns", columns, "--model", model,
                          "--test-fraction", 0.2, "--output", path)
        meta = read_model_info(path)["metadata"]
        fits[model] = {"fit_s": seconds, "file_kb": path.stat().st_size / 1e3,
                       "n_signal": meta["n_signal"], "n_background": meta["n_background"],
                       "test_auc": meta["test_auc"]["pt_weighted"],
                       "test_auc_unweighted": meta["test_auc"]["unweighted"]}
        print(f"fit {model}: {seconds:.1f} s, held-out AUC {fits[model]['test_auc']:.4f}, "
              f"{fits[model]['file_kb']:.0f} kB")
    scores = {}
    for name, options in (("uproot-Zmumu.root", ["--columns", columns]),
                          ("uproot-HZZ.root", [])):
        seconds, out = _cli("score", folder / "hybrid.skops", root / name, *options,
                            "--output", folder / f"{name}.scores.root", "--no-progress")
        scores[name] = {"score_s": seconds, **_scored(out)}
        print(f"score {name} with the hybrid: {seconds:.1f} s, {scores[name]}")
    return {"fits": fits, "scores": scores, "output_example": out}


def _lhe_end_to_end(folder: Path) -> dict:
    from sklearn_bsym.datasets import make_dimuon_events, save_events

    lhe = SHARED / "data" / "lhe" / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz"
    X, y = make_dimuon_events(10_000, random_state=3)
    background = folder / "gamma_star.parquet"
    save_events(background, X[y == 0])
    model = folder / "hybrid_lhe.skops"
    fit_s, fit_out = _cli("fit", "--signal", lhe, "--background", background, "--lepton", "mu",
                          "--resolution", 0.1, "--test-fraction", 0.2, "--output", model)
    score_s, out = _cli("score", model, lhe, "--output", folder / "lhe_scores.parquet",
                        "--no-progress")
    row = {"fit_s": fit_s, "score_s": score_s, **_scored(out), "output_example": out,
           "fit_output_example": fit_out}
    print(f"LHE: fit {fit_s:.1f} s, score {score_s:.1f} s, {_scored(out)}")
    return row


def _many_events(folder: Path, model: Path, n: int, threads: int) -> dict:
    from sklearn_bsym.datasets import make_dimuon_events, save_events

    data = folder / "many.parquet"
    X, _ = make_dimuon_events(n, random_state=11)
    save_events(data, X)
    del X
    cmd = [sys.executable, __file__, "--one", str(model), str(data), str(folder / "many.root"),
           "--threads", str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row["input_mb"] = data.stat().st_size / 2**20
    wall, _ = _cli("score", model, data, "--output", folder / "many_cli.parquet", "--no-progress")
    row["cli_wall_s"] = wall
    print(f"score {n:,} parquet events: {row['seconds']:.1f} s in the call, {wall:.1f} s "
          f"through the command line; peak +{row['peak_extra_mb']:.0f} MB above the "
          f"interpreter with torch and the model ({row['base_mb']:.0f} MB)")
    return row


def _measure_one(model: str, data: str, output: str, threads: int) -> dict:
    """In this fresh process: the peak memory and time of scoring ``data``."""
    import torch
    from inference_speed import _peak_bytes, _reset_peak, _rss_bytes

    from sklearn_bsym.deploy import load_model, score_files

    torch.set_num_threads(threads)
    clf = load_model(model)
    _reset_peak()
    base = _rss_bytes()
    tic = time.perf_counter()
    summary = score_files(clf, data, output)
    seconds = time.perf_counter() - tic
    return {"events": summary.n_entries, "seconds": seconds, "threads": threads,
            "base_mb": base / 2**20, "peak_extra_mb": (_peak_bytes() - base) / 2**20}


def _onnx_parity(folder: Path, n: int) -> dict:
    import onnxruntime

    from sklearn_bsym.datasets import make_dimuon_events
    from sklearn_bsym.deploy import load_model, measured_model, to_onnx

    X = make_dimuon_events(n, random_state=13)[0].astype(np.float32)
    rows = {}
    for name in NETWORKS:
        model = load_model(folder / f"{name}.skops")
        tic = time.perf_counter()
        path = to_onnx(model, folder / f"{name}.onnx")
        export_s = time.perf_counter() - tic
        session = onnxruntime.InferenceSession(str(path))
        tic = time.perf_counter()
        p = session.run(None, {"events": X})[0]
        ort_s = time.perf_counter() - tic
        reference = measured_model(model).predict_proba(X)[:, 1]
        diff = np.abs(p - reference)
        rows[name] = {"max_abs_diff": float(diff.max()), "median_abs_diff": float(np.median(diff)),
                      "export_s": export_s, "ort_s": ort_s,
                      "onnx_kb": path.stat().st_size / 1e3}
        print(f"ONNX {name}: max |ORT - predict_proba| {diff.max():.2e} on {n:,} events "
              f"(median {np.median(diff):.1e}), {rows[name]['onnx_kb']:.0f} kB")
    return rows


def _markdown(r: dict) -> str:
    lines = [
        "# Scoring files (benchmarks/score_files.py)", "",
        f"Machine: {r['machine']}. {r['note']}", "",
        "## ROOT end to end (Z -> mu mu signal against H -> ZZ muon pairs, 20 % held out)", "",
        "| model | fit (s, whole command) | held-out AUC (pT-weighted) | unweighted | model file |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, f in r["root"]["fits"].items():
        lines.append(f"| {name} | {f['fit_s']:.1f} | {f['test_auc']:.4f} | "
                     f"{f['test_auc_unweighted']:.4f} | {f['file_kb']:.0f} kB |")
    lines += ["", "| scored with the hybrid | entries | scored | NaN | time (s, whole command) |",
              "| --- | --- | --- | --- | --- |"]
    for name, s in r["root"]["scores"].items():
        lines.append(f"| {name} | {s['n_entries']:,} | {s['n_scored']:,} | {s['n_nan']:,} | "
                     f"{s['score_s']:.1f} |")
    lhe = r["lhe"]
    lines += ["", "## LHE end to end (MadGraph Z, mu mu, smeared at 10 %, against generated "
              "gamma*)", "",
              f"fit {lhe['fit_s']:.1f} s; score of the LHE file {lhe['score_s']:.1f} s: "
              f"{lhe['n_entries']:,} entries, {lhe['n_scored']:,} scored, {lhe['n_nan']:,} NaN "
              "(the e+ e- events).", ""]
    m = r["many"]
    lines += [f"## {m['events']:,} events from parquet ({m['input_mb']:.0f} MB)", "",
              f"score_files: {m['seconds']:.1f} s with {m['threads']} torch threads; "
              f"{m['cli_wall_s']:.1f} s for the whole command; peak memory "
              f"+{m['peak_extra_mb']:.0f} MB above the interpreter with torch and the model "
              f"loaded ({m['base_mb']:.0f} MB).", "",
              "## ONNX parity (ONNX Runtime against predict_proba, 100,000 generated events)", "",
              "| network | max abs diff | median abs diff | export (s) | ORT run (s) | .onnx |",
              "| --- | --- | --- | --- | --- | --- |"]
    for name, o in r["onnx"].items():
        lines.append(f"| {name} | {o['max_abs_diff']:.2e} | {o['median_abs_diff']:.1e} | "
                     f"{o['export_s']:.1f} | {o['ort_s']:.2f} | {o['onnx_kb']:.0f} kB |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="20,000 events: check that it runs")
    parser.add_argument("--note", default="", help="a note on the machine's load")
    parser.add_argument("--one", nargs=3, metavar=("MODEL", "DATA", "OUTPUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(_measure_one(*args.one, args.threads)))
        return
    if not (SHARED / "data").is_dir():
        sys.exit(f"the shared data folder {SHARED / 'data'} is absent; set SKLEARN_BSYM_SHARED")
    if args.quick:
        args.events = 20_000
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result = {"root": _root_end_to_end(folder), "lhe": _lhe_end_to_end(folder)}
        result["many"] = _many_events(folder, folder / "hybrid.skops", args.events, args.threads)
        result["onnx"] = _onnx_parity(folder, 100_000)
    result["machine"] = f"{os.cpu_count()} CPU cores, load {load_before} before, " \
                        f"{os.getloadavg()} after"
    result["note"] = args.note
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "score_files.json").write_text(json.dumps(result, indent=1) + "\n")
        (RESULTS / "score_files.md").write_text(_markdown(result))
        print(f"wrote {RESULTS / 'score_files.md'}")


if __name__ == "__main__":
    main()
