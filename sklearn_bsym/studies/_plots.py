"""The study's figures (PNG), drawn on ``matplotlib.figure.Figure`` so no GUI backend is needed.

Each ``plot_*`` function draws on a given Axes (or a new figure's) and returns the Axes; the
study stores each figure's :func:`figure_png` bytes in its result store.
"""

from __future__ import annotations

import numpy as np

from ._models import AZIMUTHAL_CEILING, CEILING, MODEL_TABLE, with_role

__all__ = [
    "MODEL_STYLE",
    "plot_fraction_curve",
    "plot_epoch_curve",
    "plot_symmetry",
    "plot_resolution_scan",
    "plot_strength_scan",
    "figure_png",
]

#: Label and colour of each model on every figure (from the study's one model table).
MODEL_STYLE = {name: (spec.label, spec.colour) for name, spec in MODEL_TABLE.items()}


def _marker(model) -> str:
    spec = MODEL_TABLE.get(model)
    return "o" if spec is None else spec.marker


def _axes(ax, nrows: int = 1):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.4 if nrows == 1 else 6.4), layout="constrained")
    if nrows == 1:
        return fig.add_subplot()
    return fig.subplots(nrows, 1, sharex=True, height_ratios=[2, 1])


def _band(ax, x, mean, std, model, *, marker="o", split=""):
    label, color = MODEL_STYLE.get(model, (model, None))
    label = f"{label}{split}"
    x, mean, std = (np.asarray(a, dtype=float) for a in (x, mean, std))
    ax.plot(x, mean, marker=marker, ms=4, color=color, label=label)
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, lw=0)


#: What the shaded bands of the AUC figures are (said in each figure's legend).
SEED_BANDS = "bands: ± 1 std over seeds"


def _legend(ax, title=SEED_BANDS, **kwargs):
    ax.legend(fontsize="small", title=title, title_fontsize="small", **kwargs)


def _hline(ax, value, model, *, style="--", split="test split"):
    """A horizontal reference line (its AUC on ``split``), with the y range widened so that it is
    never drawn on (or beyond) the frame: ``axhline`` alone does not take part in autoscaling."""
    if value is None or not np.isfinite(value):
        return
    label, color = MODEL_STYLE[model]
    ax.axhline(value, color=color, ls=style, lw=1.2, label=f"{label}, {split} ({value:.3f})")
    lo, hi = ax.get_ylim()
    pad = 0.08 * (max(hi, value) - min(lo, value))
    ax.set_ylim(min(lo, value - pad), max(hi, value + pad))


def plot_fraction_curve(curve, *, optimal=None, n_pool=None, resolution=None, ax=None,
                        azimuthal=None, strength=None):
    """Test AUC against training fraction, mean +- std over seeds (the paper's Fig. 6).

    Parameters
    ----------
    curve : DataFrame
        Columns ``model, fraction, mean, std``; HGB is drawn as a dashed reference curve.
    optimal : float, optional
        Bayes-optimal AUC, drawn as a horizontal line.
    n_pool : int, optional
        Size of the training pool, to label the axis in events too.
    resolution : float, optional
        Smearing, for the title.
    azimuthal : float, optional
        The best AUC of a classifier invariant under rotations about the beam (where the
        detector depends on the azimuth), drawn as a dotted line.
    strength : float, optional
        The detector's azimuthal strength, for the title.
    """
    ax = _axes(ax)
    for model, rows in curve.groupby("model", sort=False):
        rows = rows.sort_values("fraction")
        _band(
            ax,
            rows["fraction"],
            rows["mean"],
            rows["std"],
            model,
            marker=_marker(model),
        )
    _hline(ax, optimal, CEILING)
    _hline(ax, azimuthal, AZIMUTHAL_CEILING, style=":")
    xlabel = "training fraction"
    if n_pool:
        xlabel += f" of {n_pool:,} events"
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test AUC (pT-weighted)")
    title = "AUC against training size"
    if resolution is not None:
        title += f", {100 * resolution:g} % smearing"
        if strength:
            title += f" x (1 + {strength:g} cos phi)"
    ax.set_title(title)
    ax.grid(alpha=0.3)
    _legend(ax)
    return ax


