"""Figures of the logits chapter: W_L in the Fourier basis, the cos fit of the logits, ablations.

Plotting functions take computed tensors and return Figures (:mod:`grokking.figures`
wires them to a run). Frequencies are 1-based, w_k = 2 pi k / p.
"""

from __future__ import annotations

import matplotlib
import torch

from ..data import pair_index
from .style import (
    ACCENT,
    CMAP,
    KEY_COLOR,
    MODEL_COLOR,
    PAGE_WIDTH,
    PLAIN_COLOR,
    SMALL,
    heatmap,
    new_figure,
    stagger_ticks,
)


def _freq_colors(freqs: list[int]) -> list:
    """One viridis colour per key frequency (dark to light, avoiding the palest yellow)."""
    cmap = matplotlib.colormaps[CMAP]
    n = len(freqs)
    return [cmap(0.85 * i / max(n - 1, 1)) for i in range(n)]


# ------------------------------------------------------------------ W_L
def plot_unembed_fourier(coeffs: torch.Tensor, order: torch.Tensor, freqs: list[int]):
    """|W_L in the Fourier basis| (``coeffs``, (d_mlp, p), from
    :func:`grokking.analysis.logits.unembed_fourier`): a row per neuron, in ``order``
    (grouped by frequency), a column per basis vector."""
    coeffs = coeffs.abs()
    d_mlp, p = coeffs.shape
    fig, ax = new_figure(height=4.6)
    heatmap(ax, coeffs[order], xlabel="Fourier component over the answer c (labelled: key frequency k, "
                                      "between its cos and sin columns)",
            ylabel="neuron (grouped by its frequency)", title="W_L = W_out W_U in the Fourier basis",
            colorbar_label="|coefficient| (logit per unit activation)", origin="upper",
            extent=(-0.5, p - 0.5, d_mlp - 0.5, -0.5))
    keys = sorted(freqs)
    ticks = [2 * k - 0.5 for k in keys]  # between the cos and sin columns of each key frequency
    stagger_ticks(ax.xaxis, ticks, [str(k) for k in keys], 0.035 * p, color=KEY_COLOR, fontweight="bold")
    return fig


def plot_unembed_norms(norms: torch.Tensor, freqs: list[int]):
    """Bar chart of W_L's norm per output frequency (indexed by frequency - 1), key frequencies highlighted."""
    K = len(norms)
    fig, ax = new_figure(height=3.2)
    colors = [KEY_COLOR if k in freqs else PLAIN_COLOR for k in range(1, K + 1)]
    ax.bar(range(1, K + 1), norms.numpy(), width=0.8, color=colors)
    for k in freqs:
        ax.annotate(str(k), (k, float(norms[k - 1])), xytext=(0, 2), textcoords="offset points",
                    ha="center", va="bottom", fontsize=9, color=KEY_COLOR, fontweight="bold")
    ax.set_xlim(0.3, K + 0.7)
    ax.set_ylim(0, float(norms.max()) * 1.12)
    ax.set_xlabel(f"frequency k over the answer c (cycles per {2 * K + 1})")
    ax.set_ylabel("norm of W_L's cos k and sin k\ncoefficients, all neurons")
    ax.set_title("How strongly the neurons write each frequency into the logits")
    return fig


# ------------------------------------------------------------------ the cos fit
def plot_logits_vs_fit(logits: torch.Tensor, fitted: torch.Tensor, a: int, b: int, p: int):
    """For one pair: the model's logits over c (each pair's mean removed) and the fitted cos sum."""
    row = pair_index(a, b, p)
    model = logits[row].float() - logits[row].float().mean()
    fig, ax = new_figure(height=3.4)
    c = torch.arange(p)
    ax.plot(c.numpy(), fitted[row].numpy(), color=KEY_COLOR, linewidth=1.6,
            label=r"fit: $\sum_k \alpha_k \cos(\omega_k(a+b-c))$")
    ax.scatter(c.numpy(), model.numpy(), s=9, color=MODEL_COLOR, zorder=3,
               label="model's logit (mean removed)")
    answer = (a + b) % p
    ax.axvline(answer, color=ACCENT, linestyle="--", linewidth=1)
    ax.annotate(f"c = (a+b) mod {p} = {answer}", (answer, 1.0), xycoords=("data", "axes fraction"),
                xytext=(4, -2), textcoords="offset points", va="top", fontsize=9, color=ACCENT)
    ax.set_xlim(-1, p)
    ax.set_xlabel("candidate answer c")
    ax.set_ylabel("logit")
    ax.set_title(f"Logits for a = {a}, b = {b}: model and cos fit")
    low, high = float(min(model.min(), fitted[row].min())), float(max(model.max(), fitted[row].max()))
    ax.set_ylim(low - 0.05 * (high - low), high + 0.35 * (high - low))
    ax.legend(loc="upper left", ncols=2, fontsize=SMALL)
    return fig


