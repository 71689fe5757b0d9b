"""The book's figure style: the one palette, sizes, and the helpers every figure shares.

Every colour a figure uses is named here, once. One sequential colormap (viridis,
monotonic in lightness, so it reads in greyscale) for every heatmap; a few named
colours for lines and bars.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator

from ..analysis.phases import PHASES

CMAP = "viridis"  # perceptually uniform, monotonic in lightness: legible in greyscale
PAGE_WIDTH = 9.0  # inches; figures are drawn for the book's content width
DPI = 110
# The book shows each figure's PNG (saved at STYLE["savefig.dpi"]) at its own size, scaled
# down to fit the content column, about PAGE_PX CSS pixels wide at a 1280 px window. A
# page-width figure (9 in) is then drawn at 800 / (9 * 72) = 1.23 px per point, so SMALL
# (9 pt, 11 px) is the smallest text a figure uses: tick labels of crowded axes, legends,
# annotations. Text stays >= MIN_TEXT_PX on the page (tests/integration/test_figures_committed.py).
PAGE_PX = 800
MIN_TEXT_PX = 9
SMALL = 9

# ------------------------------------------------------------------ the palette
TRAIN_COLOR = "#1f4e79"  # dark blue: training pairs and their curves
TEST_COLOR = "#b2182b"  # dark red: test pairs and their curves
ACCENT = "#7f7f7f"  # grey: reference lines, annotations
MODEL_COLOR = "#1f1f1f"  # near black: the whole model
KEY_COLOR = "#c55a11"  # orange: key frequencies stand out against the plain bars
PLAIN_COLOR = "#9db4cc"  # pale blue: every other frequency
RESTRICTED_COLOR = "#2e7d32"  # green: the restricted loss
EXCLUDED_COLOR = "#7b3294"  # purple: the excluded loss
GINI_E_COLOR = "#2a788e"  # viridis blue-green: Gini of W_E
GINI_L_COLOR = MODEL_COLOR  # Gini of W_L
# The training explorer's (a, b) table: dark where the model is right, pale where it is
# wrong; blue for training pairs, red for test pairs (TRAIN_COLOR, TEST_COLOR)
TABLE_COLORS = {"test, wrong": "#f4c4c4", "test, right": TEST_COLOR,
                "train, wrong": "#c3d5ea", "train, right": TRAIN_COLOR}
PHASE_SHADES = ("#e6e6e6", "#ffffff", "#e6e6e6")  # memorisation and clean-up shaded, formation plain
SEED_COLORS = plt.get_cmap("tab10").colors  # one per run of the seeds sweep
REGIME_COLORS = {  # the phase diagram's regions
    "no learning": "#3b3b3b",
    "memorisation": KEY_COLOR,
    "grokking": "#2e75b6",
    "fast generalisation": "#a9d18e",
}
# Three fills from the colormap for the model diagrams: dark for blocks, mid for weight
# matrices, light for activations and operations; each with a text colour for contrast.
DIAGRAM_FILLS = {
    "block": (colormaps[CMAP](0.08), "white"),
    "matrix": (colormaps[CMAP](0.38), "white"),
    "activation": (colormaps[CMAP](0.88), "black"),
    "collapsed": (colormaps[CMAP](0.62), "black"),
}
DIAGRAM_LINE = "#404040"

STYLE = {
    "figure.dpi": DPI,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "image.cmap": CMAP,
    "legend.frameon": False,
}


class BookFigure(Figure):
    """A Figure that shows itself as a PNG in Jupyter (and in glue) on any backend.

    The book's figures are made without pyplot (no global figure manager), so they
    do not rely on the inline backend's display hook to appear as a cell's output.
    """

    def _repr_png_(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=STYLE["savefig.dpi"], bbox_inches="tight")
        return buffer.getvalue()


def cluster_colors(freqs: list[int]) -> list:
    """One viridis colour per neuron cluster (key frequency), dark to light (the palest
    yellow left out)."""
    cmap = colormaps[CMAP]
    return [cmap(0.8 * i / max(len(freqs) - 1, 1)) for i in range(len(freqs))]


def new_figure(nrows: int = 1, ncols: int = 1, height: float = 3.6, width: float = PAGE_WIDTH, **kwargs):
    """A Figure and its axes in the book's style (constrained layout, page width)."""
    with plt.rc_context(STYLE):
        fig = BookFigure(figsize=(width, height), layout="constrained", dpi=DPI)
        axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes


def heatmap(ax, values, *, xlabel: str, ylabel: str, title: str = "", colorbar_label: str = "",
            origin: str = "lower", **kwargs):
    """An image of a 2D tensor with labelled axes and a colour bar; returns the image."""
    with plt.rc_context(STYLE):
        image = ax.imshow(values.detach().cpu().float().numpy() if hasattr(values, "detach") else values,
                          cmap=CMAP, origin=origin, aspect="auto", interpolation="nearest", **kwargs)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        bar = ax.figure.colorbar(image, ax=ax, shrink=0.9)
        if colorbar_label:
            bar.set_label(colorbar_label)
    return image


def mark_epochs(ax, epochs, labels=None, color: str = ACCENT) -> None:
    """Dashed vertical lines at phase boundaries (epochs), optionally labelled at the top."""
    for i, epoch in enumerate(epochs):
        ax.axvline(epoch, color=color, linestyle="--", linewidth=1)
        if labels:
            ax.annotate(labels[i], (epoch, 1.0), xycoords=("data", "axes fraction"), rotation=90,
                        va="top", ha="right", fontsize=SMALL, color=color)


