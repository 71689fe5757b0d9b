"""Architecture diagrams drawn from the model's live shapes, and the train/test split figure."""

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from grokking.config import Config
from grokking.data import make_dataset
from grokking.model import WEIGHT_NAMES, build_model, model_spec
from grokking.plotting.architecture import draw_detailed, draw_high_level, math_name, plot_split, shape_text


@pytest.fixture(scope="module")
def spec():
    """The spec of a freshly built default model (the committed run's architecture; see
    tests/integration/test_committed_run.py)."""
    return model_spec(build_model(Config()))


def test_detailed_diagram_names_every_matrix_with_its_shape(spec, figure_texts):
    strings = [t.get_text() for t in figure_texts(draw_detailed(spec))]
    for name in WEIGHT_NAMES:  # every trained matrix, by its short name
        wanted = f"{math_name(name)}\n{shape_text(spec['shapes'][name])}"
        assert wanted in strings, f"{name} with shape {spec['shapes'][name]} missing"
    joined = "\n".join(strings)
    assert "W_{QK}" in joined
    assert "W_{OV}" in joined
    assert "W_L" in joined
    assert "512 × 113" in joined  # W_L = W_out W_U, from d_mlp and d_vocab_out


def test_diagrams_follow_the_spec_not_constants(spec, figure_texts):
    """A different (hypothetical) model shape shows up in the drawing."""
    other = dict(spec, n_heads=8, d_mlp=1024,
                 shapes=dict(spec["shapes"], W_Q=(8, 128, 16), W_in=(128, 1024)))
    strings = "\n".join(t.get_text() for t in figure_texts(draw_detailed(other)))
    assert "8 × 128 × 16" in strings
    assert "128 × 1024" in strings
    assert "4 × 128 × 32" in strings  # W_K and W_V unchanged
    high = "\n".join(t.get_text() for t in figure_texts(draw_high_level(other)))
    assert "8 heads" in high
    assert "128 → 1024 → 128" in high


@pytest.mark.parametrize("draw", [draw_high_level, draw_detailed])
def test_diagram_text_does_not_overlap(spec, draw, overlapping_texts):
    assert overlapping_texts(draw(spec)) == []


def test_split_figure_shows_the_training_pairs():
    data = make_dataset(Config(p=23))
    fig = plot_split(data.train_idx, 23)
    assert isinstance(fig, Figure)
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert images
    assert int(torch.tensor(images[0].get_array()).sum()) == len(data.train_idx)


@pytest.mark.parametrize("draw", [draw_high_level, draw_detailed])
def test_box_text_stays_inside_its_box(spec, draw):
    """Each box's label (drawn at the box's centre) fits inside it, with the larger text."""
    fig = draw(spec)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    (ax,) = fig.axes
    boxes = [patch for patch in ax.patches if isinstance(patch, FancyBboxPatch)]
    assert boxes
    for patch in boxes:
        extent = patch.get_window_extent(renderer)
        centre = ax.transData.inverted().transform(((extent.x0 + extent.x1) / 2, (extent.y0 + extent.y1) / 2))
        (label,) = [t for t in ax.texts if np.allclose(t.get_position(), centre, atol=1e-6)]
        text = label.get_window_extent(renderer)
        assert extent.x0 <= text.x0 and text.x1 <= extent.x1, label.get_text()
        assert extent.y0 <= text.y0 and text.y1 <= extent.y1, label.get_text()
