"""The committed run's phases: by the progress measures and by the loss curves; its training figures mark them."""

import math

import pytest

from grokking.analysis import progress
from grokking.analysis.context import RunContext
from grokking.analysis.curves import loss_spikes
from grokking.analysis.phases import (
    history_phase_boundaries,
    progress_phase_boundaries,
    run_phase_boundaries,
    snapshot_indices,
)
from grokking.figures import RUN_FIGURES
from grokking.plotting import progress as progress_plots
from grokking.plotting import training

TRAINING_FIGURES = ("log_loss", "training_accuracy", "training_weight_norm")


@pytest.fixture(scope="module")
def measured(canonical):
    return progress.load_progress(canonical.path)


def test_committed_run_phases(canonical, measured):
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
    # Clean-up collapses the test loss by orders of magnitude, and when it ends the model
    # gets every test pair right.
    assert at["test_loss"][e] < 1e-4 * at["test_loss"][s]
    right = progress.unpack_bits(measured["correct_bits"][measured["epoch"] == e][0], 113 * 113)
    assert bool(right.all())
    # After clean-up, up to the first late spike, the key frequencies alone nearly suffice;
    # just before that spike and at the end they beat the model's own training loss.
    first_spike = loss_spikes(canonical.history)[0]["start"]
    after = (measured["epoch"] >= e) & (measured["epoch"] < first_spike)
    assert after.sum() > 100
    assert (measured["restricted_loss"][after] < 1e-4).all()
    last_pre = int(after.nonzero()[-1, 0])
    assert measured["restricted_loss"][last_pre] < measured["train_loss"][last_pre]
    assert measured["restricted_loss"][-1] < measured["train_loss"][-1]


def test_committed_run_phases_are_ordered(canonical):
    b = history_phase_boundaries(canonical.history, canonical.config.p)
    assert 0 < b["memorisation_end"] < b["cleanup_start"] < b["cleanup_end"] < canonical.config.epochs
    h = canonical.history
    at = {int(e): i for i, e in enumerate(h["epoch"])}
    assert h["train_acc"][at[b["memorisation_end"]]] == 1.0
    assert h["test_loss"][at[b["cleanup_start"]]] < math.log(canonical.config.p)
    assert h["test_loss"][at[b["cleanup_start"]] - 1] >= math.log(canonical.config.p)


# ---------------------------------------------------------------- training figures
def test_committed_run_figures_have_no_colliding_labels(canonical, overlapping_texts):
    """The phase names fit on the real run (a linear epoch axis squeezed them together)."""
    bounds = history_phase_boundaries(canonical.history, canonical.config.p)
    fig = training.plot_loss(canonical.history, bounds, p=canonical.config.p)
    assert overlapping_texts(fig) == []
    assert fig.axes[0].get_xscale() == "log"


def test_committed_run_figures_mark_the_progress_phases(canonical, overlapping_texts):
    """The book's training figures draw the phases found from the progress measures, legibly."""
    bounds = run_phase_boundaries(canonical)
    ctx = RunContext(canonical)
    assert ctx.phase_boundaries == bounds
    for name in TRAINING_FIGURES:
        fig = RUN_FIGURES[name](ctx)
        ax = fig.axes[0]
        dashed = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
        assert sorted(dashed) == sorted(bounds.values()), name
        assert overlapping_texts(fig) == [], name
        assert ax.get_xscale() == "log", name


def test_animation_and_snapshots(measured):
    bounds = progress_phase_boundaries(measured)
    html = progress_plots.embedding_norms_animation(measured, bounds, n_frames=4, dpi=30)
    assert "<script" in html
    assert html.count("data:image/png;base64") == 5
    indices = snapshot_indices(measured, bounds)
    picked = measured["epoch"][indices].tolist()
    assert picked == sorted(picked)
    assert set(bounds.values()) <= set(picked)
    assert picked[0] == 0
    assert picked[-1] == int(measured["epoch"][-1])
