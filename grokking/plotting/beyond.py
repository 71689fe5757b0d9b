"""Figures of the Beyond-the-paper experiments: variants against the committed run.

Every function takes computed series (epochs and values as sequences, one entry per
run) and returns a Figure; the committed run is drawn in :data:`~.style.MODEL_COLOR`,
the variants in :data:`VARIANT_COLORS` order.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .style import ACCENT, MODEL_COLOR, SMALL, STYLE, new_figure, panel_grid, stagger_ticks

VARIANT_COLORS = ("#b2182b", "#2166ac", "#1b7837", "#e08214", "#762a83")  # red, blue, green, orange, purple


def _color(i: int) -> str:
    return VARIANT_COLORS[i % len(VARIANT_COLORS)]


def run_colors(labels: list[str], reference: str | None) -> dict[str, str]:
    """One colour per run label: the reference run's is MODEL_COLOR, the others VARIANT_COLORS in order."""
    others = [label for label in labels if label != reference]
    colors = {label: _color(i) for i, label in enumerate(others)}
    if reference is not None:
        colors[reference] = MODEL_COLOR
    return colors


def accuracy_curves(series: dict[str, dict], reference: str | None, x_max: float, title: str,
                    threshold: float | None = None) -> Figure:
    """Test accuracy (solid) and train accuracy (dashed) over training, one colour per run.
    ``series[label]`` holds sequences ``epoch``, ``train_acc``, ``test_acc``."""
    colors = run_colors(list(series), reference)
    fig, ax = new_figure(height=3.7)
    with plt.rc_context(STYLE):
        for label, s in series.items():
            epochs = np.asarray(s["epoch"])
            keep = epochs <= x_max
            ax.plot(epochs[keep], np.asarray(s["test_acc"])[keep], color=colors[label], lw=1.6, label=label)
            ax.plot(epochs[keep], np.asarray(s["train_acc"])[keep], color=colors[label], lw=1.0, ls="--",
                    alpha=0.7)
        if threshold is not None:
            ax.axhline(threshold, color=ACCENT, lw=0.8, ls=":")
        ax.set_xlim(0, x_max)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy")
        ax.set_title(title)
        handles = [Line2D([], [], color=colors[label], lw=1.6) for label in series]
        handles += [Line2D([], [], color=ACCENT, lw=1.6), Line2D([], [], color=ACCENT, lw=1.0, ls="--")]
        ax.legend(handles, [*series, "test accuracy", "train accuracy"], loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), fontsize=SMALL)
    return fig


def measure_panels(series: dict[str, dict], panels: list[tuple[str, str, bool]], reference: str | None,
                   x_max: float, title: str) -> Figure:
    """One panel per measure over training, one line per run. ``panels`` lists
    (key, axis label, log scale); ``series[label]`` holds ``epoch`` and the keys it was
    measured by (a run without one is left out of that panel)."""
    colors = run_colors(list(series), reference)
    fig, axes, spares = panel_grid(len(panels), ncols=3, panel_height=2.6,
                                   extra_height=0.9 if not (len(panels) % 3) else 0.5)
    with plt.rc_context(STYLE):
        for ax, (key, label, log) in zip(axes, panels, strict=True):
            for run, s in series.items():
                if key not in s:  # a measure this run was not measured by
                    continue
                epochs = np.asarray(s["epoch"], dtype=float)
                values = np.asarray(s[key], dtype=float)
                keep = epochs <= x_max
                ax.plot(epochs[keep], values[keep], color=colors[run], lw=1.4)
            if log:
                ax.set_yscale("log")
            ax.set_xlim(0, x_max)
            ax.set_title(label, fontsize=10)
            ax.set_xlabel("epoch", fontsize=SMALL)
            ax.tick_params(labelsize=SMALL)
        handles = [Line2D([], [], color=colors[run], lw=1.6) for run in series]
        if spares:
            spares[0].legend(handles, list(series), loc="center", fontsize=SMALL + 1)
        else:
            fig.legend(handles, list(series), loc="outside lower center", ncols=min(len(series), 3),
                       fontsize=SMALL)
        fig.suptitle(title, fontsize=11)
    return fig


