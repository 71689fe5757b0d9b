"""The committed paper run: it has grokked, and the code still reproduces it."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from grokking.analysis.curves import first_epoch_reaching, loss_spikes
from grokking.config import Config
from grokking.model import build_model, model_spec
from grokking.pipeline import load_or_train
from grokking.runs import store
from grokking.training import fast
from grokking.training.cpu import prepare_process
from grokking.training.loop import GROK_ACCURACY, train

ROOT = Path(__file__).resolve().parents[2]  # tests/integration/ -> the repository
CANONICAL_RUN = ROOT / "runs" / "canonical"


def test_is_the_default_config_and_small(canonical):
    assert canonical.config == Config()
    # checkpoints/ exists only where the run was trained locally; git ignores it.
    committed = [p for p in CANONICAL_RUN.iterdir() if p.is_file()]
    assert sum(p.stat().st_size for p in committed) <= 10 * 1024 * 1024
    assert {p.name for p in committed} == {
        "config.json", "model.safetensors", "history.json", "manifest.json", "progress.safetensors"}


def test_progress_measures_cover_every_checkpoint(canonical):
    from grokking.analysis.progress import MEASURES, load_progress

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
    # Every pair right. The loss is far below chance (ln 113 = 4.7) but not at its settled
    # ~1e-7: the run ends inside a late spike, as the training chapter says.
    assert bool(correct.all()) and test_acc == 1.0
    assert test_loss < 1e-2
    spikes = loss_spikes(canonical.history)
    assert spikes and not spikes[-1]["recovered"]
    assert spikes[-1]["peak_epoch"] > canonical.config.epochs - 100
    # The stored history agrees with a fresh evaluation.
    assert abs(canonical.history["test_loss"][-1] - test_loss) <= 1e-3 * test_loss + 1e-9


def test_generalisation_delayed_past_memorisation(canonical):
    h = canonical.history
    memorised = first_epoch_reaching(h, "train_acc", 1.0)
    grokked = first_epoch_reaching(h, "test_acc", GROK_ACCURACY)
    assert memorised is not None
    assert grokked is not None
    assert grokked > 2000
    assert grokked > 3 * memorised


def test_architecture_is_the_default_models(canonical):
    """The unit tests draw the diagrams from a freshly built default model: it is this one."""
    assert model_spec(canonical.model) == model_spec(build_model(Config()))


def test_load_or_train_returns_the_committed_run_and_never_trains(canonical, tmp_path):
    run = load_or_train(committed=CANONICAL_RUN, cache_dir=tmp_path / "cache")
    assert run.path == CANONICAL_RUN
    assert run.config == canonical.config
    for key, values in canonical.history.items():
        assert torch.equal(run.history[key], values), key
    with pytest.raises(store.RunError, match="holds another config") as err:
        load_or_train(Config(epochs=10), committed=CANONICAL_RUN, cache_dir=tmp_path / "cache")
    assert "\n" not in str(err.value)
    assert "retrain=True" in str(err.value)
    assert not (tmp_path / "cache").exists()  # nothing was trained


@pytest.mark.slow
def test_first_1000_epochs_reproduce(tmp_path, canonical):
    config = Config().replace(epochs=1000)
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(config.to_json())
    prepare_process()  # as the CLI does before training
    history = train(config, run_dir, keep_checkpoints=False).history
    committed = json.loads((CANONICAL_RUN / "history.json").read_text())
    n = len(history["epoch"])
    assert committed["epoch"][:n] == history["epoch"]
    # Bit for bit: the committed run was trained by the current step (README, "Which step
    # made which committed result"), and the history's floats survive JSON exactly.
    for key in ("train_loss", "test_loss", "train_acc", "test_acc", "weight_norm"):
        assert history[key] == committed[key][:n], key
    shutil.rmtree(run_dir)
