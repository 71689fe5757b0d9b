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

from itertools import pairwise

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


# ---------------------------------------------------------------- published measurements
# Each comparison quotes or paraphrases a checkable statement, with where it is. (An earlier
# version compared the grid with "weight decay 0.3 / 1 / 3 groks at ~3k / 5-10k / 20k epochs"
# and train-fraction thresholds attributed to Nanda et al.; no such sentence is in that
# paper, so they are gone.)
SOURCES = {
    "power": "Power et al. 2022, section 3.3 and Fig. 2: of the interventions tried, weight decay "
             "improves data efficiency the most (\"more than halving the amount of samples needed\")",
    "omnigrok": "Liu, Michaud and Tegmark 2023 (Omnigrok, ICLR 2023): the time from memorisation to "
                "generalisation scales as 1 / weight decay (more weight decay, sooner)",
    "nanda_sweep": "Nanda et al.'s repository, saved_runs/mod_addition_frac_train_sweep.pth: the epoch at "
                   "which test loss first falls below 0.1 drops as the train "
                   "fraction grows (0.25: 21,848; 0.3: 7,930; 0.4: 3,109; 0.5: 956; 0.6-0.95: 157-440)",
}


def _describe(rows: list[dict]) -> str:
    parts = []
    for r in sorted(rows, key=lambda r: (r["config"]["frac_train"], r["config"]["weight_decay"])):
        c = r["config"]
        when = r["epoch_test_99"]
        what = regime(r) + (f" (test 99% at {when:,})" if when is not None else "")
        parts.append(f"frac {c['frac_train']:g}, wd {c['weight_decay']:g}: {what}")
    return "; ".join(parts)


def _verdict(ok: list[bool]) -> str:
    if not ok:
        return "not in this grid"
    return "agrees" if all(ok) else "partly" if any(ok) else "differs"


def _generalises(r: dict) -> bool:
    return r["epoch_test_99"] is not None


def smallest_fraction_that_generalises(rows: list[dict], weight_decay: float) -> float | None:
    """The least train fraction whose run at ``weight_decay`` reaches the accuracy threshold."""
    fracs = [r["config"]["frac_train"] for r in cells_in(rows, weight_decays=[weight_decay]) if _generalises(r)]
    return min(fracs) if fracs else None


def data_boundary(rows: list[dict], weight_decay: float) -> tuple[float, float] | None:
    """Where the grid's data boundary lies at ``weight_decay``: the largest train fraction
    below :func:`smallest_fraction_that_generalises` and that fraction (None when no
    fraction generalises, or the smallest of the grid already does)."""
    smallest = smallest_fraction_that_generalises(rows, weight_decay)
    below = [r["config"]["frac_train"] for r in cells_in(rows, weight_decays=[weight_decay])
             if r["config"]["frac_train"] < (smallest or 0.0)]
    return (max(below), smallest) if smallest is not None and below else None


def _non_increasing(values: list) -> bool:
    return all(b <= a for a, b in pairwise(values))


def published_comparison(rows: list[dict], weight_decay: float = 1.0) -> list[dict]:
    """Published measurements (:data:`SOURCES`) next to what this grid did, each with a verdict.

    - ``power``: for the positive weight decays in increasing order, the smallest train
      fraction that generalises never grows, and shrinks at least once;
    - ``omnigrok``: at every train fraction where two or more weight decays generalise,
      the epochs between train and test accuracy reaching the threshold fall as weight
      decay grows;
    - ``nanda_sweep``: at ``weight_decay``, the epoch test accuracy reaches the threshold
      falls as the train fraction grows (over the fractions that generalise).
    """
    facts = []
    wds = sorted({r["config"]["weight_decay"] for r in rows if r["config"]["weight_decay"] > 0})
    smallest = [smallest_fraction_that_generalises(rows, wd) for wd in wds]
    known = [f for f in smallest if f is not None]
    facts.append({
        "source": SOURCES["power"],
        "this grid": "; ".join(f"wd {wd:g}: {'none' if f is None else f'{f:g}'}" for wd, f in zip(wds, smallest,
                                                                                                 strict=True))
                     + " (smallest train fraction that generalises)",
        "verdict": _verdict([_non_increasing([f if f is not None else 2.0 for f in smallest])
                             and len(known) >= 2 and known[-1] < known[0]]) if len(wds) >= 2 else _verdict([]),
    })
    checks, shown = [], []
    for frac in sorted({r["config"]["frac_train"] for r in rows}):
        cells = sorted((r for r in cells_in(rows, fracs=[frac]) if _generalises(r) and r["config"]["weight_decay"] > 0
                        and r["epoch_train_99"] is not None), key=lambda r: r["config"]["weight_decay"])
        if len(cells) >= 2:
            delays = [r["epoch_test_99"] - r["epoch_train_99"] for r in cells]
            checks.append(_non_increasing(delays) and delays[-1] < delays[0])
            shown.append(f"frac {frac:g}: " + " / ".join(f"{d:,}" for d in delays) + " for wd "
                         + " / ".join(f"{r['config']['weight_decay']:g}" for r in cells))
    facts.append({"source": SOURCES["omnigrok"],
                  "this grid": "; ".join(shown) + " (epochs from train to test 99%)" if shown else "-",
                  "verdict": _verdict(checks)})
    column = sorted((r for r in cells_in(rows, weight_decays=[weight_decay]) if _generalises(r)),
                    key=lambda r: r["config"]["frac_train"])
    facts.append({"source": SOURCES["nanda_sweep"],
                  "this grid": _describe(column) if column else "-",
                  "verdict": _verdict([_non_increasing([r["epoch_test_99"] for r in column])]) if len(column) >= 2
                  else _verdict([])})
    return facts
