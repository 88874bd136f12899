"""Reading and writing events: LHE generator files, parquet and CSV tables.

Every reader returns the canonical layout of :mod:`sklearn_bsym.events`: ``X`` of shape
``(n_events, 8)``, the positive lepton's ``(px, py, pz, E)`` then the negative one's, in GeV.

- :func:`load_lhe` reads a Les Houches Event file (``.lhe`` or ``.lhe.gz``) with pylhe and selects
  the final-state lepton pair of each event, vectorized with awkward.
- :func:`save_events` / :func:`load_events` round-trip ``X``, the labels and truth quantities
  through parquet or CSV exactly.
- :func:`load_event_file` reads any supported format (ROOT through
  :func:`sklearn_bsym.datasets.load_root`, tables with any column names through a mapping);
  :func:`make_labelled_dataset` builds
  ``(X, y)`` from a signal source and a background source (paths or arrays).
"""

from __future__ import annotations

import gzip
import itertools
import os
import warnings
import zlib
from numbers import Integral
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .._files import atomic_output
from .._random import check_random_state
from ..events import check_events, check_labels, feature_names
from ._columns import (
    MAPPING_HINT,
    check_column_mapping,
    checked_values,
    events_from_columns,
    mapping_selection,
    mapping_sources,
)
from ._common import (
    FLAVOURS,
    SkippedEventsWarning,
    check_max_events,
    existing_file,
    finish_selection,
    lepton_pair,
    one_line,
    pair_name,
    refuse_no_selection,
    selection_hint,
)
from ._select import check_selection

__all__ = [
    "load_lhe",
    "load_event_file",
    "load_events",
    "save_events",
    "make_labelled_dataset",
    "read_event_chunks",
    "EventChunks",
    "EventChunk",
    "EVENT_SUFFIXES",
    "event_file_suffix",
]

_LHE_SUFFIXES = (".lhe", ".lhe.gz")
_ROOT_SUFFIXES = (".root",)
_TABLE_SUFFIXES = (".parquet", ".csv", ".csv.gz")
_LABEL = "label"
_TRUTH_PREFIX = "truth_"
# The %.17g values save_events writes read back exactly: pandas 3's default parser does it; before
# pandas 3 the default is off by an ulp on some values and "round_trip" (deprecated in 3) is exact.
_CSV_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}

#: The endings of the event files the readers know (lower case), by kind of file: LHE and ROOT
#: files carry the leptons' flavours, tables only when a column mapping names a pdg_id.
EVENT_SUFFIXES = {"lhe": _LHE_SUFFIXES, "root": _ROOT_SUFFIXES, "table": _TABLE_SUFFIXES}


def event_file_suffix(path) -> str | None:
    """The ending of an event file's name that gives its format, one of
    :data:`EVENT_SUFFIXES` (``".lhe.gz"`` for ``"run.LHE.gz"``), or None when the readers do
    not know it.

    >>> from sklearn_bsym.datasets import event_file_suffix
    >>> event_file_suffix("data/run_01.LHE.gz"), event_file_suffix("notes.txt")
    ('.lhe.gz', None)
    """
    return _suffix(Path(path))


