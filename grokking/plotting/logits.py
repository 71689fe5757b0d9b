"""Figures of the logits chapter: W_L in the Fourier basis, the cos fit of the logits, ablations.

Plotting functions take tensors and return Figures; ``FIGURES`` wires them to a
:class:`grokking.context.RunContext` by PNG file stem. Frequencies are 1-based,
w_k = 2 pi k / p.
"""

from __future__ import annotations

import matplotlib
import torch

from .. import analysis
from ..fourier import cos_sin, frequency_norms, to_fourier
from .common import ACCENT, CMAP, heatmap, new_figure
from .neurons import THRESHOLD, order_by_cluster

KEY_COLOR = "#c55a11"  # key frequencies stand out against the plain bars (as in the embeddings chapter)
PLAIN_COLOR = "#9db4cc"
MODEL_COLOR = "#1f1f1f"


def _freq_colors(freqs: list[int]) -> list:
    """One viridis colour per key frequency (dark to light, avoiding the palest yellow)."""
    cmap = matplotlib.colormaps[CMAP]
    n = len(freqs)
    return [cmap(0.85 * i / max(n - 1, 1)) for i in range(n)]


# ------------------------------------------------------------------ W_L
def unembed_fourier(W_L: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """W_L (d_mlp, p) in the Fourier basis over the output c: (d_mlp, p), column i = basis vector i."""
    return to_fourier(W_L.double(), basis.double(), 1).float()


def unembed_frequency_norms(W_L: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Norm of W_L's Fourier coefficients per output frequency k = 1 .. (p-1)/2 (all neurons together)."""
    return frequency_norms(unembed_fourier(W_L, basis), dim=1)


def plot_unembed_fourier(W_L: torch.Tensor, basis: torch.Tensor, shares: torch.Tensor, freqs: list[int]):
    """|W_L in the Fourier basis|: a row per neuron (grouped by its frequency), a column per basis vector."""
    coeffs = unembed_fourier(W_L, basis).abs()
    order = order_by_cluster(shares, THRESHOLD)
    d_mlp, p = coeffs.shape
    fig, ax = new_figure(height=4.6)
    heatmap(ax, coeffs[order], xlabel="Fourier component over the answer c (cos k at 2k-1, sin k at 2k)",
            ylabel="neuron (grouped by its frequency)", title="W_L = W_out W_U in the Fourier basis",
            colorbar_label="|coefficient| (logit per unit activation)", origin="upper",
            extent=(-0.5, p - 0.5, d_mlp - 0.5, -0.5))
    ticks = [2 * k - 0.5 for k in freqs]  # between the cos and sin columns of each key frequency
    ax.set_xticks(ticks, [f"k={k}" for k in freqs], fontsize=8)
    return fig


def plot_unembed_norms(W_L: torch.Tensor, basis: torch.Tensor, freqs: list[int]):
    """Bar chart of W_L's norm per output frequency, key frequencies highlighted."""
    norms = unembed_frequency_norms(W_L, basis)
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
def pair_index(a: int, b: int, p: int) -> int:
    """Row of the pair (a, b) in the row-major all-pairs order."""
    return a * p + b


def cos_terms(freqs: list[int], alphas: torch.Tensor, s: int, p: int) -> torch.Tensor:
    """alpha_k cos(w_k (s - c)) over c = 0 .. p-1 for each key frequency: (len(freqs), p)."""
    c = torch.arange(p)
    return torch.stack([float(alpha) * cos_sin(k, p, s - c)[0] for k, alpha in zip(freqs, alphas)])


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
    ax.legend(loc="upper left", ncols=2, fontsize=8)
    return fig


def plot_interference(freqs: list[int], alphas: torch.Tensor, a: int, b: int, p: int):
    """One row per key frequency: cos(w_k (a+b-c)) over c; last row: the alpha-weighted sum.

    Every cos term peaks (value 1) at c = (a+b) mod p and nowhere else all together,
    so the sum is largest there.
    """
    s = a + b
    c = torch.arange(p)
    answer = s % p
    n = len(freqs)
    fig, axes = new_figure(n + 1, 1, height=1.25 * n + 2.2, sharex=True,
                           gridspec_kw={"height_ratios": [1] * n + [1.8]})
    for ax, k, alpha, color in zip(axes, freqs, alphas, _freq_colors(freqs)):
        wave = cos_sin(k, p, s - c)[0]
        ax.plot(c.numpy(), wave.numpy(), color=color, linewidth=0.8, marker="o", markersize=2.5)
        ax.set_ylim(-1.3, 1.3)
        ax.set_yticks([-1, 0, 1])
        ax.set_ylabel(f"k = {k}", rotation=0, ha="right", va="center")
        ax.set_title(rf"$\cos(\omega_k(a+b-c))$, weight $\alpha_k$ = {float(alpha):.1f}",
                     fontsize=9, loc="left")
    total = cos_terms(freqs, alphas, s, p).sum(0)
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
def cluster_ablation(ctx) -> dict:
    """Test loss and accuracy with each frequency cluster of neurons mean-ablated.

    Returns ``{"baseline": (loss, acc), "clusters": {k: (n_neurons, loss, acc)},
    "unexplained": (n_neurons, loss, acc)}``, all on the test pairs. Mean ablation
    sets each chosen neuron to its mean activation at '=' over all pairs.
    """
    tokens, labels = ctx.pairs
    test = ctx.run.data.test_idx
    means = ctx.neuron_acts.mean(dim=(0, 1))
    dominant, explained = analysis.neuron_clusters(ctx.neuron_frequency_shares, THRESHOLD)
    out = {"baseline": analysis.loss_and_accuracy(ctx.logits[test], labels[test]), "clusters": {}}
    ks = sorted(int(k) for k in dominant[explained].unique())
    for k in ks:
        neurons = analysis.neurons_of_frequency(dominant, explained, k)
        logits = analysis.logits_with_neurons_ablated(ctx.model, tokens[test], neurons, means)
        out["clusters"][k] = (len(neurons), *analysis.loss_and_accuracy(logits, labels[test]))
    rest = (~explained).nonzero().flatten()
    logits = analysis.logits_with_neurons_ablated(ctx.model, tokens[test], rest, means)
    out["unexplained"] = (len(rest), *analysis.loss_and_accuracy(logits, labels[test]))
    return out


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
    fig, ax = new_figure(height=3.2, width=max(5.0, 1.1 * len(names) + 3))
    bars = ax.bar(range(len(names)), losses, color=colors, width=0.6)
    ax.bar_label(bars, labels=[f"{n} neurons" for n in sizes], padding=2, fontsize=8)
    base = result["baseline"][0]
    ax.axhline(base, color=MODEL_COLOR, linestyle="--", linewidth=1, label=f"nothing ablated: {base:.1e}")
    ax.set_yscale("log")
    ax.set_ylim(min(min(losses), base) / 10, max(losses) * 20)
    ax.set_xticks(range(len(names)), names)
    ax.set_xlabel("neurons set to their mean activation (grouped by dominant frequency)")
    ax.set_ylabel("test loss (log scale)")
    ax.set_title("Ablating one cluster of neurons at a time")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def example_pair(ctx) -> tuple[int, int]:
    """The first test pair (a, b): a pair the model never trained on."""
    tokens, _ = ctx.pairs
    a, b, _ = tokens[ctx.run.data.test_idx[0]].tolist()
    return a, b


FIGURES = {
    "unembed_in_fourier_basis": lambda ctx: plot_unembed_fourier(
        ctx.W_L, ctx.basis, ctx.neuron_frequency_shares, ctx.key_frequencies),
    "unembed_frequency_norms": lambda ctx: plot_unembed_norms(ctx.W_L, ctx.basis, ctx.key_frequencies),
    "logits_vs_cos_fit": lambda ctx: plot_logits_vs_fit(
        ctx.logits, ctx.cos_fit["fitted"], *example_pair(ctx), ctx.p),
    "cos_fit_alphas": lambda ctx: plot_alphas(ctx.key_frequencies, ctx.cos_fit["alphas"]),
    "cos_terms_interference": lambda ctx: plot_interference(ctx.key_frequencies, ctx.cos_fit["alphas"],
                                                            *example_pair(ctx), ctx.p),
    "cluster_ablation_loss": lambda ctx: plot_cluster_ablation(cluster_ablation(ctx)),
}