def shade_phases(ax, boundaries: dict[str, int]) -> None:
    """Grey bands behind memorisation and clean-up, and dashed lines at the boundaries."""
    edges = [0] + [float(e) for e in boundaries.values()]
    for colour, start, stop in zip(PHASE_SHADES, edges[:-1], edges[1:], strict=False):
        if colour != "#ffffff":
            ax.axvspan(start, stop, color=colour, zorder=0, linewidth=0)
    mark_epochs(ax, list(boundaries.values()))


def label_phases(ax, boundaries: dict[str, int] | None, lines: bool = True) -> None:
    """The phase names across the top of ``ax`` (and, with ``lines``, dashed lines at the boundaries).

    ``boundaries`` maps names to epochs in increasing order (e.g. the output of
    :func:`grokking.analysis.phases.progress_phase_boundaries`); with three boundaries the
    regions are named after :data:`grokking.analysis.phases.PHASES`, plus "grokked" after
    the last line. Call it after setting the x scale and limits: each name is
    centred on its region as drawn (linear or log axis), except "grokked", which
    ends at the right edge so that it keeps clear of a short clean-up phase's
    name. ``None`` draws nothing.
    """
    if not boundaries:
        return
    epochs = [float(e) for e in boundaries.values()]
    if lines:
        mark_epochs(ax, epochs)
    if len(epochs) != len(PHASES):
        return
    left, right = ax.get_xlim()
    edges = [left, *epochs, right]
    to_axes = ax.transData + ax.transAxes.inverted()
    names = (*PHASES, "grokked")
    for name, start, stop in zip(names, edges[:-1], edges[1:], strict=False):
        x0, x1 = (to_axes.transform((x, 1.0))[0] for x in (start, stop))
        last = name == names[-1]
        ax.annotate(name, (x1 if last else (x0 + x1) / 2, 1.0), xycoords="axes fraction",
                    xytext=(-2 if last else 0, 3), textcoords="offset points",
                    ha="right" if last else "center", va="bottom", fontsize=9, color=ACCENT)


def number_axes(ax, n_ticks: int = 3) -> None:
    """Integer ticks (at most ``n_ticks`` + 1) on both axes of a map over the numbers 0 .. p-1."""
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(n_ticks, integer=True))


def panel_grid(n: int, ncols: int = 3, panel_height: float = 2.8, extra_height: float = 0.7,
               width: float = PAGE_WIDTH, **kwargs):
    """``n`` panels in rows of ``ncols`` (a figure legible at page width has at most three
    across): ``(fig, panels, spares)``, the ``n`` axes in reading order and the unused cells
    of the last row, switched off (room for a shared legend or colour bar)."""
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = new_figure(nrows, ncols, height=panel_height * nrows + extra_height, width=width,
                           squeeze=False, **kwargs)
    cells = list(axes.flat)
    for ax in cells[n:]:
        ax.axis("off")
    return fig, cells[:n], cells[n:]


def shared_legend(fig, spares: list, handles: list, labels: list[str], **kwargs):
    """One legend for a grid of panels: in the first spare cell when there is one, else below the grid."""
    with plt.rc_context(STYLE):
        if spares:
            return spares[0].legend(handles, labels, loc="center", fontsize=SMALL + 1, **kwargs)
        return fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=SMALL, **kwargs)


def shared_colorbar(fig, mappable, panels: list, spares: list, label: str):
    """One colour bar for a grid of panels: across the first spare cell when there is one,
    else to the right of the panels."""
    with plt.rc_context(STYLE):
        if spares:
            cax = spares[0].inset_axes([0.1, 0.45, 0.8, 0.1])
            bar = fig.colorbar(mappable, cax=cax, orientation="horizontal")
        else:
            bar = fig.colorbar(mappable, ax=panels, shrink=0.8)
        bar.set_label(label)
    return bar


def stagger_ticks(axis, positions, labels: list[str], min_gap: float, **text_kw) -> None:
    """Labelled ticks at ``positions`` (increasing) on an x axis, so that neighbours (key
    frequencies 36 and 38, say) never print over each other: a label closer than ``min_gap``
    (data units) to the last label of the first line goes on a second line below it. The
    first line is the major ticks, the second the minor ticks (drawn as long and labelled
    further from the axis)."""
    top, low, last = [], [], None
    for x, label in zip(positions, labels, strict=True):
        if last is not None and x - last < min_gap:
            low.append((x, label))
        else:
            top.append((x, label))
            last = x
    for minor, ticks in ((False, top), (True, low)):
        axis.set_ticks([x for x, _ in ticks], [label for _, label in ticks], minor=minor, **text_kw)
    size = text_kw.get("fontsize", STYLE["font.size"])
    axis.set_tick_params(which="minor", length=3.5, pad=3.5 + 1.25 * size)


def mark_keys(axis, positions, color: str = KEY_COLOR, length: float = 5) -> None:
    """Unlabelled ticks in the key colour at ``positions`` of ``axis`` (an x or y axis):
    where the key frequencies lie on an axis whose labelled ticks are round numbers."""
    axis.set_minor_locator(FixedLocator(list(positions)))
    axis.remove_overlapping_locs = False  # a key frequency at a labelled round number is marked too
    axis.set_tick_params(which="minor", length=length, width=1.6, color=color)
