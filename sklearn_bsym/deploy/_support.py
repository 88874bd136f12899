"""The phase space a model was trained on, and the events outside it.

A model scored on events unlike its training sample extrapolates: its score there is a number
without a meaning (a dimuon model trained above 70 GeV gives a score to a 20 GeV J/psi-region
event all the same). :func:`measure_support` records the training sample's ranges when the model
is fitted (``python -m sklearn_bsym fit`` keeps them in the model file's manifest), and
:func:`outside_support` says which events to score lie outside them (``score`` counts them, and
writes a flag per entry with ``--support-column``).
"""

from __future__ import annotations

from numbers import Real

import numpy as np

from .. import events, kinematics

__all__ = ["SUPPORT_VARIABLES", "measure_support", "outside_support"]

#: The variables of a support, each a ``[low, high]`` range: the invariant mass of the event's
#: leptons (the dilepton mass of a pair), and each lepton's pT and pseudorapidity.
SUPPORT_VARIABLES = ("mass", "pt", "eta")


def _values(X) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per variable, ``(values, event of each value)`` of the events ``X`` (padding slots left
    out)."""
    p = events.to_particles(events.check_events(X))
    real = events.padding_mask(p)
    rows = np.broadcast_to(np.arange(len(p))[:, None], real.shape)[real]
    mass = kinematics.mass(kinematics.system(p))
    return {"mass": (mass, np.arange(len(p))), "pt": (kinematics.pt(p)[real], rows),
            "eta": (kinematics.eta(p)[real], rows)}


def measure_support(X, *, quantiles=(0.001, 0.999)) -> dict:
    """The ranges of :data:`SUPPORT_VARIABLES` that the events ``X`` cover, as JSON-ready data.

    Parameters
    ----------
    X : array-like of shape (n_events, 4 * n_particles)
        The training events (both classes), as the model sees them: measured, or smeared as
        the model's measuring steps smear them.
    quantiles : (float, float), default=(0.001, 0.999)
        The range of each variable: from its ``quantiles[0]`` to its ``quantiles[1]``
        quantile, so that a few stray events do not stretch it; ``(0, 1)`` takes the minimum
        and maximum.

    Returns
    -------
    dict
        ``{"mass": [low, high], "pt": [low, high], "eta": [low, high], "quantiles": [q_low,
        q_high], "n_events": n, "n_particles": P}`` (GeV for mass and pT).

    Examples
    --------
    >>> from sklearn_bsym.datasets import make_dimuon_events
    >>> from sklearn_bsym.deploy import measure_support, outside_support
    >>> X, _ = make_dimuon_events(2_000, random_state=0)
    >>> support = measure_support(X)
    >>> [round(v) for v in support["mass"]], support["n_particles"]
    ([70, 490], 2)
    >>> outside_support(X, support).sum().to_dict()
    {'mass': 4, 'pt': 4, 'eta': 8}
    """
    if (not isinstance(quantiles, tuple | list) or len(quantiles) != 2
            or not all(isinstance(q, Real) and not isinstance(q, bool) for q in quantiles)
            or not 0 <= quantiles[0] < quantiles[1] <= 1):
        raise ValueError(f"quantiles must be two numbers 0 <= low < high <= 1, e.g. (0.001, "
                         f"0.999), got {quantiles!r}.")
    values = _values(X)
    support: dict = {name: [float(v) for v in np.quantile(values[name][0], quantiles)]
                     for name in SUPPORT_VARIABLES}
    support.update(quantiles=[float(q) for q in quantiles], n_events=len(values["mass"][0]),
                   n_particles=events.n_particles_of(X))
    return support


def check_support(support) -> dict:
    """``support`` when it is what :func:`measure_support` returns; else one ValueError line."""
    fields = (*SUPPORT_VARIABLES, "n_particles")
    ranges = isinstance(support, dict) and all(
        isinstance(support.get(name), list | tuple) and len(support[name]) == 2
        and all(isinstance(v, Real) for v in support[name]) for name in SUPPORT_VARIABLES)
    if not ranges or not isinstance(support.get("n_particles"), int):
        raise ValueError(f"support must be a dict of measure_support, with {list(fields)} "
                         f"(ranges [low, high] and the number of particles); got "
                         f"{support!r:.200}.")
    return support


def outside_support(X, support):
    """Which events of ``X`` lie outside a ``support``, per variable.

    Parameters
    ----------
    X : array-like of shape (n_events, 4 * n_particles)
        Events with as many particles as the support's.
    support : dict
        What :func:`measure_support` returns (e.g. ``read_model_info(path)["metadata"]
        ["support"]`` of a model file written by ``python -m sklearn_bsym fit``).

    Returns
    -------
    pandas.DataFrame of shape (n_events, 3), bool
        One column per variable of :data:`SUPPORT_VARIABLES`: True where the event's value (for
        pT and eta: any of its leptons') is outside the range. ``.any(axis=1)`` flags the
        events outside in any variable.
    """
    import pandas as pd

    check_support(support)
    n_particles = events.n_particles_of(X)
    if n_particles != support["n_particles"]:
        raise ValueError(
            f"The events have {n_particles} particles but the support was measured on events "
            f"of {support['n_particles']}; read the events with the model's number of leptons "
            f"(n_leptons={support['n_particles']})."
        )
    values = _values(X)
    flags = {}
    for name in SUPPORT_VARIABLES:
        low, high = support[name]
        value, rows = values[name]
        flags[name] = np.bincount(rows, weights=(value < low) | (value > high),
                                  minlength=len(values["mass"][0])) > 0
    return pd.DataFrame(flags)