def _suffix(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in sorted(_LHE_SUFFIXES + _TABLE_SUFFIXES + _ROOT_SUFFIXES, key=len,
                         reverse=True):
        if name.endswith(suffix):
            return suffix
    return None


def _unsupported(path: Path) -> ValueError:
    return ValueError(
        f"Cannot read {path}: unsupported file extension. Supported: "
        f"{', '.join(_LHE_SUFFIXES + _TABLE_SUFFIXES + _ROOT_SUFFIXES)}."
    )


#: Events of an LHE file converted to awkward arrays at once (about 100 MB of records).
LHE_CHUNK = 20_000


def _lhe_record_chunks(path: Path, max_events: int | None, chunk_size: int = LHE_CHUNK):
    """The events of an LHE file (or its first ``max_events``) as awkward arrays of at most
    ``chunk_size`` events; nothing for a file without events."""
    import pylhe

    if path.stat().st_size == 0:
        raise ValueError(f"LHE file {path} is empty (0 bytes); it contains no events.")
    lhefile = _lhe_guard(path, pylhe.LHEFile.fromfile, path, with_attributes=False)
    events = itertools.islice(lhefile.events, max_events)
    try:
        while len(records := _lhe_guard(path, pylhe.to_awkward,
                                        itertools.islice(events, chunk_size))):
            yield records
    finally:
        lhefile.events.close()


def _lhe_guard(path: Path, call, *args, **kwargs):
    """``call(*args, **kwargs)`` reading the LHE file ``path``, its damage said in one line."""
    # pylhe reports XML parse errors as a RuntimeWarning and then stops reading, which would
    # silently truncate the sample: turn them into an error instead.
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Parse Error", category=RuntimeWarning)
        try:
            return call(*args, **kwargs)
        except RuntimeWarning as exc:
            raise ValueError(
                f"{path} is not a complete, valid LHE (XML) file: {one_line(exc)}. Check that the "
                "file is not truncated and that it is an LHE file."
            ) from exc
        except (ValueError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise ValueError(
                f"Could not read {path} as an LHE file ({type(exc).__name__}: {one_line(exc)}). A "
                "corrupt or truncated .gz: re-download or re-generate the file."
            ) from exc


def _pair_counts(ids, pair: tuple[int, int]):
    import awkward as ak

    n_pos = ak.to_numpy(ak.sum(ids == pair[0], axis=1))
    n_neg = ak.to_numpy(ak.sum(ids == pair[1], axis=1))
    return n_pos, n_neg


class _LheSelection:
    """The lepton selection of :func:`load_lhe`, chunk by chunk (:meth:`select`), with the
    counts its warning, its error and its ``info`` report over all chunks."""

    def __init__(self, path: Path, pair: tuple[int, int], selection):
        self.path, self.pair, self.selection = path, pair, selection
        self.n_read = self.n_selected = 0
        self.skipped = dict.fromkeys(selection.reasons(), 0)
        self.lepton_ids: dict[int, int] = {}
        self.pairs = dict.fromkeys(FLAVOURS, 0)

    def select(self, records) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        """``(X, selected, dropped)`` of one chunk of records: the leptons of the pair's ids
        chosen by the selection among each event's final-state particles, which of the chunk's
        events are kept, and the others counted per reason."""
        import awkward as ak

        particles = records["particles"]
        final = particles[particles["status"] == 1]
        ids = final["id"]
        flat_ids = ak.to_numpy(ak.flatten(ids))
        leptons = flat_ids[(np.abs(flat_ids) >= 11) & (np.abs(flat_ids) <= 16)]
        for pid, n in zip(*np.unique(leptons, return_counts=True), strict=True):
            self.lepton_ids[int(pid)] = self.lepton_ids.get(int(pid), 0) + int(n)
        for name, pid in FLAVOURS.items():
            p, n = _pair_counts(ids, (-pid, pid))
            self.pairs[name] += int(((p == 1) & (n == 1)).sum())
        sign = np.where(flat_ids == self.pair[0], 1, np.where(flat_ids == self.pair[1], -1, 0))
        vectors = np.stack([ak.to_numpy(ak.flatten(final["vector"][c]))
                            for c in ("px", "py", "pz", "e")], axis=-1)
        X, keep, dropped = self.selection.select(ak.to_numpy(ak.num(ids, axis=1)), vectors, sign)
        for reason, n in dropped.items():
            self.skipped[reason] += n
        self.n_read += len(keep)
        self.n_selected += int(keep.sum())
        if not keep.any():
            return X, keep, dropped
        try:
            return check_events(X, n_particles=self.selection.n_leptons), keep, dropped
        except ValueError as exc:
            first = self.n_read - len(keep)
            rows = f" (rows count the selected events from event {first} on)" if first else ""
            raise ValueError(
                f"LHE file {self.path} has unusable lepton four-momenta{rows}: {exc}") from exc

    def explain(self) -> tuple[str, str]:
        """(why events were skipped, what was looked for and how to select others)."""
        return selection_hint(self.selection, self.pair, self.skipped)

    def refuse_empty(self) -> None:
        """A ValueError when no event was read, or none has the leptons (naming the pairs the
        file does contain)."""
        if self.n_read == 0:
            raise ValueError(f"LHE file {self.path} contains no <event> blocks.")
        if self.n_selected:
            return
        contained = [f"{name}+ {name}- pairs in {n} events" for name, n in self.pairs.items() if n]
        asked = [name for name, pid in FLAVOURS.items() if pid == abs(self.pair[1])]
        if contained and not self.pairs[asked[0]]:
            best = max(self.pairs, key=self.pairs.get)
            what = f"it contains {', '.join(contained)}; pass lepton={best!r}"
        elif not contained:
            what = ("it contains no same-flavour lepton pair; final-state lepton ids found: "
                    f"{dict(sorted(self.lepton_ids.items())) or 'none'}")
        else:
            detail, hint = self.explain()
            what = f"{detail}. {hint}"
        raise ValueError(
            f"LHE file {self.path} has no {pair_name(self.pair)} "
            f"{'pairs' if self.selection.n_leptons == 2 else 'leptons as asked'} in its "
            f"{self.n_read} events read (final-state, status 1 particles); {what}"
            f"{'' if what.endswith('.') else '.'}"
        )


def load_lhe(path, *, lepton="mu", pair="exclusive", pair_mass=None, n_leptons=None,
             max_events=None, return_info=False):
    """Read the final-state leptons of each event of an LHE file.

    Parameters
    ----------
    path : str or os.PathLike
        A Les Houches Event file, plain (``.lhe``) or gzipped (``.lhe.gz``; detected from the
        content, so any name works).
    lepton : {"mu", "e", "tau"}, int or pair of int, default="mu"
        Which leptons to select: a flavour name, an unsigned PDG id (13 for muons, 11 for
        electrons) or a pair of signed PDG ids, one antilepton (negative id, positive charge)
        and one lepton, e.g. ``(-11, 13)`` for e+ mu-.
    pair : {"exclusive", "leading", "closest"}, default="exclusive"
        Which leptons of an event are taken (see :func:`load_root`): exactly one of each
        charge, the highest-pT one of each charge, or the opposite-charge pair whose mass is
        closest to ``pair_mass``.
    pair_mass : float, default=None
        The mass in GeV of ``pair="closest"`` (None: the Z mass, 91.1876).
    n_leptons : int, default=None
        Leptons per event, even, half of each charge (None: 2); ``X`` has ``4 * n_leptons``
        columns, the positive leptons first, each charge by decreasing pT.
    max_events : int, default=None
        Read only the first ``max_events`` events of the file (before the selection).
    return_info : bool, default=False
        Also return a dict describing what was read.

    Returns
    -------
    X : ndarray of shape (n_selected, 4 * n_leptons), float64
        ``(px, py, pz, E)`` in GeV of the positive lepton(s), then of the negative one(s).
    info : dict
        Only with ``return_info``: ``selection`` (the mode in words), ``n_events_read``,
        ``n_selected``, ``n_skipped``, ``skipped`` (reason -> number of events, in cutflow
        order), ``lepton_ids`` (signed PDG id -> number of final-state leptons, neutrinos
        included, with that id), ``pairs`` (flavour -> number of events with exactly one
        same-flavour opposite-charge pair) and ``weights`` (the event weights XWGTUP of the
        selected events).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is empty, not valid LHE, has no events, or no event has the requested
        leptons (the message names the pairs the file does contain).

    Warns
    -----
    SkippedEventsWarning
        When some events lack the requested leptons among their final-state (status 1)
        particles; those events are skipped and counted per reason.
    """
    import awkward as ak

    pair_ids = lepton_pair(lepton)
    selection = check_selection(pair, pair_mass, 2 if n_leptons is None else n_leptons)
    max_events = check_max_events(max_events)
    path = existing_file(path)
    reading = _LheSelection(path, pair_ids, selection)
    blocks, weights = [], []
    for records in _lhe_record_chunks(path, max_events):
        X, keep, _ = reading.select(records)
        blocks.append(X)
        weights.append(ak.to_numpy(records["eventinfo"]["weight"][keep]).astype(np.float64))
    reading.refuse_empty()
    n_read, n_selected = reading.n_read, reading.n_selected
    n_skipped = n_read - n_selected
    if n_skipped:
        detail, hint = reading.explain()
        warnings.warn(
            f"load_lhe skipped {n_skipped} of {n_read} events of {path} (final-state "
            f"particles): {detail}. {hint}",
            SkippedEventsWarning,
            stacklevel=2,
        )
    X = np.concatenate(blocks)
    if not return_info:
        return X
    info = {
        "selection": str(selection),
        "n_events_read": n_read,
        "n_selected": n_selected,
        "n_skipped": n_skipped,
        "skipped": dict(reading.skipped),
        "lepton_ids": dict(sorted(reading.lepton_ids.items())),
        "pairs": reading.pairs,
        "weights": np.concatenate(weights),
    }
    return X, info


def save_events(path, X, y=None, truth=None) -> None:
    """Write events (and optionally labels and truth quantities) to parquet or CSV.

    Columns: the four-momenta as ``events.feature_names(n_particles)`` (``mu0_px ... mu1_E``),
    then ``label`` (int64) when ``y`` is given, then the columns of ``truth`` prefixed with
    ``truth_``. CSV floats are written with 17 significant digits, so float64 values read back
    bit for bit; parquet keeps dtypes as well.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; ``.parquet``, ``.csv`` or ``.csv.gz``. Replaced if it exists, once the
        new file is complete (a link there is replaced, never followed).
    X : array-like of shape (n_events, 4 * n_particles)
        Events in the canonical layout; checked with :func:`sklearn_bsym.events.check_events`.
    y : array-like of shape (n_events,), default=None
        0/1 labels (a single class is allowed, e.g. a file of signal only).
    truth : DataFrame, default=None
        Per-event truth quantities with one row per event (e.g. from ``return_truth=True``).
    """
    if not isinstance(path, str | os.PathLike):
        raise ValueError(f"Expected a file path (str or os.PathLike), got {type(path).__name__}.")
    path = Path(path)
    suffix = _suffix(path)
    if suffix not in _TABLE_SUFFIXES:
        raise ValueError(
            f"Cannot save events to {path}: supported extensions are {', '.join(_TABLE_SUFFIXES)}."
        )
    X = check_events(X)
    table = pd.DataFrame(X, columns=feature_names(X.shape[1] // 4))
    if y is not None:
        table[_LABEL] = check_labels(y, n_events=X.shape[0], estimator="save_events",
                                     both_classes=False)
    if truth is not None:
        truth = truth if isinstance(truth, pd.DataFrame) else pd.DataFrame(truth)
        if len(truth) != X.shape[0]:
            raise ValueError(
                f"truth has {len(truth)} rows but X has {X.shape[0]} events; pass one row of "
                "truth per event."
            )
        for column in truth.columns:
            table[f"{_TRUTH_PREFIX}{column}"] = truth[column].to_numpy()
    # Written whole or not at all, never through a link (see _files.atomic_output).
    with atomic_output(path) as fh:
        if suffix == ".parquet":
            table.to_parquet(fh, index=False)
        else:
            table.to_csv(fh, index=False, float_format="%.17g", mode="wb",
                         compression="gzip" if suffix == ".csv.gz" else None)


def _table_guard(path: Path, suffix: str, call, *args, **kwargs):
    """``call(*args, **kwargs)`` reading the table ``path``, its failure said in one line."""
    try:
        return call(*args, **kwargs)
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"Event file {path} is empty; it contains no events.") from exc
    except (OSError, ValueError, EOFError, pd.errors.ParserError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        kind = "parquet" if suffix == ".parquet" else "CSV"
        raise ValueError(
            f"Could not read {path} as a {kind} event file ({type(exc).__name__}: "
            f"{one_line(exc)}). "
            "Is it a file written by save_events?"
        ) from exc


def _read_table(path: Path, suffix: str) -> pd.DataFrame:
    if suffix == ".parquet":
        return _table_guard(path, suffix, pd.read_parquet, path)
    return _table_guard(path, suffix, pd.read_csv, path, **_CSV_FLOATS)


def _table_names(path: Path, suffix: str) -> list[str]:
    """The column names of a table file, from its schema or header alone."""
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        schema = _table_guard(path, suffix, pq.read_schema, path)
        index = (schema.pandas_metadata or {}).get("index_columns", [])
        return [name for name in schema.names if name not in index]
    header = _table_guard(path, suffix, pd.read_csv, path, nrows=0, **_CSV_FLOATS)
    return [str(c) for c in header.columns]


def _table_rows(path: Path, suffix: str) -> int | None:
    """Rows of a parquet file (from its metadata); None for CSV (known only once read)."""
    if suffix != ".parquet":
        return None
    import pyarrow.parquet as pq

    return int(_table_guard(path, suffix, pq.read_metadata, path).num_rows)


def _table_chunks(path: Path, suffix: str, columns: list[str], chunk_size: int):
    """The ``columns`` of a table file as DataFrames of at most ``chunk_size`` rows (pyarrow's
    record batches, pandas' CSV chunks), so memory holds one chunk, whatever the file's size."""
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        file = _table_guard(path, suffix, pq.ParquetFile, path)
        try:
            batches = file.iter_batches(batch_size=chunk_size, columns=columns)
            while (batch := _table_guard(path, suffix, next, batches, None)) is not None:
                yield batch.to_pandas()
        finally:
            file.close()
        return
    reader = _table_guard(path, suffix, pd.read_csv, path, usecols=columns,
                          chunksize=chunk_size, **_CSV_FLOATS)
    with reader:
        while (chunk := _table_guard(path, suffix, next, reader, None)) is not None:
            yield chunk


def _canonical_momenta(path: Path, columns: list[str]) -> list[str]:
    """The four-momentum columns of a table in the layout of :func:`save_events`, else a
    ValueError naming the columns it has and the column mapping to read it."""
    momenta = [c for c in columns if c != _LABEL and not c.startswith(_TRUTH_PREFIX)]
    n_particles = max(len(momenta) // 4, 1)
    if momenta != feature_names(n_particles):
        raise ValueError(
            f"{path} is not an event file written by save_events: expected the four-momentum "
            f"columns {', '.join(feature_names(1))}, ... (4 per particle, in order), optionally "
            f"'{_LABEL}' and '{_TRUTH_PREFIX}*' columns; got columns {columns[:12]}. For a file "
            f"with its own column names, {MAPPING_HINT}."
        )
    return momenta


def _canonical_events(table: pd.DataFrame, momenta: list[str], path: Path,
                      first_row: int = 0) -> np.ndarray:
    """The checked events of (a chunk of) a table in the layout of :func:`save_events`;
    ``first_row`` is the chunk's first row in the file."""
    where = str(path)
    values = [checked_values(table[c].to_numpy(), c.rsplit("_", 1)[1], c, where,
                             rows=first_row) for c in momenta]
    try:
        return check_events(np.column_stack(values))
    except ValueError as exc:
        rows = f" (rows count from row {first_row})" if first_row else ""
        raise ValueError(f"Event file {path}{rows}: {exc}") from exc


def load_events(path, *, return_truth=False):
    """Read events written by :func:`save_events` (parquet, CSV or gzipped CSV).

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.
    return_truth : bool, default=False
        Also return the truth columns (``truth_`` prefix removed) as a DataFrame, or None when
        the file has none.

    Returns
    -------
    X : ndarray of shape (n_events, 4 * n_particles)
        Float64 (float32 when it was saved so in parquet), validated with
        :func:`sklearn_bsym.events.check_events` (finite, physical four-vectors).
    y : ndarray of shape (n_events,), int64, or None
        The labels, or None when the file has no ``label`` column.
    truth : DataFrame or None
        Only with ``return_truth``.
    """
    path = existing_file(path)
    suffix = _suffix(path)
    if suffix not in _TABLE_SUFFIXES:
        if suffix in _LHE_SUFFIXES:
            raise ValueError(
                f"{path} is an LHE file; read it with load_lhe or load_event_file, not load_events."
            )
        if suffix in _ROOT_SUFFIXES:
            raise ValueError(
                f"{path} is a ROOT file; read it with load_root or load_event_file, not "
                "load_events."
            )
        raise _unsupported(path)
    table = _read_table(path, suffix)
    columns = [str(c) for c in table.columns]
    momenta = _canonical_momenta(path, columns)
    if len(table) == 0:
        raise ValueError(f"Event file {path} has the event columns but no rows (no events).")
    X = _canonical_events(table, momenta, path)
    y = None
    if _LABEL in columns:
        try:
            y = check_labels(table[_LABEL], n_events=len(table), estimator="load_events",
                             both_classes=False)
        except ValueError as exc:
            raise ValueError(f"Event file {path}, column '{_LABEL}': {exc}") from exc
    if not return_truth:
        return X, y
    truth_columns = [c for c in columns if c.startswith(_TRUTH_PREFIX)]
    truth = None
    if truth_columns:
        truth = table[truth_columns].rename(columns=lambda c: c[len(_TRUTH_PREFIX) :])
    return X, y, truth


def load_event_file(path, *, lepton="mu", tree=None, columns=None, pair="exclusive",
                    pair_mass=None, n_leptons=None, max_events=None, return_info=False,
                    **kwargs):
    """Events ``X`` from any supported file, chosen by its extension.

    - ``.root``: :func:`load_root` (TTree or RNTuple; ``tree``, ``lepton``, ``columns`` and
      further keywords such as ``step_size``).
    - ``.lhe`` / ``.lhe.gz``: :func:`load_lhe`.
    - ``.parquet`` / ``.csv`` / ``.csv.gz``: the layout of :func:`save_events`, or any columns
      through a ``columns`` mapping.

    Parameters
    ----------
    path : str or os.PathLike
        The event file.
    lepton : default="mu"
        The leptons to select (LHE, ROOT collections, and tables mapped with ``pdg_id``), and
        the mass of mapped particles without one.
    tree : str, default=None
        ROOT files only: the TTree or RNTuple (None: the only one in the file).
    columns : list of dict, default=None
        Column mapping for tables and flat ROOT branches: one dict per particle, keys ``px, py,
        pz, E`` or ``pt, eta, phi`` and ``mass`` (a column, or a number in GeV such as
        ``{"mass": 0.10566}``; without it, the mass of ``lepton``: see
        :data:`~sklearn_bsym.datasets.LEPTON_MASSES`) mapped to the file's column names, plus
        optionally ``charge`` or ``pdg_id``: then the mapped particles are the event's lepton
        candidates (a charge or id of 0, or an id not of ``lepton``, marks an empty slot) and
        ``pair`` and ``n_leptons`` choose among them, positive first; without them the particles
        are read as they are, in order. E.g. ``[{"px": "px_0", "py": "py_0", "pz": "pz_0",
        "E": "energy_0", "pdg_id": "id_0"}, {"px": "px_1", ..., "pdg_id": "id_1"}]``.
    pair : {"exclusive", "leading", "closest"}, default="exclusive"
        Which leptons of an event are taken (see :func:`load_root`); ROOT collections, LHE
        files and mappings with a charge or PDG id.
    pair_mass : float, default=None
        The mass in GeV of ``pair="closest"`` (None: the Z mass, 91.1876).
    n_leptons : int, default=None
        Leptons per event, even, half of each charge (None: 2 from ROOT collections and LHE
        files, every mapped particle from a mapping); ``X`` has ``4 * n_leptons`` columns.
    max_events : int, default=None
        Use the first ``max_events`` events of the file (before any selection).
    return_info : bool, default=False
        Also return the reader's dict of counts: ``selection``, ``n_events_read``,
        ``n_selected``, ``n_skipped`` and ``skipped`` (reason -> events), and what else the
        reader says (:func:`load_root`, :func:`load_lhe`).

    Returns
    -------
    X : ndarray of shape (n_events, 4 * n_particles), float64
    info : dict, only with ``return_info``
    """
    from ._root import load_root

    max_events = check_max_events(max_events)
    check_selection(pair, pair_mass, 2 if n_leptons is None else n_leptons)
    path, suffix = _event_format(path, tree, columns)
    select = {"pair": pair, "pair_mass": pair_mass, "n_leptons": n_leptons,
              "max_events": max_events, "return_info": return_info}
    if suffix in _ROOT_SUFFIXES:
        return load_root(path, tree=tree, lepton=lepton, columns=columns, **select, **kwargs)
    if suffix in _LHE_SUFFIXES:
        return load_lhe(path, lepton=lepton, **select, **kwargs)
    if kwargs:
        raise ValueError(
            f"Options {sorted(kwargs)} do not apply to the table file {path}; remove them."
        )
    if columns is not None:
        table = _MappedTable(path, suffix, columns, lepton, pair, pair_mass, n_leptons)
        blocks, n_read, n_selected = [], 0, 0
        skipped = table.no_skips()
        for X, keep, dropped in table.chunks(max_events=max_events):
            blocks.append(X)
            n_read += keep.size
            n_selected += X.shape[0]
            for reason, n in dropped.items():
                skipped[reason] += n
        X = finish_selection(str(path), blocks or [np.empty((0, table.width))], n_read,
                             n_selected, *table.explain(skipped), stacklevel=3)
        description = table.describe()
    else:
        momenta = _canonical_momenta(path, _table_names(path, suffix))
        _as_they_are(path, len(momenta) // 4, pair, pair_mass, n_leptons)
        X, _ = load_events(path)
        X = X if max_events is None else X[:max_events]
        skipped, description = {}, _AS_THEY_ARE
    if not return_info:
        return X
    return X, {"selection": description, "n_events_read": len(X) + sum(skipped.values()),
               "n_selected": len(X), "n_skipped": sum(skipped.values()), "skipped": skipped}


#: The selection of a table without charges: every row, its particles as they are.
_AS_THEY_ARE = "the particles as they are"


def _as_they_are(path: Path, n_particles: int, pair, pair_mass, n_leptons) -> None:
    """Refuse lepton-selection options for a table in the layout of :func:`save_events`, whose
    particles carry no charge: every row is an event of its particles, in order."""
    if pair != "exclusive" or pair_mass is not None or n_leptons not in (None, n_particles):
        raise ValueError(
            f"{path} is in the layout of save_events ({n_particles} particles per row, without "
            "charges), so its events are read as they are; pair=..., pair_mass=... and "
            "n_leptons=... choose leptons by charge: read a table with charges through a column "
            "mapping with a \"charge\" or \"pdg_id\" key, or remove them."
        )


def _event_format(path, tree, columns) -> tuple[Path, str]:
    """The checked path of an event file and its format (its suffix); the options that do not
    apply to that format are refused."""
    path = existing_file(path)
    suffix = _suffix(path)
    if suffix is None:
        raise _unsupported(path)
    if tree is not None and suffix not in _ROOT_SUFFIXES:
        raise ValueError(
            f"tree={tree!r} only applies to ROOT files, and {path} is not one (.root); remove "
            "the tree option."
        )
    if columns is not None and suffix in _LHE_SUFFIXES:
        raise ValueError(
            f"columns only apply to tables and ROOT files; {path} is an LHE file, whose "
            "particles are chosen with lepton=...; remove columns."
        )
    return path, suffix


#: Rows of a table read at once by the readers.
TABLE_CHUNK = 100_000


class _MappedTable:
    """A table read through a column mapping (checked, with the file's header, when made),
    chunk by chunk (:meth:`chunks`)."""

    def __init__(self, path: Path, suffix: str, columns, lepton, pair="exclusive",
                 pair_mass=None, n_leptons=None):
        self.path, self.suffix = path, suffix
        self.specs = check_column_mapping(columns, lepton)
        self.selection = mapping_selection(self.specs, pair, pair_mass, n_leptons)
        self.width = 4 * (len(self.specs) if self.selection is None
                          else self.selection.n_leptons)
        self.pair = lepton_pair(lepton)
        names = _table_names(path, suffix)
        missing = [c for c in mapping_sources(self.specs) if c not in names]
        if missing:
            raise ValueError(
                f"{path} has no column {', '.join(map(repr, missing))} named in columns; its "
                f"columns are {names[:24]}."
            )

    def chunks(self, chunk_size: int = TABLE_CHUNK, max_events: int | None = None):
        """``(X, selected, dropped)`` per chunk of rows (the first ``max_events`` rows, or
        all)."""
        n_read = 0
        for table in _table_chunks(self.path, self.suffix, mapping_sources(self.specs),
                                   chunk_size):
            if max_events is not None:
                table = table.iloc[: max_events - n_read]
            X, keep, dropped = events_from_columns(
                lambda name, t=table: t[name].to_numpy(), self.specs, self.selection,
                self.pair, str(self.path), first_row=n_read)
            n_read += keep.size
            yield X, keep, dropped
            if max_events is not None and n_read >= max_events:
                return

    def describe(self) -> str:
        """The selection in words."""
        return _AS_THEY_ARE if self.selection is None else str(self.selection)

    def no_skips(self) -> dict[str, int]:
        """Every reason of the selection, counted 0 (the start of a cutflow)."""
        return {} if self.selection is None else dict.fromkeys(self.selection.reasons(), 0)

    def explain(self, skipped: dict[str, int]) -> tuple[str, str]:
        """(why events were skipped, what was looked for and how to select others)."""
        note = (f" (a particle counts when its pdg_id is {self.pair[0]} or {self.pair[1]}: "
                "lepton=...)" if "pdg_id" in self.specs[0] else "")
        return selection_hint(self.selection, self.pair, skipped, note)


class EventChunk(NamedTuple):
    """One chunk of entries of an event file (see :func:`read_event_chunks`)."""

    #: The events of the entries that passed the reader's selection, in the file's order:
    #: ndarray of shape (n_selected, 4 * n_particles), float64.
    X: np.ndarray
    #: Which of the chunk's entries passed it: ndarray of shape (n_entries,), bool.
    selected: np.ndarray


class EventChunks:
    """The entries of an event file, chunk by chunk; made by :func:`read_event_chunks`.

    Iterating gives :class:`EventChunk` s in the file's order. The file's format, tree,
    branches or columns and the options are checked when it is made, before any entry is
    read; a file none of whose entries passes the selection (or without entries) raises the
    reader's ValueError at the end of the iteration, unless made with ``allow_empty=True``.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    n_entries : int or None
        Entries of the file (of its tree), when the format says it before reading (ROOT,
        parquet); None for CSV and LHE files.
    selection : str
        The reader's selection in words (the pair mode and the number of leptons).
    n_particles : int
        Particles (leptons) per event of ``X``.
    info : dict
        The counts of the entries read so far (all of them once iterated), coffea-cutflow
        style: ``selection``, ``n_events_read``, ``n_selected``, ``n_skipped`` and ``skipped``
        (reason -> entries dropped for it, every reason of the mode, in cutflow order).
    """

    def __init__(self, path, *, lepton="mu", tree=None, columns=None, pair="exclusive",
                 pair_mass=None, n_leptons=None, chunk_size=TABLE_CHUNK, allow_empty=False):
        from ._root import RootReading

        self.allow_empty = bool(allow_empty)
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, Integral) or chunk_size < 1:
            raise ValueError(f"chunk_size must be an int >= 1, got {chunk_size!r}.")
        check_selection(pair, pair_mass, 2 if n_leptons is None else n_leptons)
        self.chunk_size = int(chunk_size)
        self.path, self._suffix = _event_format(path, tree, columns)
        self.n_entries = None
        skips: dict[str, int] = {}
        if self._suffix in _ROOT_SUFFIXES:
            self._source = RootReading(self.path, tree=tree, lepton=lepton, columns=columns,
                                       pair=pair, pair_mass=pair_mass, n_leptons=n_leptons)
            self.n_entries = self._source.n_entries
            self.selection, self.n_particles = self._source.describe(), self._source.width // 4
            skips = self._source.no_skips()
        elif self._suffix in _LHE_SUFFIXES:
            chosen = check_selection(pair, pair_mass, 2 if n_leptons is None else n_leptons)
            self._source = (lepton_pair(lepton), chosen)
            self.selection, self.n_particles = str(chosen), chosen.n_leptons
            skips = dict.fromkeys(chosen.reasons(), 0)
        else:
            if columns is None:
                self._source = _canonical_momenta(self.path,
                                                  _table_names(self.path, self._suffix))
                self.n_particles = len(self._source) // 4
                _as_they_are(self.path, self.n_particles, pair, pair_mass, n_leptons)
                self.selection = _AS_THEY_ARE
            else:
                self._source = _MappedTable(self.path, self._suffix, columns, lepton, pair,
                                            pair_mass, n_leptons)
                self.selection, self.n_particles = (self._source.describe(),
                                                    self._source.width // 4)
                skips = self._source.no_skips()
            self.n_entries = _table_rows(self.path, self._suffix)
        self.info = {"selection": self.selection, "n_events_read": 0, "n_selected": 0,
                     "n_skipped": 0, "skipped": skips}

    def _count(self, selected: np.ndarray, dropped: dict[str, int]) -> None:
        info = self.info
        info["n_events_read"] += selected.size
        info["n_selected"] += int(selected.sum())
        info["n_skipped"] = info["n_events_read"] - info["n_selected"]
        for reason, n in dropped.items():
            info["skipped"][reason] = info["skipped"].get(reason, 0) + n

    def __iter__(self):
        self.info.update(n_events_read=0, n_selected=0, n_skipped=0,
                         skipped=dict.fromkeys(self.info["skipped"], 0))
        if self._suffix in _ROOT_SUFFIXES:
            yield from self._root()
        elif self._suffix in _LHE_SUFFIXES:
            yield from self._lhe()
        elif isinstance(self._source, _MappedTable):
            yield from self._mapped()
        else:
            yield from self._canonical()

    def _root(self):
        reading = self._source
        for X, keep, reasons in reading.chunks(step_size=self.chunk_size):
            self._count(keep, reasons)
            yield EventChunk(X, keep)
        if not self.allow_empty:
            refuse_no_selection(reading.where, self.info["n_events_read"],
                                self.info["n_selected"], *reading.explain(self.info["skipped"]))

    def _lhe(self):
        selection = _LheSelection(self.path, *self._source)
        for records in _lhe_record_chunks(self.path, None, self.chunk_size):
            X, keep, dropped = selection.select(records)
            self._count(keep, dropped)
            yield EventChunk(X, keep)
        if not self.allow_empty:
            selection.refuse_empty()

    def _mapped(self):
        table = self._source
        for X, keep, dropped in table.chunks(self.chunk_size):
            self._count(keep, dropped)
            yield EventChunk(X, keep)
        if not self.allow_empty:
            refuse_no_selection(str(self.path), self.info["n_events_read"],
                                self.info["n_selected"], *table.explain(self.info["skipped"]))

    def _canonical(self):
        n_read = 0
        for table in _table_chunks(self.path, self._suffix, self._source, self.chunk_size):
            X = _canonical_events(table, self._source, self.path, n_read)
            n_read += X.shape[0]
            selected = np.ones(X.shape[0], dtype=bool)
            self._count(selected, {})
            yield EventChunk(X, selected)
        if n_read == 0 and not self.allow_empty:
            raise ValueError(
                f"Event file {self.path} has the event columns but no rows (no events).")


def read_event_chunks(path, *, lepton="mu", tree=None, columns=None, pair="exclusive",
                      pair_mass=None, n_leptons=None, chunk_size=TABLE_CHUNK,
                      allow_empty=False):
    """The entries of an event file chunk by chunk, each with the reader's selection.

    What :func:`load_event_file` reads, without holding the file in memory and without losing
    track of the entries it drops: each chunk gives the selected events and, for every entry
    of the chunk, whether it was selected (an event without the requested leptons is not). So
    results computed on the events can be put back in step with the file's entries, e.g. a
    score per entry with NaN where the selection dropped the event (what ``python -m
    sklearn_bsym score`` writes). The counts per reason are in the reader's ``info``.

    Parameters
    ----------
    path : str or os.PathLike
        An event file of any format :func:`load_event_file` reads.
    lepton, tree, columns, pair, pair_mass, n_leptons
        As :func:`load_event_file`.
    chunk_size : int, default=100_000
        Entries per chunk (events per chunk for LHE files): memory holds one chunk.
    allow_empty : bool, default=False
        A file without entries, or none of whose entries passes the selection, is read as it
        is (every entry not selected) instead of raising the reader's ValueError at the end of
        the iteration: what scoring a dataset of many files wants.

    Returns
    -------
    EventChunks
        Iterate over it for :class:`EventChunk` s ``(X, selected)``; its ``n_entries`` is the
        file's number of entries where the format says it before reading (ROOT, parquet), its
        ``info`` the counts per reason of the entries read.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from sklearn_bsym.datasets import make_dimuon_events, read_event_chunks, save_events
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.parquet"
    >>> save_events(path, make_dimuon_events(250, random_state=0)[0])
    >>> chunks = read_event_chunks(path, chunk_size=100)
    >>> chunks.n_entries, [chunk.X.shape[0] for chunk in chunks]
    (250, [100, 100, 50])
    >>> chunks.info["n_selected"], chunks.selection
    (250, 'the particles as they are')
    """
    return EventChunks(path, lepton=lepton, tree=tree, columns=columns, pair=pair,
                       pair_mass=pair_mass, n_leptons=n_leptons, chunk_size=chunk_size,
                       allow_empty=allow_empty)


def _source_events(source, role: str, *, tree_files, max_events,
                   **options) -> tuple[np.ndarray, list[dict]]:
    """The events of one class's source and the reader's counts of each of its files."""
    if isinstance(source, str | os.PathLike):
        source = [source]
    if (isinstance(source, list | tuple) and source
            and all(isinstance(s, str | os.PathLike) for s in source)):
        files, infos = [], []
        for path in source:
            X, info = load_event_file(path, **options, max_events=max_events,
                                      tree=tree_files(path), return_info=True)
            files.append(X)
            infos.append({"path": str(path), **info})
        widths = sorted({X.shape[1] for X in files})
        if len(widths) > 1:
            raise ValueError(
                f"The {role} files hold events of different widths ({widths} columns); give "
                "files with the same particle slots."
            )
        return np.concatenate(files), infos
    try:
        X = check_events(source)
    except ValueError as exc:
        raise ValueError(
            f"{role} must be a file path or an event array; as an array: {exc}"
        ) from exc
    X = X if max_events is None else X[:max_events]
    return X, [{"path": None, "selection": "the events given", "n_events_read": len(X),
                "n_selected": len(X), "n_skipped": 0, "skipped": {}}]


def _files_of(source) -> list:
    if isinstance(source, str | os.PathLike):
        return [source]
    if isinstance(source, list | tuple) and all(isinstance(s, str | os.PathLike)
                                                for s in source):
        return list(source)
    return []


def make_labelled_dataset(
    signal,
    background,
    *,
    shuffle=True,
    random_state=None,
    lepton="mu",
    tree=None,
    columns=None,
    signal_columns=None,
    background_columns=None,
    pair="exclusive",
    pair_mass=None,
    n_leptons=None,
    max_events=None,
    return_info=False,
):
    """Labelled ``(X, y)`` from a signal source and a background source.

    Parameters
    ----------
    signal, background : str, os.PathLike, list of them, array-like or DataFrame
        A file in any format :func:`load_event_file` reads (several: their events one after
        the other), or events in the canonical layout.
    shuffle : bool, default=True
        Shuffle the events (otherwise signal comes first, then background).
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle.
    lepton : default="mu"
        Lepton pair to select in LHE and ROOT files (see :func:`load_event_file`).
    tree : str, default=None
        The tree of the ROOT files (see :func:`load_event_file`); when the sources mix ROOT
        files with other formats, it applies to the ROOT files only.
    columns : list of dict, default=None
        Column mapping of the file sources (see :func:`load_event_file`).
    signal_columns, background_columns : list of dict, default=None
        The mapping of one class's files instead of ``columns`` (e.g. the background in a CSV
        with its own column names, the signal in a NanoAOD collection: ``columns=None``,
        ``background_columns=[...]``).
    pair, pair_mass, n_leptons : default="exclusive", None, None
        The lepton selection of the files (see :func:`load_event_file`).
    max_events : int, default=None
        Use at most this many events of each source file or array (the first ones).
    return_info : bool, default=False
        Also return the readers' counts: ``{"signal": [...], "background": [...]}``, one dict
        per file (``path`` and what ``load_event_file(..., return_info=True)`` returns: the
        selection, events read and selected, the skipped ones per reason), or per array.

    Returns
    -------
    X : ndarray of shape (n_signal + n_background, 4 * n_particles)
    y : ndarray of shape (n_signal + n_background,), int64
        1 for signal, 0 for background.
    info : dict, only with ``return_info``
    """
    max_events = check_max_events(max_events)
    paths = _files_of(signal) + _files_of(background)
    mixed = any(_suffix(Path(p)) in _ROOT_SUFFIXES for p in paths) and not all(
        _suffix(Path(p)) in _ROOT_SUFFIXES for p in paths)

    def tree_files(path):
        # Mixed formats: the tree is the ROOT files' (a table or LHE file has none).
        return tree if not mixed or _suffix(Path(path)) in _ROOT_SUFFIXES else None

    options = dict(lepton=lepton, pair=pair, pair_mass=pair_mass, n_leptons=n_leptons,
                   max_events=max_events, tree_files=tree_files)
    X_sig, info_sig = _source_events(signal, "signal", columns=columns if signal_columns is None
                                     else signal_columns, **options)
    X_bkg, info_bkg = _source_events(background, "background", columns=columns
                                     if background_columns is None else background_columns,
                                     **options)
    if X_sig.shape[1] != X_bkg.shape[1]:
        raise ValueError(
            f"signal has {X_sig.shape[1]} columns ({X_sig.shape[1] // 4} particles) but "
            f"background has {X_bkg.shape[1]} ({X_bkg.shape[1] // 4} particles); both need the "
            "same particle slots (read both with the same n_leptons, or zero-pad the smaller "
            "one)."
        )
    X = np.concatenate([X_sig, X_bkg])
    y = np.concatenate(
        [np.ones(X_sig.shape[0], dtype=np.int64), np.zeros(X_bkg.shape[0], dtype=np.int64)]
    )
    if shuffle:
        order = check_random_state(random_state).permutation(X.shape[0])
        X, y = X[order], y[order]
    if return_info:
        return X, y, {"signal": info_sig, "background": info_bkg}
    return X, y
