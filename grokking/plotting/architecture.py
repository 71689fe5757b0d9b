"""Architecture diagrams drawn from a live model's shapes (no hand-made images).

:func:`grokking.model.model_spec` reads every weight shape and size from a ``HookedTransformer``;
:func:`draw_high_level` and :func:`draw_detailed` turn that dict into Figures.
Coordinates are in inches (equal aspect), so boxes and text keep their size.
"""

from __future__ import annotations

from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from ..data import split_grid
from .style import CMAP, DIAGRAM_FILLS, DIAGRAM_LINE, new_figure

_cmap = colormaps[CMAP]


def shape_text(shape) -> str:
    """``(4, 128, 32)`` -> ``'4 × 128 × 32'``."""
    return " × ".join(str(n) for n in shape)


def math_name(name: str) -> str:
    """``'W_pos'`` -> ``'$W_{pos}$'`` (a mathtext label)."""
    base, _, sub = name.partition("_")
    return f"${base}_{{{sub}}}$" if sub else f"${base}$"


# ------------------------------------------------------------------ primitives
def _canvas(width: float, height: float):
    fig, ax = new_figure(width=width, height=height)
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def _box(ax, x, y, w, h, text, kind="matrix", fontsize=9.5, **text_kw):
    fill, ink = DIAGRAM_FILLS[kind]
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                                facecolor=fill, edgecolor="none"))
    ax.text(x, y, text, ha="center", va="center", color=ink, fontsize=fontsize, linespacing=1.35, **text_kw)


def _arrow(ax, start, end, connection="arc3", color=DIAGRAM_LINE, width=1.2):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, color=color,
                                 linewidth=width, connectionstyle=connection, shrinkA=0, shrinkB=0))


def _plus(ax, x, y, r=0.13):
    ax.add_patch(Circle((x, y), r, facecolor="white", edgecolor=DIAGRAM_LINE, linewidth=1.2, zorder=3))
    ax.plot([x - r * 0.6, x + r * 0.6], [y, y], color=DIAGRAM_LINE, linewidth=1.2, zorder=4)
    ax.plot([x, x], [y - r * 0.6, y + r * 0.6], color=DIAGRAM_LINE, linewidth=1.2, zorder=4)


# ------------------------------------------------------------------ high level
def draw_high_level(spec: dict) -> Figure:
    """Blocks and residual stream, bottom to top: embed -> attention -> MLP -> unembed."""
    s = spec
    width, height = 6.6, 6.5
    fig, ax = _canvas(width, height)
    xs, xb = 2.3, 5.0  # residual stream, side blocks
    ws, wb = 3.6, 3.0  # box widths
    fs = 10.5
    y_tok, y_emb, y_add1, y_add2, y_unemb, y_out = 0.3, 1.05, 2.75, 4.45, 5.25, 6.1

    _box(ax, xs, y_tok, ws, 0.42, f"tokens a, b, =  (one-hot, {s['d_vocab']})", "activation", fs)
    _arrow(ax, (xs, y_tok + 0.21), (xs, y_emb - 0.3))
    _box(ax, xs, y_emb, ws, 0.6,
         f"Embed: {math_name('W_E')}[token] + {math_name('W_pos')}[position]\n"
         f"{s['n_ctx']} positions × {s['d_model']}", "block", fs)
    # the residual stream: a thick line with two additions
    ax.plot([xs, xs], [y_emb + 0.3, y_unemb - 0.3], color=DIAGRAM_LINE, linewidth=2.4, solid_capstyle="butt")
    _arrow(ax, (xs, y_unemb - 0.45), (xs, y_unemb - 0.3), width=2.4)
    for y_add, y_block, label in (
        (y_add1, y_add1 - 0.7, f"Attention\n{s['n_heads']} heads × {s['d_head']} dims"),
        (y_add2, y_add2 - 0.7, f"MLP: {s['d_model']} → {s['d_mlp']} → {s['d_model']}\n"
                               f"{s['d_mlp']} {s['act_fn'].upper()} neurons"),
    ):
        h = 0.75
        _box(ax, xb, y_block, wb, h, label, "block", fs)
        _arrow(ax, (xs, y_block - h / 2 - 0.18), (xb, y_block - h / 2), "angle,angleA=0,angleB=90,rad=0")
        _plus(ax, xs, y_add)
        _arrow(ax, (xb, y_block + h / 2), (xs + 0.13, y_add), "angle,angleA=90,angleB=0,rad=0")
    _box(ax, xs, y_unemb, ws, 0.6, f"Unembed: {math_name('W_U')}\n{s['d_model']} → {s['d_vocab_out']}", "block", fs)
    _arrow(ax, (xs, y_unemb + 0.3), (xs, y_out - 0.3))
    _box(ax, xs, y_out, ws, 0.6, f"logits at '='\none score per answer 0 … {s['d_vocab_out'] - 1}",
         "activation", fs)

    ax.text(xs - 0.2, (y_emb + y_unemb) / 2, f"residual stream ({s['n_ctx']} × {s['d_model']})",
            rotation=90, ha="right", va="center", fontsize=fs, color=DIAGRAM_LINE)
    for y, name in ((y_add1 - 0.3, "$x_0$"), (y_add2 - 0.3, "$x_1$"), (y_unemb - 0.55, "$x_2$")):
        ax.text(xs + 0.1, y - 0.1, name, ha="left", va="center", fontsize=fs, color=DIAGRAM_LINE)
    return fig


