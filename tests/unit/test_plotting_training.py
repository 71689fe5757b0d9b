"""The training figures drawn from a planted history: phases marked, log scales, legible labels."""

from grokking.analysis.phases import history_phase_boundaries
from grokking.plotting.training import plot_accuracy, plot_loss, plot_weight_norm


def test_loss_figure_marks_phases_and_uses_log_scale(synthetic_history, overlapping_texts):
    history = synthetic_history()
    bounds = history_phase_boundaries(history, p=113)
    fig = plot_loss(history, bounds, p=113)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    dashed = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert sorted(dashed) == sorted(bounds.values())
    assert ax.get_xlabel()
    assert ax.get_ylabel()
    assert overlapping_texts(fig) == []
    # without boundaries, no phase lines
    bare = plot_loss(history).axes[0]
    assert not [line for line in bare.get_lines() if line.get_linestyle() == "--"]


def test_accuracy_and_weight_norm_figures_mark_the_phases(synthetic_history, overlapping_texts):
    history = synthetic_history()
    bounds = history_phase_boundaries(history, p=113)
    for fig in (plot_accuracy(history, bounds), plot_weight_norm(history, bounds)):
        ax = fig.axes[0]
        dashed = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
        assert sorted(dashed) == sorted(bounds.values())
        assert ax.get_xlabel()
        assert ax.get_ylabel()
        assert overlapping_texts(fig) == []
