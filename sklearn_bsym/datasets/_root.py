"""Reading events from ROOT files (TTree or RNTuple) with uproot, chunk by chunk."""

from __future__ import annotations

import difflib
import re

import numpy as np

from .. import kinematics
from ._columns import (
    check_column_mapping,
    checked_values,
    events_from_columns,
    mapping_selection,
    mapping_sources,
)
from ._common import (
    check_max_events,
    existing_file,
    finish_selection,
    lepton_pair,
    one_line,
    selection_hint,
)
from ._select import check_selection

__all__ = ["load_root", "RootReading"]

# NanoAOD collection names per lepton flavour (PDG id).
_COLLECTIONS = {11: "Electron", 13: "Muon", 15: "Tau"}
_COLLIDER = ("pt", "eta", "phi", "mass")
_CARTESIAN = ("px", "py", "pz", "e")
_TREE_CLASSES = ("TTree", "ROOT::RNTuple")


def _damaged(where, exc: Exception, verb: str = "read") -> ValueError:
    """One line for any error of uproot, awkward or zlib on a damaged file (their own messages
    span lines and may not name the file)."""
    return ValueError(
        f"Could not {verb} {where} as a ROOT file ({type(exc).__name__}: {one_line(exc)}). "
        "Check that the file is complete (not truncated) and is a ROOT file; re-download or "
        "re-create it."
    )


def _read(where, call, *args, **kwargs):
    """``call(*args, **kwargs)`` on the file, its damage reported by :func:`_damaged`."""
    try:
        return call(*args, **kwargs)
    except Exception as exc:  # uproot raises bare ValueError/OSError/zlib/its own types on junk
        raise _damaged(where, exc) from exc


def _chunks(obj, where, **options):
    """``obj.iterate(**options)``, each chunk read under :func:`_read`'s guard."""
    chunks = obj.iterate(**options)
    while (chunk := _read(where, next, chunks, None)) is not None:
        yield chunk


def _open(path):
    import uproot

    try:
        return uproot.open(path)
    except Exception as exc:  # uproot raises bare ValueError/OSError/its own types on junk
        raise _damaged(path, exc, "open") from exc


def _pick_tree(file, tree, path):
    trees = {}
    for key, cls in _read(path, file.classnames).items():
        if cls in _TREE_CLASSES:
            trees.setdefault(key.rsplit(";", 1)[0], cls)
    listing = ", ".join(f"{k!r} ({c})" for k, c in trees.items()) or "none"
    if not trees:
        raise ValueError(
            f"{path} holds no TTree or RNTuple (objects: {list(file.classnames())[:10]})."
        )
    if tree is None:
        if len(trees) > 1:
            raise ValueError(
                f"{path} holds several trees: {listing}. Choose one with tree=... (--tree on "
                "the command line)."
            )
        tree = next(iter(trees))
    elif not isinstance(tree, str) or tree not in trees:
        raise ValueError(f"{path} has no tree {tree!r}; its trees: {listing}.")
    return tree, trees[tree] == "ROOT::RNTuple"


def _leaf(key: str, rntuple: bool) -> str:
    # RNTuple collections appear as "_collectionN.Muon_pt"; TTree names are used whole.
    return key.rsplit(".", 1)[-1] if rntuple else key


def _field(chunk, key: str, rntuple: bool):
    return chunk[tuple(key.split("."))] if rntuple else chunk[key]