def plot_epoch_curve(epochs, *, hgb=None, optimal=None, fraction=None, ax=None):
    """Validation AUC against epoch, mean +- std over seeds (the paper's Fig. 4).

    The curves are on each fit's validation split, the reference lines on the test split:
    other events, so a curve may pass a line by the noise of the small validation split; every
    label says its split, and the figure says so in words.

    Parameters
    ----------
    epochs : dict
        Per network, ``{"mean": [...], "std": [...]}`` by epoch (1-based on the plot).
    hgb, optimal : float, optional
        Test AUC of the HGB reference and the Bayes-optimal AUC, as horizontal lines.
    fraction : float, optional
        Training fraction of these fits, for the title.
    """
    ax = _axes(ax)
    for model, curve in epochs.items():
        mean = np.asarray([np.nan if v is None else v for v in curve["mean"]], dtype=float)
        if not mean.size:
            continue
        std = np.asarray([np.nan if v is None else v for v in curve["std"]], dtype=float)
        _band(ax, np.arange(1, mean.size + 1), mean, std, model, marker=".",
              split=", validation split")
    _hline(ax, hgb, with_role("reference"), style=":")
    _hline(ax, optimal, CEILING)
    ax.set_xlabel("epoch")
    ax.set_ylabel("AUC (pT-weighted)")
    title = "Validation AUC against epoch"
    if fraction is not None:
        title += f", training fraction {fraction:g}"
    ax.set_title(title)
    ax.grid(alpha=0.3)
    _legend(ax)
    if hgb is not None or optimal is not None:
        ax.text(0.01, 0.01, "Curves: validation split; lines: test split (other events).\n"
                "A curve above a line is noise of the small validation split, not a beaten "
                "optimum.", transform=ax.transAxes, fontsize="x-small", va="bottom",
                color="dimgray")
    return ax


def plot_symmetry(tables, *, variable="first", ax=None):
    """The hybrid's learned general-subnet weight against pT (the paper's Fig. 5).

    The mean over seeds is drawn by :func:`sklearn_bsym.nn.plot_symmetry_factor` as steps over
    each bin's pT range with its event count (its band is the spread of w_general over the
    events of a bin); each seed's own bins are thin flat segments.

    Parameters
    ----------
    tables : list of dict or DataFrame
        One :func:`sklearn_bsym.nn.symmetry_factor_table` per seed, on the same events (hence
        the same pT bins).
    variable : {"first", "leading"}, default="first"
        The pT variable of the tables (the study's are "first": the mu+, the weight network's
        input).
    """
    import pandas as pd

    from ..nn import plot_symmetry_factor

    ax = _axes(ax)
    frames = [pd.DataFrame(t).astype(float) for t in tables]
    mean = frames[0].copy()
    same_bins = all(
        len(f) == len(mean) and np.allclose(f["pt_center"], mean["pt_center"]) for f in frames
    )
    if same_bins:
        for column in ("w_general_mean", "w_general_std"):
            mean[column] = np.mean([f[column] for f in frames], axis=0)
    plot_symmetry_factor(mean, ax=ax, variable=variable)
    color = ax.patches[0].get_edgecolor()
    for i, frame in enumerate(frames if len(frames) > 1 else []):
        ax.hlines(frame["w_general_mean"], frame["pt_low"], frame["pt_high"], color=color,
                  alpha=0.5, lw=0.8, label="each seed" if i == 0 else None)
    if same_bins and len(frames) > 1:
        # How far the seeds disagree, bin by bin: a trend resting on one wide bin where the
        # seeds spread widely shows as such.
        seeds = np.array([f["w_general_mean"] for f in frames])
        low, high = seeds.min(axis=0), seeds.max(axis=0)
        ax.bar(mean["pt_low"], high - low, width=mean["pt_high"] - mean["pt_low"], bottom=low,
               align="edge", fill=False, hatch="///", edgecolor=color, lw=0,
               label="range over seeds (hatched)")
    if len(frames) > 1:
        ax.legend(fontsize="small", loc="upper left")
    what = "mean of" if same_bins else "first of"
    ax.set_title(f"Learned symmetry factor against pT ({what} {len(frames)} seed(s))",
                 fontsize="medium")
    ax.grid(alpha=0.3)
    return ax


