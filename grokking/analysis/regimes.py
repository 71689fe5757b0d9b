"""Naming what a run did: the regions of the grokking phase diagram.

A run of the ``phase`` sweep (:mod:`grokking.sweep`) is summarised by when train
and test accuracy first reach 99%. Its regime is

- **no learning**: train accuracy never reaches 99%;
- **memorisation**: train accuracy does, test accuracy never does (within the
  run's epochs);
- **grokking**: test accuracy reaches 99%, but only more than
  ``delay`` epochs after train accuracy did: a long plateau of memorisation first;
- **fast generalisation**: test accuracy follows train accuracy within ``delay`` epochs.
"""

from __future__ import annotations

REGIMES = ("no learning", "memorisation", "grokking", "fast generalisation")
GROKKING_DELAY = 1000  # epochs between memorising and generalising that count as a plateau


def regime(row: dict, delay: int = GROKKING_DELAY) -> str:
    """The regime of one result row (see :func:`grokking.sweep.result_row`)."""
    train_99, test_99 = row["epoch_train_99"], row["epoch_test_99"]
    if train_99 is None:
        return "no learning"
    if test_99 is None:
        return "memorisation"
    return "grokking" if test_99 - train_99 > delay else "fast generalisation"


def grid(rows: list[dict], key: str) -> tuple[list[float], list[float], list[list]]:
    """Train fractions (columns), weight decays (rows) and ``key`` of each cell (None where missing).

    ``key`` is a field of the rows, or ``"regime"``.
    """
    fracs = sorted({r["config"]["frac_train"] for r in rows})
    wds = sorted({r["config"]["weight_decay"] for r in rows})
    cells = [[None] * len(fracs) for _ in wds]
    for r in rows:
        i = wds.index(r["config"]["weight_decay"])
        j = fracs.index(r["config"]["frac_train"])
        cells[i][j] = regime(r) if key == "regime" else r[key]
    return fracs, wds, cells


def table(rows: list[dict]):
    """One line per run, formatted for reading: the committed facts plus the regime (a DataFrame)."""
    import pandas as pd

    def epoch(value) -> str:
        return "never" if value is None else f"{value:,}"

    lines = []
    for r in rows:
        c = r["config"]
        lines.append({
            "train fraction": f"{c['frac_train']:g}",
            "weight decay": f"{c['weight_decay']:g}",
            "epochs trained": f"{r['epochs_trained']:,}",
            "train acc 99% at": epoch(r["epoch_train_99"]),
            "test acc 99% at": epoch(r["epoch_test_99"]),
            "final train acc": f"{r['final_train_acc']:.1%}",
            "final test acc": f"{r['final_test_acc']:.1%}",
            "key frequencies": ", ".join(map(str, r["key_frequencies"])) or "none",
            "regime": regime(r),
        })
    return pd.DataFrame(lines)


def cells_in(rows: list[dict], *, fracs=None, weight_decays=None) -> list[dict]:
    """The rows whose train fraction and weight decay are among those given (None: any)."""
    return [r for r in rows
            if (fracs is None or r["config"]["frac_train"] in fracs)
            and (weight_decays is None or r["config"]["weight_decay"] in weight_decays)]


# ---------------------------------------------------------------- the paper's appendix
def _describe(rows: list[dict]) -> str:
    parts = []
    for r in sorted(rows, key=lambda r: (r["config"]["frac_train"], r["config"]["weight_decay"])):
        c = r["config"]
        when = r["epoch_test_99"]
        what = regime(r) + (f" (test 99% at {when})" if when is not None else "")
        parts.append(f"frac {c['frac_train']:g}, wd {c['weight_decay']:g}: {what}")
    return "; ".join(parts)


def _verdict(ok: list[bool]) -> str:
    if not ok:
        return "not in this grid"
    return "agrees" if all(ok) else "partly" if any(ok) else "differs"


def paper_comparison(rows: list[dict], weight_decay: float = 1.0, frac: float = 0.3) -> list[dict]:
    """The paper's appendix facts next to what this grid did, each with a computed verdict.

    The paper's facts are for p = 113 and 40k epochs; the grid's modulus and length
    are whatever its rows say. ``weight_decay`` and ``frac`` pick the slices that
    correspond to the paper's defaults.
    """
    cap = max(r["config"]["epochs"] for r in rows) if rows else 0
    facts = []

    wd0 = cells_in(rows, weight_decays=[0.0])
    facts.append({
        "paper (p = 113)": "weight decay 0 never groks",
        "this grid": _describe(wd0),
        "verdict": _verdict([regime(r) not in ("grokking", "fast generalisation") for r in wd0]),
    })

    chosen = cells_in(rows, fracs=[frac], weight_decays=[0.3, 1.0, 3.0])
    times = [r["epoch_test_99"] for r in sorted(chosen, key=lambda r: r["config"]["weight_decay"])]
    ordered = [t for t in times if t is not None]
    facts.append({
        "paper (p = 113)": "weight decay 0.3 / 1 / 3 grok at roughly 3k / 5-10k / 20k epochs "
                           f"(train fraction {frac:g}): later for larger weight decay",
        "this grid": _describe(chosen),
        "verdict": _verdict([len(ordered) == len(times) == 3 and ordered == sorted(ordered)]) if chosen else
        _verdict([]),
    })

    mid = cells_in(rows, fracs=[0.3, 0.4, 0.5], weight_decays=[weight_decay])
    facts.append({
        "paper (p = 113)": "train fractions 0.3-0.5 grok",
        "this grid": _describe(mid),
        "verdict": _verdict([regime(r) == "grokking" for r in mid]),
    })

    high = [r for r in cells_in(rows, weight_decays=[weight_decay]) if r["config"]["frac_train"] >= 0.6]
    facts.append({
        "paper (p = 113)": "train fractions >= 0.6 generalise at once",
        "this grid": _describe(high),
        "verdict": _verdict([regime(r) == "fast generalisation" for r in high]),
    })

    low = [r for r in cells_in(rows, weight_decays=[weight_decay]) if r["config"]["frac_train"] <= 0.2]
    facts.append({
        "paper (p = 113)": "train fractions <= 0.2 do not grok within 40k epochs",
        "this grid": _describe(low) + f" (within {cap} epochs)",
        "verdict": _verdict([regime(r) not in ("grokking", "fast generalisation") for r in low]),
    })
    return facts
