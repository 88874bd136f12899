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
    mapping_sources,
)
from ._common import (
    FLAVOURS,
    check_max_events,
    existing_file,
    finish_selection,
    lepton_pair,
    one_line,
    pair_name,
    particle_name,
    refuse_no_selection,
)

__all__ = [
    "load_lhe",
    "load_event_file",
    "load_events",
    "save_events",
    "make_labelled_dataset",
    "read_event_chunks",
    "EventChunks",
    "EventChunk",
]

_LHE_SUFFIXES = (".lhe", ".lhe.gz")
_ROOT_SUFFIXES = (".root",)
_TABLE_SUFFIXES = (".parquet", ".csv", ".csv.gz")
_LABEL = "label"
_TRUTH_PREFIX = "truth_"
# The %.17g values save_events writes read back exactly: pandas 3's default parser does it; before
# pandas 3 the default is off by an ulp on some values and "round_trip" (deprecated in 3) is exact.
_CSV_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}

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
    """The lepton-pair selection of :func:`load_lhe`, chunk by chunk (:meth:`select`), with the
    counts its warning, its error and its ``info`` report over all chunks."""

    def __init__(self, path: Path, pair: tuple[int, int]):
        self.path, self.pair = path, pair
        self.n_read = self.n_selected = self.many = self.neither = 0
        self.lepton_ids: dict[int, int] = {}
        self.pairs = dict.fromkeys(FLAVOURS, 0)

    def select(self, records) -> tuple[np.ndarray, np.ndarray]:
        """``(X, selected)`` of one chunk of records: the events with exactly one final-state
        lepton of each id of the pair, and which of the chunk's events they are."""
        import awkward as ak

        particles = records["particles"]
        final = particles[particles["status"] == 1]
        ids = final["id"]
        n_pos, n_neg = _pair_counts(ids, self.pair)
        keep = (n_pos == 1) & (n_neg == 1)
        flat_ids = ak.to_numpy(ak.flatten(ids))
        leptons = flat_ids[(np.abs(flat_ids) >= 11) & (np.abs(flat_ids) <= 16)]
        for pid, n in zip(*np.unique(leptons, return_counts=True), strict=True):
            self.lepton_ids[int(pid)] = self.lepton_ids.get(int(pid), 0) + int(n)
        for name, pid in FLAVOURS.items():
            p, n = _pair_counts(ids, (-pid, pid))
            self.pairs[name] += int(((p == 1) & (n == 1)).sum())
        self.many += int(((n_pos > 1) | (n_neg > 1)).sum())
        self.neither += int(((n_pos == 0) & (n_neg == 0)).sum())
        self.n_read += len(keep)
        self.n_selected += int(keep.sum())
        if not keep.any():
            return np.empty((0, 8)), keep
        chosen = final[keep]
        columns = []
        for pid in self.pair:
            vectors = chosen[chosen["id"] == pid]["vector"]
            columns.extend(ak.to_numpy(ak.flatten(vectors[c])) for c in ("px", "py", "pz", "e"))
        X = np.column_stack(columns).astype(np.float64, copy=False)
        try:
            return check_events(X, n_particles=2), keep
        except ValueError as exc:
            first = self.n_read - len(keep)
            rows = f" (rows count the selected events from event {first} on)" if first else ""
            raise ValueError(
                f"LHE file {self.path} has unusable lepton four-momenta{rows}: {exc}") from exc

    def refuse_empty(self) -> None:
        """A ValueError when no event was read, or none has the pair (naming the pairs the file
        does contain)."""
        if self.n_read == 0:
            raise ValueError(f"LHE file {self.path} contains no <event> blocks.")
        if self.n_selected:
            return
        contained = [f"{name}+ {name}- pairs in {n} events" for name, n in self.pairs.items() if n]
        if contained:
            best = max(self.pairs, key=self.pairs.get)
            what = f"it contains {', '.join(contained)}; pass lepton={best!r}"
        else:
            what = ("it contains no same-flavour lepton pair; final-state lepton ids found: "
                    f"{dict(sorted(self.lepton_ids.items())) or 'none'}")
        raise ValueError(
            f"LHE file {self.path} has no {pair_name(self.pair)} pairs in its {self.n_read} "
            f"events read (final-state, status 1 particles); {what}."
        )


