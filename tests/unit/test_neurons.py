"""MLP neurons: 2D Fourier shares over the (a, b) grid and frequency clusters, on planted grids."""

import math

import pytest
import torch

from grokking.analysis import neurons
from grokking.analysis.fourier import fourier_basis

P = 113


def grid_of(fn, p=P):
    """A (p, p) float32 grid with entry [a, b] = fn(a, b) on tensors of angles 2 pi / p * (a, b)."""
    a = torch.arange(p, dtype=torch.float64)[:, None].expand(p, p)
    b = torch.arange(p, dtype=torch.float64)[None, :].expand(p, p)
    return fn(a * 2 * math.pi / p, b * 2 * math.pi / p).float()


@pytest.fixture(scope="module")
def basis():
    return fourier_basis(P)


@pytest.mark.parametrize("k", [5, 17, 42])
def test_planted_relu_neuron_gets_its_frequency(basis, k):
    grid = grid_of(lambda x, y: torch.relu(torch.cos(k * x) + torch.cos(k * y)))
    shares = neurons.single_frequency_shares(grid[..., None], basis)  # one "neuron"
    dominant, explained = neurons.neuron_clusters(shares)
    assert int(dominant[0]) == k
    assert bool(explained[0])
    assert float(shares[0, k - 1]) > 0.85
    # everything else shares what is left
    assert float(shares[0].sum() - shares[0, k - 1]) < 0.15


def test_noise_neuron_is_not_explained(basis):
    noise = torch.relu(torch.randn(P, P, 3))
    shares = neurons.single_frequency_shares(noise, basis)
    _, explained = neurons.neuron_clusters(shares)
    assert not explained.any()
    assert float(shares.max()) < 0.2


def test_cluster_sizes_count_only_explained_neurons(basis):
    grids = [grid_of(lambda x, y, k=k: torch.relu(torch.cos(k * x + 1) + torch.cos(k * y + 2))) for k in (3, 3, 8)]
    grids.append(torch.randn(P, P))
    shares = neurons.single_frequency_shares(torch.stack(grids, -1), basis)
    assert neurons.cluster_sizes(*neurons.neuron_clusters(shares)) == {3: 2, 8: 1}


def test_share_in_frequencies_planted(basis):
    grid = grid_of(lambda x, y: 2 * torch.cos(3 * x) - torch.sin(10 * y) + 0.5 * torch.cos(3 * x) * torch.sin(10 * y)
                   + 4.0)
    assert float(neurons.share_in_frequencies(grid, basis, [3, 10])) == pytest.approx(1, abs=1e-5)
    assert float(neurons.share_in_frequencies(grid, basis, [20])) == pytest.approx(0, abs=1e-5)
    # the cos 3 term alone carries 2^2 / (2^2 + 1 + 0.5^2 / 2) of the variance
    assert float(neurons.share_in_frequencies(grid, basis, [3])) == pytest.approx(4 / 5.125, rel=1e-4)


def test_neurons_of_frequency():
    dominant = torch.tensor([3, 5, 3, 3, 7])
    explained = torch.tensor([True, True, False, True, True])
    assert neurons.neurons_of_frequency(dominant, explained, 3).tolist() == [0, 3]
    assert neurons.neurons_of_frequency(dominant, explained, 9).tolist() == []


def test_clusters_order_and_explained_share():
    # neuron n: share 0.9 in frequency k_n, or spread thin (unexplained)
    shares = torch.full((5, 6), 0.01)
    for n, (k, s) in enumerate([(3, 0.9), (1, 0.95), (3, 0.99), (2, 0.3), (1, 0.86)]):
        shares[n, k - 1] = s
    assert neurons.NEURON_THRESHOLD == 0.85
    dominant, explained = neurons.neuron_clusters(shares)
    assert dominant.tolist() == [3, 1, 3, 2, 1]
    assert explained.tolist() == [True, True, True, False, True]
    clusters = neurons.clusters_of(shares, [1, 3, 5])
    assert {k: v.tolist() for k, v in clusters.items()} == {1: [1, 4], 3: [0, 2], 5: []}
    # explained neurons first, by frequency, best share first; the unexplained one last
    assert neurons.order_by_cluster(shares).tolist() == [1, 4, 2, 0, 3]
    assert neurons.explained_share(shares) == pytest.approx(0.8)
    assert neurons.explained_share(shares, threshold=0.95) == pytest.approx(0.2)


def test_mean_power_shares_2d_planted_neurons(basis):
    p = P
    grid = torch.stack([
        grid_of(lambda a, b: torch.cos(5 * a)),                      # all in (5, constant)
        grid_of(lambda a, b: torch.cos(7 * a) * torch.sin(7 * b)),   # all in (7, 7)
        grid_of(lambda a, b: 100 * (torch.cos(5 * a) + torch.cos(5 * b))),  # half (5, 0), half (0, 5): size no matter
        grid_of(lambda a, b: torch.full_like(a, 3.0)),               # constant: counts as nothing
    ], dim=-1)
    shares = neurons.mean_power_shares_2d(grid, basis)
    assert shares.shape == ((p + 1) // 2, (p + 1) // 2)
    assert shares[5, 0] == pytest.approx((1 + 0.5) / 4, abs=1e-4)
    assert shares[0, 5] == pytest.approx(0.5 / 4, abs=1e-4)
    assert shares[7, 7] == pytest.approx(1 / 4, abs=1e-4)
    assert shares[0, 0] == 0 and float(shares.sum()) == pytest.approx(3 / 4, abs=1e-4)


def test_cluster_counts_over_checkpoints():
    cluster = torch.tensor([[0, 0, 0, 0, 0], [3, 0, 4, 0, 9], [3, 3, 4, 4, 0]], dtype=torch.uint8)
    counts = neurons.cluster_counts(cluster, [3, 4])
    assert counts["k = 3"].tolist() == [0, 1, 2]
    assert counts["k = 4"].tolist() == [0, 1, 2]
    assert counts["other frequencies"].tolist() == [0, 1, 0]
    assert counts["unclustered"].tolist() == [5, 2, 1]


def test_sum_wave_shares_planted_tilts(basis):
    grid = torch.stack([
        grid_of(lambda a, b: torch.cos(5 * (a + b) + 0.3)),                  # a wave of a + b: 1
        grid_of(lambda a, b: torch.cos(7 * (a - b) + 1.1)),                  # a wave of a - b: 0
        grid_of(lambda a, b: torch.cos(9 * a + 0.2) * torch.cos(9 * b + 0.2)),  # the product: half of each
    ], dim=-1)
    shares = neurons.sum_wave_shares(grid, basis, torch.tensor([5, 7, 9]))
    assert shares.tolist() == pytest.approx([1.0, 0.0, 0.5], abs=1e-5)