def plot_resolution_scan(scan, *, optimal=None, axes=None):
    """Test AUC against smearing resolution (top) and the hybrid's lead over each net, hybrid
    minus the other AUC (bottom).

    Parameters
    ----------
    scan : DataFrame
        Columns ``model, resolution, mean, std``.
    optimal : dict, optional
        Resolution -> Bayes-optimal AUC, drawn as a black line.
    axes : pair of Axes, optional
    """
    top, bottom = _axes(axes, nrows=2) if axes is None else axes
    for model, rows in scan.groupby("model", sort=False):
        rows = rows.sort_values("resolution")
        _band(
            top,
            100 * rows["resolution"],
            rows["mean"],
            rows["std"],
            model,
            marker=_marker(model),
        )
    if optimal:
        r = np.asarray(sorted(optimal), dtype=float)
        top.plot(
            100 * r,
            [optimal[v] for v in sorted(optimal)],
            "k--",
            lw=1.2,
            label=MODEL_STYLE[CEILING][0],
        )
    top.set_ylabel("test AUC (pT-weighted)")
    top.set_title("Resolution scan (full training pool)")
    top.grid(alpha=0.3)
    _legend(top)
    lead = with_role("hybrid")
    hybrid = scan[scan["model"] == lead].set_index("resolution")
    for model in (with_role("general"), with_role("invariant")):
        other = scan[scan["model"] == model].set_index("resolution")
        common = hybrid.index.intersection(other.index).sort_values()
        if hybrid.empty or not len(common):
            continue
        gap = hybrid.loc[common, "mean"] - other.loc[common, "mean"]
        err = np.hypot(hybrid.loc[common, "std"], other.loc[common, "std"])
        label, color = MODEL_STYLE[model]
        bottom.errorbar(
            100 * common,
            gap,
            yerr=err,
            marker="o",
            ms=4,
            capsize=3,
            color=color,
            label=f"{MODEL_STYLE[lead][0]} - {label}",
        )
    if hybrid.empty:
        bottom.text(
            0.5, 0.5, "no hybrid in this run", ha="center", va="center", transform=bottom.transAxes
        )
    bottom.axhline(0, color="gray", lw=1)
    bottom.set_xlabel("pT resolution r [%]")
    # "Lead", not "gap": the summary's gap is the Bayes-optimal AUC minus a model's.
    bottom.set_ylabel("hybrid's AUC lead")
    bottom.grid(alpha=0.3)
    if bottom.get_legend_handles_labels()[0]:
        _legend(bottom, title="bars: the two stds over seeds, combined")
    return top, bottom


def plot_strength_scan(scan, *, optimal=None, azimuthal=None, resolution=None, ax=None):
    """Test AUC against the strength of the detector's azimuthal dependence, sigma/pT =
    resolution (1 + s cos phi), with the Bayes-optimal limit and the limit of classifiers
    invariant under rotations about the beam.

    Parameters
    ----------
    scan : DataFrame
        Columns ``model, strength, mean, std``.
    optimal, azimuthal : dict, optional
        Strength -> AUC of the two limits, drawn as black and gray lines.
    resolution : float, optional
        The resolution r, for the axis label.
    """
    ax = _axes(ax)
    for model, rows in scan.groupby("model", sort=False):
        rows = rows.sort_values("strength")
        _band(ax, rows["strength"], rows["mean"], rows["std"], model, marker=_marker(model))
    for values, model, style in ((optimal, CEILING, "--"), (azimuthal, AZIMUTHAL_CEILING, ":")):
        if values:
            s = sorted(values)
            label, color = MODEL_STYLE[model]
            ax.plot(s, [values[v] for v in s], ls=style, color=color, lw=1.2, label=label)
    r = "r" if resolution is None else f"{resolution:g}"
    ax.set_xlabel(f"strength s of the azimuthal breaking: sigma/pT = {r} (1 + s cos phi)")
    ax.set_ylabel("test AUC (pT-weighted)")
    ax.set_title("Scan of the azimuthal breaking (full training pool)")
    ax.grid(alpha=0.3)
    _legend(ax)
    return ax


def figure_png(ax) -> bytes:
    """The figure of ``ax`` (an Axes or a sequence of them) as PNG bytes."""
    import io

    first = ax[0] if isinstance(ax, (tuple, list, np.ndarray)) else ax
    buffer = io.BytesIO()
    first.figure.savefig(buffer, format="png", dpi=120)
    return buffer.getvalue()