def load_lhe(path, *, lepton="mu", max_events=None, return_info=False):
    """Read the final-state lepton pair of each event of an LHE file.

    Parameters
    ----------
    path : str or os.PathLike
        A Les Houches Event file, plain (``.lhe``) or gzipped (``.lhe.gz``; detected from the
        content, so any name works).
    lepton : {"mu", "e", "tau"}, int or pair of int, default="mu"
        Which pair to select: a flavour name, an unsigned PDG id (13 for muons, 11 for
        electrons) or a pair of signed PDG ids, one antilepton (negative id, positive charge)
        and one lepton, e.g. ``(-11, 13)`` for e+ mu-.
    max_events : int, default=None
        Read only the first ``max_events`` events of the file (before the selection).
    return_info : bool, default=False
        Also return a dict describing what was read.

    Returns
    -------
    X : ndarray of shape (n_selected, 8), float64
        ``(px, py, pz, E)`` in GeV of the positive lepton, then of the negative lepton.
    info : dict
        Only with ``return_info``: ``n_events_read``, ``n_selected``, ``n_skipped``,
        ``lepton_ids`` (signed PDG id -> number of final-state leptons, neutrinos included, with
        that id), ``pairs`` (flavour -> number of events with exactly one same-flavour
        opposite-charge pair) and ``weights`` (the event weights XWGTUP of the selected events).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is empty, not valid LHE, has no events, or no event has the requested pair
        (the message names the pairs the file does contain).

    Warns
    -----
    UserWarning
        When some events lack exactly one positive and one negative lepton of the requested kind
        among their final-state (status 1) particles; those events are skipped.
    """
    import awkward as ak

    pair = lepton_pair(lepton)
    max_events = check_max_events(max_events)
    path = existing_file(path)
    selection = _LheSelection(path, pair)
    blocks, weights = [], []
    for records in _lhe_record_chunks(path, max_events):
        X, keep = selection.select(records)
        blocks.append(X)
        weights.append(ak.to_numpy(records["eventinfo"]["weight"][keep]).astype(np.float64))
    selection.refuse_empty()
    n_read, n_selected = selection.n_read, selection.n_selected
    n_skipped = n_read - n_selected
    if n_skipped:
        many, neither = selection.many, selection.neither
        warnings.warn(
            f"load_lhe skipped {n_skipped} of {n_read} events of {path} that do not have exactly "
            f"one {particle_name(pair[0])} (id {pair[0]}) and one {particle_name(pair[1])} "
            f"(id {pair[1]}) among their final-state particles ({neither} have neither, "
            f"{n_skipped - neither - many} only one of the two, {many} more than one). "
            "Choose another pair with lepton=...; return_info=True gives the counts per flavour.",
            UserWarning,
            stacklevel=2,
        )
    X = np.concatenate(blocks)
    if not return_info:
        return X
    info = {
        "n_events_read": n_read,
        "n_selected": n_selected,
        "n_skipped": n_skipped,
        "lepton_ids": dict(sorted(selection.lepton_ids.items())),
        "pairs": selection.pairs,
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


def load_event_file(path, *, lepton="mu", tree=None, columns=None, max_events=None, **kwargs):
    """Events ``X`` from any supported file, chosen by its extension.

    - ``.root``: :func:`load_root` (TTree or RNTuple; ``tree``, ``lepton``, ``columns`` and
      further keywords such as ``pair`` or ``step_size``).
    - ``.lhe`` / ``.lhe.gz``: :func:`load_lhe` (``lepton`` and further keywords).
    - ``.parquet`` / ``.csv`` / ``.csv.gz``: the layout of :func:`save_events`, or any columns
      through a ``columns`` mapping.

    Parameters
    ----------
    path : str or os.PathLike
        The event file.
    lepton : default="mu"
        The lepton pair to select (LHE, ROOT collections, and tables mapped with ``pdg_id``).
    tree : str, default=None
        ROOT files only: the TTree or RNTuple (None: the only one in the file).
    columns : list of dict, default=None
        Column mapping for tables and flat ROOT branches: one dict per particle, keys ``px, py,
        pz, E`` or ``pt, eta, phi, mass`` mapped to the file's column names, plus optionally
        ``charge`` or ``pdg_id`` (two particles: events are kept when they form an
        opposite-charge pair, positive first; with ``pdg_id`` the pair of ``lepton``), e.g.
        ``[{"px": "px_0", "py": "py_0", "pz": "pz_0", "E": "energy_0", "pdg_id": "id_0"},
        {"px": "px_1", ..., "pdg_id": "id_1"}]``.
    max_events : int, default=None
        Use the first ``max_events`` events of the file (before any pair selection).

    Returns
    -------
    X : ndarray of shape (n_events, 4 * n_particles), float64
    """
    from ._root import load_root

    max_events = check_max_events(max_events)
    path, suffix = _event_format(path, tree, columns)
    if suffix in _ROOT_SUFFIXES:
        return load_root(path, tree=tree, lepton=lepton, columns=columns,
                         max_events=max_events, **kwargs)
    if suffix in _LHE_SUFFIXES:
        return load_lhe(path, lepton=lepton, max_events=max_events, **kwargs)
    if kwargs:
        raise ValueError(
            f"Options {sorted(kwargs)} do not apply to the table file {path}; remove them."
        )
    if columns is not None:
        return _load_mapped_table(path, suffix, columns, lepton, max_events)
    X, _ = load_events(path)
    return X if max_events is None else X[:max_events]


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

    def __init__(self, path: Path, suffix: str, columns, lepton):
        self.path, self.suffix = path, suffix
        self.specs = check_column_mapping(columns)
        self.pair = lepton_pair(lepton)
        names = _table_names(path, suffix)
        missing = [c for c in mapping_sources(self.specs) if c not in names]
        if missing:
            raise ValueError(
                f"{path} has no column {', '.join(map(repr, missing))} named in columns; its "
                f"columns are {names[:24]}."
            )

    def chunks(self, chunk_size: int = TABLE_CHUNK, max_events: int | None = None):
        """``(X, selected)`` per chunk of rows (the first ``max_events`` rows, or all)."""
        n_read = 0
        for table in _table_chunks(self.path, self.suffix, mapping_sources(self.specs),
                                   chunk_size):
            if max_events is not None:
                table = table.iloc[: max_events - n_read]
            X, keep = events_from_columns(lambda name, t=table: t[name].to_numpy(), self.specs,
                                          self.pair, str(self.path), first_row=n_read)
            n_read += keep.size
            yield X, keep
            if max_events is not None and n_read >= max_events:
                return

    def explain(self, n_skipped: int) -> tuple[str, str]:
        """(why events were skipped, how to select others)."""
        detail = f"{n_skipped} whose two particles are not an opposite-charge pair"
        if "pdg_id" in self.specs[0]:
            detail = (f"{n_skipped} whose ids are not the {pair_name(self.pair)} pair "
                      f"({self.pair[0]}, {self.pair[1]})")
        return detail, "Choose another pair with lepton=... or fix the mapping."


def _load_mapped_table(path: Path, suffix: str, columns, lepton, max_events) -> np.ndarray:
    table = _MappedTable(path, suffix, columns, lepton)
    blocks, n_read, n_selected = [], 0, 0
    for X, keep in table.chunks(max_events=max_events):
        blocks.append(X)
        n_read += keep.size
        n_selected += X.shape[0]
    return finish_selection(str(path), blocks or [np.empty((0, 4 * len(table.specs)))], n_read,
                            n_selected, *table.explain(n_read - n_selected), stacklevel=4)


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
    read; a file none of whose entries passes the selection raises the reader's ValueError at
    the end of the iteration.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    n_entries : int or None
        Entries of the file (of its tree), when the format says it before reading (ROOT,
        parquet); None for CSV and LHE files.
    """

    def __init__(self, path, *, lepton="mu", tree=None, columns=None, chunk_size=TABLE_CHUNK):
        from ._root import RootReading

        if isinstance(chunk_size, bool) or not isinstance(chunk_size, Integral) or chunk_size < 1:
            raise ValueError(f"chunk_size must be an int >= 1, got {chunk_size!r}.")
        self.chunk_size = int(chunk_size)
        self.path, self._suffix = _event_format(path, tree, columns)
        self.n_entries = None
        if self._suffix in _ROOT_SUFFIXES:
            self._source = RootReading(self.path, tree=tree, lepton=lepton, columns=columns)
            self.n_entries = self._source.n_entries
        elif self._suffix in _LHE_SUFFIXES:
            self._source = lepton_pair(lepton)
        else:
            if columns is None:
                self._source = _canonical_momenta(self.path,
                                                  _table_names(self.path, self._suffix))
            else:
                self._source = _MappedTable(self.path, self._suffix, columns, lepton)
            self.n_entries = _table_rows(self.path, self._suffix)

    def __iter__(self):
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
        n_read = n_selected = 0
        skipped: dict[str, int] = {}
        for X, keep, reasons in reading.chunks(step_size=self.chunk_size):
            n_read += keep.size
            n_selected += X.shape[0]
            for reason, n in reasons.items():
                skipped[reason] = skipped.get(reason, 0) + n
            yield EventChunk(X, keep)
        refuse_no_selection(reading.where, n_read, n_selected, *reading.explain(skipped))

    def _lhe(self):
        selection = _LheSelection(self.path, self._source)
        for records in _lhe_record_chunks(self.path, None, self.chunk_size):
            yield EventChunk(*selection.select(records))
        selection.refuse_empty()

    def _mapped(self):
        table = self._source
        n_read = n_selected = 0
        for X, keep in table.chunks(self.chunk_size):
            n_read += keep.size
            n_selected += X.shape[0]
            yield EventChunk(X, keep)
        refuse_no_selection(str(self.path), n_read, n_selected,
                            *table.explain(n_read - n_selected))

    def _canonical(self):
        n_read = 0
        for table in _table_chunks(self.path, self._suffix, self._source, self.chunk_size):
            X = _canonical_events(table, self._source, self.path, n_read)
            n_read += X.shape[0]
            yield EventChunk(X, np.ones(X.shape[0], dtype=bool))
        if n_read == 0:
            raise ValueError(
                f"Event file {self.path} has the event columns but no rows (no events).")


def read_event_chunks(path, *, lepton="mu", tree=None, columns=None, chunk_size=TABLE_CHUNK):
    """The entries of an event file chunk by chunk, each with the reader's selection.

    What :func:`load_event_file` reads, without holding the file in memory and without losing
    track of the entries it drops: each chunk gives the selected events and, for every entry
    of the chunk, whether it was selected (an event without an opposite-charge lepton pair of
    the requested kind is not). So results computed on the events can be put back in step with
    the file's entries, e.g. a score per entry with NaN where the selection dropped the event
    (what ``python -m sklearn_bsym score`` writes).

    Parameters
    ----------
    path : str or os.PathLike
        An event file of any format :func:`load_event_file` reads.
    lepton, tree, columns
        As :func:`load_event_file`.
    chunk_size : int, default=100_000
        Entries per chunk (events per chunk for LHE files): memory holds one chunk.

    Returns
    -------
    EventChunks
        Iterate over it for :class:`EventChunk` s ``(X, selected)``; its ``n_entries`` is the
        file's number of entries where the format says it before reading (ROOT, parquet).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from sklearn_bsym.datasets import make_dimuon_events, read_event_chunks, save_events
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.parquet"
    >>> save_events(path, make_dimuon_events(250, random_state=0)[0])
    >>> chunks = read_event_chunks(path, chunk_size=100)
    >>> chunks.n_entries, [chunk.X.shape[0] for chunk in chunks]
    (250, [100, 100, 50])
    """
    return EventChunks(path, lepton=lepton, tree=tree, columns=columns, chunk_size=chunk_size)


def _source_events(source, role: str, *, lepton, tree, columns, max_events) -> np.ndarray:
    if isinstance(source, str | os.PathLike):
        return load_event_file(source, lepton=lepton, tree=tree, columns=columns,
                               max_events=max_events)
    if (isinstance(source, list | tuple) and source
            and all(isinstance(s, str | os.PathLike) for s in source)):
        files = [load_event_file(s, lepton=lepton, tree=tree, columns=columns,
                                 max_events=max_events) for s in source]
        widths = sorted({X.shape[1] for X in files})
        if len(widths) > 1:
            raise ValueError(
                f"The {role} files hold events of different widths ({widths} columns); give "
                "files with the same particle slots."
            )
        return np.concatenate(files)
    try:
        X = check_events(source)
    except ValueError as exc:
        raise ValueError(
            f"{role} must be a file path or an event array; as an array: {exc}"
        ) from exc
    return X if max_events is None else X[:max_events]


def make_labelled_dataset(
    signal,
    background,
    *,
    shuffle=True,
    random_state=None,
    lepton="mu",
    tree=None,
    columns=None,
    max_events=None,
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
    tree, columns : default=None
        ROOT tree and column mapping for file sources (see :func:`load_event_file`).
    max_events : int, default=None
        Use at most this many events of each source file or array (the first ones).

    Returns
    -------
    X : ndarray of shape (n_signal + n_background, 4 * n_particles)
    y : ndarray of shape (n_signal + n_background,), int64
        1 for signal, 0 for background.
    """
    max_events = check_max_events(max_events)
    options = dict(lepton=lepton, tree=tree, columns=columns, max_events=max_events)
    X_sig = _source_events(signal, "signal", **options)
    X_bkg = _source_events(background, "background", **options)
    if X_sig.shape[1] != X_bkg.shape[1]:
        raise ValueError(
            f"signal has {X_sig.shape[1]} columns ({X_sig.shape[1] // 4} particles) but "
            f"background has {X_bkg.shape[1]} ({X_bkg.shape[1] // 4} particles); both need the "
            "same particle slots (zero-pad the smaller one)."
        )
    X = np.concatenate([X_sig, X_bkg])
    y = np.concatenate(
        [np.ones(X_sig.shape[0], dtype=np.int64), np.zeros(X_bkg.shape[0], dtype=np.int64)]
    )
    if shuffle:
        order = check_random_state(random_state).permutation(X.shape[0])
        X, y = X[order], y[order]
    return X, y
