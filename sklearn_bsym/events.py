"""The one event representation used everywhere in sklearn_bsym.

Layout
------
``X`` is a 2-D float array of shape ``(n_events, 4 * n_particles)``: for each particle, in order,
its four-momentum ``(px, py, pz, E)`` in GeV. A pandas DataFrame is accepted anywhere an array
is when its columns carry the layout's names (``mu0_px ... mu1_E``, any prefix and order, see
:func:`feature_names`) or are plain positions (``pd.DataFrame(X)``); other names are refused
rather than taken by position. An all-zero four-vector marks a *padding slot* of an event that
has fewer particles than the array has slots; an event needs at least one particle. ``y`` is 0/1
with 1 = signal.

For the built-in generator and the LHE reader the particles are the two muons (or leptons),
positive charge first, so ``X[:, 0:4]`` is the mu+ and ``X[:, 4:8]`` the mu-.

Inside the library the 3-D *particle view* ``(n_events, n_particles, 4)`` is used; the helpers
here convert between the two without copying when possible.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    column_or_1d,
    validate_data,
)

from . import kinematics

__all__ = [
    "COMPONENTS",
    "MAX_ABS_GEV",
    "feature_names",
    "to_particles",
    "to_flat",
    "padding_mask",
    "n_particles_of",
    "check_events",
    "check_labels",
    "check_sample_weight",
    "validate_events",
    "FLOAT_DTYPES",
    "canonical_input",
    "from_awkward",
    "from_pt_eta_phi_mass",
]

#: The components of each particle's four-vector, in storage order.
COMPONENTS: tuple[str, str, str, str] = ("px", "py", "pz", "E")

#: Largest ``|component|`` accepted, in GeV: 15 times the LHC's 6.8 TeV beam energy. Larger values
#: are unit mistakes (MeV, keV) or corrupt entries, and far larger ones overflow the networks'
#: float32 invariants (products of energies) into inf and then NaN.
MAX_ABS_GEV = 1e5

#: Float types the estimators accept, float64 first: other input is converted to it; float32 is
#: kept as float32.
FLOAT_DTYPES = (np.float64, np.float32)

_LAYOUT_NAME = re.compile(r"^([A-Za-z]\w*?)(\d+)_(px|py|pz|E)$")
_CONVERTER_HINT = (
    "Convert it with sklearn_bsym.events.from_awkward(array) (records with x/y/z/t, px/py/pz/E "
    "or pt/eta/phi/mass fields, vector objects included) or "
    "sklearn_bsym.events.from_pt_eta_phi_mass(pt, eta, phi, mass)."
)


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
    return arr.reshape(arr.shape[0], 4 * arr.shape[1])


def padding_mask(particles) -> np.ndarray:
    """Boolean ``(n_events, n_particles)``: True for real particles, False for padding slots."""
    return np.any(np.asarray(particles) != 0, axis=-1)


def _check_precision(dtype, what: str) -> None:
    if np.dtype(dtype) == np.float16:
        raise ValueError(
            f"{what} is float16, which keeps about 3 significant digits and tops out at 65504: "
            "too coarse for four-momenta (a 50 GeV muon's E - |p| is 1e-4 GeV, below float16's "
            "0.03 GeV rounding) and unable to hold TeV-scale values. Store or pass the events as "
            "float32 or float64, from the source data rather than upcast float16."
        )


def _reorder_frame(X: pd.DataFrame) -> pd.DataFrame:
    """The frame with its layout-named columns (``mu0_px ...``) in layout order; a frame whose
    columns are plain positions (0, 1, ..., as ``pd.DataFrame(X)`` makes) is positional. Any
    other set of names is an error, never a guess: the names say which column is which, and
    taking them by position would silently mix components or particles."""
    names = [str(c) for c in X.columns]
    if list(X.columns) == list(range(X.shape[1])):
        return X
    matches = [_LAYOUT_NAME.match(n) for n in names]
    fix = (
        f"Name all columns <prefix><i>_<px|py|pz|E> ({', '.join(feature_names(1))}, ...; any "
        "order), read a file with its own column names through a column mapping "
        "(sklearn_bsym.datasets.load_event_file(path, columns=[...]); --columns on the command "
        "line), or pass X.to_numpy() to use the column positions."
    )
    if not any(matches):
        raise ValueError(
            f"DataFrame columns {names[:8]} are not the event layout's names, and taking them "
            f"by position would be a guess. {fix}"
        )
    others = [n for n, m in zip(names, matches, strict=True) if m is None]
    if others:
        raise ValueError(
            f"DataFrame mixes the event layout's column names with other columns {others[:6]}; "
            f"which four-momentum each belongs to is ambiguous. {fix}"
        )
    prefixes = sorted({m.group(1) for m in matches if m is not None})
    if len(prefixes) != 1:
        raise ValueError(f"DataFrame columns use several particle prefixes {prefixes}. {fix}")
    n_particles = max(len(names) // 4, 1)
    expected = feature_names(n_particles, prefix=prefixes[0])
    if len(set(names)) != len(names) or set(names) != set(expected):
        missing = [c for c in expected if c not in names]
        extra = sorted(set(names) - set(expected))
        duplicated = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(
            f"DataFrame columns do not form the event layout for {n_particles} particle(s): "
            f"missing {missing[:8]}, unexpected {extra[:8]}, duplicated {duplicated[:8]}. {fix}"
        )
    if names == expected:
        return X
    return X[[X.columns[names.index(c)] for c in expected]]


def canonical_input(X):
    """Bring user input to the canonical layout *by name*, before any numeric validation.

    - A DataFrame whose columns carry the layout's names (``mu0_px ... mu1_E``, any prefix) is
      reordered to the layout order; a frame whose columns are plain positions (0, 1, ...) is
      taken by position; any other names (a partial or inconsistent set of layout names
      included) are an error naming the column-mapping reader.
    - A 3-D array (the particle view) is refused with an error naming :func:`to_flat`.
    - awkward arrays with records or jagged particles, ``vector`` objects and numpy structured
      arrays are refused with an error naming :func:`from_awkward`; a regular numeric awkward
      array of shape (n_events, 4 * n_particles) is converted to numpy.
    - float16 is refused: it cannot hold four-momenta to the precision the checks need.

    Estimators call it before scikit-learn's validation, which would otherwise fail on such
    input with a raw numpy error or record the columns in the wrong order.

    >>> names = ["mu0_py", "mu0_px", "mu0_pz", "mu0_E"]
    >>> frame = pd.DataFrame([[1.0, 0.0, 0.0, 2.0]], columns=names)
    >>> list(canonical_input(frame).columns)
    ['mu0_px', 'mu0_py', 'mu0_pz', 'mu0_E']
    """
    module = type(X).__module__.split(".")[0]
    if module in ("awkward", "vector"):
        if module == "awkward" and not X.fields and X.ndim == 2:
            import awkward as ak

            try:
                return ak.to_numpy(X)
            except (ValueError, TypeError):
                pass  # jagged: fall through to the error
        raise ValueError(
            f"Got a {module} {type(X).__name__}, not an event array in the canonical layout "
            f"(n_events, 4 * n_particles). {_CONVERTER_HINT}"
        )
    if isinstance(X, pd.DataFrame):
        for column, dtype in X.dtypes.items():
            if isinstance(dtype, np.dtype):
                _check_precision(dtype, f"DataFrame column {column!r}")
        return _reorder_frame(X)
    dtype = getattr(X, "dtype", None)
    shape = getattr(X, "shape", ())
    if isinstance(X, list | tuple):
        try:
            shape = np.shape(X)
        except ValueError:  # ragged: scikit-learn's own check names it
            shape = ()
    if len(shape) == 3:
        raise ValueError(
            f"Got a 3-D array of shape {tuple(shape)}; the events are a 2-D array (n_events, "
            "4 * n_particles). Flatten a particle view (n_events, n_particles, 4) with "
            "sklearn_bsym.events.to_flat(X)."
        )
    if isinstance(dtype, np.dtype):
        if dtype.names is not None:
            raise ValueError(
                f"Got a structured array with fields {list(dtype.names)[:8]}, not an event "
                f"array in the canonical layout. {_CONVERTER_HINT}"
            )
        _check_precision(dtype, "The event array")
    return X


def _padded(component, n_particles: int | None):
    """``(n_events, n_particles)`` float64 of one component, zero-padded."""
    import awkward as ak

    arr = ak.Array(component) if not isinstance(component, ak.Array) else component
    if arr.ndim == 1:
        arr = arr[:, np.newaxis]
    if arr.ndim != 2:
        raise ValueError(
            f"from_awkward needs one particle per event (n_events,) or a list of particles per "
            f"event (n_events, var); got {arr.ndim} nested dimensions ({arr.type})."
        )
    counts = ak.to_numpy(ak.num(arr, axis=1))
    most = int(counts.max()) if counts.size else 0
    width = max(most, 1) if n_particles is None else n_particles
    if most > width:
        raise ValueError(
            f"An event has {most} particles, more than n_particles={width}. Select the "
            "particles first (e.g. the leading ones) or raise n_particles; nothing is dropped "
            "silently."
        )
    arr = ak.fill_none(ak.pad_none(arr, width, axis=1, clip=True), 0.0)
    return ak.to_numpy(arr).astype(np.float64)


_FIELD_SETS = (
    ("cartesian", (("x",), ("y",), ("z",), ("t",))),
    ("cartesian", (("px",), ("py",), ("pz",), ("e", "energy"))),
    ("collider", (("pt",), ("eta",), ("phi",), ("mass", "m"))),
)


def from_awkward(array, *, n_particles: int | None = None) -> np.ndarray:
    """Canonical ``X`` from awkward records or ``vector`` objects.

    Parameters
    ----------
    array : awkward Array, vector array or vector-awkward array
        One record per event (shape ``(n_events,)``) or a list of records per event (shape
        ``(n_events, var)``), with fields ``x, y, z, t``, ``px, py, pz, E`` (or ``e``,
        ``energy``) or ``pt, eta, phi, mass`` (or ``m``), any case. ``vector`` arrays (numpy or
        awkward backend, any coordinate system with a time or mass component) are read through
        their ``x, y, z, t`` properties.
    n_particles : int, default=None
        Particle slots per event; events with fewer are zero-padded, more is an error. Default:
        the largest count in ``array``.

    Returns
    -------
    ndarray of shape (n_events, 4 * n_particles), float64
        Particles in the order given: put the positive lepton first for the estimators' mu+ mu-
        convention. Validated with :func:`check_events`.

    Examples
    --------
    >>> import awkward as ak
    >>> muons = ak.Array([[{"pt": 3.0, "eta": 0.0, "phi": 0.0, "mass": 4.0}], []])
    >>> from_awkward(muons).tolist()
    [[3.0, 0.0, 0.0, 5.0], [0.0, 0.0, 0.0, 0.0]]
    """
    if n_particles is not None and (isinstance(n_particles, bool) or not isinstance(
            n_particles, int) or n_particles < 1):
        raise ValueError(f"n_particles must be None or an int >= 1, got {n_particles!r}.")
    if type(array).__module__.startswith("vector"):
        try:
            components = [getattr(array, c) for c in ("x", "y", "z", "t")]
        except AttributeError as exc:
            raise ValueError(
                f"from_awkward needs four-dimensional vectors (with a time, energy or mass "
                f"component); got {type(array).__name__}."
            ) from exc
        kind = "cartesian"
    else:
        import awkward as ak

        if not isinstance(array, ak.Array):
            raise ValueError(
                f"from_awkward takes an awkward Array or a vector array, got "
                f"{type(array).__name__}. For plain arrays use from_pt_eta_phi_mass or pass "
                "the (n_events, 4 * n_particles) array directly."
            )
        by_lower = {f.lower(): f for f in array.fields}
        for set_kind, names in _FIELD_SETS:
            found = [next((by_lower[n] for n in opts if n in by_lower), None) for opts in names]
            if all(f is not None for f in found):
                kind, components = set_kind, [array[f] for f in found]
                break
        else:
            raise ValueError(
                f"from_awkward found no four-momentum fields among {array.fields[:12]}: expected "
                "x/y/z/t, px/py/pz/E or pt/eta/phi/mass. Rename the fields (ak.zip) or build "
                "the array with vector.zip."
            )
    columns = [_padded(c, n_particles) for c in components]
    if kind == "collider":
        particles = kinematics.from_pt_eta_phi_mass(*columns)
    else:
        particles = np.stack(columns, axis=-1)
    return check_events(to_flat(particles))


def from_pt_eta_phi_mass(pt, eta, phi, mass) -> np.ndarray:
    """Canonical ``X`` from arrays of shape ``(n_events,)`` (one particle) or
    ``(n_events, n_particles)``; a zero pT and mass is a padding slot.

    >>> from_pt_eta_phi_mass([3.0], [0.0], [0.0], [4.0]).tolist()
    [[3.0, 0.0, 0.0, 5.0]]
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in (pt, eta, phi, mass)]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or arrays[0].ndim not in (1, 2):
        raise ValueError(
            f"pt, eta, phi and mass must have one common shape (n_events,) or (n_events, "
            f"n_particles); got shapes {[a.shape for a in arrays]}."
        )
    if arrays[0].ndim == 1:
        arrays = [a[:, np.newaxis] for a in arrays]
    return check_events(to_flat(kinematics.from_pt_eta_phi_mass(*arrays)))


