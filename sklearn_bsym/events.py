"""The one event representation used everywhere in sklearn_bsym.

Layout
------
``X`` is a 2-D float array of shape ``(n_events, 4 * n_particles)``: for each particle, in order,
its four-momentum ``(px, py, pz, E)`` in GeV. A pandas DataFrame with the same columns in the
same order is accepted anywhere an array is (column names such as ``mu0_px ... mu1_E``, see
:func:`feature_names`). An all-zero four-vector marks a *padding slot* of an event that has fewer
particles than the array has slots. ``y`` is 0/1 with 1 = signal.

For the built-in generator and the LHE reader the particles are the two muons (or leptons),
positive charge first, so ``X[:, 0:4]`` is the mu+ and ``X[:, 4:8]`` the mu-.

Inside the library the 3-D *particle view* ``(n_events, n_particles, 4)`` is used; the helpers
here convert between the two without copying when possible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "COMPONENTS",
    "feature_names",
    "to_particles",
    "to_flat",
    "padding_mask",
    "n_particles_of",
    "check_events",
    "check_labels",
]

#: The components of each particle's four-vector, in storage order.
COMPONENTS: tuple[str, str, str, str] = ("px", "py", "pz", "E")


def feature_names(n_particles: int = 2, prefix: str = "mu") -> list[str]:
    """Column names of the canonical layout: ``mu0_px, mu0_py, mu0_pz, mu0_E, mu1_px, ...``.

    >>> feature_names(1, prefix="e")
    ['e0_px', 'e0_py', 'e0_pz', 'e0_E']
    """
    if n_particles < 1:
        raise ValueError(f"n_particles must be >= 1, got {n_particles}.")
    return [f"{prefix}{i}_{c}" for i in range(n_particles) for c in COMPONENTS]


def n_particles_of(X) -> int:
    """Number of particle slots of a 2-D event array or DataFrame.

    Raises a ValueError when the number of columns is not a positive multiple of 4.
    """
    shape = np.shape(X)
    if len(shape) != 2:
        raise ValueError(
            f"Expected a 2-D event array of shape (n_events, 4 * n_particles), got an array "
            f"with shape {shape}. Reshape with sklearn_bsym.events.to_flat(X) if you have a "
            "(n_events, n_particles, 4) array."
        )
    n_cols = shape[1]
    if n_cols == 0 or n_cols % 4:
        raise ValueError(
            f"Expected 4 columns (px, py, pz, E) per particle, got {n_cols} columns, which is "
            "not a positive multiple of 4. Pass one four-vector per particle, zero-padded."
        )
    return n_cols // 4


def to_particles(X) -> np.ndarray:
    """Particle view ``(n_events, n_particles, 4)`` of a 2-D event array or DataFrame.

    Returns a view (no copy) for a C-contiguous array.

    >>> to_particles(np.arange(8.0).reshape(1, 8)).shape
    (1, 2, 4)
    """
    arr = X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)
    n_particles = n_particles_of(arr)
    return arr.reshape(arr.shape[0], n_particles, 4)


def to_flat(particles) -> np.ndarray:
    """Canonical 2-D layout ``(n_events, 4 * n_particles)`` from a particle view."""
    arr = np.asarray(particles)
    if arr.ndim != 3 or arr.shape[2] != 4:
        raise ValueError(
            f"Expected a particle array of shape (n_events, n_particles, 4), got {arr.shape}."
        )
    return arr.reshape(arr.shape[0], -1)


def padding_mask(particles) -> np.ndarray:
    """Boolean ``(n_events, n_particles)``: True for real particles, False for padding slots."""
    return np.any(np.asarray(particles) != 0, axis=-1)


def check_events(
    X,
    *,
    n_particles: int | None = None,
    physical: bool = True,
    rtol: float = 1e-4,
    atol: float = 1e-3,
    dtype: Sequence[type] | type | None = (np.float64, np.float32),
) -> np.ndarray:
    """Validate a canonical event array and return it as a float ndarray.

    Checks, each failing with a ValueError that names the problem and the fix: 2-D shape with a
    multiple of 4 columns (and ``4 * n_particles`` of them when given), finite values, and, when
    ``physical``, four-vectors that are not spacelike: ``E >= |p|`` within
    ``rtol * E + atol`` GeV (which also rejects negative energies).
    """
    arr = X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"Expected a numeric event array, got dtype {arr.dtype}.")
    if dtype is not None:
        dtypes = tuple(dtype) if isinstance(dtype, Sequence) else (dtype,)
        if arr.dtype not in dtypes:
            arr = arr.astype(dtypes[0])
    have = n_particles_of(arr)
    if n_particles is not None and have != n_particles:
        raise ValueError(
            f"Expected {n_particles} particles ({4 * n_particles} columns), got {have} "
            f"({arr.shape[1]} columns)."
        )
    if arr.shape[0] == 0:
        raise ValueError("Got an event array with 0 events; at least one is required.")
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise ValueError(
            f"Event array contains NaN or inf in {rows.size} event(s) (first rows: "
            f"{rows[:5].tolist()}). Drop or repair those events before passing them in."
        )
    if physical:
        p = arr.reshape(arr.shape[0], have, 4)
        energy = p[..., 3]
        p_abs = np.sqrt(np.sum(p[..., :3].astype(np.float64) ** 2, axis=-1))
        spacelike = energy < p_abs - (rtol * np.abs(energy) + atol)
        if spacelike.any():
            ev, part = np.nonzero(spacelike)
            raise ValueError(
                f"{ev.size} four-vector(s) have E < |p| or negative energy (first: event "
                f"{ev[0]}, particle {part[0]}, E={energy[ev[0], part[0]]:.6g}, "
                f"|p|={p_abs[ev[0], part[0]]:.6g}). Check the column order (px, py, pz, E per "
                "particle) and units (GeV); for massless particles set E = |p|."
            )
    return arr


def check_labels(y, *, n_events: int | None = None) -> np.ndarray:
    """Validate binary labels (0 = background, 1 = signal), both classes present."""
    arr = y.to_numpy() if isinstance(y, pd.Series | pd.DataFrame) else np.asarray(y)
    arr = arr.ravel() if arr.ndim == 2 and arr.shape[1] == 1 else arr
    if arr.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {np.shape(y)}.")
    if n_events is not None and arr.shape[0] != n_events:
        raise ValueError(f"X has {n_events} events but y has {arr.shape[0]} labels.")
    classes = np.unique(arr)
    if not np.isin(classes, [0, 1]).all():
        raise ValueError(
            f"y must be binary with 0 = background and 1 = signal; got classes "
            f"{classes[:10].tolist()}."
        )
    if classes.size < 2:
        raise ValueError(
            f"y contains only class {classes.tolist()}; both signal (1) and background (0) "
            "events are needed."
        )
    return arr.astype(np.int64)
