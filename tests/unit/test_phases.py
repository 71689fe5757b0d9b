"""The phase boundaries: the rule on the loss curves and the rule on the progress measures, on planted curves."""

import math

import numpy as np
import pytest
import torch

from grokking.analysis.phases import (
    BOUNDARY_KEYS,
    PhaseError,
    history_phase_boundaries,
    phase_of,
    progress_phase_boundaries,
    snapshot_indices,
)


# ---------------------------------------------------------------- from the loss curves
def test_phase_rule_recovers_planted_crossings(synthetic_history):
    assert history_phase_boundaries(synthetic_history(), p=113) == {
        "memorisation_end": 300, "cleanup_start": 1200, "cleanup_end": 2500,
    }


def test_phase_rule_uses_p_for_chance(synthetic_history):
    history = synthetic_history(p=113)
    history["test_loss"][(history["epoch"] >= 1200) & (history["epoch"] < 1500)] = math.log(113) - 0.05
    # ln 113 - 0.05 is below chance for p = 113 but not for p = 97 (ln 97 < ln 113 - 0.05)
    assert history_phase_boundaries(history, p=113)["cleanup_start"] == 1200
    assert history_phase_boundaries(history, p=97)["cleanup_start"] == 1500


def test_phase_rule_reports_a_run_that_never_groks(synthetic_history):
    history = synthetic_history()
    history["test_loss"][history["epoch"] >= 100] = 20.0
    with pytest.raises(PhaseError, match="below ln 113"):
        history_phase_boundaries(history, p=113)


# ---------------------------------------------------------------- from the progress measures
def synthetic_progress(excluded_min=1200, steep=(5000, 8000), step=100, last=20000):
    """Planted curves: a V-shaped excluded loss and a piecewise-linear Gini(W_L).

    Gini rises fast from 0 to 300 (a start-up spike the rule must skip), slowly
    (1e-5 per epoch) until ``steep[0]``, fast (1e-4 per epoch) until ``steep[1]``,
    then stays flat.
    """
    epochs = np.arange(0, last + 1, step)
    knots_x = [0, 300, steep[0], steep[1], last]
    g300 = 0.15
    g_slow = g300 + 1e-5 * (steep[0] - 300)
    g_top = g_slow + 1e-4 * (steep[1] - steep[0])
    gini = np.interp(epochs, knots_x, [0.0, g300, g_slow, g_top, g_top])
    excluded = 0.1 + np.abs(epochs - excluded_min) / 1000.0
    return {
        "epoch": torch.tensor(epochs),
        "excluded_loss": torch.tensor(excluded, dtype=torch.float64),
        "gini_W_L": torch.tensor(gini, dtype=torch.float64),
    }, (g_slow, g_top)


def test_planted_boundaries_are_recovered():
    curves, (g_slow, g_top) = synthetic_progress()
    bounds = progress_phase_boundaries(curves)
    # 95% of the final Gini is crossed on the steep segment at this epoch; the rule
    # returns the first checkpoint at or after it.
    crossing = 5000 + (0.95 * g_top - g_slow) / 1e-4
    assert bounds == {
        "memorisation_end": 1200,
        "cleanup_start": 5000,
        "cleanup_end": int(math.ceil(crossing / 100) * 100),
    }
    shifted, _ = synthetic_progress(excluded_min=2500, steep=(9000, 11000))
    got = progress_phase_boundaries(shifted)
    assert got["memorisation_end"] == 2500
    assert got["cleanup_start"] == 9000


def test_logistic_gini_half_rate_point():
    # G = logistic((t - t0) / s): its rate is half its peak at t0 - s ln(3 + 2 sqrt 2).
    epochs = torch.arange(0, 30001, 100)
    t0, s = 12000.0, 900.0
    gini = torch.sigmoid((epochs.double() - t0) / s)
    curves = {"epoch": epochs, "gini_W_L": gini,
              "excluded_loss": (epochs.double() - 1000).abs() + 1}
    bounds = progress_phase_boundaries(curves)
    assert bounds["memorisation_end"] == 1000
    assert abs(bounds["cleanup_start"] - (t0 - s * math.log(3 + 2 * math.sqrt(2)))) <= 100
    assert abs(bounds["cleanup_end"] - (t0 + s * math.log(0.95 * gini[-1] / (1 - 0.95 * gini[-1])))) <= 100


def test_no_rise_is_an_error():
    curves, _ = synthetic_progress()
    curves["gini_W_L"] = torch.linspace(0.5, 0.1, len(curves["epoch"])).double()
    with pytest.raises(PhaseError):
        progress_phase_boundaries(curves)


def test_phase_of_names_each_span_and_boundary():
    bounds = dict(zip(BOUNDARY_KEYS, (300, 1200, 2500), strict=False))
    assert [phase_of(e, bounds) for e in (0, 300, 301, 1200, 2000, 2500, 2501)] == [
        "memorisation", "memorisation ends", "circuit formation", "circuit formation ends",
        "clean-up", "clean-up ends", "grokked"]


def test_snapshot_indices_cover_the_phases():
    curves, _ = synthetic_progress()
    bounds = progress_phase_boundaries(curves)
    indices = snapshot_indices(curves, bounds)
    picked = curves["epoch"][indices].tolist()
    assert len(indices) == 10
    assert indices == sorted(set(indices))
    assert set(bounds.values()) <= set(picked)
    assert picked[0] == 0
    assert picked[-1] == int(curves["epoch"][-1])