# ------------------------------------------------------------------ detailed
def draw_detailed(spec: dict) -> Figure:
    """Every weight matrix with its shape: blocks (a strip on the left), matrices (middle),
    collapsed view (right).

    Drawn 7.3 inches wide, so that at the book's page width its smallest box text (10.5 pt)
    shows at about 16 px: the block names run up the strip, and the long formulas of the
    collapsed view wrap, to leave the width to the text.
    """
    s, sh = spec, spec["shapes"]
    width, height = 7.3, 9.9
    fig, ax = _canvas(width, height)
    xl, xm, xr = 0.22, 2.95, 6.1  # centres: block strip, matrices, collapsed view
    wl, wr = 0.44, 2.36
    dx = 1.34  # spacing of the three Q/K/V boxes
    wm = 1.24  # width of one matrix box
    hm = 0.62  # height of a matrix box
    fs, fs_small = 11, 10.5

    def matrix(x, y, name, w=wm):
        _box(ax, x, y, w, hm, f"{math_name(name)}\n{shape_text(sh[name])}", "matrix", fontsize=fs)

    def block(y0, y1, text):
        _box(ax, xl, (y0 + y1) / 2, wl, y1 - y0, text, "block", fs, rotation=90)

    def step(y0, y1, x=xm):
        _arrow(ax, (x, y0), (x, y1))

    for x, title in ((xm, "matrices and their shapes"), (xr, "collapsed view")):
        ax.text(x, height - 0.05, title, ha="center", va="top", fontsize=12, weight="bold", color=DIAGRAM_LINE)

    # inputs
    y_tok = 0.35
    _box(ax, xm, y_tok, 3.7, 0.44, f"one-hot tokens a, b, =   ({s['n_ctx']} × {s['d_vocab']})", "activation",
         fs_small)
    # embed
    y_emb = 1.3
    block(y_emb - 0.45, y_emb + 0.45, "Embed")
    matrix(xm - 0.8, y_emb, "W_E")
    ax.text(xm, y_emb, "+", ha="center", va="center", fontsize=14, color=DIAGRAM_LINE)
    matrix(xm + 0.8, y_emb, "W_pos")
    # tokens fan out to both tables; the two rows looked up are added
    y_fan = y_emb - hm / 2 - 0.2
    ax.plot([xm, xm], [y_tok + 0.22, y_fan], color=DIAGRAM_LINE, linewidth=1.2)
    ax.plot([xm - 0.8, xm + 0.8], [y_fan] * 2, color=DIAGRAM_LINE, linewidth=1.2)
    for x in (xm - 0.8, xm + 0.8):
        _arrow(ax, (x, y_fan), (x, y_emb - hm / 2))
        ax.plot([x, x], [y_emb + hm / 2, y_emb + hm / 2 + 0.2], color=DIAGRAM_LINE, linewidth=1.2)
    ax.plot([xm - 0.8, xm + 0.8], [y_emb + hm / 2 + 0.2] * 2, color=DIAGRAM_LINE, linewidth=1.2)
    _box(ax, xr, y_emb, wr, 0.95,
         f"$x_0$ = {math_name('W_E')}[token]\n+ {math_name('W_pos')}[position]\none {s['d_model']}-vector per position",
         "collapsed", fs_small)
    # attention
    y_qkv, y_pat, y_o = 2.7, 3.75, 4.8
    block(y_qkv - hm / 2 - 0.1, y_o + hm / 2 + 0.1, f"Attention: {s['n_heads']} heads")
    ax.plot([xm, xm], [y_emb + hm / 2 + 0.2, y_qkv - hm / 2 - 0.32], color=DIAGRAM_LINE, linewidth=1.2)
    ax.text(xm + 0.08, (y_emb + y_qkv) / 2 - 0.05, f"$x_0$   ({s['n_ctx']} × {s['d_model']})",
            ha="left", va="center", fontsize=fs_small, color=DIAGRAM_LINE)
    for i, name in enumerate(("W_Q", "W_K", "W_V")):
        matrix(xm + (i - 1) * dx, y_qkv, name)
    ax.plot([xm - dx, xm + dx], [y_qkv - hm / 2 - 0.32] * 2, color=DIAGRAM_LINE, linewidth=1.2)
    for i in range(3):
        _arrow(ax, (xm + (i - 1) * dx, y_qkv - hm / 2 - 0.32), (xm + (i - 1) * dx, y_qkv - hm / 2))
    x_pat = xm - dx / 2
    _box(ax, x_pat, y_pat, 2.55, 0.6,
         f"pattern = softmax($q k^T/\\sqrt{{{s['d_head']}}}$)\n{s['n_heads']} × {s['n_ctx']} × {s['n_ctx']}",
         "activation", fs_small)
    _arrow(ax, (xm - dx, y_qkv + hm / 2), (xm - dx, y_pat - 0.3))
    _arrow(ax, (xm, y_qkv + hm / 2), (xm, y_pat - 0.3))
    matrix(xm, y_o, "W_O")
    _arrow(ax, (x_pat, y_pat + 0.3), (xm - 0.25, y_o - hm / 2))
    _arrow(ax, (xm + dx, y_qkv + hm / 2), (xm + 0.3, y_o - hm / 2), "arc3,rad=0.3")
    ax.text(xm + dx + 0.02, y_pat + 0.2, "values $v$,\nweighted\nby pattern", ha="left", va="center",
            fontsize=fs_small, color=DIAGRAM_LINE, linespacing=1.15)
    _box(ax, xr, (y_qkv + y_pat) / 2 - 0.1, wr, 0.75,
         f"$W_{{QK}}^h = W_Q^h\\,(W_K^h)^T$\n{s['d_model']} × {s['d_model']}, one per head", "collapsed", fs_small)
    _box(ax, xr, (y_pat + y_o) / 2 + 0.3, wr, 0.75,
         f"$W_{{OV}}^h = W_V^h\\,W_O^h$\n{s['d_model']} × {s['d_model']}, one per head", "collapsed", fs_small)
    # MLP
    y_in, y_act, y_out = 6.05, 6.9, 7.75
    block(y_in - hm / 2 - 0.1, y_out + hm / 2 + 0.1, f"MLP: {s['act_fn'].upper()}")
    step(y_o + hm / 2, y_in - hm / 2)
    ax.text(xm + 0.08, (y_o + y_in) / 2, f"$x_1 = x_0$ + attention output   ({s['d_model']} at '=')",
            ha="left", va="center", fontsize=fs_small, color=DIAGRAM_LINE)
    matrix(xm, y_in, "W_in")
    step(y_in + hm / 2, y_act - 0.22)
    _box(ax, xm, y_act, 2.5, 0.44, f"{s['act_fn'].upper()}: {s['d_mlp']} neurons", "activation", fs_small)
    step(y_act + 0.22, y_out - hm / 2)
    matrix(xm, y_out, "W_out")
    _box(ax, xr, y_act - 0.2, wr, 0.75,
         f"neurons = {s['act_fn'].upper()}($x_1$ {math_name('W_in')})\n{s['d_mlp']} values at '='",
         "collapsed", fs_small)
    # unembed
    y_u, y_logits = 8.6, 9.3
    block(y_u - 0.4, y_u + 0.4, "Unembed")
    matrix(xm, y_u, "W_U")
    step(y_out + hm / 2, y_u - hm / 2)
    _box(ax, xm, y_logits, 3.1, 0.36, f"logits at '=': {s['d_vocab_out']} values", "activation", fs_small)
    step(y_u + hm / 2, y_logits - 0.18)
    _box(ax, xr, (y_out + y_u) / 2 + 0.1, wr, 0.75,
         f"$W_L = W_{{out}}\\,W_U$\n{s['d_mlp']} × {s['d_vocab_out']}: neurons → logits", "collapsed", fs_small)
    ax.text(xm + 0.08, (y_out + y_u) / 2, "$x_2 = x_1$ + MLP output", ha="left", va="center",
            fontsize=fs_small, color=DIAGRAM_LINE)
    return fig


# ------------------------------------------------------------------ the split
def plot_split(train_idx, p: int) -> Figure:
    """Which pairs (a, b) are in the training set (row-major indices, :mod:`grokking.data`)."""
    fig, ax = new_figure(width=5.6, height=4.6)
    # two levels of the book's colormap: a binary image needs no gradient
    image = ax.imshow(split_grid(train_idx, p).numpy(), cmap=_cmap.resampled(2), vmin=0, vmax=1,
                      origin="lower", interpolation="nearest")
    ax.set_xlabel("b (second number)")
    ax.set_ylabel("a (first number)")
    ax.set_title(f"Training pairs: {len(train_idx)} of {p * p}")
    bar = fig.colorbar(image, ax=ax, shrink=0.5)
    bar.set_ticks([0.25, 0.75], labels=["test", "train"])
    bar.ax.tick_params(length=0)
    return fig
