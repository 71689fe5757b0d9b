"""Figures for the attention chapter: attention from '=' to 'a' over every (a, b) pair.

Plotting functions take computed tensors and return Figures (:mod:`grokking.figures` wires
them to a run).
"""

from __future__ import annotations

import torch

from ..analysis.trig import by_angle
from .style import ACCENT, SMALL, TRAIN_COLOR, heatmap, mark_keys, new_figure

ATTENTION_LABEL = "attention weight"


def plot_heads(att: torch.Tensor):
    """A 2x2 grid (or one row for other head counts) of attention-to-'a' maps, indexed [h, a, b]."""
    n = att.shape[0]
    ncols = 2 if n == 4 else n
    nrows = (n + ncols - 1) // ncols
    fig, axes = new_figure(nrows, ncols, height=3.4 * nrows, squeeze=False)
    vmin, vmax = float(att.min()), float(att.max())
    for h, ax in enumerate(axes.flat):
        if h >= n:
            ax.set_visible(False)
            continue
        heatmap(ax, att[h], xlabel="b", ylabel="a", title=f"Head {h}", colorbar_label=ATTENTION_LABEL,
                vmin=vmin, vmax=vmax)
    fig.suptitle("Attention paid by '=' to 'a', for every pair (a, b)")
    return fig


def plot_head(att_head: torch.Tensor, head: int = 0, k: int | None = None):
    """One head's map over (a, b) beside the same pattern as a function of a alone (mean over b).

    With ``k`` (e.g. :func:`grokking.analysis.attention.dominant_frequency` of the mean over b),
    a and b are placed by their angle on frequency k's circle, k a mod p and k b mod p
    (:func:`grokking.analysis.trig.by_angle`): a wave of frequency k, which at whole numbers
    looks like noise, then goes round once.
    """
    p = att_head.shape[0]
    order = by_angle(k, p) if k else torch.arange(p)
    att_head = att_head[order][:, order]
    a_name, b_name = (f"{k}·a mod {p}", f"{k}·b mod {p}") if k else ("a", "b")
    fig, (left, right) = new_figure(1, 2, height=3.8, width_ratios=[1.25, 1])
    heatmap(left, att_head, xlabel=b_name, ylabel=a_name, title=f"Head {head}: attention from '=' to 'a'",
            colorbar_label=ATTENTION_LABEL)
    x = torch.arange(p)
    spread = att_head.std(dim=1)
    mean = att_head.mean(dim=1)
    right.fill_between(x.numpy(), (mean - spread).numpy(), (mean + spread).numpy(), color=ACCENT, alpha=0.3,
                       linewidth=0, label="± one std over b")
    right.plot(x.numpy(), mean.numpy(), color=TRAIN_COLOR, linewidth=1.4, label="mean over b")
    right.set_xlabel(a_name)
    right.set_ylabel(ATTENTION_LABEL)
    right.set_title("The same, averaged over b")
    right.set_xlim(0, p - 1)
    right.set_ylim(0, 1.2)  # room for the legend above the curve
    right.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    right.legend(loc="upper center", ncol=2, fontsize=SMALL)
    return fig


def plot_fourier_2d(spectrum: dict, freqs: list[int], *, what: str):
    """A (p, p) grid's 2D Fourier spectrum: by frequency pair, and zoomed on const + ``freqs``.

    ``spectrum`` is :func:`grokking.analysis.fourier.spectrum_2d`'s result. Left: sqrt of
    the power in each (frequency over a, frequency over b) pair, cos and sin pooled
    (0 = constant). Right: |coefficient| of each pair of basis vectors for the constant
    and the frequencies in ``freqs``. The (const, const) term, the grid's mean, is left
    blank: it is not variation and would swamp the colour scale.
    """
    by_freq, small, names = spectrum["by_frequency"], spectrum["zoom"], spectrum["zoom_labels"]
    fig, (full, zoom) = new_figure(1, 2, height=4.4, width_ratios=[1, 1.25])
    K = by_freq.shape[0] - 1
    heatmap(full, by_freq, xlabel="frequency over b", ylabel="frequency over a", origin="upper",
            title=f"{what}: all frequency pairs", colorbar_label="norm of coefficients",
            extent=(-0.5, K + 0.5, K + 0.5, -0.5))
    # round frequencies labelled, the key frequencies marked (named in the zoom)
    step = 5 * max(1, round(K / 25))
    ticks = list(range(0, K + 1, step))
    for axis in (full.xaxis, full.yaxis):
        axis.set_ticks(ticks, ["const"] + [str(k) for k in ticks[1:]])
        mark_keys(axis, freqs)
    full.set_xlabel("frequency over b (orange ticks: key frequencies)")
    heatmap(zoom, small, xlabel="basis vector over b", ylabel="basis vector over a", origin="upper",
            title="Zoom: constant and key frequencies", colorbar_label="|coefficient|")
    zoom.set_xticks(range(len(names)), [name.replace(" ", "\n") for name in names], fontsize=SMALL)
    zoom.set_yticks(range(len(names)), names, fontsize=SMALL)
    return fig


def plot_head_scores(score: torch.Tensor, norms: torch.Tensor, freqs: list[int], head: int = 0):
    """A head's pre-softmax score for 'a' as a function of a (p,), and the norm of each
    frequency in it (``norms``, indexed by frequency - 1)."""
    p = score.shape[0]
    fig, (left, right) = new_figure(1, 2, height=3.3)
    left.plot(range(p), score.numpy(), color=TRAIN_COLOR, marker="o", markersize=2.5, linewidth=0.8)
    left.set_xlabel("a")
    left.set_ylabel("attention score (before softmax)")
    left.set_title(f"Head {head}: score of '=' for 'a'")
    left.set_xlim(0, p - 1)
    ks = torch.arange(1, len(norms) + 1)
    colors = [TRAIN_COLOR if int(k) in freqs else ACCENT for k in ks]
    right.bar(ks.numpy(), norms.numpy(), color=colors, width=0.8)
    for k in freqs:
        right.annotate(str(k), (k, float(norms[k - 1])), ha="center", va="bottom", fontsize=SMALL, color=TRAIN_COLOR)
    right.set_xlabel("frequency k")
    right.set_ylabel("norm of cos k and sin k coefficients")
    right.set_title("Its Fourier spectrum (key frequencies in colour)")
    right.set_xlim(0, len(norms) + 1)
    return fig


def plot_key_shares(shares: torch.Tensor, freqs: list[int]):
    """Bar chart: per head, the share of its pattern's variance in the key frequencies."""
    fig, ax = new_figure(height=3.0, width=6.0)
    heads = list(range(len(shares)))
    bars = ax.bar(heads, shares.numpy(), color=TRAIN_COLOR, width=0.6)
    ax.bar_label(bars, labels=[f"{float(s):.1%}" for s in shares], padding=2, fontsize=9)
    ax.set_xticks(heads, [f"head {h}" for h in heads])
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("share of variance")
    ax.set_title("Variance in key frequencies " + ", ".join(map(str, freqs)))
    return fig
