"""Shared figure style: one sequential colormap (viridis reads in greyscale), sizes, helpers."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

CMAP = "viridis"  # perceptually uniform, monotonic in lightness: legible in greyscale
PAGE_WIDTH = 9.0  # inches; figures are drawn for the book's content width
DPI = 110
TRAIN_COLOR = "#1f4e79"
TEST_COLOR = "#c55a11"
ACCENT = "#7f7f7f"

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
