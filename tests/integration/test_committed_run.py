"""The committed paper run: it has grokked, and the code still reproduces it."""

import json
import shutil

import pytest
import torch

from grokking import fast
from grokking.config import Config
from grokking.runs import CANONICAL_RUN, first_epoch_reaching
from grokking.train import train


def test_is_the_default_config_and_small(canonical):
    assert canonical.config == Config()
    # checkpoints/ exists only where the run was trained locally; git ignores it.
    committed = [p for p in CANONICAL_RUN.iterdir() if p.is_file()]
    assert sum(p.stat().st_size for p in committed) <= 10 * 1024 * 1024
    assert {p.name for p in committed} == {
        "config.json", "model.safetensors", "history.json", "manifest.json", "progress.safetensors"}


def test_progress_measures_cover_every_checkpoint(canonical):
    from grokking.progress import MEASURES, load_progress

    progress = load_progress(CANONICAL_RUN)
    assert progress["epoch"].tolist() == list(range(0, 40_001, 100))
    for key in MEASURES:
        assert progress[key].shape == (401,) and torch.isfinite(progress[key]).all(), key
    # The measures agree with the training history at the same epochs.
    h = canonical.history
    at = {int(e): i for i, e in enumerate(h["epoch"].tolist())}
    for i in (0, 100, 200, 400):
        j = at[int(progress["epoch"][i])]
        assert progress["train_loss"][i] == pytest.approx(float(h["train_loss"][j]), rel=1e-3)
        assert progress["test_loss"][i] == pytest.approx(float(h["test_loss"][j]), rel=1e-3)


def test_grokked_on_all_pairs(canonical):
    data = canonical.data
    with torch.no_grad():  # through HookedTransformer itself, all 12,769 pairs
        logits = canonical.model(data.tokens)[:, -1]
    correct = logits.argmax(-1) == data.labels
    assert len(correct) == 113 * 113
    test_acc = correct[data.test_idx].double().mean()
    test_loss = fast.cross_entropy_high_precision(logits[data.test_idx], data.labels[data.test_idx])
    assert test_acc >= 0.999
    assert test_loss < 1e-3
    assert correct[data.train_idx].all()
    # The stored history agrees with a fresh evaluation.
    assert abs(canonical.history["test_loss"][-1] - test_loss) <= 1e-3 * test_loss + 1e-9


def test_generalisation_delayed_past_memorisation(canonical):
    h = canonical.history
    memorised = first_epoch_reaching(h, "train_acc", 1.0)
    grokked = first_epoch_reaching(h, "test_acc", 0.99)
    assert memorised is not None and grokked is not None
    assert grokked > 2000
    assert grokked > 3 * memorised


@pytest.mark.slow
def test_first_1000_epochs_reproduce(tmp_path, canonical):
    config = Config().replace(epochs=1000)
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(config.to_json())
    torch.set_flush_denormal(True)
    history = train(config, run_dir, keep_checkpoints=False).history
    committed = json.loads((CANONICAL_RUN / "history.json").read_text())
    n = len(history["epoch"])
    assert committed["epoch"][:n] == history["epoch"]
    for key in ("train_loss", "test_loss", "train_acc", "test_acc", "weight_norm"):
        a, b = torch.tensor(history[key]), torch.tensor(committed[key][:n])
        assert torch.allclose(a, b, rtol=1e-2, atol=1e-3), key
    shutil.rmtree(run_dir)