def check_events(
    X,
    *,
    n_particles: int | None = None,
    physical: bool = True,
    rtol: float = 1e-4,
    atol: float = 1e-3,
    dtype: Sequence[type] | type | None = (np.float64, np.float32),
    max_abs: float | None = MAX_ABS_GEV,
) -> np.ndarray:
    """Validate a canonical event array and return it as a float ndarray.

    Checks, each failing with a ValueError that names the problem and the fix: the input itself
    (:func:`canonical_input`: DataFrames reordered by column name, awkward/vector input and
    float16 refused), 2-D shape with a multiple of 4 columns (and ``4 * n_particles`` of them
    when given), finite values, every component within ``max_abs`` GeV (default
    :data:`MAX_ABS_GEV`; None turns it off), and, when ``physical``, four-vectors that are not
    spacelike: ``E >= |p|`` within ``rtol * E + atol`` GeV (which also rejects negative
    energies).
    """
    X = canonical_input(X)
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
    if max_abs is not None:
        big = np.abs(arr) > max_abs
        if big.any():
            rows, cols = np.nonzero(big)
            raise ValueError(
                f"{np.unique(rows).size} event(s) have a momentum component beyond {max_abs:g} "
                f"GeV in absolute value (first: event {rows[0]}, column {cols[0]}, value "
                f"{arr[rows[0], cols[0]]:.6g}). The layout is in GeV: convert MeV by dividing "
                "by 1000, and drop corrupt events; values this large also overflow the "
                "networks' float32 arithmetic into NaN."
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


def _caller(estimator) -> str:
    """The name the messages give the caller: an estimator's class name or a function's name."""
    if estimator is None or isinstance(estimator, str):
        return estimator or "This estimator"
    return type(estimator).__name__


def check_labels(y, *, n_events: int | None = None, estimator=None,
                 both_classes: bool = True) -> np.ndarray:
    """Validate binary labels (1 = signal, 0 = background) and return them as int64.

    The one label check of the package, each failure a ValueError that names the problem and the
    fix: y missing (None), not 1-D, NaN or infinite, continuous or multiclass (scikit-learn's
    ``type_of_target`` wording), values other than 0 and 1, a single class (unless
    ``both_classes=False``, e.g. for a file of signal only) and, given ``n_events``, a length
    that is not one label per event. ``estimator`` (an estimator, or a function's name) names
    the caller in the messages.

    >>> check_labels([1, 0, 1.0]).tolist()
    [1, 0, 1]
    """
    name = _caller(estimator)
    if y is None:
        raise ValueError(
            f"{name} requires y to be passed, but the target y is None. Pass the labels "
            "(1 = signal, 0 = background)."
        )
    arr = y.to_numpy() if isinstance(y, pd.Series | pd.DataFrame) else np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = column_or_1d(arr, warn=True)  # scikit-learn's DataConversionWarning
    if arr.ndim != 1:
        raise ValueError(f"y must be 1-D (one label per event), got shape {np.shape(y)}.")
    if n_events is not None and arr.shape[0] != n_events:
        raise ValueError(f"X has {n_events} events but y has {arr.shape[0]} labels; pass one "
                         "label per event.")
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise ValueError(
            f"Input y contains NaN or infinity; {name} needs labels 1 = signal and 0 = "
            "background."
        )
    y_type = type_of_target(arr, input_name="y", raise_unknown=True)
    if y_type != "binary":
        raise ValueError(
            f"Only binary classification is supported. The type of the target is {y_type}; "
            f"{name} needs labels 1 = signal and 0 = background."
        )
    classes = np.unique(arr)
    if not np.isin(classes, [0, 1]).all():
        raise ValueError(
            f"y holds the labels {classes[:10].tolist()}; {name} needs labels 1 = signal and 0 "
            f"= background: map them first, e.g. y = (labels == {_signal_label(classes)!r})"
            ".astype(int)."
        )
    if both_classes and classes.size < 2:
        raise ValueError(
            f"y contains one class only ({classes.tolist()}); {name} needs both signal (1) "
            "and background (0) events."
        )
    return arr.astype(np.int64)


def _signal_label(classes) -> object:
    """The label that most likely means signal, for the example of a fix: one that reads as
    signal ("signal", "sig", "s", ...), else the largest."""
    for label in classes:
        if str(label).strip().lower() in ("s", "sig", "signal", "true", "yes"):
            return label.item() if isinstance(label, np.generic) else label
    last = classes[-1]
    return last.item() if isinstance(last, np.generic) else last


def check_sample_weight(sample_weight, n_events: int) -> np.ndarray:
    """Validate per-event weights with scikit-learn's rules and return them as float64.

    scikit-learn's ``_check_sample_weight`` (``ensure_non_negative=True``): finite, one weight
    per event (a number is repeated), non-negative, not all zero (a positive sum); a failure
    names the weights and says how to fix them.
    """
    if np.ndim(sample_weight) == 1 and len(sample_weight) != n_events:
        raise ValueError(f"sample_weight has {len(sample_weight)} entries but X has {n_events} "
                         "events; pass one weight per event.")
    hint = ("sample_weight must be finite and non-negative with a positive sum; check the "
            "reweighting (empty bins give weight 0, not NaN).")
    try:
        weight = _check_sample_weight(sample_weight, np.empty((n_events, 0)),
                                      dtype=np.float64, ensure_non_negative=True)
    except ValueError as exc:
        raise ValueError(f"{exc} {hint}") from exc
    if not weight.any():
        # Newer scikit-learn refuses all-zero weights itself (this wording); 1.7.0 does not.
        raise ValueError(f"Sample weights must contain at least one non-zero number. {hint}")
    return weight


def _refuse_empty_events(X: np.ndarray) -> None:
    """An event whose every four-vector is zero has no particle at all: nothing to classify,
    transform or weight (a network scores it 0.0). Readers and converters may pad to it; the
    estimators refuse it by its row."""
    empty = ~np.any(X != 0, axis=1)
    if empty.any():
        rows = np.flatnonzero(empty)
        raise ValueError(
            f"{rows.size} event(s) have no particle at all, every four-vector zero (first "
            f"rows: {rows[:5].tolist()}); an event needs at least one particle. Drop them "
            "first, e.g. X = X[np.any(X != 0, axis=1)] (and y likewise)."
        )


def validate_events(estimator, X, y="no_validation", *, reset: bool = True,
                    dtype=FLOAT_DTYPES, n_particles: int | None = None):
    """The one input validation of the package's estimators and functions.

    :func:`canonical_input` (DataFrames reordered by column name; awkward/vector input and
    float16 refused), then scikit-learn's ``validate_data`` (feature names and count, 2-D,
    ``dtype``; ``reset=True`` records them, as in ``fit``, else they are checked against the
    fit's), then :func:`check_events` (a multiple of 4 columns, or ``4 * n_particles``; finite
    values within :data:`MAX_ABS_GEV`; ``E >= |p|``). Given ``y``, the labels are checked
    (:func:`check_labels`) before the event contract, so a wrong target is reported as such,
    and must number one per event.

    Parameters
    ----------
    estimator : estimator, str or None
        The estimator whose data is validated (its ``n_features_in_`` and
        ``feature_names_in_`` are set or checked); a function passes its name (or None), and
        then only the array is checked (scikit-learn's ``check_array``).
    X : array-like or DataFrame of shape (n_events, 4 * n_particles)
    y : array-like of shape (n_events,), None or "no_validation", default="no_validation"
        Labels to check with ``X``; None is an error ("y is required").
    reset : bool, default=True
    dtype : type or tuple of types, default=(np.float64, np.float32)
        Accepted float types; other input is converted to the first.
    n_particles : int, optional
        Required number of particles.

    Returns
    -------
    X : ndarray, or (X, y) with ``y`` as int64 0/1 labels when ``y`` is passed.

    Examples
    --------
    >>> validate_events("my_function", [[3.0, 0.0, 4.0, 5.0]]).dtype
    dtype('float64')
    """
    X = canonical_input(X)
    # Finite values are checked by check_events, whose message names the events and the fix.
    if estimator is None or isinstance(estimator, str):
        X = check_array(X, dtype=dtype, ensure_all_finite=False, input_name="X",
                        estimator=estimator)
    else:
        X = validate_data(estimator, X, reset=reset, dtype=dtype, ensure_all_finite=False)
    labels = None
    if not (isinstance(y, str) and y == "no_validation"):
        # Before the event contract: a y that is not 0/1 labels is the clearer error.
        labels = check_labels(y, estimator=estimator)
    X = check_events(X, n_particles=n_particles, dtype=dtype)
    _refuse_empty_events(X)
    if labels is None:
        return X
    if labels.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} events but y has {labels.shape[0]} labels; pass "
                         "one label per event.")
    return X, labels
