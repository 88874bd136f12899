"""The study's figures: reference lines inside the axes, the symmetry factor as steps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402

from sklearn_bsym.nn import plot_symmetry_factor  # noqa: E402
from sklearn_bsym.studies import (  # noqa: E402
    plot_epoch_curve,
    plot_fraction_curve,
    plot_symmetry,
)

CURVE = pd.DataFrame({
    "model": ["invariant"] * 3 + ["hybrid"] * 3,
    "fraction": [0.1, 0.5, 1.0] * 2,
    "mean": [0.760, 0.762, 0.763, 0.770, 0.790, 0.805],
    "std": [0.002] * 6,
})


def _line(ax, label_start):
    lines = [line for line in ax.lines if line.get_label().startswith(label_start)]
    assert len(lines) == 1, [line.get_label() for line in ax.lines]
    return lines[0]


@pytest.mark.parametrize("optimal", [0.816, 0.70])
def test_the_bayes_line_lies_inside_the_fraction_curve(optimal):
    # Above every curve (the usual case) and below them: never on or beyond the frame.
    ax = plot_fraction_curve(CURVE, optimal=optimal)
    value = _line(ax, "Bayes optimal").get_ydata()[0]
    low, high = ax.get_ylim()
    margin = 0.05 * (high - low)
    assert low + margin < value < high - margin


def test_the_reference_lines_lie_inside_the_epoch_curve():
    epochs = {"invariant": {"mean": [0.75, 0.76, 0.76], "std": [0.01] * 3}}
    ax = plot_epoch_curve(epochs, hgb=0.80, optimal=0.82)
    low, high = ax.get_ylim()
    for label in ("Bayes optimal", "HGB"):
        assert low < _line(ax, label).get_ydata()[0] < high - 0.05 * (high - low)


def _table(edges, w, counts, variable=None):
    edges = np.asarray(edges, dtype=float)
    table = pd.DataFrame({
        "pt_low": edges[:-1], "pt_high": edges[1:], "pt_center": 0.5 * (edges[:-1] + edges[1:]),
        "w_general_mean": w, "w_general_std": [0.05] * len(w), "count": counts,
    })
    if variable:
        table.attrs["variable"] = variable
    return table


# Equal-count bins of a falling spectrum: narrow at low pT, one wide bin up to the largest pT.
EDGES = [8.0, 20.0, 28.0, 35.0, 45.0, 60.0, 400.0]
TABLE = _table(EDGES, [0.2, 0.25, 0.3, 0.3, 0.4, 0.75], [400] * 6)


def test_symmetry_factor_is_drawn_as_steps_over_each_bin_with_counts():
    ax = plot_symmetry_factor(TABLE, ax=Figure().add_subplot())
    steps = [p for p in ax.patches if isinstance(p, StepPatch)]
    mean = [p for p in steps if not p.get_fill()]
    assert len(mean) == 1
    assert np.allclose(mean[0].get_data().edges, EDGES)  # each bin flat over its own range
    assert np.allclose(mean[0].get_data().values, TABLE["w_general_mean"])
    assert ax.get_xscale() == "log"
    # equal-population bins: the count once, in the legend, not six times over the bins
    assert not ax.texts
    assert "400 events in each bin" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_bin_counts_stand_clear_of_each_other_and_of_the_hatching():
    """Narrow bins of unequal counts (the 35-55 GeV bins of a study): each count is written,
    none over another, above the seed range's hatching and on a light ground."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    edges = [8.0, 24.0, 30.0, 35.0, 38.0, 41.0, 44.0, 47.0, 50.0, 55.0, 600.0]
    counts = [410, 395, 402, 388, 400, 1210, 399, 401, 405, 390]
    w = np.array([0.05, 0.06, 0.07, 0.09, 0.12, 0.15, 0.17, 0.2, 0.22, 0.63])
    tables = [_table(edges, w + shift, counts).to_dict("list") for shift in (-0.05, 0.0, 0.05)]
    ax = plot_symmetry(tables)
    renderer = FigureCanvasAgg(ax.figure).get_renderer()
    ax.figure.draw(renderer)
    assert [t.get_text() for t in ax.texts] == [f"{n:,}" for n in counts]
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]
    hatching = max(p.get_zorder() for p in ax.patches)
    assert all(t.get_zorder() > hatching and t.get_bbox_patch() is not None for t in ax.texts)
    reference = _line(ax, "0.5")
    assert reference.get_ydata()[0] == 0.5 and "equally" in reference.get_label()
    assert "mu+" in ax.get_xlabel()


