"""The book's figure style: the one palette, sizes, and the helpers every figure shares.

Every colour a figure uses is named here, once. One sequential colormap (viridis,
monotonic in lightness, so it reads in greyscale) for every heatmap; a few named
colours for lines and bars.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..analysis.phases import PHASES

CMAP = "viridis"  # perceptually uniform, monotonic in lightness: legible in greyscale
PAGE_WIDTH = 9.0  # inches; figures are drawn for the book's content width
DPI = 110

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
                        va="top", ha="right", fontsize=8, color=color)


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
