"""The learned symmetry factor against pT (the paper's Fig. 5), as a table and as a plot."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import events, kinematics

__all__ = ["symmetry_factor_table", "plot_symmetry_factor"]

_VARIABLES = ("first", "leading")


def _pt_of(X, variable: str) -> np.ndarray:
    particles = events.to_particles(events.check_events(X))
    if variable == "first":
        return kinematics.pt(particles[:, 0])
    if variable == "leading":
        return kinematics.pt(particles).max(axis=1)
    raise ValueError(f"variable must be one of {_VARIABLES}, got {variable!r}.")


def symmetry_factor_table(estimator, X, *, bins=10, variable: str = "first") -> pd.DataFrame:
    """Mean and spread of the general-subnet weight w_general in bins of pT.

    Parameters
    ----------
    estimator : fitted HybridClassifier (or a Pipeline ending in one; earlier steps are applied)
    X : array-like of shape (n_events, 4 * n_particles)
        Events; pT is taken from them as given (before any pipeline steps).
    bins : int or array-like, default 10
        Number of equal-population (quantile) bins, or explicit bin edges in GeV.
    variable : {"first", "leading"}, default "first"
        pT of the first particle (the paper) or the leading pT.

    Returns
    -------
    DataFrame with columns ``pt_low, pt_high, pt_center, w_general_mean, w_general_std, count``,
    one row per non-empty bin.
    """
    pt = _pt_of(X, variable)
    model, Xm = _final_step(estimator, X)
    w = model.symmetry_factor(Xm)[:, 0]
    if np.ndim(bins) == 0:
        if int(bins) < 1:
            raise ValueError(f"bins must be a positive int or bin edges, got {bins!r}.")
        edges = np.unique(np.quantile(pt, np.linspace(0.0, 1.0, int(bins) + 1)))
    else:
        edges = np.asarray(bins, dtype=np.float64)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError("bins as edges must be a 1-D increasing array of at least 2 values.")
    idx = np.clip(np.searchsorted(edges, pt, side="right") - 1, 0, edges.size - 2)
    inside = (pt >= edges[0]) & (pt <= edges[-1])
    rows = []
    for b in range(edges.size - 1):
        sel = inside & (idx == b)
        if sel.any():
            rows.append({
                "pt_low": edges[b], "pt_high": edges[b + 1],
                "pt_center": 0.5 * (edges[b] + edges[b + 1]),
                "w_general_mean": float(w[sel].mean()), "w_general_std": float(w[sel].std()),
                "count": int(sel.sum()),
            })
    return pd.DataFrame(rows, columns=["pt_low", "pt_high", "pt_center", "w_general_mean",
                                       "w_general_std", "count"])


def _final_step(estimator, X):
    """The hybrid at the end of a Pipeline and X transformed by the steps before it."""
    steps = getattr(estimator, "steps", None)
    if steps is None:
        model = estimator
    else:
        X = estimator[:-1].transform(X)
        model = steps[-1][1]
    if not hasattr(model, "symmetry_factor"):
        raise ValueError(f"{type(model).__name__} has no symmetry_factor; pass a fitted "
                         "HybridClassifier (or a Pipeline ending in one).")
    return model, X


def plot_symmetry_factor(table_or_estimator, X=None, ax=None, **table_kwargs):
    """Plot mean w_general against pT with a band of one standard deviation.

    Parameters
    ----------
    table_or_estimator : DataFrame from :func:`symmetry_factor_table`, or a fitted hybrid
    X : array-like, required with an estimator
    ax : matplotlib Axes, optional
    **table_kwargs
        ``bins`` and ``variable`` for :func:`symmetry_factor_table`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if isinstance(table_or_estimator, pd.DataFrame):
        table = table_or_estimator
    else:
        if X is None:
            raise ValueError("Pass the events X together with an estimator (or pass a table).")
        table = symmetry_factor_table(table_or_estimator, X, **table_kwargs)
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover
        raise ImportError("plot_symmetry_factor needs matplotlib: pip install "
                          "'sklearn-bsym[plots]'.") from exc
    if ax is None:
        _, ax = plt.subplots()
    x, mean, std = table["pt_center"], table["w_general_mean"], table["w_general_std"]
    ax.plot(x, mean, marker="o", label="w_general (mean)")
    ax.fill_between(x, mean - std, mean + std, alpha=0.3, label="± 1 std")
    ax.set_xlabel("muon pT [GeV]")
    ax.set_ylabel("general-subnet weight w_general")
    ax.set_ylim(0.0, 1.0)
    ax.legend()
    return ax
