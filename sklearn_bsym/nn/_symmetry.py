"""The learned symmetry factor against pT (the paper's Fig. 5), as a table and as a plot.

For the paper's two-branch hybrid the factor is one number per event, the general subnet's
weight w_general (the invariant subnet has 1 - w_general). A chain hybrid
(``HybridClassifier(symmetry=("lorentz", "longitudinal"))``) has one weight per branch; the
table then has a mean and a spread per branch, and the plot a line per branch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import events, kinematics

__all__ = ["symmetry_factor_table", "plot_symmetry_factor"]

_VARIABLES = ("first", "leading")

#: Axis label of each pT variable (the study's tables use "first").
PT_LABELS = {
    "first": "pT of the first muon of the layout (the mu+; the weight network's input) [GeV]",
    "leading": "pT of the leading (harder) muon [GeV]",
}


def _pt_of(X, variable: str) -> np.ndarray:
    particles = events.to_particles(events.validate_events("symmetry_factor_table", X))
    if variable == "first":
        return kinematics.pt(particles[:, 0])
    if variable == "leading":
        return kinematics.pt(particles).max(axis=1)
    raise ValueError(f"variable must be one of {_VARIABLES}, got {variable!r}.")


def symmetry_factor_table(estimator, X, *, bins=10, variable: str = "first") -> pd.DataFrame:
    """Mean and spread of the general-subnet weight w_general in bins of pT (and of every
    branch's weight, for a chain hybrid).

    Parameters
    ----------
    estimator : fitted HybridClassifier (or a Pipeline ending in one; earlier steps are applied)
    X : array-like of shape (n_events, 4 * n_particles)
        Events; pT is taken from them as given (before any pipeline steps).
    bins : int or array-like, default 10
        Number of equal-population (quantile) bins, so that every bin holds data, or explicit
        bin edges in GeV.
    variable : {"first", "leading"}, default "first"
        pT of the first particle of the layout (for dimuon events the mu+; the hybrid's weight
        network sees this one by default, as in the paper), or of the leading (highest-pT) one.

    Returns
    -------
    DataFrame with columns ``pt_low, pt_high, pt_center, w_general_mean, w_general_std, count``,
    one row per non-empty bin; for a hybrid of more than two branches, ``w_<symmetry>_mean``
    and ``w_<symmetry>_std`` of each symmetry's branch too (before ``count``).
    ``attrs["variable"]`` names the pT variable, ``attrs["branches"]`` the branches.
    """
    pt = _pt_of(X, variable)
    model, Xm = _final_step(estimator, X)
    weights = model.symmetry_factor(Xm)
    branches = tuple(getattr(model, "branches_", ("general", "invariant")))
    # The paper's hybrid: w_general alone says it all (the invariant weight is 1 - w_general).
    shown = branches if len(branches) > 2 else branches[:1]
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
            row = {"pt_low": edges[b], "pt_high": edges[b + 1],
                   "pt_center": 0.5 * (edges[b] + edges[b + 1])}
            for k, name in enumerate(shown):
                row[f"w_{name}_mean"] = float(weights[sel, k].mean())
                row[f"w_{name}_std"] = float(weights[sel, k].std())
            rows.append({**row, "count": int(sel.sum())})
    columns = ["pt_low", "pt_high", "pt_center",
               *(f"w_{name}_{stat}" for name in shown for stat in ("mean", "std")), "count"]
    table = pd.DataFrame(rows, columns=columns)
    table.attrs["variable"] = variable
    table.attrs["branches"] = branches
    return table


def branch_columns(table: pd.DataFrame) -> list[str]:
    """The branches whose mean weight ``table`` holds (``w_<branch>_mean`` columns), in
    order: ``["general"]`` for the paper's hybrid, every branch for a chain."""
    return [c[2:-5] for c in table.columns if c.startswith("w_") and c.endswith("_mean")]


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


def plot_symmetry_factor(table_or_estimator, X=None, ax=None, *, variable=None, counts=True,
                         **table_kwargs):
    """Plot mean w_general per pT bin as steps, with a band of one standard deviation (for a
    chain hybrid, each branch's mean weight, each with its band).

    Each bin is drawn flat over its own pT range (no line is drawn across a range without
    events), on a logarithmic pT axis when all edges are positive, with its number of events
    written at the bottom. The dotted line at 0.5 marks equal weights of the two subnets (1 / K
    of K branches for a chain).

    Parameters
    ----------
    table_or_estimator : DataFrame from :func:`symmetry_factor_table`, or a fitted hybrid
    X : array-like, required with an estimator
    ax : matplotlib Axes, optional
    variable : {"first", "leading"}, optional
        The pT variable, for the axis label (default: the table's, else "first").
    counts : bool, default True
        Write each bin's number of events.
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
        if variable is not None:
            table_kwargs.setdefault("variable", variable)
        table = symmetry_factor_table(table_or_estimator, X, **table_kwargs)
    variable = variable or table.attrs.get("variable", "first")
    if variable not in PT_LABELS:
        raise ValueError(f"variable must be one of {_VARIABLES}, got {variable!r}.")
    if ax is None:
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:  # pragma: no cover
            raise ImportError("plot_symmetry_factor needs matplotlib: pip install "
                              "'sklearn-bsym[plots]'.") from exc
        _, ax = plt.subplots()
    low, high = table["pt_low"].to_numpy(float), table["pt_high"].to_numpy(float)
    branches = branch_columns(table)
    for i, branch in enumerate(branches):
        mean = table[f"w_{branch}_mean"].to_numpy(float)
        std = table[f"w_{branch}_std"].to_numpy(float)
        band = "± 1 std over the bin's events" if i == 0 else None
        color, labels = None, (f"w_{branch} (mean per bin)", band)
        for run in _contiguous_runs(low, high):
            edges = np.append(low[run], high[run][-1])
            step = ax.stairs(mean[run], edges, baseline=None, lw=1.8, color=color,
                             label=labels[0])
            color = step.get_edgecolor()
            ax.stairs(mean[run] + std[run], edges, baseline=mean[run] - std[run], fill=True,
                      alpha=0.25, color=color, lw=0, label=labels[1])
            labels = (None, None)
    if len(branches) > 1:
        k = len(branches)
        ax.axhline(1 / k, color="gray", ls=":", lw=1,
                   label=f"1/{k}: all {k} branches weighted equally")
    else:
        ax.axhline(0.5, color="gray", ls=":", lw=1, label="0.5: both subnets weighted equally")
    if len(low) and low.min() > 0:
        ax.set_xscale("log")
    if counts and "count" in table:
        _write_counts(ax, low, high, table["count"].to_numpy())
    ax.set_xlabel(PT_LABELS[variable])
    ax.set_ylabel("general-subnet weight w_general" if len(branches) == 1
                  else "weight of each branch")
    ax.set_ylim(0.0, 1.0)
    ax.legend(fontsize="small", loc="upper left")
    return ax


def _write_counts(ax, low: np.ndarray, high: np.ndarray, counts: np.ndarray) -> None:
    """Each bin's number of events: one legend entry when every bin holds the same number (the
    equal-population bins of :func:`symmetry_factor_table`), else a label per bin along the
    bottom, on a light ground over whatever is drawn there, with a neighbour too close for two
    labels side by side moved up a row."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.size and (counts == counts[0]).all():
        ax.plot([], [], " ", label=f"{counts[0]:,} events in each bin")
        return
    from matplotlib.font_manager import FontProperties
    from matplotlib.transforms import blended_transform_factory

    centers = np.sqrt(low * high) if ax.get_xscale() == "log" else 0.5 * (low + high)
    # Where each label lands, in pixels of the laid-out figure; the labels' size likewise.
    ax.figure.draw_without_rendering()
    across = ax.transData.transform(np.column_stack([centers, np.ones_like(centers)]))[:, 0]
    size = FontProperties(size="x-small").get_size_in_points() * ax.figure.dpi / 72
    height = ax.get_window_extent().height
    where = blended_transform_factory(ax.transData, ax.transAxes)
    texts = [f"{n:,}" for n in counts]
    row_height = (0.65 * max(map(len, texts)) + 0.5) * size / height  # the longest, upright
    row_ends: list[float] = []  # the position of the last label of each row
    for x, at, text in zip(centers, across, texts, strict=True):
        row = next((i for i, end in enumerate(row_ends) if at - end >= 1.5 * size),
                   len(row_ends))
        row_ends[row:row + 1] = [at]
        ax.text(x, 0.02 + row * row_height, text,
                transform=where, rotation=90, ha="center", va="bottom", fontsize="x-small",
                color="dimgray", zorder=5,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.0})


def _contiguous_runs(low: np.ndarray, high: np.ndarray) -> list[np.ndarray]:
    """Index runs of bins that touch (a bin without events is left out of the table)."""
    breaks = np.flatnonzero(~np.isclose(low[1:], high[:-1])) + 1
    return [run for run in np.split(np.arange(low.size), breaks) if run.size]