def _collection_branches(keys, rntuple, flavour, where):
    prefix = _COLLECTIONS[flavour]
    by_leaf = {_leaf(k, rntuple).lower(): k for k in keys}
    found = {}
    for name, comps in (("collider", _COLLIDER), ("cartesian", _CARTESIAN)):
        branches = [by_leaf.get(f"{prefix.lower()}_{c}") for c in comps]
        if all(branches):
            found = {"kind": name, "momentum": branches}
            break
    present = sorted(_leaf(k, rntuple) for k in keys
                     if _leaf(k, rntuple).lower().startswith(prefix.lower() + "_"))
    if not found:
        collections = sorted({m.group(1) for k in keys
                              if (m := re.match(r"^(\w+?)_(?:pt|px)$", _leaf(k, rntuple),
                                                re.IGNORECASE))})
        have = (f"its {prefix} branches are {present[:12]}, missing some of "
                f"{prefix}_pt/eta/phi/mass (or {prefix}_px/py/pz/E)") if present else (
                f"it has no {prefix}_* branches (collections with a pt or px branch: "
                f"{collections[:12] or 'none'})")
        raise ValueError(
            f"{where} has no complete jagged {prefix} collection: {have}. Choose the lepton "
            "with lepton=..., or read flat per-event branches with a column mapping "
            "columns=[{...}, {...}] (see load_event_file)."
        )
    charge = by_leaf.get(f"{prefix.lower()}_charge")
    if charge is None:
        raise ValueError(
            f"{where} has the {prefix} momenta but no {prefix}_charge branch, needed to put the "
            f"positive lepton first; its {prefix} branches: {present[:16]}."
        )
    found["charge"] = charge
    return found


def _chunk_leptons(chunk, branches, rntuple, selection, where, first_entry):
    """Selected ``(n, 4 * n_leptons)`` events of one chunk (its first entry number
    ``first_entry``), which entries were selected (a boolean each), and the counts of the others
    per reason (``selection.select``)."""
    import awkward as ak  # with uproot, only when a ROOT file is read

    momentum = [_field(chunk, k, rntuple) for k in branches["momentum"]]
    charge = _field(chunk, branches["charge"], rntuple)
    if charge.ndim != 2 or any(m.ndim != 2 for m in momentum):
        raise ValueError(
            f"{where}: branches {branches['momentum'] + [branches['charge']]} are not jagged "
            "(one list per event); for flat per-event branches pass a column mapping columns=."
        )
    counts = ak.to_numpy(ak.num(charge, axis=1))
    if any(not np.array_equal(ak.to_numpy(ak.num(m, axis=1)), counts) for m in momentum):
        raise ValueError(f"{where}: the collection's branches have different lengths per event.")
    entries = np.repeat(np.arange(first_entry, first_entry + len(counts)), counts)
    comps = _COLLIDER if branches["kind"] == "collider" else _CARTESIAN

    def values(array, key, name):
        flat = ak.to_numpy(ak.flatten(array))
        return checked_values(flat, key, name, where, label="branch", rows=entries)

    flat = [values(m, c, k).astype(np.float64)
            for m, c, k in zip(momentum, comps, branches["momentum"], strict=True)]
    if branches["kind"] == "collider":
        vectors = kinematics.from_pt_eta_phi_mass(*flat)
    else:
        vectors = np.stack(flat, axis=-1)
    q = values(charge, "charge", branches["charge"])
    return selection.select(counts, vectors, q)


def _check_columns_exist(keys, rntuple, sources, where):
    by_leaf = {_leaf(k, rntuple): k for k in keys}
    missing = [s for s in sources if s not in by_leaf and s not in keys]
    if missing:
        near = {m: close for m in missing
                if (close := difflib.get_close_matches(m, list(by_leaf), n=3))}
        hint = f" (closest names: {near})" if near else ""
        raise ValueError(
            f"{where} has no branch {', '.join(map(repr, missing))} named in columns{hint}; "
            f"its branches include {list(by_leaf)[:20]}."
        )
    return {s: by_leaf.get(s, s) for s in sources}


