"""Figures of the trig-identity chapter: waves in, products through the ReLU, cos(w(a+b-c)) out.

Plotting functions take tensors (or the per-cluster table of
:func:`grokking.analysis.trig.relu_product_table`, a dict of tensors) and return Figures
(:mod:`grokking.figures` wires them to a run). Frequencies are 1-based, w_k = 2 pi k / p.
"""

from __future__ import annotations

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch

from ..analysis import trig
from ..analysis.logits import angle_of
from ..data import pair_index
from .style import ACCENT, CMAP, MODEL_COLOR, STYLE, TEST_COLOR, TRAIN_COLOR, heatmap, new_figure, number_axes


def cluster_colors(freqs: list[int]) -> list:
    """One viridis colour per cluster, dark to light (the palest yellow left out)."""
    cmap = matplotlib.colormaps[CMAP]
    return [cmap(0.8 * i / max(len(freqs) - 1, 1)) for i in range(len(freqs))]


# ------------------------------------------------------------------ 1. pre-activations
def plot_pre_fit(pre: torch.Tensor, table: dict, picks: dict[int, int]):
    """Top row: a neuron's pre-activation over (a, b), one per cluster; bottom row: its wave fit.

    Rows and columns are ordered by angle (k a mod p, k b mod p; see :func:`grokking.trig.by_angle`),
    so the k cycles of each wave show as one.
    """
    ks = list(picks)
    fig, axes = new_figure(2, len(ks), height=5.6, squeeze=False)
    for j, k in enumerate(ks):
        row, i = table[k], picks[k]
        n = int(row["neurons"][i])
        order = trig.by_angle(k, pre.shape[0])
        actual = pre[:, :, n][order][:, order]
        fitted = row["waves"]["fitted"][:, :, i][order][:, order]
        lo, hi = float(actual.min()), float(actual.max())
        r2 = float(row["waves"]["r2"][i])
        bar = "pre-activation" if j == len(ks) - 1 else ""
        heatmap(axes[0, j], actual, xlabel=f"{k}·b mod p", ylabel=f"{k}·a mod p", vmin=lo, vmax=hi,
                title=f"neuron {n} (k = {k}): actual", colorbar_label=bar)
        heatmap(axes[1, j], fitted, xlabel=f"{k}·b mod p", ylabel=f"{k}·a mod p", vmin=lo, vmax=hi,
                title=f"wave fit, $r^2$ = {r2:.2f}", colorbar_label=bar)
        for ax in axes[:, j]:
            number_axes(ax)
    fig.suptitle(r"Pre-activations and their fit "
                 r"$\kappa_n + A_n\cos(\omega a+\varphi_n) + B_n\cos(\omega b+\psi_n)$"
                 "\n(a and b placed by their angle on frequency k's circle)")
    return fig


def plot_phase_match(table: dict):
    """Each explained neuron's wave in b against its wave in a: amplitude (left) and phase (right)."""
    ks = list(table)
    fig, (left, right) = new_figure(1, 2, height=3.6)
    for k, color in zip(ks, cluster_colors(ks), strict=False):
        w = table[k]["waves"]
        left.scatter(w["amp_a"].numpy(), w["amp_b"].numpy(), s=10, color=color, label=f"k = {k}")
        right.scatter(w["phase_a"].numpy(), w["phase_b"].numpy(), s=10, color=color, label=f"k = {k}")
    top = max(float(row["waves"]["amp_a"].max()) for row in table.values()) * 1.05
    left.plot([0, top], [0, top], color=ACCENT, linestyle="--", linewidth=1, zorder=0, label="B = A")
    left.set_xlim(0, top)
    left.set_ylim(0, top)
    left.set_xlabel(r"amplitude $A_n$ of the wave in a")
    left.set_ylabel(r"amplitude $B_n$ of the wave in b")
    left.set_title("Amplitudes")
    left.legend(fontsize=8)
    right.plot([-math.pi, math.pi], [-math.pi, math.pi], color=ACCENT, linestyle="--", linewidth=1, zorder=0)
    ticks = [-math.pi, -math.pi / 2, 0, math.pi / 2, math.pi]
    names = [r"$-\pi$", r"$-\pi/2$", "0", r"$\pi/2$", r"$\pi$"]
    right.set_xticks(ticks, names)
    right.set_yticks(ticks, names)
    right.set_xlabel(r"phase $\varphi_n$ of the wave in a (radians)")
    right.set_ylabel(r"phase $\psi_n$ of the wave in b (radians)")
    right.set_title(r"Phases ($\psi_n = \varphi_n$ on the dashed line)")
    return fig


