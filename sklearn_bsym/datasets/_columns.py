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

__all__ = ["check_column_mapping", "mapping_sources", "events_from_columns"]

CARTESIAN = ("px", "py", "pz", "E")
COLLIDER = ("pt", "eta", "phi", "mass")
ORDER_KEYS = ("charge", "pdg_id")

_EXAMPLE = (
    'e.g. columns=[{"px": "px1", "py": "py1", "pz": "pz1", "E": "E1", "charge": "Q1"}, '
    '{"px": "px2", "py": "py2", "pz": "pz2", "E": "E2", "charge": "Q2"}]'
)


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
    get: Callable[[str], np.ndarray], specs: list[dict[str, str]], pair: tuple[int, int]
) -> tuple[np.ndarray, dict[str, int]]:
    """``(X, counts)`` from columns fetched with ``get(name) -> 1-D array``.

    With a ``charge`` key, events whose two particles have opposite charges are kept (positive
    first); with ``pdg_id``, events whose ids are the ``pair`` (``(positive_id, negative_id)``)
    in either order. ``counts`` has ``n_events_read``, ``n_selected`` and ``n_wrong_pair``.
    """
    particles = []
    for spec in specs:
        if "px" in spec:
            particles.append(np.stack([get(spec[c]) for c in CARTESIAN], axis=-1))
        else:
            particles.append(kinematics.from_pt_eta_phi_mass(*(get(spec[c]) for c in COLLIDER)))
    p = np.stack(particles, axis=1).astype(np.float64, copy=False)
    n = p.shape[0]
    order = next(iter(set(specs[0]) & set(ORDER_KEYS)), None)
    if order is None:
        return to_flat(p), {"n_events_read": n, "n_selected": n, "n_wrong_pair": 0}
    q = np.stack([np.asarray(get(spec[order])) for spec in specs], axis=1)
    if order == "pdg_id":
        ids = q.astype(np.int64)
        first_pos = (ids[:, 0] == pair[0]) & (ids[:, 1] == pair[1])
        first_neg = (ids[:, 0] == pair[1]) & (ids[:, 1] == pair[0])
    else:
        first_pos = (q[:, 0] > 0) & (q[:, 1] < 0)
        first_neg = (q[:, 0] < 0) & (q[:, 1] > 0)
    keep = first_pos | first_neg
    p = np.where(first_neg[:, None, None], p[:, ::-1], p)[keep]
    n_kept = int(keep.sum())
    return to_flat(p), {"n_events_read": n, "n_selected": n_kept, "n_wrong_pair": n - n_kept}