def plot_interference(freqs: list[int], alphas: torch.Tensor, waves: torch.Tensor, a: int, b: int):
    """One row per key frequency: cos(w_k (a+b-c)) over c; last row: the alpha-weighted sum.

    ``waves`` (len(freqs), p) holds cos(w_k (a + b - c)) per key frequency
    (:func:`grokking.analysis.logits.cos_waves`). Every cos term peaks (value 1) at
    c = (a+b) mod p and nowhere else all together, so the sum is largest there.
    """
    p = waves.shape[1]
    c = torch.arange(p)
    answer = (a + b) % p
    n = len(freqs)
    fig, axes = new_figure(n + 1, 1, height=1.25 * n + 2.2, sharex=True,
                           gridspec_kw={"height_ratios": [1] * n + [1.8]})
    for ax, k, alpha, wave, color in zip(axes[:-1], freqs, alphas, waves, _freq_colors(freqs), strict=True):
        ax.plot(c.numpy(), wave.numpy(), color=color, linewidth=0.8, marker="o", markersize=2.5)
        ax.set_ylim(-1.3, 1.3)
        ax.set_yticks([-1, 0, 1])
        ax.set_ylabel(f"k = {k}", rotation=0, ha="right", va="center")
        ax.set_title(rf"$\cos(\omega_k(a+b-c))$, weight $\alpha_k$ = {float(alpha):.1f}",
                     fontsize=9, loc="left")
    total = (alphas.float()[:, None] * waves).sum(0)
    last = axes[-1]
    last.plot(c.numpy(), total.numpy(), color=MODEL_COLOR, linewidth=0.8, marker="o", markersize=2.5)
    last.set_ylabel("weighted\nsum", rotation=0, ha="right", va="center")
    last.set_title(r"The weighted sum $\sum_k \alpha_k \cos(\omega_k(a+b-c))$: "
                   "all peaks line up only at the answer", fontsize=9, loc="left")
    last.set_xlabel("candidate answer c")
    last.set_xlim(-1, p)
    for ax in axes:
        ax.axvline(answer, color=ACCENT, linestyle="--", linewidth=1)
    last.annotate(f"c = (a+b) mod {p} = {answer}", (answer, 1.0), xycoords=("data", "axes fraction"),
                  xytext=(4, -2), textcoords="offset points", va="top", fontsize=9, color=ACCENT)
    fig.suptitle(f"Constructive interference for a = {a}, b = {b}")
    return fig


def plot_alphas(freqs: list[int], alphas: torch.Tensor):
    """Bar chart of the fitted alpha_k per key frequency."""
    fig, ax = new_figure(height=2.8, width=max(4.0, 1.0 * len(freqs) + 2.5))
    bars = ax.bar(range(len(freqs)), alphas.numpy(), color=_freq_colors(freqs), width=0.6)
    ax.bar_label(bars, fmt="%.1f", padding=2, fontsize=9)
    ax.set_xticks(range(len(freqs)), [str(k) for k in freqs])
    ax.set_xlabel("key frequency k")
    ax.set_ylabel(r"$\alpha_k$ (logit units)")
    ax.set_ylim(0, float(alphas.max()) * 1.18)
    ax.set_title(r"Weight $\alpha_k$ of each cos term in the logits")
    return fig


# ------------------------------------------------------------------ ablation
def plot_cluster_ablation(result: dict):
    """Test loss (log scale) after mean-ablating each cluster; the unablated loss as a line."""
    names, losses, colors, sizes = [], [], [], []
    for k, (n, loss, _) in result["clusters"].items():
        names.append(f"k = {k}")
        losses.append(loss)
        sizes.append(n)
        colors.append(KEY_COLOR)
    n, loss, _ = result["unexplained"]
    names.append("no frequency")
    losses.append(loss)
    sizes.append(n)
    colors.append(PLAIN_COLOR)
    fig, ax = new_figure(height=3.2, width=min(PAGE_WIDTH, max(5.0, 1.1 * len(names) + 3)))
    bars = ax.bar(range(len(names)), losses, color=colors, width=0.6)
    ax.bar_label(bars, labels=[f"{n} neurons" for n in sizes], padding=2, fontsize=SMALL)
    base = result["baseline"][0]
    ax.axhline(base, color=MODEL_COLOR, linestyle="--", linewidth=1, label=f"nothing ablated: {base:.1e}")
    ax.set_yscale("log")
    ax.set_ylim(min(*losses, base) / 10, max(losses) * 20)
    ax.set_xticks(range(len(names)), names)
    ax.set_xlabel("neurons set to their mean activation (grouped by dominant frequency)")
    ax.set_ylabel("test loss (log scale)")
    ax.set_title("Ablating one cluster of neurons at a time")
    ax.legend(loc="upper right", fontsize=SMALL)
    return fig