def test_symmetry_factor_names_its_pt_variable_and_leaves_empty_ranges_empty():
    # Explicit edges with an empty middle bin: the table has no row there, and no step (or line)
    # crosses that range.
    table = _table([10.0, 20.0, 30.0], [0.3, 0.6], [50, 20], variable="leading")
    table = pd.concat([table, _table([40.0, 50.0], [0.8], [5])], ignore_index=True)
    table.attrs["variable"] = "leading"
    ax = plot_symmetry_factor(table, ax=Figure().add_subplot(), counts=False)
    mean = [p for p in ax.patches if isinstance(p, StepPatch) and not p.get_fill()]
    assert [list(p.get_data().edges) for p in mean] == [[10.0, 20.0, 30.0], [40.0, 50.0]]
    assert "leading" in ax.get_xlabel() and not ax.texts
    with pytest.raises(ValueError, match="variable must be one of"):
        plot_symmetry_factor(TABLE, ax=Figure().add_subplot(), variable="second")


def test_plot_symmetry_draws_the_seed_mean_and_each_seed():
    tables = [
        TABLE.assign(w_general_mean=TABLE["w_general_mean"] + shift).to_dict("list")
        for shift in (-0.05, 0.0, 0.05)
    ]
    ax = plot_symmetry(tables)
    mean = [p for p in ax.patches if isinstance(p, StepPatch) and not p.get_fill()]
    assert np.allclose(mean[0].get_data().values, TABLE["w_general_mean"])
    seeds = [c for c in ax.collections if c.get_label() == "each seed"]
    assert len(seeds) == 1 and len(ax.collections) == 3  # one set of bin segments per seed
    assert "3 seed(s)" in ax.get_title()


def test_the_epoch_curve_says_which_split_each_line_is():
    """Validation curves against test-split lines: every label names its split, the figure
    says why a curve may pass the optimum, and the legend says what the bands are."""
    epochs = {"hybrid": {"mean": [0.79, 0.803], "std": [0.01] * 2}}
    ax = plot_epoch_curve(epochs, hgb=0.78, optimal=0.796)
    assert _line(ax, "hybrid").get_label() == "hybrid, validation split"
    assert "test split" in _line(ax, "Bayes optimal").get_label()
    assert "test split" in _line(ax, "HGB").get_label()
    assert "not a beaten optimum" in " ".join(t.get_text() for t in ax.texts)
    assert ax.get_legend().get_title().get_text() == "bands: ± 1 std over seeds"


def test_every_band_is_named_and_the_scan_speaks_of_a_lead_not_a_gap():
    from sklearn_bsym.studies import plot_resolution_scan

    assert plot_fraction_curve(CURVE).get_legend().get_title().get_text() == (
        "bands: ± 1 std over seeds")
    scan = CURVE.rename(columns={"fraction": "resolution"})
    top, bottom = plot_resolution_scan(scan, optimal={0.1: 0.82})
    assert top.get_legend().get_title().get_text() == "bands: ± 1 std over seeds"
    assert "gap" not in bottom.get_ylabel().lower() and "lead" in bottom.get_ylabel()
    assert "stds over seeds" in bottom.get_legend().get_title().get_text()


def test_plot_symmetry_shows_how_far_the_seeds_spread():
    """One wide top bin where the seeds disagree (0.26 to 0.65): the range is drawn."""
    tables = [TABLE.assign(w_general_mean=[0.2, 0.25, 0.3, 0.3, 0.4, top]).to_dict("list")
              for top in (0.26, 0.65, 0.5)]
    ax = plot_symmetry(tables)
    ranges = [c for c in ax.containers if c.get_label() == "range over seeds (hatched)"]
    (bars,) = ranges
    assert np.allclose([b.get_height() for b in bars], [0, 0, 0, 0, 0, 0.39])
    assert np.allclose(bars[-1].get_y(), 0.26) and np.allclose(bars[-1].get_width(), 340.0)
