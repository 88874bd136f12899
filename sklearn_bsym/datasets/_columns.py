"""Events from per-particle columns of any table (CSV, parquet, flat ROOT branches).

A *column mapping* says which of the file's columns hold each particle's four-momentum: a list
with one dict per particle, keys ``px, py, pz, E`` or ``pt, eta, phi, mass``, plus optionally
``charge`` or ``pdg_id`` to put the positive lepton first (two particles only), e.g.::

    [{"px": "px_0", "py": "py_0", "pz": "pz_0", "E": "energy_0", "pdg_id": "id_0"},
     {"px": "px_1", "py": "py_1", "pz": "pz_1", "E": "energy_1", "pdg_id": "id_1"}]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .. import kinematics
from ..events import to_flat

__all__ = [
    "check_column_mapping",
    "mapping_sources",
    "events_from_columns",
    "checked_values",
    "MAPPING_HINT",
]

CARTESIAN = ("px", "py", "pz", "E")
COLLIDER = ("pt", "eta", "phi", "mass")
ORDER_KEYS = ("charge", "pdg_id")

_EXAMPLE = (
    'e.g. columns=[{"px": "px1", "py": "py1", "pz": "pz1", "E": "E1", "charge": "Q1"}, '
    '{"px": "px2", "py": "py2", "pz": "pz2", "E": "E2", "charge": "Q2"}]'
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


def check_column_mapping(columns) -> list[dict[str, str]]:
    """The mapping as a list of ``{key: column}`` dicts, or a ValueError naming the fix."""
    if isinstance(columns, Mapping) or isinstance(columns, str) or not isinstance(
            columns, Sequence) or len(columns) == 0:
        raise ValueError(
            "columns must be a list with one dict per particle mapping px/py/pz/E (or "
            f"pt/eta/phi/mass) and optionally charge or pdg_id to column names; {_EXAMPLE}. "
            f"Got {columns!r:.200}."
        )
    specs = []
    for i, spec in enumerate(columns):
        if not isinstance(spec, Mapping) or not all(
                isinstance(v, str) for v in spec.values()):
            raise ValueError(f"columns[{i}] must be a dict of key -> column name; {_EXAMPLE}.")
        keys = set(spec)
        order = keys & set(ORDER_KEYS)
        momentum = keys - order
        if len(order) > 1 or momentum not in (set(CARTESIAN), set(COLLIDER)):
            raise ValueError(
                f"columns[{i}] has keys {sorted(keys)}; it needs exactly px, py, pz, E or "
                "pt, eta, phi, mass, and at most one of charge / pdg_id; " + _EXAMPLE + "."
            )
        specs.append(dict(spec))
    orders = {next(iter(set(s) & set(ORDER_KEYS)), None) for s in specs}
    if len(orders) != 1:
        raise ValueError(
            "Give every particle the same ordering key (charge or pdg_id), or none of them."
        )
    if orders != {None} and len(specs) != 2:
        raise ValueError(
            f"Ordering by charge or pdg_id (positive first) needs exactly 2 particles, got "
            f"{len(specs)}; drop the key to keep the columns' particle order."
        )
    return specs


def mapping_sources(specs: list[dict[str, str]]) -> list[str]:
    """Every column the mapping reads, once each, in mapping order."""
    return list(dict.fromkeys(v for spec in specs for v in spec.values()))


def events_from_columns(
    get: Callable[[str], np.ndarray], specs: list[dict[str, str]], pair: tuple[int, int],
    where: str, *, label: str = "column", first_row: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(X, selected)`` from columns fetched with ``get(name) -> 1-D array``, each checked by
    :func:`checked_values` (``where``, ``label`` and ``first_row`` name the offending rows).

    With a ``charge`` key, events whose two particles have opposite charges are kept (positive
    first); with ``pdg_id``, events whose ids are the ``pair`` (``(positive_id, negative_id)``)
    in either order. ``selected`` says which rows were kept (a boolean per row; ``X`` holds
    the kept rows, in order).
    """
    def column(spec, key):
        return checked_values(get(spec[key]), key, spec[key], where, label=label, rows=first_row)

    particles = []
    for spec in specs:
        if "px" in spec:
            particles.append(np.stack([column(spec, c) for c in CARTESIAN], axis=-1))
        else:
            particles.append(
                kinematics.from_pt_eta_phi_mass(*(column(spec, c) for c in COLLIDER)))
    p = np.stack(particles, axis=1).astype(np.float64, copy=False)
    order = next(iter(set(specs[0]) & set(ORDER_KEYS)), None)
    if order is None:
        return to_flat(p), np.ones(p.shape[0], dtype=bool)
    q = np.stack([column(spec, order) for spec in specs], axis=1)
    if order == "pdg_id":
        ids = q.astype(np.int64)
        first_pos = (ids[:, 0] == pair[0]) & (ids[:, 1] == pair[1])
        first_neg = (ids[:, 0] == pair[1]) & (ids[:, 1] == pair[0])
    else:
        first_pos = (q[:, 0] > 0) & (q[:, 1] < 0)
        first_neg = (q[:, 0] < 0) & (q[:, 1] > 0)
    keep = first_pos | first_neg
    p = np.where(first_neg[:, None, None], p[:, ::-1], p)[keep]
    return to_flat(p), keep
