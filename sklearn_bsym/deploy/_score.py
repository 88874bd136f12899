"""Scores of measured events, written back in step with the files they come from."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._files import atomic_output, check_output, remove_stale_temporaries
from ..datasets import read_event_chunks
from ..preprocessing import signal_score, split_measurement
from ._support import SUPPORT_VARIABLES, check_support, outside_support

__all__ = [
    "measured_model",
    "score_files",
    "score_outputs",
    "ScoreSummary",
    "SCORE_SUFFIXES",
    "SCORE_TREE",
]

#: Formats :func:`score_files` writes.
SCORE_SUFFIXES = (".root", ".parquet", ".csv")
#: The tree of a ``.root`` output: one branch of scores, as many entries as the input trees.
SCORE_TREE = "scores"


def measured_model(model, *, return_skipped=False):
    """The part of a fitted model that scores *measured* events: the model without its steps
    that smear.

    A model fitted on simulation often starts by simulating the detector: the recommended
    ``Pipeline([("smear", MomentumSmearer(...)), ("clf", PtReweightedClassifier(...))])``
    smears every event it is given, in ``predict_proba`` too. Events that a detector has
    measured must not be smeared a second time, so they are scored by the steps after the
    measurement, which this returns: for that pipeline its fitted ``"clf"`` step. The split is
    the one :func:`~sklearn_bsym.preprocessing.pt_weighted_roc_auc` reads: the steps before a
    final :class:`~sklearn_bsym.preprocessing.PtReweightedClassifier`, its ``measured_after``
    head, or a pipeline's leading steps that map events to events (such as
    :class:`~sklearn_bsym.preprocessing.MomentumSmearer`). A model without such steps is
    returned as it is. ``python -m sklearn_bsym score`` scores with it.

    Parameters
    ----------
    model : fitted estimator
    return_skipped : bool, default=False
        Also return the names of the steps left out (empty when none is).

    Returns
    -------
    estimator
        The fitted part of ``model`` to call ``predict_proba`` on with measured events (its
        steps are shared with ``model``, not copied).
    skipped : list of str
        Only with ``return_skipped``.

    Examples
    --------
    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklearn_bsym.datasets import make_dimuon_events
    >>> from sklearn_bsym.deploy import measured_model
    >>> from sklearn_bsym.preprocessing import MomentumSmearer, PtReweightedClassifier
    >>> X, y = make_dimuon_events(1000, random_state=0)
    >>> model = Pipeline([("smear", MomentumSmearer(0.1, random_state=0)),
    ...                   ("clf", PtReweightedClassifier(DecisionTreeClassifier()))]).fit(X, y)
    >>> measured, skipped = measured_model(model, return_skipped=True)
    >>> measured is model["clf"], skipped
    (True, ['smear'])
    """
    steps, measured, _ = split_measurement(model)
    if return_skipped:
        return measured, [name for name, _ in steps]
    return measured


@dataclass(frozen=True)
class ScoreSummary:
    """What :func:`score_files` wrote, with each input's counts (coffea-cutflow style).

    Attributes
    ----------
    outputs : list of pathlib.Path
        The files written: one, or one per input.
    n_entries : int
        Entries of the inputs, one score each.
    n_scored : int
        Entries that passed the readers' selection and got a score; the others are NaN.
    skipped_steps : list of str
        The model's measuring steps left out (see :func:`measured_model`).
    selection : str
        The readers' lepton selection in words (the pair mode and the number of leptons).
    files : list of dict
        Per input, in order: ``input``, ``output``, ``n_entries``, ``n_scored``, ``dropped``
        (reason -> entries the selection dropped for it, every reason of the mode) and, with a
        support, ``outside`` (variable -> scored entries outside its range, and ``"any"``).
    outside : dict or None
        Over all inputs: variable of :data:`SUPPORT_VARIABLES` -> scored entries outside the
        support's range, and ``"any"`` -> those outside in any variable; None without a
        support.
    """

    outputs: list
    n_entries: int
    n_scored: int
    skipped_steps: list
    selection: str = ""
    files: list = field(default_factory=list)
    outside: dict | None = None

    @property
    def output(self) -> Path:
        """The output file (the first of several)."""
        return self.outputs[0]

    @property
    def n_dropped(self) -> int:
        """Entries the selection dropped (NaN in the output)."""
        return self.n_entries - self.n_scored

    @property
    def dropped(self) -> dict[str, int]:
        """Reason -> entries the selection dropped for it, over all inputs."""
        total: dict[str, int] = {}
        for file in self.files:
            for reason, n in file["dropped"].items():
                total[reason] = total.get(reason, 0) + n
        return total


def score_files(model, inputs, output, *, lepton="mu", tree=None, columns=None,
                pair="exclusive", pair_mass=None, n_leptons=None, name="score", support=None,
                support_column=None, chunk_size=100_000, n_jobs=None, dask=None,
                progress=False) -> ScoreSummary:
    """Score every entry of event files with a fitted model, in step with the files.

    The inputs are read chunk by chunk (:func:`~sklearn_bsym.datasets.read_event_chunks`), so
    memory holds one chunk whatever their size; they are taken as measured and scored by
    :func:`measured_model` (never smeared). Each output has one score per input entry, in the
    inputs' order (several inputs into one output: one after the other, as a ROOT ``TChain``
    reads them), and NaN where the reader's selection drops the event (not the leptons asked
    for: see ``pair`` and ``n_leptons``); the counts per reason of each input are returned (an
    input none of whose events is selected gets NaN throughout). The score is the signal
    probability, ``predict_proba(X)[:, 1]``.

    Parameters
    ----------
    model : fitted estimator
        A classifier of this library, or a pipeline ending in one (e.g. from
        :func:`load_model`).
    inputs : path or list of paths
        Event files of any format the readers take (ROOT, LHE, parquet, CSV).
    output : str or os.PathLike
        ``.root`` (a tree ``"scores"`` with a branch ``name``, as many entries as the input
        tree: attach it with ``tree.AddFriend("scores", "OUTPUT.root")``), ``.parquet`` or
        ``.csv`` (a column ``name``): one file for all inputs, or a pattern with ``{stem}`` (the
        input's file name without its extension) or ``{index}`` (its place among the inputs,
        from 0) for one output per input, e.g. ``"scores/{stem}_scores.root"``. Each is written
        whole or not at all.
    lepton, tree, columns, pair, pair_mass, n_leptons
        The readers' options (see :func:`~sklearn_bsym.datasets.load_event_file`): which
        leptons of each event are scored. A NaN score means the event does not have them:
        ``pair="exclusive"`` (the default), not exactly ``n_leptons / 2`` leptons of each
        charge; ``"leading"`` and ``"closest"``, fewer than ``n_leptons / 2`` of a charge.
    name : str, default="score"
        The branch or column of the scores.
    support : dict, default=None
        The model's training support (:func:`measure_support`; ``fit`` keeps it in the model
        file: ``read_model_info(path)["metadata"]["support"]``): the scored entries outside it
        are counted per variable (``ScoreSummary.outside``).
    support_column : str, default=None
        With ``support``: also write a branch or column of this name beside the scores, True
        where the entry was scored outside the support (False where inside or not scored).
    chunk_size : int, default=100_000
        Entries read and scored at once.
    n_jobs : int, default=None
        Inputs scored at once by joblib's worker processes (-1: all cores; None or 1: one after
        the other in this process). Each input is one task, so one input gains nothing.
    dask : str, default=None
        Score the inputs on Dask: ``"local"`` starts a ``LocalCluster`` of ``n_jobs`` workers
        on this machine, anything else is the address of a running scheduler (e.g.
        ``"tcp://10.0.0.5:8786"``); its workers must read the inputs (and, for one output per
        input, write the outputs) at the same paths.
    progress : bool, default=False
        Show a progress bar over the entries (after two seconds, so not for short inputs).

    Returns
    -------
    ScoreSummary

    Notes
    -----
    Parallel scoring gives the serial results bit for bit: each input is read in the same
    chunks and scored by the same model. With one output for all inputs, the scores of an input
    that finishes before the ones ahead of it are held in memory (8 bytes an entry) until they
    are written; one output per input streams each to its file.
    """
    inputs = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    if not inputs:
        raise ValueError("Give at least one input file to score.")
    outputs = score_outputs(output, inputs)
    columns_out = {name: np.float64}
    if support_column is not None:
        if support is None:
            raise ValueError("support_column needs the model's support (support=...), whose "
                             "ranges the flag compares with.")
        if support_column == name:
            raise ValueError(f"support_column and name are both {name!r}; give the flag "
                             "another name.")
        columns_out[support_column] = np.bool_
    if support is not None:
        check_support(support)
    readers = [read_event_chunks(path, lepton=lepton, tree=tree, columns=columns, pair=pair,
                                 pair_mass=pair_mass, n_leptons=n_leptons,
                                 chunk_size=chunk_size, allow_empty=True) for path in inputs]
    measured, skipped = measured_model(model, return_skipped=True)
    n_features = getattr(measured, "n_features_in_", None)
    wanted = (support["n_particles"] if support is not None
              else None if n_features is None else n_features // 4)
    for reader in readers:
        if wanted is not None and reader.n_particles != wanted:
            raise ValueError(
                f"The model was trained on events of {wanted} leptons but {reader.path} is "
                f"read with {reader.n_particles} ({reader.selection}); pass n_leptons={wanted} "
                f"(--n-leptons {wanted}), or give files of {wanted}-lepton events."
            )
    task = _ScoreTask(measured, columns_out, support)
    totals = [r.n_entries for r in readers]
    total = None if None in totals else sum(totals)
    one = len(set(outputs)) == 1
    files = _run(task, readers, outputs, one, total, n_jobs, dask, progress)
    outside = None
    if support is not None:
        outside = {key: sum(f["outside"][key] for f in files) for key in files[0]["outside"]}
    return ScoreSummary(list(dict.fromkeys(outputs)), sum(f["n_entries"] for f in files),
                        sum(f["n_scored"] for f in files), skipped, readers[0].selection, files,
                        outside)


def score_outputs(output, inputs) -> list[Path]:
    """The file :func:`score_files` writes the scores of each of ``inputs`` to: ``output``
    itself, or the pattern with ``{stem}`` (the input's file name without its extension) or
    ``{index}`` filled in; checked as :func:`score_files` checks them before any work (a
    known suffix, :data:`SCORE_SUFFIXES`; writable; none of the inputs), else a ValueError
    that says what to change.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn_bsym.deploy import score_outputs
    >>> folder = Path(tempfile.mkdtemp())
    >>> [p.name for p in score_outputs(folder / "{stem}.root", ["a/run1.lhe.gz", "b/run2.root"])]
    ['run1.root', 'run2.root']
    """
    import string

    from ..datasets import event_file_suffix

    text = os.fspath(output)
    fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    if fields - {"stem", "index"}:
        raise ValueError(f"The output {text!r} names {sorted(fields - {'stem', 'index'})}; an "
                         "output pattern knows {stem} (the input's file name without its "
                         "extension) and {index} (its place among the inputs).")
    if fields:
        outputs = []
        for i, path in enumerate(inputs):
            path = Path(path)
            suffix = event_file_suffix(path) or path.suffix
            stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
            outputs.append(Path(text.format(stem=stem, index=i)))
        repeated = sorted({str(o) for o in outputs if outputs.count(o) > 1})
        if repeated:
            raise ValueError(f"The output pattern {text!r} gives {repeated[0]} to several "
                             "inputs (same file name in other folders); add {index}.")
    else:
        outputs = [Path(text)] * len(inputs)
    for out in dict.fromkeys(outputs):
        if out.suffix.lower() not in SCORE_SUFFIXES:
            raise ValueError(f"Cannot write scores to {out}: the output must end in "
                             f"{', '.join(SCORE_SUFFIXES)}.")
        check_output(out, inputs=inputs, what="scores")
    return outputs


class _ScoreTask:
    """The scoring of one input (picklable, for joblib's and Dask's workers): into its own
    output file, or into memory for the caller to write in order."""

    def __init__(self, measured, columns, support):
        self.measured, self.columns, self.support = measured, columns, support

    def __call__(self, reader, output=None, bar=None):
        """``(summary, arrays)``: the input's counts, and with ``output=None`` its columns (one
        array per output column; else written to ``output``, and None)."""
        if output is None:
            parts: list[dict] = []
            summary = self.score(reader, parts.append, bar)
            arrays = {key: (np.concatenate([p[key] for p in parts]) if parts
                            else np.empty(0, dtype=dtype))
                      for key, dtype in self.columns.items()}
            return summary, arrays
        with _written(output, self.columns) as write:
            return self.score(reader, write, bar), None

    def score(self, reader, write, bar=None) -> dict:
        """Score ``reader``'s chunks into ``write``; returns the input's counts."""
        n_entries = n_scored = 0
        names = list(self.columns)
        outside = None if self.support is None else dict.fromkeys((*SUPPORT_VARIABLES, "any"), 0)
        for chunk in reader:
            scores = np.full(chunk.selected.size, np.nan)
            out = {names[0]: scores}
            flags = np.zeros(chunk.selected.size, dtype=bool)
            if chunk.X.shape[0]:
                scores[chunk.selected] = signal_score(self.measured, chunk.X)
                if self.support is not None:
                    where = outside_support(chunk.X, self.support)
                    for key in SUPPORT_VARIABLES:
                        outside[key] += int(where[key].sum())
                    flags[chunk.selected] = where.to_numpy().any(axis=1)
                    outside["any"] += int(flags.sum())
            if len(names) > 1:
                out[names[1]] = flags
            write(out)
            n_entries += scores.size
            n_scored += chunk.X.shape[0]
            if bar is not None:
                bar.update(scores.size)
        summary = {"input": str(reader.path), "n_entries": n_entries, "n_scored": n_scored,
                   "dropped": dict(reader.info["skipped"])}
        if outside is not None:
            summary["outside"] = outside
        return summary


def _run(task, readers, outputs, one, total, n_jobs, dask, progress) -> list[dict]:
    """Each input's counts, the inputs scored by ``task`` serially, on joblib's workers or on
    Dask, into their outputs."""
    from joblib import effective_n_jobs
    from tqdm.auto import tqdm

    workers = 1 if n_jobs is None and dask is None else effective_n_jobs(n_jobs or 1)
    parallel = dask is not None or min(workers, len(readers)) > 1
    files = []
    # The bar appears only on inputs that take more than a second or two.
    with tqdm(total=total, unit=" entries", delay=2, disable=not progress) as bar:
        if not parallel:
            if one:
                with _written(outputs[0], task.columns) as write:
                    for reader in readers:
                        files.append(task.score(reader, write, bar))
            else:
                files = [task(reader, out, bar)[0] for reader, out in zip(readers, outputs,
                                                                          strict=True)]
        else:
            stream = _parallel(task, readers, None if one else outputs, n_jobs, dask)
            with contextlib.closing(stream) as results:
                files = _collect(results, task, outputs, one, bar)
    for summary, out in zip(files, outputs, strict=True):
        summary["output"] = str(out)
    return files


def _collect(results, task, outputs, one, bar) -> list[dict]:
    """The counts of the parallel ``results`` (in order), their scores written to the one
    output when ``one``."""
    files = []
    if one:
        with _written(outputs[0], task.columns) as write:
            for summary, arrays in results:
                write(arrays)
                files.append(summary)
                bar.update(summary["n_entries"])
        return files
    for summary, _ in results:
        files.append(summary)
        bar.update(summary["n_entries"])
    return files


def _parallel(task, readers, outputs, n_jobs, dask):
    """The results of ``task`` on each reader (and output), in the inputs' order, from
    joblib's worker processes or from Dask."""
    outputs = outputs or [None] * len(readers)
    if dask is None:
        from joblib import Parallel, delayed

        yield from Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(task)(reader, out) for reader, out in zip(readers, outputs, strict=True))
        return
    from ..studies import dask_backend

    with dask_backend(dask, n_workers=n_jobs) as client:
        shared = client.scatter(task, broadcast=True)
        futures = [client.submit(_call, shared, reader, out, pure=False)
                   for reader, out in zip(readers, outputs, strict=True)]
        try:
            for future in futures:
                yield future.result()
        finally:
            client.cancel(futures)


