"""Figures of the progress-measures chapter: every measure over training, the embedding's
frequencies over training (static and animated), and the Fourier ablations of the logits.

Training-time plots share a linear epoch axis with the phases of
:func:`grokking.analysis.phases.progress_phase_boundaries` drawn as dashed lines and shaded bands.
"""

from __future__ import annotations

import math
import re

import matplotlib.pyplot as plt
import torch
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from ..analysis.curves import nearest_indices
from ..analysis.phases import phase_of
from .style import (
    ACCENT,
    EXCLUDED_COLOR,
    GINI_E_COLOR,
    GINI_L_COLOR,
    KEY_COLOR,
    MODEL_COLOR,
    PLAIN_COLOR,
    RESTRICTED_COLOR,
    SMALL,
    STYLE,
    TEST_COLOR,
    TRAIN_COLOR,
    BookFigure,
    cluster_colors,
    heatmap,
    label_phases,
    new_figure,
    shade_phases,
)


def _np(t: torch.Tensor):
    return t.detach().cpu().double().numpy()


def default_x_max(boundaries: dict[str, int], last_epoch: int) -> int:
    """Right end of the epoch axis: 1.5 times the end of clean-up, rounded up to 1000 epochs."""
    return min(int(last_epoch), int(math.ceil(1.5 * boundaries["cleanup_end"] / 1000) * 1000))


def plot_progress_measures(progress: dict[str, torch.Tensor], boundaries: dict[str, int],
                           x_max: int | None = None, p: int | None = None) -> Figure:
    """All progress measures over training, stacked on one epoch axis, phases marked.

    Top: train, test, restricted and excluded loss (log scale); middle: Gini
    coefficients of W_E and W_L in the Fourier basis; bottom: sum of squared weights.
    """
    epochs = _np(progress["epoch"])
    x_max = x_max or default_x_max(boundaries, int(epochs[-1]))
    fig, axes = new_figure(3, 1, height=8.2, sharex=True, height_ratios=(1.5, 1, 1))
    ax = axes[0]
    for key, label, colour, style in (
        ("train_loss", "train loss", TRAIN_COLOR, "-"),
        ("test_loss", "test loss", TEST_COLOR, "-"),
        ("restricted_loss", "restricted loss\n(key frequencies only,\nall pairs)", RESTRICTED_COLOR, "-"),
        ("excluded_loss", "excluded loss\n(key frequencies removed,\ntrain pairs)", EXCLUDED_COLOR, "-"),
    ):
        ax.plot(epochs, _np(progress[key]), color=colour, linestyle=style, linewidth=1.6, label=label)
    ax.set_yscale("log")
    if p is not None:
        ax.axhline(math.log(p), color=ACCENT, linestyle=":", linewidth=1)
        ax.annotate(f"chance: ln {p}", (0.1, math.log(p)), xycoords=("axes fraction", "data"), xytext=(0, 3),
                    textcoords="offset points", ha="left", va="bottom", fontsize=SMALL, color=ACCENT)
    ax.set_ylabel("cross-entropy (nats, log scale)")
    # beside the curves, never over them: the restricted loss falls to the bottom of the axes
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=SMALL, labelspacing=0.8)
    ax = axes[1]
    ax.plot(epochs, _np(progress["gini_W_E"]), color=GINI_E_COLOR, linewidth=1.6,
            label="Gini of W_E's\nfrequency norms")
    ax.plot(epochs, _np(progress["gini_W_L"]), color=GINI_L_COLOR, linewidth=1.6,
            label="Gini of W_L's\nfrequency norms")
    ax.set_ylabel("Gini coefficient")
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=SMALL, labelspacing=0.8)
    ax = axes[2]
    ax.plot(epochs, _np(progress["sum_sq_weights"]), color=TRAIN_COLOR, linewidth=1.6)
    ax.set_ylabel("sum of squared weights")
    ax.set_xlabel("epoch (full-batch optimiser steps)")
    for ax in axes:
        ax.set_xlim(0, x_max)
        shade_phases(ax, boundaries)
    label_phases(axes[0], boundaries, lines=False)
    return fig


# ------------------------------------------------------------------ embedding norms over training
def _draw_norms(ax, norms: torch.Tensor, key_freqs: list[int], y_max: float) -> list:
    K = len(norms)
    colours = [KEY_COLOR if k in key_freqs else PLAIN_COLOR for k in range(1, K + 1)]
    bars = ax.bar(range(1, K + 1), _np(norms), color=colours, width=0.85)
    ax.set_xlim(0.3, K + 0.7)
    ax.set_ylim(0, y_max)
    return list(bars)


