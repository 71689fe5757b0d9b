"""Phases from progress measures (planted curves and the committed run) and Fourier ablations."""

import math

import numpy as np
import pytest
import torch

from grokking import ablations, progress
from grokking.analysis import cross_entropy_chunked
from grokking.data import all_pairs
from grokking.phases import PhaseError, progress_phase_boundaries
from grokking.plotting import progress as prog_plots


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
    assert got["memorisation_end"] == 2500 and got["cleanup_start"] == 9000


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


@pytest.fixture(scope="module")
def measured(canonical):
    return progress.load_progress(canonical.path)


def test_committed_run_phases(measured):
    bounds = progress_phase_boundaries(measured)
    m, s, e = bounds.values()
    assert 0 < m < s < e < int(measured["epoch"][-1])
    at = {k: {b: float(measured[k][measured["epoch"] == b][0]) for b in (m, s, e)}
          for k in ("test_loss", "restricted_loss", "excluded_loss")}
    ln_p = math.log(113)
    # Memorisation: the test loss is far above chance when it ends.
    assert at["test_loss"][m] > ln_p
    # Circuit formation: the excluded loss has risen; the restricted loss is ahead of the test loss.
    assert at["excluded_loss"][s] > 10 * at["excluded_loss"][m]
    assert at["restricted_loss"][s] < 0.1 * at["test_loss"][s]
    # After clean-up the model generalises.
    assert at["test_loss"][e] < 1e-5
    # After clean-up the key frequencies alone nearly suffice, and in the end they beat
    # the model's own training loss.
    after = measured["epoch"] >= e
    assert (measured["restricted_loss"][after] < 1e-4).all()
    assert measured["restricted_loss"][-1] < measured["train_loss"][-1]


# ------------------------------------------------------------------ ablations
def planted_logits(p, freqs, alphas):
    a = torch.arange(p).repeat_interleave(p).double()
    b = torch.arange(p).repeat(p).double()
    c = torch.arange(p).double()
    out = torch.full((p * p, p), 0.3, dtype=torch.float64)
    for k, alpha in zip(freqs, alphas):
        out += alpha * torch.cos(2 * math.pi * k * ((a + b)[:, None] - c) / p)
    return out.float()


def test_ablations_on_planted_logits():
    p, keys = 23, [3, 8]
    logits = planted_logits(p, keys, [6.0, 4.0])
    labels = all_pairs(p)[1]
    test_idx = torch.arange(0, p * p, 3)
    rows = ablations.frequency_ablation_losses(logits, labels, test_idx, p, keys, control_freqs=[5])
    full = rows["model"]["all pairs"]
    assert full == pytest.approx(cross_entropy_chunked(logits, labels))
    assert rows["model"]["test pairs"] == pytest.approx(cross_entropy_chunked(logits[test_idx], labels[test_idx]))
    # Logits made only of key terms: removing all leaves a constant (ln p), keeping them changes nothing,
    # removing an unused frequency changes nothing.
    assert rows["without all key frequencies"]["all pairs"] == pytest.approx(math.log(p), rel=1e-5)
    assert rows["key frequencies only"]["all pairs"] == pytest.approx(full, rel=1e-4)
    assert rows["without k=5 (control)"]["all pairs"] == pytest.approx(full, rel=1e-4)
    # Removing the stronger frequency hurts more than removing the weaker one.
    assert full < rows["without k=8"]["all pairs"] < rows["without k=3"]["all pairs"] < math.log(p)
    assert torch.equal(ablations.ablate_frequencies(logits, p, []), logits)


def test_strongest_other_frequency():
    norms = torch.tensor([1.0, 9.0, 2.0, 5.0, 3.0])
    assert ablations.strongest_other_frequency(norms, [2]) == 4
    assert ablations.strongest_other_frequency(norms, [2, 4]) == 5


@pytest.fixture(scope="module")
def final_logits(canonical):
    tokens, _ = all_pairs(canonical.config.p)
    with torch.no_grad():
        return canonical.model(tokens)[:, -1]


def test_committed_run_ablations(canonical, measured, final_logits):
    p = canonical.config.p
    keys = measured["key_frequencies"].tolist()
    labels = all_pairs(p)[1]
    test_idx = canonical.data.test_idx
    rows = ablations.frequency_ablation_losses(final_logits, labels, test_idx, p, keys, control_freqs=[1])
    model = rows["model"]["all pairs"]
    # Nothing ablated: the model's own losses, as recorded in training.
    assert cross_entropy_chunked(ablations.ablate_frequencies(final_logits, p, []), labels) == model
    assert rows["model"]["test pairs"] == pytest.approx(float(canonical.history["test_loss"][-1]), rel=1e-3)
    # All key frequencies out: orders of magnitude worse, worse than chance.
    assert rows["without all key frequencies"]["all pairs"] > max(1e4 * model, math.log(p))
    for k in keys:
        assert rows[f"without k={k}"]["all pairs"] > 100 * model
    assert rows["without k=1 (control)"]["all pairs"] < 2 * model
    # Key frequencies only: not worse (at most 10x the model's loss; in fact lower).
    assert rows["key frequencies only"]["all pairs"] <= 10 * model
    assert rows["key frequencies only"]["all pairs"] == pytest.approx(float(measured["restricted_loss"][-1]), rel=1e-3)


def test_animation_and_snapshots(measured):
    bounds = progress_phase_boundaries(measured)
    html = prog_plots.embedding_norms_animation(measured, bounds, n_frames=4, dpi=30)
    assert "<script" in html and html.count("data:image/png;base64") == 5  # 4 frames + the last epoch
    indices = prog_plots.snapshot_epochs(measured, bounds)
    picked = measured["epoch"][indices].tolist()
    assert picked == sorted(picked) and set(bounds.values()) <= set(picked)
    assert picked[0] == 0 and picked[-1] == int(measured["epoch"][-1])