def _call(task, reader, output):
    return task(reader, output)


@contextlib.contextmanager
def _written(output: Path, columns: dict):
    """``write(arrays)``, which appends a chunk of each of ``columns`` (name -> dtype) to the
    file ``output`` (its format by its suffix), written whole or not at all through
    :func:`~sklearn_bsym._files.atomic_output` (a temporary file of this run's own, renamed
    into place at the end); a temporary file that a killed run left behind for the same output
    is removed first."""
    remove_stale_temporaries(output)
    suffix = output.suffix.lower()
    with atomic_output(output) as fh:
        if suffix == ".root":
            import uproot

            with uproot.recreate(fh) as file:
                yield file.mktree(SCORE_TREE, dict(columns)).extend
        elif suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pa.schema([(key, pa.from_numpy_dtype(dtype))
                                for key, dtype in columns.items()])
            with pq.ParquetWriter(fh, schema) as file:
                yield lambda arrays: file.write_table(pa.table(arrays, schema=schema))
        else:
            import pandas as pd

            text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
            text.write(",".join(columns) + "\n")
            # 17 significant digits read back bit for bit; NaN as "nan" (pandas reads it as NaN)
            yield lambda arrays: pd.DataFrame(arrays).to_csv(
                text, header=False, index=False, float_format="%.17g", na_rep="nan")
            text.flush()
            text.detach()
