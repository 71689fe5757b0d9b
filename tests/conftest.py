from pathlib import Path

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from grokking.config import Config
from grokking.model import trainable_parameters
from grokking.runs.load import load_run
from grokking.training import fast

# The repository root, from this file's place in it (tests/conftest.py). The package never
# computes paths from its own location: the tests pass the committed runs' folders in (test
# files in tests/unit, tests/integration and tests/site use Path(__file__).resolve().parents[2]).
ROOT = Path(__file__).resolve().parents[1]
CANONICAL_RUN = ROOT / "runs" / "canonical"


@pytest.fixture
def tiny_config() -> Config:
    """A small, quick configuration with the paper's structure."""
    return Config(p=23, d_model=32, n_heads=4, d_head=8, d_mlp=64, epochs=60,
                  eval_every=10, checkpoint_every=20)


@pytest.fixture(scope="session")
def canonical():
    """The committed paper run (runs/canonical), loaded once per session."""
    if not (CANONICAL_RUN / "manifest.json").exists():
        pytest.fail(f"the committed run is missing at {CANONICAL_RUN}")
    return load_run(CANONICAL_RUN)


@pytest.fixture(autouse=True)
def _deterministic_threads():
    torch.manual_seed(0)
    yield
    # The CLI's train and sweep set this for their whole process (grokking.training.cpu);
    # a test that calls cli.main in process must not hand it to the next test.
    torch.set_flush_denormal(False)


class Float64Watch(TorchDispatchMode):
    """Records the largest float64 tensor any operation produces while active."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor) and t.dtype == torch.float64:
                self.largest = max(self.largest, t.numel())
        return out


@pytest.fixture
def float64_watch():
    """A fresh Float64Watch: ``with float64_watch: ...`` then read ``.largest``."""
    return Float64Watch()


@pytest.fixture(scope="session")
def new_float64_watch():
    """The Float64Watch class, for fixtures wider than one test: ``with new_float64_watch() as watch: ...``."""
    return Float64Watch


# ------------------------------------------------------------------ the fast step against HookedTransformer
def _reference_step(model, tokens, labels):
    for p in model.parameters():
        p.grad = None
    logits = fast.reference_last_logits(model, tokens)
    loss = fast.cross_entropy_high_precision(logits, labels)
    loss.backward()
    return loss.detach(), logits.detach(), {k: p.grad.clone() for k, p in trainable_parameters(model).items()}


def assert_fast_equivalent(model, tokens, labels, rtol=1e-4):
    ref_loss, ref_logits, ref_grads = _reference_step(model, tokens, labels)
    loss, logits, grads = fast.loss_and_grads(model, tokens, labels)
    scale = ref_logits.abs().max()
    assert (logits - ref_logits).abs().max() <= 1e-5 * scale
    assert torch.allclose(fast.last_logits(model, tokens), ref_logits, rtol=0, atol=1e-5 * float(scale))
    assert abs(float(loss) - float(ref_loss)) <= rtol * float(ref_loss) + 1e-12
    assert set(grads) == set(ref_grads)
    for name, ref in ref_grads.items():
        err = (grads[name] - ref).abs().max()
        assert err <= rtol * ref.abs().max() + 1e-12, (name, float(err), float(ref.abs().max()))


@pytest.fixture
def assert_equivalent():
    """:func:`assert_fast_equivalent`: the fast step's logits, loss and gradients equal HookedTransformer's."""
    return assert_fast_equivalent


# ------------------------------------------------------------------ figures
def figure_texts(fig) -> list:
    """Every artist of ``fig`` with non-blank text."""
    return [t for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text().strip()]


def overlapping_texts(fig) -> list[tuple[str, str]]:
    """Pairs of overlapping labels (titles, axis labels, legends, annotations; not tick labels)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    labels = []
    for ax in fig.axes:
        legend = ax.get_legend()
        labels += [*ax.texts, ax.title, ax.xaxis.label, ax.yaxis.label]
        labels += legend.get_texts() if legend else []
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels
             if t.get_visible() and t.get_text().strip()]
    return [
        (a, b)
        for i, (a, box_a) in enumerate(boxes)
        for b, box_b in boxes[i + 1:]
        if box_a.overlaps(box_b)
    ]


@pytest.fixture(name="overlapping_texts")
def overlapping_texts_fixture():
    """:func:`overlapping_texts`: the pairs of a figure's labels that overlap (``[]`` when legible)."""
    return overlapping_texts


@pytest.fixture(name="figure_texts")
def figure_texts_fixture():
    return figure_texts


def synthetic_history(p: int = 113) -> dict[str, torch.Tensor]:
    """Train accuracy hits 100% at epoch 300, test loss < ln p at 1200, test <= 10x train at 2500."""
    import math

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


@pytest.fixture(name="synthetic_history")
def synthetic_history_fixture():
    """:func:`synthetic_history`, a function of p: a planted training history with known phase boundaries."""
    return synthetic_history
