"""The phase diagram: train fraction x weight decay, coloured by what each run did."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..analysis.regimes import REGIMES, grid
from .style import REGIME_COLORS, SMALL, STYLE, new_figure


# one colour per regime, increasing in lightness from "no learning" to "fast generalisation"
# except memorisation, so that neighbours stay apart in greyscale too
def _fmt_epochs(epochs) -> str:
    if epochs is None:
        return "-"
    return f"{epochs / 1000:.1f}k" if epochs >= 1000 else str(epochs)


def phase_diagram(rows: list[dict]) -> Figure:
    """Each cell one run: its regime as a colour, and when test accuracy first reached 99%."""
    fracs, wds, regimes = grid(rows, "regime")
    _, _, test_99 = grid(rows, "epoch_test_99")
    _, _, trained = grid(rows, "epochs_trained")
    codes = np.array([[REGIMES.index(r) if r else -1 for r in line] for line in regimes], dtype=float)
    codes[codes < 0] = np.nan
    fig, ax = new_figure(height=3.9)
    with plt.rc_context(STYLE):
        cmap = ListedColormap([REGIME_COLORS[r] for r in REGIMES])
        ax.imshow(codes, cmap=cmap, vmin=-0.5, vmax=len(REGIMES) - 0.5, origin="lower", aspect="auto")
        for i in range(len(wds)):
            for j in range(len(fracs)):
                if regimes[i][j] is None:
                    continue
                text = _fmt_epochs(test_99[i][j]) if test_99[i][j] is not None else f">{_fmt_epochs(trained[i][j])}"
                dark = regimes[i][j] in ("no learning", "memorisation", "grokking")
                ax.text(j, i, text, ha="center", va="center", fontsize=SMALL, color="white" if dark else "black")
        ax.set_xticks(range(len(fracs)), [f"{f:g}" for f in fracs])
        ax.set_yticks(range(len(wds)), [f"{w:g}" for w in wds])
        ax.set_xlabel("fraction of all pairs used for training")
        ax.set_ylabel("AdamW weight decay")
        p = rows[0]["config"]["p"]
        ax.set_title(f"(a + b) mod {p}: epochs until test accuracy first reaches 99%")
        handles = [Patch(color=REGIME_COLORS[r], label=r) for r in REGIMES]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    return fig


def epochs_to_accuracy(rows: list[dict]) -> Figure:
    """Epochs to 99% train accuracy (dashed) and to 99% test accuracy (solid), per weight decay."""
    fracs, wds, test_99 = grid(rows, "epoch_test_99")
    _, _, train_99 = grid(rows, "epoch_train_99")
    fig, ax = new_figure(height=3.6)
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(wds)))
    with plt.rc_context(STYLE):
        for i, wd in enumerate(wds):
            ys = [np.nan if v is None else v for v in test_99[i]]
            ax.plot(fracs, ys, "o-", color=colors[i], label=f"weight decay {wd:g}")
            ms = [np.nan if v is None else v for v in train_99[i]]
            ax.plot(fracs, ms, ":", color=colors[i], lw=1)
        ax.set_yscale("log")
        ax.set_xlabel("fraction of all pairs used for training")
        ax.set_ylabel("epoch (log scale)")
        ax.set_title("Test accuracy 99% (solid; missing: never) vs train accuracy 99% (dotted)")
        ax.legend(fontsize=SMALL, ncol=2)
    return fig


def accuracy_curves(rows: list[dict], frac: float) -> Figure:
    """Test accuracy over training at one train fraction, one line per weight decay."""
    chosen = sorted((r for r in rows if r["config"]["frac_train"] == frac),
                    key=lambda r: r["config"]["weight_decay"])
    fig, ax = new_figure(height=3.4)
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(chosen)))
    with plt.rc_context(STYLE):
        for color, r in zip(colors, chosen, strict=False):
            curve = r["curve"]
            epochs = np.array(curve["epoch"], dtype=float)
            keep = epochs > 0
            ax.plot(epochs[keep], np.array(curve["test_acc"])[keep], color=color,
                    label=f"weight decay {r['config']['weight_decay']:g}")
            ax.plot(epochs[keep], np.array(curve["train_acc"])[keep], color=color, ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel("epoch (log scale)")
        ax.set_ylabel("accuracy")
        ax.set_title(f"Train fraction {frac:g}: test accuracy (solid), train accuracy (dotted)")
        ax.legend(fontsize=SMALL)
    return fig
