"""Fourier ablations of the logits: planted logits whose losses are known."""

import math

import pytest
import torch

from grokking.analysis import ablations
from grokking.analysis.ablations import part_table
from grokking.analysis.logits import cross_entropy_chunked, loss_and_accuracy
from grokking.data import all_pairs


def planted_logits(p, freqs, alphas):
    a = torch.arange(p).repeat_interleave(p).double()
    b = torch.arange(p).repeat(p).double()
    c = torch.arange(p).double()
    out = torch.full((p * p, p), 0.3, dtype=torch.float64)
    for k, alpha in zip(freqs, alphas, strict=False):
        out += alpha * torch.cos(2 * math.pi * k * ((a + b)[:, None] - c) / p)
    return out.float()


def test_ablations_on_planted_logits():
    p, keys = 23, [3, 8]
    logits = planted_logits(p, keys, [6.0, 4.0])
    labels = all_pairs(p)[1]
    test_idx = torch.arange(0, p * p, 3)
    rows = ablations.frequency_ablation_losses(logits, labels, test_idx, p, keys, control_freqs=[5])
    full = rows["model"]["all pairs"]
    assert full == pytest.approx(cross_entropy_chunked(logits, labels))
    assert rows["model"]["test pairs"] == pytest.approx(cross_entropy_chunked(logits[test_idx], labels[test_idx]))
    # Logits made only of key terms: removing all leaves a constant (ln p), keeping them changes nothing,
    # removing an unused frequency changes nothing.
    assert rows["without all key frequencies"]["all pairs"] == pytest.approx(math.log(p), rel=1e-5)
    assert rows["key frequencies only"]["all pairs"] == pytest.approx(full, rel=1e-4)
    assert rows["without k=5 (control)"]["all pairs"] == pytest.approx(full, rel=1e-4)
    # Removing the stronger frequency hurts more than removing the weaker one.
    assert full < rows["without k=8"]["all pairs"] < rows["without k=3"]["all pairs"] < math.log(p)
    assert torch.equal(ablations.ablate_frequencies(logits, p, []), logits)


def test_strongest_other_frequency():
    norms = torch.tensor([1.0, 9.0, 2.0, 5.0, 3.0])
    assert ablations.strongest_other_frequency(norms, [2]) == 4
    assert ablations.strongest_other_frequency(norms, [2, 4]) == 5


def test_frequency_ablation_table_controls_with_the_strongest_other_frequency():
    from grokking.config import Config
    from grokking.data import make_dataset

    p, keys = 23, [3, 8]
    logits = planted_logits(p, keys, [6.0, 4.0])
    data = make_dataset(Config(p=p))
    norms = torch.zeros((p - 1) // 2)
    norms[[2, 7, 4]] = torch.tensor([5.0, 4.0, 1.0])  # keys 3 and 8, then 5 strongest
    table = ablations.frequency_ablation_table(logits, data, p, keys, norms)
    assert table == ablations.frequency_ablation_losses(logits, data.labels, data.test_idx, p, keys, [5])
    assert list(table) == ["model", "without k=3", "without k=8", "without all key frequencies",
                           "without k=5 (control)", "key frequencies only"]


def test_part_table_scores_each_part_alone_and_mean_ablated():
    p = 7
    labels = torch.arange(p * p) % p
    right = torch.nn.functional.one_hot(labels, p).double() * 10.0  # puts every answer on top
    noise = torch.randn(p * p, p, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    const = torch.arange(p, dtype=torch.float64).expand(p * p, p) * 0.1  # the same for every pair
    parts = {"signal": right, "noise": noise, "offset": const}
    train, test = torch.arange(0, p * p, 2), torch.arange(1, p * p, 2)
    rows = part_table(parts, labels, train, test)
    assert list(rows) == ["whole model", "only signal", "only noise", "only offset",
                          "without signal", "without noise", "without offset"]
    whole = right + noise + const
    loss, acc = loss_and_accuracy(whole[test], labels[test])
    assert rows["whole model"]["test loss"] == pytest.approx(loss) and rows["whole model"]["test accuracy"] == acc
    assert rows["only signal"]["train accuracy"] == 1.0 == rows["only signal"]["test accuracy"]
    # mean-ablating a part that is the same for every pair changes nothing
    assert rows["without offset"] == pytest.approx(rows["whole model"])
    # mean-ablating the signal leaves noise plus the signal's average: far fewer right
    ablated = noise + const + right.mean(0)
    assert rows["without signal"]["test loss"] == pytest.approx(loss_and_accuracy(ablated[test], labels[test])[0])
    assert rows["without signal"]["test accuracy"] < 0.5
