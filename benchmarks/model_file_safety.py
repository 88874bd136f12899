"""Time and memory of loading the crafted model files of issue 33, point 3 (each refused).

Each file is loaded by ``load_model`` in a fresh subprocess (torch and scikit-learn imported,
a valid model loaded first): the seconds of the call and its peak resident memory (the peak
resident size, VmHWM, restarted just before the call, above the resident size then). Before
the fix these files took 21 GB (a width of 4,000,000: killed by the kernel), 12.8 GB (40,000),
4 GB and 29 s (sizes 30,000 x 30,000), 6.3 GB and 36 s (a member inflating to 3 GB), 4.3 GB (a
manifest of 2 GB), 8.9 GB and 8.6 s (/dev/zero), forever (a FIFO), or crashed the process (tree
indices outside the node array): the issue's measurements.

    python benchmarks/model_file_safety.py            # writes results/model_file_safety.md

The members that inflate to gigabytes are real (written with their true sizes, about 1 MB per
GB of zeros on disk); the manifest of 2 GB is one of 200 MB whose declared size says 2 GB.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline

from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.deploy import save_model
from sklearn_bsym.nn import InvariantClassifier
from sklearn_bsym.preprocessing import DimuonFeatures

RESULTS = Path(__file__).resolve().parent / "results"

_LOAD = """
import json, sys, time
import numpy as np, sklearn.ensemble, torch
from sklearn_bsym.deploy import ModelFileError, load_model


def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))


load_model(sys.argv[2])  # warm-up: a valid model
with open("/proc/self/clear_refs", "w") as f:  # restart the peak (VmHWM) at the current size
    f.write("5")
before = status("VmRSS:")
start = time.perf_counter()
try:
    load_model(sys.argv[1])
    outcome = "loaded"
except ModelFileError as exc:
    outcome = str(exc).split(": ", 1)[1]
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mb": (status("VmHWM:") - before) / 2**20,
                  "outcome": outcome}))
"""


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path, members, *, declared=None):
    """A zip of ``members`` (deflated); ``declared`` = (name, size) rewrites one member's
    declared size in its headers."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            if isinstance(content, int):  # that many zeros, streamed and deflated
                info = zipfile.ZipInfo(name)
                info.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(info, "w", force_zip64=True) as fh:
                    block = bytes(2**24)
                    for _ in range(content // len(block)):
                        fh.write(block)
            else:
                archive.writestr(name, content)
    if declared is not None:
        name, size = declared
        data, encoded = bytearray(path.read_bytes()), name.encode()
        for signature, name_at, size_at, start in ((b"PK\x03\x04", 26, 22, 30),
                                                   (b"PK\x01\x02", 28, 24, 46)):
            at = data.find(signature)
            while at >= 0:
                length = struct.unpack_from("<H", data, at + name_at)[0]
                if data[at + start:at + start + length] == encoded:
                    struct.pack_into("<L", data, at + size_at, size)
                at = data.find(signature, at + 4)
        path.write_bytes(bytes(data))
    return path


def _schema_edit(members, edit):
    schema = json.loads(members["schema.json"])
    edit(schema["content"]["content"])
    return {**members, "schema.json": json.dumps(schema).encode()}


def crafted(folder: Path) -> dict[str, Path]:
    X, y = make_dimuon_events(2000, random_state=0)
    tree = save_model(make_pipeline(DimuonFeatures(), HistGradientBoostingClassifier(
        max_iter=5, random_state=0)).fit(X, y), folder / "tree.skops")
    net = save_model(InvariantClassifier(hidden_sizes=(16,), max_epochs=1, random_state=0)
                     .fit(X, y), folder / "net.skops")
    files = {"valid network": net}
    members = _members(tree)
    for name, content in members.items():
        if name.endswith(".npy") and (np.load(io.BytesIO(content)).dtype.names or ())[:1]:
            nodes = np.load(io.BytesIO(content))
            break
    for label, value in (("tree index 10^6 outside its nodes", 10**6),
                         ("tree index one past its nodes", nodes.size)):
        crafted_nodes = nodes.copy()
        crafted_nodes["left"][0] = value
        buffer = io.BytesIO()
        np.save(buffer, crafted_nodes)
        files[label] = _write(folder / f"tree{value}.skops", {**members, name: buffer.getvalue()})
    members = _members(net)
    for width in (4_000_000, 40_000):
        files[f"network width {width:,}"] = _write(folder / f"width{width}.skops", _schema_edit(
            members, lambda s, w=width: s["fitted"]["content"]["n_features_in_"].update(
                content=str(w))))
    node = {"__class__": "int", "__module__": "builtins", "__loader__": "JsonNode",
            "content": "30000", "is_json": True}
    files["network sizes (30000, 30000)"] = _write(folder / "sizes.skops", _schema_edit(
        members, lambda s: s["params"]["content"]["hidden_sizes"].update(
            content=[dict(node, __id__=1), dict(node, __id__=2)])))
    files["member inflating to 3 GB"] = _write(folder / "bomb.skops",
                                               {**members, "1.npy": 3 * 2**30})
    files["member declaring 1 kB, inflating to 1 GB"] = _write(
        folder / "lying.skops", {**members, "1.npy": 2**30}, declared=("1.npy", 1000))
    manifest = members["sklearn_bsym.json"] + b" " * (200 * 2**20)
    files["manifest of 2 GB (declared)"] = _write(
        folder / "manifest.skops", {**members, "sklearn_bsym.json": manifest},
        declared=("sklearn_bsym.json", 2 * 10**9))
    (folder / "zero.skops").symlink_to("/dev/zero")
    files["link to /dev/zero"] = folder / "zero.skops"
    os.mkfifo(folder / "fifo.skops")
    files["FIFO"] = folder / "fifo.skops"
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="model_file_safety", help="name of the results file")
    args = parser.parse_args(argv)
    rows = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        files = crafted(Path(tmp))
        for label, path in files.items():
            run = subprocess.run([sys.executable, "-c", _LOAD, str(path),
                                  str(files["valid network"])], capture_output=True,
                                 text=True, timeout=600)
            if run.returncode:
                rows.append((label, path.stat().st_size if path.is_file() else 0, None, None,
                             f"process ended with status {run.returncode}"))
                continue
            result = json.loads(run.stdout.splitlines()[-1])
            size = path.stat().st_size if path.is_file() else 0
            rows.append((label, size, result["seconds"], result["peak_mb"], result["outcome"]))
            print(f"{label}: {result}", flush=True)
    lines = [
        f"# Loading crafted model files ({args.label})",
        "",
        f"Load average before/after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f} "
        f"({os.cpu_count()} cores). Command: `python benchmarks/model_file_safety.py`.",
        "",
        "| file | bytes on disk | seconds | peak memory of the call (MB) | outcome |",
        "|---|---:|---:|---:|---|",
    ]
    for label, size, seconds, peak, outcome in rows:
        timing = "-" if seconds is None else f"{seconds:.3f}"
        memory = "-" if peak is None else f"{peak:.1f}"
        lines.append(f"| {label} | {size:,} | {timing} | {memory} | {outcome[:110]} |")
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.label}.md").write_text(text)


if __name__ == "__main__":
    main()
