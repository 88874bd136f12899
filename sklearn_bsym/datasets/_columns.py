"""Events from per-particle columns of any table (CSV, parquet, flat ROOT branches).

A *column mapping* says which of the file's columns hold each particle's four-momentum: a list
with one dict per particle, keys ``px, py, pz, E`` or ``pt, eta, phi`` (and ``mass``: a column,
or a number in GeV; without it, the lepton's mass), plus optionally ``charge`` or ``pdg_id``,
e.g.::

    [{"px": "px_0", "py": "py_0", "pz": "pz_0", "E": "energy_0", "pdg_id": "id_0"},
     {"px": "px_1", "py": "py_1", "pz": "pz_1", "E": "energy_1", "pdg_id": "id_1"}]

With ``charge`` or ``pdg_id``, the mapped particles are the event's lepton candidates and the
readers' lepton selection (:mod:`sklearn_bsym.datasets._select`: ``pair``, ``n_leptons``)
chooses among them, positive first; without, the particles are read as they are, in the
mapping's order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from numbers import Real

import numpy as np

from .. import kinematics
from ..events import to_flat
from ._common import lepton_pair
from ._select import LEPTON_MASSES, LeptonSelection, check_selection

__all__ = [
    "check_column_mapping",
    "mapping_selection",
    "mapping_sources",
    "mass_note",
    "events_from_columns",
    "checked_values",
    "MAPPING_HINT",
]

CARTESIAN = ("px", "py", "pz", "E")
COLLIDER = ("pt", "eta", "phi", "mass")
ORDER_KEYS = ("charge", "pdg_id")

_EXAMPLE = (
    'e.g. columns=[{"px": "px1", "py": "py1", "pz": "pz1", "E": "E1", "charge": "Q1"}, '
    '{"px": "px2", "py": "py2", "pz": "pz2", "E": "E2", "charge": "Q2"}] or '
    '[{"pt": "pt1", "eta": "eta1", "phi": "phi1", "charge": "Q1"}, {... "2"}] (no mass: the '
    "lepton's)"
)


#: How a user maps a file's own column names (said by every "foreign layout" error).
MAPPING_HINT = (
    "map the file's own columns with columns=[{...}, {...}] (--columns on the command line; "
    "see load_event_file)"
)

#: Quantities that cannot be negative, and those that must be whole numbers.
_NON_NEGATIVE = {"pt": "pT", "mass": "mass", "E": "energy", "e": "energy"}
_WHOLE = ("charge", "pdg_id")


def checked_values(values, key: str, name: str, where: str, *, label: str = "column",
                   rows=None) -> np.ndarray:
    """``values`` of the file's ``label`` ``name``, which holds quantity ``key`` (``px``, ``pt``,
    ``mass``, ``charge``, ``pdg_id``, ...), as a numeric array; else one ValueError line naming
    ``where``, the column, what is wrong and the first offending rows, and the fix.

    Refused: text, NaN or inf, a negative pT, mass or energy, a charge or PDG id that is not a
    whole number. ``rows`` numbers the values in the file: an offset (the first value's row) or
    an array of row numbers (one per value, for jagged branches).
    """
    arr = np.asarray(values)
    problems = []
    if arr.dtype.kind not in "biuf":
        import pandas as pd

        numbers = pd.to_numeric(pd.Series(arr.ravel(), dtype=object), errors="coerce")
        text = ~np.isfinite(numbers.to_numpy(dtype=np.float64, na_value=np.nan))
        # Numbers stored as text (every cell converts) are refused as a whole column.
        problems.append((text if text.any() else np.ones(arr.size, dtype=bool),
                         f"text or empty cells, not numbers (dtype {arr.dtype})"))
    else:
        finite = np.isfinite(arr)
        problems.append((~finite, "NaN or inf"))
        if key in _NON_NEGATIVE:
            problems.append((finite & (arr < 0), f"a negative {_NON_NEGATIVE[key]}"))
        if key in _WHOLE:
            problems.append((finite & (arr != np.round(arr)), f"a {key} that is not whole"))
    for bad, what in problems:
        if bad.any():
            at = np.flatnonzero(bad)
            if rows is None:
                numbers = at
            elif np.isscalar(rows):
                numbers = at + rows
            else:
                numbers = np.asarray(rows)[at]
            first = ", ".join(str(int(n)) for n in numbers[:5]) + (" ..." if len(at) > 5 else "")
            value = arr.ravel()[at[0]]
            value = value.item() if isinstance(value, np.generic) else value
            others = "branches" if label == "branch" else f"{label}s"
            raise ValueError(
                f"{where}: {label} {name!r} ({key}) holds {what} in {len(at)} row(s), first at "
                f"row {first} (counting from 0; value {value!r}); fix the file, or "
                f"{MAPPING_HINT} to read other {others}."
            )
    return arr


def check_column_mapping(columns, lepton="mu") -> list[dict]:
    """The mapping as a list of ``{key: column}`` dicts, or a ValueError naming the fix.

    A particle with ``pt, eta, phi`` and no ``mass`` gets the mass of ``lepton`` (a number, see
    :data:`~sklearn_bsym.datasets.LEPTON_MASSES`); ``"mass"`` may be a number in GeV instead of
    a column. Every other value names a column.
    """
    if isinstance(columns, Mapping) or isinstance(columns, str) or not isinstance(
            columns, Sequence) or len(columns) == 0:
        raise ValueError(
            "columns must be a list with one dict per particle mapping px/py/pz/E (or "
            f"pt/eta/phi, and mass) and optionally charge or pdg_id to column names; "
            f"{_EXAMPLE}. Got {columns!r:.200}."
        )
    specs = []
    for i, spec in enumerate(columns):
        if not isinstance(spec, Mapping):
            raise ValueError(f"columns[{i}] must be a dict of key -> column name; {_EXAMPLE}.")
        for key, value in spec.items():
            if isinstance(value, str):
                continue
            if key == "mass" and isinstance(value, Real) and not isinstance(value, bool):
                if not (np.isfinite(value) and value >= 0):
                    raise ValueError(f"columns[{i}]['mass'] = {value!r}: a constant mass must "
                                     "be a number of GeV >= 0, e.g. 0.1056584 for a muon.")
                continue
            raise ValueError(
                f"columns[{i}][{key!r}] = {value!r} is not a column name (text); only 'mass' "
                f"takes a number (a constant mass in GeV); {_EXAMPLE}."
            )
        keys = set(spec)
        order = keys & set(ORDER_KEYS)
        momentum = keys - order
        if len(order) > 1 or momentum not in (set(CARTESIAN), set(COLLIDER),
                                              set(COLLIDER) - {"mass"}):
            raise ValueError(
                f"columns[{i}] has keys {sorted(keys)}; it needs exactly px, py, pz, E or "
                "pt, eta, phi (and mass, a column or a number; without it the lepton's mass), "
                "and at most one of charge / pdg_id; " + _EXAMPLE + "."
            )
        spec = dict(spec)
        if "pt" in spec and "mass" not in spec:
            ids = lepton_pair(lepton)
            if abs(ids[0]) != abs(ids[1]):
                raise ValueError(
                    f"columns[{i}] has no mass, and lepton={lepton!r} pairs two flavours, so "
                    "the lepton's mass is not one number; give \"mass\": a column or a number "
                    "in GeV."
                )
            spec["mass"] = LEPTON_MASSES[abs(ids[1])]
        specs.append(spec)
    orders = {next(iter(set(s) & set(ORDER_KEYS)), None) for s in specs}
    if len(orders) != 1:
        raise ValueError(
            "Give every particle the same ordering key (charge or pdg_id), or none of them."
        )
    return specs


def mass_note(columns, lepton="mu") -> str | None:
    """One line saying which masses of a column mapping (as given by the user, see
    :func:`load_event_file`) are constants: those it gives as numbers and the ``lepton``'s mass
    where it names none; None when every particle has a mass column (or four-momenta).

    >>> from sklearn_bsym.datasets import mass_note
    >>> mass_note([{"pt": "pt0", "eta": "eta0", "phi": "phi0", "mass": 0.1},
    ...            {"pt": "pt1", "eta": "eta1", "phi": "phi1", "mass": 0.1}])
    'Every particle of the mapping has a constant mass, 0.1 GeV.'
    """
    specs = check_column_mapping(columns, lepton)
    given = [i for i, spec in enumerate(columns) if not isinstance(spec.get("mass", ""), str)]
    lepton_mass = [i for i, spec in enumerate(columns) if "pt" in spec and "mass" not in spec]
    parts = []
    if lepton_mass:
        flavour = abs(lepton_pair(lepton)[1])
        name = {11: "electron", 13: "muon", 15: "tau"}[flavour]
        parts.append(f"{_particles(lepton_mass, len(specs))} no mass column, so "
                     f"{'it takes' if len(lepton_mass) == 1 else 'they take'} the {name} mass, "
                     f"{LEPTON_MASSES[flavour]:.10g} GeV")
    if given:
        values = sorted({specs[i]["mass"] for i in given})
        parts.append(f"{_particles(given, len(specs))} a constant mass, "
                     f"{', '.join(f'{v:.10g}' for v in values)} GeV")
    if not parts:
        return None
    text = "; ".join(parts)
    return f"{text[0].upper()}{text[1:]}."


def _particles(indices, total) -> str:
    if len(indices) == total:
        return "every particle of the mapping has" if total > 1 else "the mapped particle has"
    return f"particle{'s' if len(indices) > 1 else ''} {', '.join(map(str, indices))} " \
           f"{'have' if len(indices) > 1 else 'has'}"


def mapping_selection(specs, pair="exclusive", pair_mass=None,
                      n_leptons=None) -> LeptonSelection | None:
    """The lepton selection of a checked mapping: None for a mapping without charge or pdg_id
    (its particles are read as they are, so ``pair`` must be left at its default and
    ``n_leptons`` at None or the number of particles); else ``n_leptons`` (default: every mapped
    particle) chosen by ``pair`` among the mapped particles."""
    order = next(iter(set(specs[0]) & set(ORDER_KEYS)), None)
    if order is None:
        if pair != "exclusive" or pair_mass is not None or n_leptons not in (None, len(specs)):
            raise ValueError(
                f"The column mapping has no charge or pdg_id, so its {len(specs)} particles are "
                "read as they are, in order; to choose leptons (pair=..., n_leptons=...) map "
                "each particle's charge (\"charge\": column) or PDG id (\"pdg_id\": column)."
            )
        return None
    if n_leptons is None and len(specs) % 2:
        raise ValueError(
            f"The column mapping maps {len(specs)} particle(s) with a {order}, and an event's "
            "leptons are taken half of each charge: map an even number of particles, or pass "
            "n_leptons=... (an even number of them to take)."
        )
    selection = check_selection(pair, pair_mass, len(specs) if n_leptons is None else n_leptons)
    if selection.n_leptons > len(specs):
        raise ValueError(
            f"n_leptons={n_leptons} is more than the {len(specs)} particles the column mapping "
            "maps; map more particles or ask for fewer leptons."
        )
    return selection


def mapping_sources(specs: list[dict]) -> list[str]:
    """Every column the mapping reads, once each, in mapping order."""
    return list(dict.fromkeys(v for spec in specs for v in spec.values() if isinstance(v, str)))


def events_from_columns(
    get: Callable[[str], np.ndarray], specs: list[dict], selection: LeptonSelection | None,
    pair: tuple[int, int], where: str, *, label: str = "column", first_row: int = 0,
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """``(X, selected, dropped)`` from columns fetched with ``get(name) -> 1-D array``, each
    checked by :func:`checked_values` (``where``, ``label`` and ``first_row`` name the offending
    rows).

    Without a ``selection`` (a mapping without charge or pdg_id) every row is an event of the
    mapped particles, in order. With it, the mapped particles are the row's lepton candidates:
    by their ``charge``, or, with ``pdg_id``, the particles whose ids are the ``pair``
    (``(positive_id, negative_id)``); ``selection`` keeps and orders them. ``selected`` says
    which rows were kept (``X`` holds the kept rows, in order), ``dropped`` counts the others
    per reason.
    """
    def column(spec, key):
        if not isinstance(spec[key], str):  # a constant (mass)
            return np.full(n_rows, float(spec[key]))
        return checked_values(get(spec[key]), key, spec[key], where, label=label, rows=first_row)

    n_rows = len(get(mapping_sources(specs)[0]))
    particles = []
    for spec in specs:
        if "px" in spec:
            particles.append(np.stack([column(spec, c) for c in CARTESIAN], axis=-1))
        else:
            particles.append(
                kinematics.from_pt_eta_phi_mass(*(column(spec, c) for c in COLLIDER)))
    p = np.stack(particles, axis=1).astype(np.float64, copy=False)
    if selection is None:
        return to_flat(p), np.ones(p.shape[0], dtype=bool), {}
    order = next(iter(set(specs[0]) & set(ORDER_KEYS)))
    q = np.stack([column(spec, order) for spec in specs], axis=1)
    if order == "pdg_id":
        ids = q.astype(np.int64)
        sign = np.where(ids == pair[0], 1, np.where(ids == pair[1], -1, 0))
    else:
        sign = np.sign(q)
    counts = np.full(p.shape[0], p.shape[1])
    return selection.select(counts, p.reshape(-1, 4), sign.reshape(-1))
