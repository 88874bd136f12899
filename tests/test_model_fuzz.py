"""Fuzzing model files: valid small archives mutated a few hundred times with a seeded RNG (their
bytes, members, manifest, skops schema, and the arrays' .npy headers and data). Each mutant
must be refused with a one-line ModelFileError naming the file, or load to a model that scores
finite probabilities; none may crash the process, take more than a bounded amount of memory
(the loads run in a process with a limited address space, and its peak resident memory is
checked) or hang (an alarm per load).

``SKLEARN_BSYM_FUZZ_ITERATIONS`` sets the number of mutants (default 300, about 30 s);
``SKLEARN_BSYM_FUZZ_SEED`` the seed (default 0): e.g. 5,000 mutants of seed 1 for a longer run.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline, make_pipeline

from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.deploy import save_model
from sklearn_bsym.nn import InvariantClassifier
from sklearn_bsym.preprocessing import DimuonFeatures, MomentumSmearer, PtReweightedClassifier

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.skipif(not os.path.exists("/proc/self/statm"),
                       reason="sizes the address-space limit from /proc"),
]

N_MUTANTS = int(os.environ.get("SKLEARN_BSYM_FUZZ_ITERATIONS", "300"))
SEED = int(os.environ.get("SKLEARN_BSYM_FUZZ_SEED", "0"))
#: Address space a load may add, and resident memory it may add (after a warm-up load).
ADDRESS_LIMIT = 2 * 2**30
RESIDENT_LIMIT = 2**30
#: Seconds before a load counts as hung.
ALARM = 30

# Values a mutation writes into JSON (the manifest, skops' schema and its JSON contents).
_VALUES = [None, True, False, 0, -1, 1, 3, 2**31, 2**63, -(2**63), 10**30, 1.5, -1e308,
           float("1e308"), "", "x", "nan", "sklearn.tree._tree.Tree", "os", "builtins", [], {},
           [[[[]]]], {"__class__": "int"}]
# Numbers a mutation writes into skops' JSON contents ("content": "8") and into arrays.
_NUMBERS = ["0", "-1", "4", "12", "4000000", "40000", "30000", "1e9", "-8", "2.5", "true",
            "null", "\"8\"", "[8]", "NaN"]
_ARRAY_VALUES = [0, 1, -1, 2, 3, 7, 255, 2**31 - 1, 2**32 - 1, 10**6, -(10**6), np.nan, np.inf,
                 -np.inf, 1e300]
_DTYPES = ["<f8", "<f4", "<i8", "<u4", "|u1", "|b1", "<U4", "|S3", "|O", "|V8", ">f8",
           [("a", "<i8")], "<c16"]
KINDS = ("bytes", "truncate", "members", "manifest", "schema", "schema", "npy_header",
         "npy_data", "npy_data")


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """Two valid small model files: a gradient-boosted tree behind DimuonFeatures, and a tiny
    network behind pT smearing (a format-2 measured part)."""
    folder = tmp_path_factory.mktemp("valid")
    X, y = make_dimuon_events(600, random_state=0)
    tree = make_pipeline(DimuonFeatures(), HistGradientBoostingClassifier(
        max_iter=3, max_leaf_nodes=4, random_state=0)).fit(X, y)
    network = Pipeline([
        ("smear", MomentumSmearer(0.1, random_state=0)),
        ("clf", PtReweightedClassifier(InvariantClassifier(hidden_sizes=(8,), max_epochs=1,
                                                           random_state=0))),
    ]).fit(X, y)  # fmt: skip
    return [save_model(tree, folder / "tree.skops"), save_model(network, folder / "net.skops")]


def _json_paths(obj):
    """Every (container, key) of a JSON value, iteratively."""
    stack, found = [obj], []
    while stack:
        item = stack.pop()
        keys = (list(item) if isinstance(item, dict)
                else range(len(item)) if isinstance(item, list) else [])
        for key in keys:
            found.append((item, key))
            stack.append(item[key])
    return found


def _mutate_json(obj, rng):
    """``obj`` (parsed JSON) changed in one to three places: a value replaced, a key or item
    removed, a subtree copied elsewhere, or one of skops' number contents changed."""
    for _ in range(rng.integers(1, 4)):
        paths = _json_paths(obj)
        if not paths:
            return _VALUES[rng.integers(len(_VALUES))]
        numbers = [(c, k) for c, k in paths if k == "content" and isinstance(c[k], str)]
        op = rng.integers(5)
        if op == 0 and numbers:
            container, key = numbers[rng.integers(len(numbers))]
            container[key] = _NUMBERS[rng.integers(len(_NUMBERS))]
            continue
        container, key = paths[rng.integers(len(paths))]
        if op == 1:
            del container[key]
        elif op == 2:
            source, skey = paths[rng.integers(len(paths))]
            container[key] = json.loads(json.dumps(source[skey]))
        else:
            container[key] = json.loads(json.dumps(_VALUES[rng.integers(len(_VALUES))]))
    return obj


