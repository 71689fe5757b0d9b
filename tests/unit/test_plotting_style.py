"""The shared figure helpers (grokking.plotting.style): grids of panels that wrap at three
across, one legend or colour bar for a grid, and tick labels that keep clear of each other."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D

from grokking.plotting.style import (
    KEY_COLOR,
    PAGE_WIDTH,
    mark_keys,
    new_figure,
    panel_grid,
    shared_colorbar,
    shared_legend,
    stagger_ticks,
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.mark.parametrize(("n", "rows", "spare"), [(1, 1, 0), (3, 1, 0), (4, 2, 2), (5, 2, 1), (6, 2, 0), (7, 3, 2)])
def test_panel_grid_wraps_at_three_across(n, rows, spare):
    fig, panels, spares = panel_grid(n)
    assert len(panels) == n and len(spares) == spare
    assert fig.get_figwidth() == PAGE_WIDTH
    assert {ax.get_subplotspec().get_gridspec().ncols for ax in panels} == {min(n, 3)}
    assert {ax.get_subplotspec().get_gridspec().nrows for ax in panels} == {rows}
    assert not any(ax.axison for ax in spares)  # the empty cells draw nothing of their own


def test_shared_legend_and_colorbar_use_a_spare_cell_when_there_is_one():
    fig, panels, spares = panel_grid(5)
    points = panels[0].scatter([0, 1], [0, 1], c=[0, 1])
    legend = shared_legend(fig, spares, [Line2D([], [])], ["a line"])
    assert spares[0].get_legend() is legend
    bar = shared_colorbar(fig, points, panels, spares, "value")
    assert bar.ax in spares[0].child_axes and bar.orientation == "horizontal"

    fig, panels, spares = panel_grid(3)  # a full grid: below it and beside it
    points = panels[0].scatter([0, 1], [0, 1], c=[0, 1])
    legend = shared_legend(fig, spares, [Line2D([], [])], ["a line"])
    assert legend in fig.legends
    bar = shared_colorbar(fig, points, panels, spares, "value")
    assert bar.ax in fig.axes and bar.orientation == "vertical"


def test_stagger_ticks_moves_close_neighbours_to_a_second_line():
    _, ax = new_figure()
    ax.set_xlim(0, 57)
    stagger_ticks(ax.xaxis, [9, 12, 33, 36, 38], ["9", "12", "33", "36", "38"], min_gap=2.5, fontsize=9)
    assert list(ax.get_xticks()) == [9, 12, 33, 36]
    assert list(ax.get_xticks(minor=True)) == [38]  # 2 from 36: below it
    assert [t.get_text() for t in ax.get_xticklabels(minor=True)] == ["38"]
    # the second line is labelled further from the axis than the first, by more than a line of text
    assert ax.xaxis.get_minor_ticks()[0].get_pad() - ax.xaxis.get_major_ticks()[0].get_pad() > 9
    # a gap is measured from the last label kept on the first line: 36, 38, 40 -> 36 and 40 up, 38 down
    stagger_ticks(ax.xaxis, [36, 38, 40], ["36", "38", "40"], min_gap=2.5)
    assert list(ax.get_xticks()) == [36, 40] and list(ax.get_xticks(minor=True)) == [38]


def test_stagger_ticks_keep_apart_when_drawn():
    fig, ax = new_figure()
    ax.set_xlim(0, 57)
    keys = [33, 35, 36, 38]
    stagger_ticks(ax.xaxis, keys, [str(k) for k in keys], min_gap=2.5)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.xaxis.get_ticklabels(which="both") if t.get_text()]
    assert len(boxes) == len(keys)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_mark_keys_draws_unlabelled_ticks_in_the_key_colour():
    _, ax = new_figure()
    ax.imshow(np.zeros((10, 10)))
    ax.set_xticks([0, 2, 4, 6, 8])
    mark_keys(ax.xaxis, [2, 5])
    assert list(ax.get_xticks(minor=True)) == [2, 5]  # 2, at a major tick, is marked too
    assert all(not t.get_text() for t in ax.get_xticklabels(minor=True))
    tick = ax.xaxis.get_minor_ticks()[0]
    assert tick.tick1line.get_color() == KEY_COLOR