def ungrokking(curves: dict[str, dict], sizes: dict[str, int], final_acc: dict[str, float], n_pairs: int,
               boundary: tuple[float, float] | None, split_frac: float) -> Figure:
    """Left: test accuracy over the continued training on each subset. Right: the last test
    accuracy against the subset's size as a fraction of all pairs, with the phase grid's
    data boundary at weight decay 1 (``boundary``: the largest fraction that did not
    generalise and the smallest that did) as a band."""
    fig, (left, right) = new_figure(1, 2, height=3.8, gridspec_kw={"width_ratios": [1.35, 1]})
    order = sorted(curves, key=lambda run: -sizes[run])
    with plt.rc_context(STYLE):
        for i, run in enumerate(order):
            s = curves[run]
            left.plot(s["epoch"], s["test_acc"], color=_color(i), lw=1.5,
                      label=f"{sizes[run] / n_pairs:.2f} ({sizes[run]:,} pairs)")
        left.set_ylim(-0.02, 1.02)
        left.set_xlabel("epochs after the committed run's end")
        left.set_ylabel("test accuracy")
        left.set_title("Test accuracy while training on a subset")
        left.legend(title="subset: share of all pairs", fontsize=SMALL, title_fontsize=SMALL, loc="lower left")
        fracs = np.array([sizes[run] / n_pairs for run in order])
        accs = np.array([final_acc[run] for run in order])
        if boundary is not None:
            right.axvspan(boundary[0], boundary[1], color="#e6e6e6", lw=0, zorder=0)
            right.annotate("phase grid's\nboundary (p = 59)", ((boundary[0] + boundary[1]) / 2, 0.5),
                           ha="center", va="center", fontsize=SMALL, color=ACCENT, rotation=90)
        right.axvline(split_frac, color=ACCENT, ls="--", lw=1)
        right.annotate("full training\nsplit", (split_frac, 0.98), ha="right", va="top", fontsize=SMALL,
                       color=ACCENT, xytext=(-3, 0), textcoords="offset points")
        right.plot(fracs, accs, color=MODEL_COLOR, lw=1.0, zorder=2)
        right.scatter(fracs, accs, color=[_color(i) for i in range(len(order))], s=40, zorder=3)
        right.set_xlim(0, max(0.45, (boundary[1] if boundary else 0) + 0.05))
        right.set_ylim(-0.02, 1.02)
        right.set_xlabel("training pairs, share of all p² pairs")
        right.set_ylabel("test accuracy at the end")
        right.set_title("Where grokking is undone")
    return fig


def clock_or_pizza(points: dict[str, tuple[float, float]], references: dict[str, tuple[float, float]],
                   symmetric_above: float, irrelevant_above: float) -> Figure:
    """Gradient symmetricity (x) against distance irrelevance (y), one point per run (filled)
    and the reference models of Zhong et al. (hollow), with their classification lines."""
    fig, ax = new_figure(height=4.2)
    with plt.rc_context(STYLE):
        ax.axvline(symmetric_above, color=ACCENT, ls="--", lw=1)
        ax.axhline(irrelevant_above, color=ACCENT, ls="--", lw=1)
        ax.annotate("pizza side: symmetric gradients,\ndistance matters", (0.99, 0.03), xycoords="axes fraction",
                    ha="right", va="bottom", fontsize=SMALL, color=ACCENT)
        ax.annotate("clock side: asymmetric gradients,\ndistance irrelevant", (0.45, 0.99),
                    xycoords="axes fraction", ha="left", va="top", fontsize=SMALL, color=ACCENT)
        for i, (label, (gs, di)) in enumerate(points.items()):
            ax.scatter([gs], [di], s=46, color=MODEL_COLOR if i == 0 else _color(i - 1), zorder=3, label=label)
        for label, (gs, di) in references.items():
            ax.scatter([gs], [di], s=60, facecolors="none", edgecolors=ACCENT, lw=1.4, zorder=3)
            ax.annotate(label, (gs, di), xytext=(6, -4), textcoords="offset points", fontsize=SMALL, color=ACCENT,
                        ha="left", va="top")
        ax.set_xlim(0, 1.05)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("gradient symmetricity")
        ax.set_ylabel("distance irrelevance")
        ax.set_title("Clock or pizza, by Zhong et al.'s two measures")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=SMALL)
    return fig


def key_frequency_strip(keys: dict[str, list[int]], n_freqs: int) -> Figure:
    """Each run's key frequencies as marks on the frequency axis, one row per run."""
    labels = list(keys)
    fig, ax = new_figure(height=0.45 * len(labels) + 1.3)
    with plt.rc_context(STYLE):
        for row, label in enumerate(labels):
            ax.axhline(row, color="#e6e6e6", lw=0.8, zorder=0)
            ax.scatter(keys[label], [row] * len(keys[label]), s=36, color=MODEL_COLOR if row == 0 else _color(row - 1),
                       zorder=2)
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_xlim(0.5, n_freqs + 0.5)
        everything = sorted({k for ks in keys.values() for k in ks})
        stagger_ticks(ax.xaxis, everything, [str(k) for k in everything], min_gap=2.5, fontsize=SMALL)
        ax.set_xlabel("key frequency k")
        ax.set_title("Key frequencies of each run")
    return fig
