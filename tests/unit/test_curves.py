"""Reading a training history: first epochs meeting a condition, nearest checkpoints, late spikes."""

import torch

from grokking.analysis.curves import first_epoch_reaching, first_epoch_where, loss_spikes, nearest_indices


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


def test_a_single_spike_found_only_when_large():
    h = history()
    h["train_acc"] = torch.ones_like(h["test_loss"])
    h["test_acc"] = torch.ones_like(h["test_loss"])
    assert loss_spikes(h) == []
    h["test_loss"][80] = 0.5  # epoch 800: 500x the settled 1e-3
    assert [s["peak_epoch"] for s in loss_spikes(h)] == [800]
    assert loss_spikes(h, factor=1000.0) == []


def test_loss_spikes_finds_each_planted_spike_with_its_accuracies():
    epochs = torch.arange(0, 1000, 10)
    loss = torch.full((100,), 1e-6, dtype=torch.float64)
    loss[:5] = 5.0  # the start, before the loss settles: not a spike
    loss[40:43] = torch.tensor([1e-3, 5e-2, 1e-3], dtype=torch.float64)  # epochs 400-420, peak at 410
    loss[97:] = 2e-3  # the run ends inside a second one
    train_acc = torch.ones(100, dtype=torch.float64)
    test_acc = torch.ones(100, dtype=torch.float64)
    train_acc[41], test_acc[42], test_acc[98] = 0.9, 0.8, 0.95
    h = {"epoch": epochs, "test_loss": loss, "train_acc": train_acc, "test_acc": test_acc}
    spikes = loss_spikes(h)
    assert spikes == [
        {"start": 400, "end": 420, "peak_epoch": 410, "peak_loss": 5e-2, "min_train_acc": 0.9,
         "min_test_acc": 0.8, "recovered": True},
        {"start": 970, "end": 990, "peak_epoch": 970, "peak_loss": 2e-3, "min_train_acc": 1.0,
         "min_test_acc": 0.95, "recovered": False},
    ]
    assert loss_spikes(h, factor=1e5) == []
