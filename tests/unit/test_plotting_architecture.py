"""Architecture diagrams, the phase-boundary rule and the training figures."""

import math

import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg

from grokking.phases import PhaseError, history_phase_boundaries, run_phase_boundaries
from grokking.plotting.architecture import (
    MATRICES, draw_detailed, draw_high_level, math_name, model_spec, shape_text,
)
from grokking.plotting.training import FIGURES as TRAINING_FIGURES
from grokking.plotting.training import plot_loss


def texts(fig) -> list:
    return [t for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text().strip()]


def overlapping_texts(fig) -> list[tuple[str, str]]:
    """Pairs of overlapping labels (titles, axis labels, legends, annotations; not tick labels)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    labels = []
    for ax in fig.axes:
        legend = ax.get_legend()
        labels += ax.texts + [ax.title, ax.xaxis.label, ax.yaxis.label]
        labels += legend.get_texts() if legend else []
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels
             if t.get_visible() and t.get_text().strip()]
    return [
        (a, b)
        for i, (a, box_a) in enumerate(boxes)
        for b, box_b in boxes[i + 1:]
        if box_a.overlaps(box_b)
    ]


@pytest.fixture(scope="module")
def spec(canonical):
    return model_spec(canonical.model)


# ---------------------------------------------------------------- diagrams
def test_spec_reads_live_shapes(spec, canonical):
    cfg = canonical.config
    assert spec["shapes"] == {
        "W_E": (cfg.d_vocab, cfg.d_model), "W_pos": (cfg.n_ctx, cfg.d_model),
        "W_Q": (cfg.n_heads, cfg.d_model, cfg.d_head), "W_K": (cfg.n_heads, cfg.d_model, cfg.d_head),
        "W_V": (cfg.n_heads, cfg.d_model, cfg.d_head), "W_O": (cfg.n_heads, cfg.d_head, cfg.d_model),
        "W_in": (cfg.d_model, cfg.d_mlp), "W_out": (cfg.d_mlp, cfg.d_model),
        "W_U": (cfg.d_model, cfg.d_vocab_out),
    }
    assert spec["shapes"]["W_E"] == (114, 128) and spec["shapes"]["W_U"] == (128, 113)
    assert spec["n_heads"] == 4 and spec["d_mlp"] == 512 and spec["act_fn"] == "relu"


def test_detailed_diagram_names_every_matrix_with_its_shape(spec):
    strings = [t.get_text() for t in texts(draw_detailed(spec))]
    for name in MATRICES:
        wanted = f"{math_name(name)}\n{shape_text(spec['shapes'][name])}"
        assert wanted in strings, f"{name} with shape {spec['shapes'][name]} missing"
    joined = "\n".join(strings)
    assert "W_{QK}" in joined and "W_{OV}" in joined and "W_L" in joined
    assert "512 × 113" in joined  # W_L = W_out W_U, from d_mlp and d_vocab_out


def test_diagrams_follow_the_spec_not_constants(spec):
    """A different (hypothetical) model shape shows up in the drawing."""
    other = dict(spec, n_heads=8, d_mlp=1024,
                 shapes=dict(spec["shapes"], W_Q=(8, 128, 16), W_in=(128, 1024)))
    strings = "\n".join(t.get_text() for t in texts(draw_detailed(other)))
    assert "8 × 128 × 16" in strings and "128 × 1024" in strings
    assert "4 × 128 × 32" in strings  # W_K and W_V unchanged
    high = "\n".join(t.get_text() for t in texts(draw_high_level(other)))
    assert "8 heads" in high and "128 → 1024 → 128" in high


@pytest.mark.parametrize("draw", [draw_high_level, draw_detailed])
def test_diagram_text_does_not_overlap(spec, draw):
    assert overlapping_texts(draw(spec)) == []


# ---------------------------------------------------------------- phases
def synthetic_history(p: int = 113) -> dict[str, torch.Tensor]:
    """Train accuracy hits 100% at epoch 300, test loss < ln p at 1200, test <= 10x train at 2500."""
    epochs = torch.arange(0, 4000, 10, dtype=torch.float64)
    chance = math.log(p)
    train_acc = torch.where(epochs >= 300, 1.0, epochs / 400)
    train_loss = torch.where(epochs >= 300, 1e-3, 2.0)
    # test loss starts just below chance (as at initialisation), rises while memorising,
    # crosses ln p at epoch 1200, and reaches 10x the train loss at epoch 2500
    test_loss = torch.full_like(epochs, chance - 0.1)
    test_loss[(epochs >= 100) & (epochs < 1200)] = 2 * chance
    test_loss[(epochs >= 1200) & (epochs < 2500)] = 0.5
    test_loss[epochs >= 2500] = 0.01
    return {"epoch": epochs, "train_acc": train_acc, "train_loss": train_loss,
            "test_loss": test_loss, "test_acc": torch.zeros_like(epochs),
            "weight_norm": torch.linspace(50, 20, len(epochs), dtype=torch.float64)}


def test_phase_rule_recovers_planted_crossings():
    assert history_phase_boundaries(synthetic_history()) == {
        "memorisation_end": 300, "cleanup_start": 1200, "cleanup_end": 2500,
    }


def test_phase_rule_uses_p_for_chance():
    history = synthetic_history(p=113)
    history["test_loss"][(history["epoch"] >= 1200) & (history["epoch"] < 1500)] = math.log(113) - 0.05
    # ln 113 - 0.05 is below chance for p = 113 but not for p = 97 (ln 97 < ln 113 - 0.05)
    assert history_phase_boundaries(history, p=113)["cleanup_start"] == 1200
    assert history_phase_boundaries(history, p=97)["cleanup_start"] == 1500


def test_phase_rule_reports_a_run_that_never_groks():
    history = synthetic_history()
    history["test_loss"][history["epoch"] >= 100] = 20.0
    with pytest.raises(PhaseError, match="below ln 113"):
        history_phase_boundaries(history)


def test_committed_run_phases_are_ordered(canonical):
    b = history_phase_boundaries(canonical.history, canonical.config.p)
    assert 0 < b["memorisation_end"] < b["cleanup_start"] < b["cleanup_end"] < canonical.config.epochs
    h = canonical.history
    at = {int(e): i for i, e in enumerate(h["epoch"])}
    assert h["train_acc"][at[b["memorisation_end"]]] == 1.0
    assert h["test_loss"][at[b["cleanup_start"]]] < math.log(canonical.config.p)
    assert h["test_loss"][at[b["cleanup_start"]] - 1] >= math.log(canonical.config.p)


# ---------------------------------------------------------------- training figures
def test_loss_figure_marks_phases_and_uses_log_scale():
    history = synthetic_history()
    bounds = history_phase_boundaries(history)
    fig = plot_loss(history, bounds, p=113)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    dashed = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert sorted(dashed) == sorted(bounds.values())
    assert ax.get_xlabel() and ax.get_ylabel()
    assert overlapping_texts(fig) == []
    # without boundaries, no phase lines
    bare = plot_loss(history).axes[0]
    assert not [line for line in bare.get_lines() if line.get_linestyle() == "--"]


def test_training_figures_are_registered():
    assert {"log_loss", "training_accuracy", "training_weight_norm"} <= set(TRAINING_FIGURES)


def test_committed_run_figures_have_no_colliding_labels(canonical):
    """The phase names fit on the real run (a linear epoch axis squeezed them together)."""
    bounds = history_phase_boundaries(canonical.history, canonical.config.p)
    fig = plot_loss(canonical.history, bounds, p=canonical.config.p)
    assert overlapping_texts(fig) == []
    assert fig.axes[0].get_xscale() == "log"


def test_committed_run_figures_mark_the_progress_phases(canonical):
    """The book's training figures draw the phases found from the progress measures, legibly."""
    from grokking.context import RunContext

    bounds = run_phase_boundaries(canonical)
    ctx = RunContext(canonical)
    assert ctx.phase_boundaries == bounds
    for name, draw in TRAINING_FIGURES.items():
        fig = draw(ctx)
        ax = fig.axes[0]
        dashed = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
        assert sorted(dashed) == sorted(bounds.values()), name
        assert overlapping_texts(fig) == [], name
        assert ax.get_xscale() == "log", name