def load_root(
    path,
    *,
    tree=None,
    lepton="mu",
    columns=None,
    pair="exclusive",
    pair_mass=None,
    n_leptons=None,
    max_events=None,
    step_size="50 MB",
    return_info=False,
):
    """Read the leptons of each event of a ROOT TTree or RNTuple, chunk by chunk.

    Without ``columns``, the jagged collection of the chosen lepton (NanoAOD-style
    ``Muon_pt, Muon_eta, Muon_phi, Muon_mass`` or ``Muon_Px, Muon_Py, Muon_Pz, Muon_E``, any case,
    with ``Muon_charge``; ``Electron_*`` for ``lepton="e"``) is read and ``n_leptons`` of each
    event's leptons are chosen by ``pair``, positive first. With ``columns``, flat per-event
    branches are read through a column mapping (one dict per particle, see
    :func:`load_event_file`); with a ``charge`` or ``pdg_id`` key ``pair`` chooses among the
    mapped particles alike.

    Parameters
    ----------
    path : str or os.PathLike
        The ROOT file.
    tree : str, default=None
        Name of the TTree or RNTuple; None picks the only one (an error lists them when there
        are several).
    lepton : {"mu", "e", "tau"} or int, default="mu"
        The collection (``Muon``, ``Electron``, ``Tau``) to select the leptons from.
    columns : list of dict, default=None
        Column mapping for flat branches, e.g. ``[{"px": "px1", "py": "py1", "pz": "pz1",
        "E": "E1", "charge": "Q1"}, {... "2"}]``.
    pair : {"exclusive", "leading", "closest"}, default="exclusive"
        Which leptons of an event are taken. "exclusive": events with exactly one positive and
        one negative lepton (``n_leptons / 2`` of each charge), no more (the rule of
        :func:`load_lhe`); "leading": events with at least one of each, the highest-pT lepton
        of each charge; "closest": events with at least one of each, the opposite-charge pair
        whose mass is closest to ``pair_mass`` (the Z candidate; for four leptons the two
        closest pairs, one after the other). Events with fewer leptons are dropped and counted.
    pair_mass : float, default=None
        The mass in GeV of ``pair="closest"`` (None: the Z mass, 91.1876); only with it.
    n_leptons : int, default=None
        Leptons per event, an even number, half of each charge (e.g. 4 for H -> ZZ -> 4
        leptons); ``X`` has ``4 * n_leptons`` columns, the positive leptons first, each charge
        by decreasing pT. None: 2 from a collection, every mapped particle with ``columns``.
    max_events : int, default=None
        Read only the first ``max_events`` entries (before the selection).
    step_size : int or str, default="50 MB"
        Chunk size of ``uproot.iterate``: entries, or memory per chunk such as ``"50 MB"``;
        peak memory is one chunk plus the selected events.
    return_info : bool, default=False
        Also return a dict: ``tree``, ``branches``, ``selection`` (the mode in words),
        ``n_events_read``, ``n_selected``, ``n_skipped`` and ``skipped`` (reason -> number of
        events, every reason of the mode, in cutflow order).

    Returns
    -------
    X : ndarray of shape (n_selected, 4 * n_leptons or 4 * len(columns)), float64
    info : dict, only with ``return_info``

    Warns
    -----
    SkippedEventsWarning
        When events are skipped (not enough leptons of the requested kind), with the count per
        reason.
    """
    max_events = check_max_events(max_events)
    reading = RootReading(path, tree=tree, lepton=lepton, columns=columns, pair=pair,
                          pair_mass=pair_mass, n_leptons=n_leptons)
    blocks, n_read, n_selected = [], 0, 0
    skipped = reading.no_skips()
    for X, keep, reasons in reading.chunks(step_size=step_size, max_events=max_events):
        n_read += keep.size
        n_selected += X.shape[0]
        blocks.append(X)
        for reason, n in reasons.items():
            skipped[reason] = skipped.get(reason, 0) + n
    X = finish_selection(reading.where, blocks or [np.empty((0, reading.width))], n_read,
                         n_selected, *reading.explain(skipped))
    if not return_info:
        return X
    info = {
        "tree": reading.name,
        "branches": reading.wanted,
        "selection": reading.describe(),
        "n_events_read": n_read,
        "n_selected": n_selected,
        "n_skipped": n_read - n_selected,
        "skipped": skipped,
    }
    return X, info


