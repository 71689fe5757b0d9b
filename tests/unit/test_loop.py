"""Training loop: metrics, checkpoints, interruption and exact resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from grokking import store
from grokking.runs import load_run
from grokking.train import HISTORY_KEYS, train




def start(run_dir, config):
    run_dir.mkdir()
    store.atomic_write_bytes(run_dir / "config.json", config.to_json().encode())


def test_history_and_checkpoints(tmp_path, tiny_config):
    start(tmp_path / "r", tiny_config)
    result = train(tiny_config, tmp_path / "r")
    assert result.finished and result.epoch == tiny_config.epochs
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
    assert not first.finished and first.epoch == 33
    assert not (tmp_path / "b" / "model.safetensors").exists()
    second = train(tiny_config, tmp_path / "b", resume=True)
    assert second.finished

    assert second.history == straight.history  # exactly, float for float
    wa = store.load_tensors(tmp_path / "a" / "model.safetensors")
    wb = store.load_tensors(tmp_path / "b" / "model.safetensors")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert (tmp_path / "a" / "history.json").read_bytes() == (tmp_path / "b" / "history.json").read_bytes()


def test_cli_sigint_saves_and_resume_finishes(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    cmd = [sys.executable, "-m", "grokking", "train", "--p", "23", "--epochs", "3000", "--out", str(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "checkpoints" / "epoch_000100.safetensors").exists():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in err and "--resume" in err
    assert (out / "checkpoints" / "resume.safetensors").exists()
    assert not (out / "model.safetensors").exists()
    done = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"][-1] == 3000
