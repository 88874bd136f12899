"""Scores of measured events, written back in step with the files they come from."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._files import atomic_output, check_output, remove_stale_temporaries
from ..datasets import read_event_chunks
from ..preprocessing._reweighting import _signal_score, split_measurement

__all__ = ["measured_model", "score_files", "ScoreSummary", "SCORE_SUFFIXES", "SCORE_TREE"]

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
    """What :func:`score_files` wrote.

    Attributes
    ----------
    output : pathlib.Path
    n_entries : int
        Entries of the inputs, one score each.
    n_scored : int
        Entries that passed the readers' selection and got a score; the others are NaN.
    skipped_steps : list of str
        The model's measuring steps left out (see :func:`measured_model`).
    """

    output: Path
    n_entries: int
    n_scored: int
    skipped_steps: list

    @property
    def n_dropped(self) -> int:
        """Entries the selection dropped (NaN in the output)."""
        return self.n_entries - self.n_scored


def score_files(model, inputs, output, *, lepton="mu", tree=None, columns=None, name="score",
                chunk_size=100_000, progress=False) -> ScoreSummary:
    """Score every entry of event files with a fitted model, in step with the files.

    The inputs are read chunk by chunk (:func:`~sklearn_bsym.datasets.read_event_chunks`), so
    memory holds one chunk whatever their size; they are taken as measured and scored by
    :func:`measured_model` (never smeared). The output has one score per input entry, in the
    inputs' order (several inputs: one after the other, as a ROOT ``TChain`` reads them), and
    NaN where the reader's selection drops the event (no opposite-charge lepton pair of the
    requested kind). The score is the signal probability, ``predict_proba(X)[:, 1]``.

    Parameters
    ----------
    model : fitted estimator
        A classifier of this library, or a pipeline ending in one (e.g. from
        :func:`load_model`).
    inputs : path or list of paths
        Event files of any format the readers take (ROOT, LHE, parquet, CSV).
    output : str or os.PathLike
        ``.root`` (a tree ``"scores"`` with one branch ``name``, as many entries as the input
        tree: attach it with ``tree.AddFriend("scores", "OUTPUT.root")``), ``.parquet`` or
        ``.csv`` (one column ``name``). Written whole or not at all.
    lepton, tree, columns
        The readers' options (see :func:`~sklearn_bsym.datasets.load_event_file`).
    name : str, default="score"
        The branch or column of the scores.
    chunk_size : int, default=100_000
        Entries read and scored at once.
    progress : bool, default=False
        Show a progress bar over the entries (after two seconds, so not for short inputs).

    Returns
    -------
    ScoreSummary
    """
    from tqdm.auto import tqdm

    inputs = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    output = Path(output)
    suffix = output.suffix.lower()
    if suffix not in SCORE_SUFFIXES:
        raise ValueError(f"Cannot write scores to {output}: the output must end in "
                         f"{', '.join(SCORE_SUFFIXES)}.")
    check_output(output, inputs=inputs, what="scores")
    readers = [read_event_chunks(path, lepton=lepton, tree=tree, columns=columns,
                                 chunk_size=chunk_size) for path in inputs]
    measured, skipped = measured_model(model, return_skipped=True)
    totals = [r.n_entries for r in readers]
    total = None if None in totals else sum(totals)
    n_entries = n_scored = 0
    with _writer(output, name) as write:
        # The bar appears only on inputs that take more than a second or two.
        with tqdm(total=total, unit=" entries", delay=2, disable=not progress) as bar:
            for reader in readers:
                for chunk in reader:
                    scores = np.full(chunk.selected.size, np.nan)
                    if chunk.X.shape[0]:
                        scores[chunk.selected] = _signal_score(measured, chunk.X)
                    write(scores)
                    n_entries += scores.size
                    n_scored += chunk.X.shape[0]
                    bar.update(scores.size)
    return ScoreSummary(output, n_entries, n_scored, skipped)


@contextlib.contextmanager
def _writer(output: Path, name: str):
    """``write(scores)``, which appends a chunk of scores to the file ``output`` (its format by
    its suffix), written whole or not at all through :func:`~sklearn_bsym._files.atomic_output`
    (a temporary file of this run's own, renamed into place at the end); a temporary file
    that a killed run left behind for the same output is removed first."""
    remove_stale_temporaries(output)
    suffix = output.suffix.lower()
    with atomic_output(output) as fh:
        if suffix == ".root":
            import uproot

            with uproot.recreate(fh) as file:
                tree = file.mktree(SCORE_TREE, {name: np.float64})
                yield lambda scores: tree.extend({name: scores})
        elif suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pa.schema([(name, pa.float64())])
            with pq.ParquetWriter(fh, schema) as file:
                yield lambda scores: file.write_table(pa.table({name: scores}, schema=schema))
        else:
            import pandas as pd

            text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
            text.write(f"{name}\n")
            # 17 significant digits read back bit for bit; NaN as "nan" (pandas reads it as NaN)
            yield lambda scores: pd.DataFrame({name: scores}).to_csv(
                text, header=False, index=False, float_format="%.17g", na_rep="nan")
            text.flush()
            text.detach()
