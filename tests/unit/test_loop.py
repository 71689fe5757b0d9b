"""Training loop: metrics, checkpoints, interruption and exact resume."""

import torch

from grokking.config import Config
from grokking.runs import store
from grokking.runs.load import load_run
from grokking.training.loop import GROK_ACCURACY, HISTORY_KEYS, EarlyStop, train

# A small model that generalises within a few hundred epochs (test accuracy >= 99% near epoch 500).
QUICK = Config(p=23, frac_train=0.8, weight_decay=1.0, lr=3e-3, d_model=32, d_mlp=128, n_heads=2,
               d_head=16, model_seed=1, split_seed=1, epochs=1500)


def start(run_dir, config):
    run_dir.mkdir()
    store.write_config(run_dir, config)


def test_history_and_checkpoints(tmp_path, tiny_config):
    start(tmp_path / "r", tiny_config)
    result = train(tiny_config, tmp_path / "r")
    assert result.finished
    assert result.epoch == tiny_config.epochs
    h = result.history
    assert set(h) == set(HISTORY_KEYS)
    assert h["epoch"] == list(range(0, tiny_config.epochs + 1, tiny_config.eval_every))
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert store.checkpoint_epochs(tmp_path / "r") == [0, 20, 40, 60]
    assert not (tmp_path / "r" / "checkpoints" / "resume.safetensors").exists()
    # The last checkpoint is the final model.
    run = load_run(tmp_path / "r")
    final = store.load_tensors(tmp_path / "r" / "model.safetensors")
    last = run.checkpoint_state(60)
    assert all(torch.equal(final[k], last[k]) for k in final)


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, tiny_config):
    start(tmp_path / "a", tiny_config)
    straight = train(tiny_config, tmp_path / "a")

    start(tmp_path / "b", tiny_config)
    epochs_seen = []

    def stop_at_33():
        epochs_seen.append(1)
        return len(epochs_seen) == 33

    first = train(tiny_config, tmp_path / "b", should_stop=stop_at_33)
    assert not first.finished
    assert first.epoch == 33
    assert not (tmp_path / "b" / "model.safetensors").exists()
    second = train(tiny_config, tmp_path / "b", resume=True)
    assert second.finished

    assert second.history == straight.history  # exactly, float for float
    wa = store.load_tensors(tmp_path / "a" / "model.safetensors")
    wb = store.load_tensors(tmp_path / "b" / "model.safetensors")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert (tmp_path / "a" / "history.json").read_bytes() == (tmp_path / "b" / "history.json").read_bytes()


def test_early_stop_rule():
    rule = EarlyStop(threshold=0.99, patience=30)
    seq = [(0, 0.1), (10, 0.995), (20, 0.98), (30, 0.99), (40, 1.0), (50, 1.0), (60, 1.0)]
    stops = [rule.update(e, a) for e, a in seq]
    assert stops == [False, False, False, False, False, False, True]  # the streak restarted at 30
    assert EarlyStop().threshold == GROK_ACCURACY == 0.99


def test_train_stops_early_once_test_accuracy_held(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    store.write_config(run_dir, QUICK)
    result = train(QUICK, run_dir, keep_checkpoints=False, early_stop=EarlyStop(0.99, 100))
    assert result.finished
    epochs, acc = result.history["epoch"], result.history["test_acc"]
    last = epochs[-1]
    assert last < QUICK.epochs
    start = last  # first epoch of the final streak at >= 99%
    for epoch, a in reversed(list(zip(epochs, acc, strict=False))):
        if a < 0.99:
            break
        start = epoch
    assert last - start == 100