def plot_embedding_norms_snapshots(progress: dict[str, torch.Tensor], boundaries: dict[str, int],
                                   indices: list[int]) -> Figure:
    """Small multiples: norm of W_E per frequency at the checkpoints ``indices`` (e.g.
    :func:`grokking.analysis.phases.snapshot_indices`), key frequencies highlighted."""
    norms = progress["W_E_freq_norms"]
    key_freqs = [int(k) for k in progress["key_frequencies"]]
    ncols = 5
    nrows = math.ceil(len(indices) / ncols)
    fig, axes = new_figure(nrows, ncols, height=2.1 * nrows + 0.4, sharex=True, sharey=True, squeeze=False)
    y_max = 1.05 * float(norms.max())
    for ax, i in zip(axes.flat, indices, strict=False):
        epoch = int(progress["epoch"][i])
        _draw_norms(ax, norms[i], key_freqs, y_max)
        ax.set_title(f"epoch {epoch:,}\n{phase_of(epoch, boundaries)}", fontsize=9)
    for ax in axes.flat[len(indices):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("frequency k")
    for ax in axes[:, 0]:
        ax.set_ylabel("norm of W_E\nat frequency k")
    keys = ", ".join(str(k) for k in key_freqs)
    fig.suptitle(f"The embedding's Fourier norms over training (orange: key frequencies {keys})", fontsize=10)
    return fig


def embedding_norms_animation(progress: dict[str, torch.Tensor], boundaries: dict[str, int],
                              n_frames: int = 50, x_max: int | None = None, dpi: int = 90) -> str:
    """HTML (a JavaScript frame player with embedded PNG frames) of W_E's frequency norms over training.

    Frames are ``n_frames`` checkpoints evenly spread from epoch 0 to ``x_max``
    (default :func:`default_x_max`), plus the last checkpoint. Plays in a static page.
    """
    epochs = progress["epoch"]
    norms = progress["W_E_freq_norms"]
    key_freqs = [int(k) for k in progress["key_frequencies"]]
    x_max = x_max or default_x_max(boundaries, int(epochs[-1]))
    targets = [x_max * i / (n_frames - 1) for i in range(n_frames)] + [float(epochs[-1])]
    frames = nearest_indices(epochs, targets)

    # frames are saved at ``dpi`` with a fixed bounding box, so they do not jitter as the title changes
    with plt.rc_context({**STYLE, "savefig.dpi": dpi, "savefig.bbox": "standard"}):
        fig = BookFigure(figsize=(6.4, 2.6), dpi=dpi, layout="constrained")
        ax = fig.subplots()
        bars = _draw_norms(ax, norms[frames[0]], key_freqs, 1.05 * float(norms.max()))
        ax.set_xlabel("frequency k (key frequencies in orange)")
        ax.set_ylabel("norm of W_E at k")
        ax.set_xticks(key_freqs, [str(k) for k in key_freqs], color=KEY_COLOR)
        title = ax.set_title("")

        def update(j: int):
            i = frames[j]
            for bar, h in zip(bars, _np(norms[i]), strict=False):
                bar.set_height(h)
            epoch = int(epochs[i])
            title.set_text(f"epoch {epoch:,} ({phase_of(epoch, boundaries)})")
            return [*bars, title]

        animation = FuncAnimation(fig, update, frames=len(frames), interval=200, blit=False)
        html = animation.to_jshtml(fps=5, default_mode="once")
    # matplotlib links Font Awesome 4 from a CDN for the player's buttons; the book's
    # theme already ships Font Awesome (which still answers to the "fa fa-*" names),
    # and the site must not reach out to the network.
    return re.sub(r'<link[^>]*font-awesome[^>]*>\s*', "", html)


# ------------------------------------------------------------------ ablations
def plot_ablation_losses(rows: dict[str, dict[str, float]], p: int | None = None) -> Figure:
    """Horizontal bars: loss on all pairs and on test pairs for each ablation (log scale)."""
    names = list(rows)
    fig, ax = new_figure(height=0.42 * len(names) + 1.3)
    y = torch.arange(len(names)).double().numpy()
    h = 0.38
    for offset, split, colour in ((-h / 2, "all pairs", TRAIN_COLOR), (h / 2, "test pairs", TEST_COLOR)):
        ax.barh(y + offset, [rows[n][split] for n in names], height=h, color=colour, label=split)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    model = rows["model"]["all pairs"]
    ax.axvline(model, color=MODEL_COLOR, linestyle="--", linewidth=1)
    ax.annotate("model, all pairs", (model, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -2),
                textcoords="offset points", ha="left", va="top", fontsize=SMALL)
    if p is not None:
        ax.axvline(math.log(p), color=ACCENT, linestyle=":", linewidth=1)
        ax.annotate(f"chance, ln {p}", (math.log(p), 1.0), xycoords=("data", "axes fraction"),
                    xytext=(-3, -2), textcoords="offset points", ha="right", va="top", fontsize=SMALL,
                    color=ACCENT)
    ax.set_xlabel("cross-entropy loss (nats, log scale)")
    ax.set_title("Logits with Fourier components of a + b removed")
    ax.legend(loc="lower right", fontsize=SMALL)
    return fig


# ------------------------------------------------------------------ the circuit forming, frequency by frequency
def plot_circuit_formation(progress: dict[str, torch.Tensor], counts: dict[str, torch.Tensor],
                           key_freqs: list[int], boundaries: dict[str, int]) -> Figure:
    """Top: the excluded loss with one key frequency removed at a time, over training (log
    scale). Bottom: how many MLP neurons are in each key frequency's cluster, in clusters of
    other frequencies and in none (``counts`` is
    :func:`grokking.analysis.neurons.cluster_counts`). Phases shaded; the whole run."""
    epochs = _np(progress["epoch"])
    colours = cluster_colors(key_freqs)
    fig, axes = new_figure(2, 1, height=6.4, sharex=True)
    ax = axes[0]
    for j, (k, colour) in enumerate(zip(key_freqs, colours, strict=True)):
        ax.plot(epochs, _np(progress["excluded_loss_per_key"][:, j]), color=colour, linewidth=1.5,
                label=f"without k = {k}")
    ax.set_yscale("log")
    ax.set_ylabel("excluded loss, one key\nfrequency removed (nats)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=SMALL)
    ax = axes[1]
    for k, colour in zip(key_freqs, colours, strict=True):
        ax.plot(epochs, _np(counts[f"k = {k}"]), color=colour, linewidth=1.5, label=f"cluster k = {k}")
    ax.plot(epochs, _np(counts["other frequencies"]), color=KEY_COLOR, linewidth=1.4, linestyle=":",
            label="clusters of other\nfrequencies")
    ax.plot(epochs, _np(counts["unclustered"]), color=ACCENT, linewidth=1.5, label="in no cluster")
    ax.set_ylabel("neurons")
    ax.set_xlabel("epoch (full-batch optimiser steps)")
    ax.set_ylim(0, None)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=SMALL)
    for ax in axes:  # the phases shaded and dashed, unnamed: over all 40,000 epochs memorisation is a sliver
        ax.set_xlim(0, epochs[-1])
        shade_phases(ax, boundaries)
    return fig


def plot_unembed_norms_over_training(progress: dict[str, torch.Tensor], key_freqs: list[int],
                                     boundaries: dict[str, int]) -> Figure:
    """The norm of W_L at each frequency (rows) at each checkpoint (columns), as a heatmap;
    the key frequencies marked on the left, the phase boundaries as dashed lines."""
    norms = _np(progress["W_L_freq_norms"]).T  # (frequencies, checkpoints)
    epochs = _np(progress["epoch"])
    fig, ax = new_figure(1, 1, height=4.2)
    heatmap(ax, norms, xlabel="epoch (full-batch optimiser steps)", ylabel="frequency k (key frequencies marked)",
            title="W_L in the Fourier basis over training: which frequencies the neurons write to the logits",
            colorbar_label="norm of W_L at frequency k", extent=(epochs[0], epochs[-1], 0.5, norms.shape[0] + 0.5))
    ax.set_yticks(key_freqs)
    ax.set_yticklabels([str(k) for k in key_freqs])
    for tick in ax.get_yticklabels():
        tick.set_color(KEY_COLOR)
        tick.set_fontweight("bold")
    for edge in boundaries.values():
        ax.axvline(edge, color="white", linestyle="--", linewidth=1)
    return fig
