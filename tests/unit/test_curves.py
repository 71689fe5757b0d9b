"""Reading a training history: first epochs meeting a condition, nearest checkpoints, late spikes."""

import torch

from grokking.analysis.curves import first_epoch_reaching, first_epoch_where, late_spike, nearest_indices


def history():
    epochs = torch.arange(0, 1001, 10, dtype=torch.float64)
    acc = (epochs / 500).clamp(max=1.0)
    loss = torch.where(epochs < 300, 5.0, 1e-3).double()
    return {"epoch": epochs, "test_acc": acc, "test_loss": loss}


def test_first_epoch_reaching_and_where():
    h = history()
    assert first_epoch_reaching(h, "test_acc", 0.5) == 250
    assert first_epoch_reaching(h, "test_acc", 1.0) == 500
    assert first_epoch_reaching(h, "test_acc", 1.1) is None
    assert first_epoch_where(h, h["test_loss"] < 1.0) == 300
    assert first_epoch_where(h, h["test_acc"] > 0.1, start=700) == 700
    assert first_epoch_where(h, h["test_loss"] > 1.0, start=300) is None


def test_nearest_indices_sorted_without_duplicates():
    epochs = torch.tensor([0, 100, 200, 400, 800])
    assert nearest_indices(epochs, [790, 0, 120, 90, 10_000]) == [0, 1, 4]


def test_late_spike_found_only_when_large():
    h = history()
    assert late_spike(h) is None
    h["test_loss"][80] = 0.5  # epoch 800: 500x the settled 1e-3
    assert late_spike(h) == 800
    assert late_spike(h, factor=1000.0) is None