# ------------------------------------------------------------------ 2. the ReLU
def plot_relu_fits(acts: torch.Tensor, table: dict, k: int, i: int):
    """One neuron's activation and its fits without and with the product term."""
    row = table[k]
    n = int(row["neurons"][i])
    actual = acts[:, :, n]
    r2_without, r2_with = float(row["without"]["r2"][i]), float(row["with"]["r2"][i])
    panels = [(actual, "actual activation"),
              (row["without"]["fitted"][:, :, i], rf"$\alpha+\beta(x+y)$: $r^2$ = {r2_without:.2f}"),
              (row["with"]["fitted"][:, :, i], rf"$+\gamma xy$: $r^2$ = {r2_with:.2f}")]
    fig, axes = new_figure(1, 3, height=3.0)
    lo, hi = float(actual.min()), float(actual.max())
    for j, (ax, (values, title)) in enumerate(zip(axes, panels, strict=False)):
        heatmap(ax, values, xlabel="b", ylabel="a" if j == 0 else "", title=title, vmin=lo, vmax=hi,
                colorbar_label="activation" if j == 2 else "")
        number_axes(ax)
    fig.suptitle(rf"Neuron {n} (k = {k}) after the ReLU; "
                 rf"$x = \cos(\omega a+\varphi_n)$, $y = \cos(\omega b+\varphi_n)$")
    return fig


def plot_relu_r2(table: dict):
    """Per cluster: mean r^2 of the wave fit of the pre-activations and of the two ReLU fits."""
    ks = list(table)
    series = [("r2_waves", "pre-activation: waves in a and b", ACCENT),
              ("r2_without", r"activation: $\alpha+\beta(x+y)$", TEST_COLOR),
              ("r2_with", r"activation: $\alpha+\beta(x+y)+\gamma xy$", TRAIN_COLOR)]
    fig, ax = new_figure(height=3.3, width=7.0)
    width = 0.26
    x = np.arange(len(ks))
    for s, (key, label, color) in enumerate(series):
        bars = ax.bar(x + (s - 1) * width, [table[k][key] for k in ks], width, color=color, label=label)
        ax.bar_label(bars, fmt="%.2f", padding=2, fontsize=8)
    ax.set_xticks(x, [f"k = {k}\n({len(table[k]['neurons'])} neurons)" for k in ks])
    ax.set_xlabel("neuron cluster")
    ax.set_ylabel("mean $r^2$ over the cluster")
    ax.set_ylim(0, 1.25)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_title("How much of each neuron the fits explain")
    ax.legend(loc="upper center", ncols=3, fontsize=8)
    return fig