def _npy_names(members):
    return sorted(n for n in members if n.endswith(".npy"))


def _mutate_header(content: bytes, rng) -> bytes:
    fh = io.BytesIO(content)
    version = np.lib.format.read_magic(fh)
    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
            else np.lib.format.read_array_header_2_0)
    shape, fortran, dtype = read(fh)
    data = content[fh.tell():]
    shape = list(shape)
    op = rng.integers(4)
    if op == 0 or not shape:
        shape.append(int(rng.integers(0, 5)))
    elif op == 1:
        shape[rng.integers(len(shape))] = int([0, 1, 2, 10**6, 2**40][rng.integers(5)])
    elif op == 2:
        shape.pop()
    header = {"descr": dtype.descr if dtype.names else dtype.str, "fortran_order": fortran,
              "shape": tuple(shape)}
    if op == 3:
        header["descr"] = _DTYPES[rng.integers(len(_DTYPES))]
    buffer = io.BytesIO()
    try:
        np.lib.format.write_array_header_1_0(buffer, header)
    except ValueError:  # a header numpy itself cannot write
        return content
    return buffer.getvalue() + data


def _mutate_data(content: bytes, rng) -> bytes:
    array = np.load(io.BytesIO(content))
    if array.size == 0:
        return content
    flat = array.reshape(-1)
    index = int(rng.integers(flat.size))
    value = _ARRAY_VALUES[rng.integers(len(_ARRAY_VALUES))]
    with np.errstate(all="ignore"):
        if array.dtype.names:
            field = array.dtype.names[rng.integers(len(array.dtype.names))]
            target = flat[field]
        else:
            target = flat
        try:
            target[index] = np.asarray(value).astype(target.dtype)
        except (ValueError, OverflowError, TypeError):
            return content
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _zip(members) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def mutant(raw: bytes, rng) -> tuple[str, bytes]:
    """One mutation of the model file ``raw``: its kind and the mutated bytes."""
    kind = KINDS[rng.integers(len(KINDS))]
    if kind == "bytes":
        out = bytearray(raw)
        for _ in range(rng.integers(1, 9)):
            out[rng.integers(len(out))] = rng.integers(256)
        return kind, bytes(out)
    if kind == "truncate":
        return kind, raw[:rng.integers(len(raw))]
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    names, arrays = list(members), _npy_names(members)
    if kind == "members":
        op = rng.integers(4)
        if op == 0:
            del members[names[rng.integers(len(names))]]
        elif op == 1 and len(arrays) > 1:
            a, b = rng.choice(arrays, 2, replace=False)
            members[a], members[b] = members[b], members[a]
        elif op == 2:
            members[f"{rng.integers(10**9)}.npy"] = members[names[rng.integers(len(names))]]
        else:
            name = names[rng.integers(len(names))]
            members[f"x{name}"] = members.pop(name)
    elif kind in ("manifest", "schema"):
        name = "sklearn_bsym.json" if kind == "manifest" else "schema.json"
        members[name] = json.dumps(_mutate_json(json.loads(members[name]), rng)).encode()
    elif kind == "npy_header":
        name = arrays[rng.integers(len(arrays))]
        members[name] = _mutate_header(members[name], rng)
    else:
        name = arrays[rng.integers(len(arrays))]
        members[name] = _mutate_data(members[name], rng)
    return kind, _zip(members)