class RootReading:
    """The reading of one tree of a ROOT file: which tree and branches (found, and checked,
    when made) and its entries chunk by chunk (:meth:`chunks`), each with the selection of
    :func:`load_root` (its arguments, checked alike)."""

    def __init__(self, path, *, tree=None, lepton="mu", columns=None, pair="exclusive",
                 pair_mass=None, n_leptons=None):
        self.flavours = lepton_pair(lepton)
        if self.flavours[0] != -self.flavours[1] or abs(self.flavours[1]) not in _COLLECTIONS:
            raise ValueError(
                f"lepton={lepton!r}: ROOT files are read one collection (flavour) at a time; "
                "pass lepton='mu', 'e' or 'tau'."
            )
        self.specs = None if columns is None else check_column_mapping(columns, lepton)
        if self.specs is None:
            self.selection = check_selection(pair, pair_mass,
                                             2 if n_leptons is None else n_leptons)
        else:
            self.selection = mapping_selection(self.specs, pair, pair_mass, n_leptons)
        #: Columns of the events read: 4 per lepton (or mapped particle).
        self.width = 4 * (len(self.specs) if self.selection is None
                          else self.selection.n_leptons)
        self.path = existing_file(path)
        if self.path.stat().st_size == 0:
            raise ValueError(f"ROOT file {self.path} is empty (0 bytes); it contains no events.")
        with _open(self.path) as file:
            self.name, self.rntuple = _pick_tree(file, tree, self.path)
            self.where = f"{self.path}:{self.name}"
            obj = _read(self.where, file.__getitem__, self.name)
            keys = list(_read(self.where, obj.keys))
            #: Entries of the tree.
            self.n_entries = int(obj.num_entries)
        if self.specs is None:
            self.branches = _collection_branches(keys, self.rntuple, abs(self.flavours[1]),
                                                 self.where)
            self.wanted = self.branches["momentum"] + [self.branches["charge"]]
        else:
            self.lookup = _check_columns_exist(keys, self.rntuple, mapping_sources(self.specs),
                                               self.where)
            self.wanted = list(self.lookup.values())

    def chunks(self, *, step_size="50 MB", max_events=None):
        """``(X, selected, reasons)`` per chunk of entries (``uproot.iterate``'s
        ``step_size``; the first ``max_events`` entries, or all): the selected events, which
        entries were selected, and the count of the others per reason."""
        with _open(self.path) as file:
            obj = _read(self.where, file.__getitem__, self.name)
            n_read = 0
            for chunk in _chunks(obj, self.where, expressions=self.wanted, step_size=step_size,
                                 entry_stop=max_events):
                if self.specs is None:
                    X, keep, reasons = _chunk_leptons(chunk, self.branches, self.rntuple,
                                                      self.selection, self.where, n_read)
                else:
                    X, keep, reasons = events_from_columns(
                        _BranchGetter(chunk, self.lookup, self.rntuple, self.where), self.specs,
                        self.selection, self.flavours, self.where, label="branch",
                        first_row=n_read)
                n_read += len(chunk)
                yield X, keep, reasons

    def describe(self) -> str:
        """The selection in words."""
        return "the particles as they are" if self.selection is None else str(self.selection)

    def no_skips(self) -> dict[str, int]:
        """Every reason of the selection, counted 0 (the start of a cutflow)."""
        return {} if self.selection is None else dict.fromkeys(self.selection.reasons(), 0)

    def explain(self, skipped: dict[str, int]) -> tuple[str, str]:
        """(why events were skipped, how to select others) for the counts ``skipped``."""
        return selection_hint(self.selection, self.flavours, skipped)


class _BranchGetter:
    """``get(column) -> 1-D array`` over one chunk, for :func:`events_from_columns`."""

    def __init__(self, chunk, lookup, rntuple, where):
        self.chunk, self.lookup, self.rntuple, self.where = chunk, lookup, rntuple, where

    def __call__(self, name):
        key = self.lookup[name]
        values = _field(self.chunk, key, self.rntuple)
        if values.ndim != 1:
            raise ValueError(
                f"{self.where}: branch {key!r} is a jagged collection ({values.type}), not one "
                "value per event; leave columns=None to select a pair from the collection."
            )
        import awkward as ak

        return ak.to_numpy(values)