# ------------------------------------------------------------------ 3. the readout
def plot_unembed_phase(phases: dict[int, tuple[torch.Tensor, torch.Tensor]]):
    """Each neuron's output wave over c peaks at -2 phi_n: the angle it writes against twice its phase.

    ``phases`` is :func:`grokking.analysis.trig.unembed_phases`: per cluster, (2 phi_n, -theta_n)."""
    ks = list(phases)
    fig, ax = new_figure(height=3.8, width=4.6)
    for k, color in zip(ks, cluster_colors(ks), strict=False):
        twice, written = phases[k]
        ax.scatter(twice.numpy(), written.numpy(), s=10, color=color, label=f"k = {k}")
    ax.plot([0, 2 * math.pi], [0, 2 * math.pi], color=ACCENT, linestyle="--", linewidth=1, zorder=0)
    ticks = [0, math.pi / 2, math.pi, 3 * math.pi / 2, 2 * math.pi]
    names = ["0", r"$\pi/2$", r"$\pi$", r"$3\pi/2$", r"$2\pi$"]
    ax.set_xticks(ticks, names)
    ax.set_yticks(ticks, names)
    ax.set_xlabel(r"$2\varphi_n$: twice the neuron's input phase (mod $2\pi$)")
    ax.set_ylabel(r"$-\theta_n$: its $W_L$ row is $\propto\cos(\omega c - \theta_n)$")
    ax.set_title("What each neuron writes to the logits")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_cluster_readout(cluster_logits: dict[int, torch.Tensor], fits: dict[int, dict],
                         a: int, b: int, p: int):
    """For one pair, each cluster's contribution to the logits over c next to its cos(w_k(a+b-c)) fit."""
    ks = list(cluster_logits)
    row = pair_index(a, b, p)
    answer = (a + b) % p
    c = np.arange(p)
    fig, axes = new_figure(1, len(ks), height=3.0, squeeze=False)
    for ax, k, color in zip(axes[0], ks, cluster_colors(ks), strict=False):
        order = trig.by_angle(k, p)  # answers c placed by their angle w_k c
        values = cluster_logits[k][row].float()
        values = (values - values.mean())[order]
        ax.plot(c, fits[k]["fitted"][row][order].numpy(), color=ACCENT, linewidth=1.5,
                label=rf"{float(fits[k]['alphas'][0]):.1f} $\cos(\omega_{{{k}}}(a+b-c))$")
        ax.scatter(c, values.numpy(), s=6, color=color, zorder=3, label="cluster's logits")
        ax.axvline(k * answer % p, color=MODEL_COLOR, linestyle=":", linewidth=1)
        ax.set_title(f"k = {k}: $r^2$ = {fits[k]['explained']:.2f} (all pairs)", fontsize=10)
        ax.set_xlabel(f"{k}·c mod {p}")
        ax.set_xlim(-1, p)
        low, high = float(values.min()), float(values.max())
        ax.set_ylim(low - 0.05 * (high - low), high + 0.45 * (high - low))
        ax.legend(loc="upper left", fontsize=7)
    axes[0, 0].set_ylabel("logit (mean over c removed)")
    fig.suptitle(f"Each cluster's logits for a = {a}, b = {b}, answers placed by angle "
                 f"(dotted: the answer c = {answer})")
    return fig


def plot_sharpening(accuracy: dict[str, float], margin: dict[str, float]):
    """Share of pairs whose top logit is the answer, and the mean margin, for clusters alone and together."""
    names = list(accuracy)
    fig, (left, right) = new_figure(1, 2, height=3.2)
    colors = [TEST_COLOR] * (len(names) - 2) + [TRAIN_COLOR, MODEL_COLOR]
    x = np.arange(len(names))
    bars = left.bar(x, [100 * accuracy[n] for n in names], color=colors, width=0.6)
    left.bar_label(bars, fmt="%.1f", padding=2, fontsize=8)
    left.set_ylim(0, 115)
    left.set_ylabel("pairs whose top logit is (a+b) mod p (%)")
    left.set_title("Right answer on top")
    bars = right.bar(x, [margin[n] for n in names], color=colors, width=0.6)
    right.bar_label(bars, fmt="%.3f", padding=2, fontsize=8)
    right.set_ylim(0, max(margin.values()) * 1.2)
    right.set_ylabel("(top - runner-up) / std over c")
    right.set_title("Mean margin of the top logit")
    for ax in (left, right):
        ax.set_xticks(x, names, fontsize=8)
        ax.set_xlabel("logits from")
    return fig


# ------------------------------------------------------------------ 4. the clock
def _arrow(ax, angle: float, radius: float, color: str, label: str, style: str = "-", offset: float = 1.18):
    ax.annotate("", xy=(radius * math.cos(angle), radius * math.sin(angle)), xytext=(0, 0),
                arrowprops=dict(arrowstyle="-|>", color=color, linewidth=1.6, linestyle=style,
                                shrinkA=0, shrinkB=0))
    ax.text(offset * math.cos(angle), offset * math.sin(angle), label, color=color, ha="center", va="center",
            fontsize=9, fontweight="bold")