_WORKER = """
import json, resource, signal, sys, time, warnings
import numpy as np
import torch
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.deploy import ModelFileError, load_model

torch.set_num_threads(1)
with open(sys.argv[1]) as fh:
    address_limit, resident_limit, alarm, valid, paths = json.load(fh)
X = make_dimuon_events(64, random_state=1)[0]


class Hang(BaseException):
    pass


def hang(*_):
    raise Hang


def events(model):
    n = int(model.n_features_in_)
    return np.tile(X, -(-n // X.shape[1]))[:, :n]


signal.signal(signal.SIGALRM, hang)
for path in valid:  # warm-up: libraries, thread pools, caches
    model = load_model(path)
    model.predict_proba(events(model))
pages = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (pages + address_limit, resource.RLIM_INFINITY))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for path in paths:
    print(path, file=sys.stderr, flush=True)  # the last one named is the one that crashed
    start, message = time.perf_counter(), ""
    signal.alarm(alarm)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = load_model(path)
            p = np.asarray(model.predict_proba(events(model)))
        good = p.shape == (len(X), 2) and np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
        outcome = "ok" if good else "bad probabilities"
        message = "" if good else repr(p[:3])
    except ModelFileError as exc:
        outcome, message = "refused", str(exc)
    except Hang:
        outcome = "hang"
    except Exception as exc:
        outcome, message = "error", f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
    print(json.dumps({"path": path, "outcome": outcome, "message": message,
                      "seconds": time.perf_counter() - start}), flush=True)
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024
print(json.dumps({"peak_bytes": peak}), flush=True)
"""


def test_mutated_model_files_are_refused_or_score(archives, tmp_path):
    rng = np.random.default_rng(SEED)
    kinds, paths = {}, []
    for i in range(N_MUTANTS):
        source = archives[i % len(archives)]
        kind, content = mutant(source.read_bytes(), rng)
        path = tmp_path / f"mutant{i:05d}_{source.stem}_{kind}.skops"
        path.write_bytes(content)
        kinds[str(path)] = kind
        paths.append(str(path))
    work = tmp_path / "work.json"
    work.write_text(json.dumps([ADDRESS_LIMIT, RESIDENT_LIMIT, ALARM,
                                list(map(str, archives)), paths]))
    run = subprocess.run([sys.executable, "-c", _WORKER, str(work)], capture_output=True,
                         text=True, timeout=600 + N_MUTANTS)
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    results = [line for line in lines if "outcome" in line]
    last = run.stderr.strip().splitlines()[-1:] if run.stderr.strip() else []
    assert run.returncode == 0 and len(results) == len(paths), (
        f"the loading process ended with status {run.returncode} after {len(results)} of "
        f"{len(paths)} files; the last file it started: {last} (kept in {tmp_path}); "
        f"{run.stderr[-2000:]}")
    wrong = [r for r in results if r["outcome"] not in ("ok", "refused")]
    assert not wrong, [(kinds[r["path"]], r["outcome"], r["message"][:300]) for r in wrong]
    for r in results:
        if r["outcome"] == "refused":
            message = r["message"]
            assert "\n" not in message and message.startswith(f"Cannot load {r['path']}: ")
            assert "MemoryError" not in message and "allocate" not in message, message
    outcomes = [r["outcome"] for r in results]
    # Both ends are reached: mutants refused, and mutants that still load and score.
    assert outcomes.count("refused") > len(paths) // 4 and outcomes.count("ok") > 0, outcomes
    assert lines[-1]["peak_bytes"] < RESIDENT_LIMIT, lines[-1]