def plot_clock(cluster_logits: dict[int, torch.Tensor], model_logits: torch.Tensor, a: int, b: int, p: int):
    """Top: per key frequency, the unit circle with the angles w_k a, w_k b, w_k (a+b) and every answer c
    at w_k c, coloured by the cluster's logit for it. Bottom: the clusters' logits over c and their sum."""
    ks = list(cluster_logits)
    row = pair_index(a, b, p)
    answer = (a + b) % p
    fig, axes = new_figure(2, len(ks), height=6.4, squeeze=False, gridspec_kw={"height_ratios": [1.1, 1]})
    gs = axes[1, 0].get_gridspec()
    for ax in axes[1]:
        ax.remove()
    with plt.rc_context(STYLE):
        bottom = fig.add_subplot(gs[1, :])
    cmap = matplotlib.colormaps[CMAP]
    circle = np.linspace(0, 2 * math.pi, 200)
    for ax, k in zip(axes[0], ks, strict=False):
        values = cluster_logits[k][row].float()
        values = (values - values.mean()) / (values - values.mean()).abs().max()
        angles = 2 * math.pi * k * np.arange(p) / p
        ax.plot(np.cos(circle), np.sin(circle), color=ACCENT, linewidth=0.8, zorder=0)
        dots = ax.scatter(np.cos(angles), np.sin(angles), c=values.numpy(), cmap=cmap, vmin=-1, vmax=1,
                          s=14, zorder=2)
        ta, tb, ts = (angle_of(k, p, x) for x in (a, b, a + b))
        _arrow(ax, ta, 0.5, TEST_COLOR, "a", offset=0.62)
        _arrow(ax, tb, 0.5, TRAIN_COLOR, "b", offset=0.62)
        _arrow(ax, ts, 0.93, MODEL_COLOR, "", offset=0)
        ax.scatter([math.cos(ts)], [math.sin(ts)], s=110, facecolors="none", edgecolors=MODEL_COLOR,
                   linewidths=1.4, zorder=3)
        ax.text(1.32 * math.cos(ts), 1.32 * math.sin(ts), f"a+b\nc = {answer}", ha="center", va="center",
                fontsize=8, fontweight="bold", color=MODEL_COLOR)
        ax.set_aspect("equal")
        ax.set_xlim(-1.5, 1.5)
        ax.set_ylim(-1.5, 1.5)
        ax.axis("off")
        ax.set_title(f"k = {k}:  {k}·{a} ≡ {k * a % p},  {k}·{b} ≡ {k * b % p},\n"
                     f"sum ≡ {k * (a + b) % p} ≡ {k}·{answer}  (mod {p})", fontsize=9)
    bar = fig.colorbar(dots, ax=list(axes[0]), shrink=0.7, pad=0.01)
    bar.set_label("cluster's logit for c\n(scaled to ±1)", fontsize=8)
    c = np.arange(p)
    total = torch.zeros(p)
    for k, color in zip(ks, cluster_colors(ks), strict=False):
        values = cluster_logits[k][row].float()
        values = values - values.mean()
        total += values
        bottom.plot(c, values.numpy(), color=color, linewidth=0.9, label=f"cluster k = {k}")
    bottom.plot(c, total.numpy(), color=MODEL_COLOR, linewidth=1.8, label="sum of the clusters")
    full = model_logits[row].float() - model_logits[row].float().mean()
    bottom.plot(c, full.numpy(), color=ACCENT, linewidth=1.0, linestyle="--", label="whole model")
    best = int(total.argmax())
    bottom.scatter([best], [float(total[best])], s=60, color=MODEL_COLOR, zorder=4)
    note = f" = ({a}+{b}) mod {p}" if best == answer else f" (answer {answer})"
    bottom.annotate(f"argmax: c = {best}{note}", (best, float(total[best])), xytext=(10, 2),
                    textcoords="offset points", fontsize=9, va="bottom",
                    bbox=dict(facecolor="white", edgecolor="none", pad=1))
    bottom.set_xlim(-1, p)
    bottom.set_xlabel("candidate answer c")
    bottom.set_ylabel("logit (mean over c removed)")
    bottom.set_title(f"Logits over c: the {len(ks)} clusters' waves agree only at the answer", fontsize=10)
    bottom.legend(loc="lower left", ncols=5, fontsize=8)
    low, high = float(min(total.min(), full.min())), float(max(total.max(), full.max()))
    bottom.set_ylim(low - 0.3 * (high - low), high + 0.2 * (high - low))
    fig.suptitle(f"The clock for a = {a}, b = {b}: angles add, and the logits peak where the sum points")
    return fig
