"""The MLP neurons at '=': 2D Fourier shares over the (a, b) grid and the frequency clusters.

Conventions: grids are (p, p, ...) indexed [a, b] (see :func:`grokking.data.as_grid`);
frequencies are 1-based (k = 1 .. (p-1)/2), w_k = 2 pi k / p.
"""

from __future__ import annotations

import torch

from .fourier import frequency_power_2d, to_fourier_2d

# A neuron is "explained" by frequency k (and belongs to k's cluster) when the terms of
# that one frequency hold more than this share of its variance over the (a, b) grid.
NEURON_THRESHOLD = 0.85


def frequency_shares_2d(grid: torch.Tensor, basis: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For a (p, p, ...) grid: power by frequency pair and the total non-constant power.

    Returns ``(power, total)`` with ``power`` shaped ((p+1)/2, (p+1)/2, ...) as in
    :func:`grokking.analysis.fourier.frequency_power_2d` and ``total`` the power of
    everything but the constant term (the variance of the grid times p^2).
    Everything runs in float32 (a neuron grid is p^2 x d_mlp values); the total
    is accumulated in float64.
    """
    power = frequency_power_2d(to_fourier_2d(grid.float(), basis.float()))
    total = power.sum(dim=(0, 1), dtype=torch.float64) - power[0, 0]
    return power, total


def single_frequency_shares(grid: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Share of each slice's variance explained by one frequency k: (..., K).

    For frequency k the terms are cos/sin(k a), cos/sin(k b) and their four
    products: power [k, 0] + [0, k] + [k, k]. The rest (constants aside) is
    the unexplained variance.
    """
    power, total = frequency_shares_2d(grid, basis)
    K = power.shape[0] - 1
    k = torch.arange(1, K + 1)
    explained = power[k, 0] + power[0, k] + power[k, k]  # (K, ...)
    return (explained / total.clamp_min(1e-30).float()).movedim(0, -1)


def share_in_frequencies(grid: torch.Tensor, basis: torch.Tensor, freqs: list[int]) -> torch.Tensor:
    """Share of the variance in components whose a- and b-frequencies are in {0} + ``freqs``."""
    power, total = frequency_shares_2d(grid, basis)
    keep = torch.tensor([0, *freqs])
    inside = power[keep][:, keep].sum(dim=(0, 1), dtype=torch.float64) - power[0, 0]
    return (inside / total.clamp_min(1e-30)).float()


def neuron_clusters(shares: torch.Tensor, threshold: float = NEURON_THRESHOLD) -> tuple[torch.Tensor, torch.Tensor]:
    """Each neuron's dominant frequency (1-based) and whether it explains > ``threshold``.

    ``shares`` is (d_mlp, K) from :func:`single_frequency_shares`.
    """
    best, idx = shares.max(dim=1)
    return idx + 1, best > threshold


def cluster_sizes(dominant: torch.Tensor, explained: torch.Tensor) -> dict[int, int]:
    """Number of well-explained neurons per dominant frequency, largest first."""
    freqs, counts = dominant[explained].unique(return_counts=True)
    order = counts.argsort(descending=True)
    return {int(freqs[i]): int(counts[i]) for i in order}


def neurons_of_frequency(dominant: torch.Tensor, explained: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the well-explained neurons whose dominant frequency is ``k``.

    ``dominant`` and ``explained`` are the outputs of :func:`neuron_clusters`.
    """
    return ((dominant == k) & explained).nonzero().flatten()


def clusters_of(shares: torch.Tensor, freqs: list[int], threshold: float = NEURON_THRESHOLD) -> dict[int, torch.Tensor]:
    """Per frequency in ``freqs``, the indices of its cluster's neurons."""
    dominant, explained = neuron_clusters(shares, threshold)
    return {k: neurons_of_frequency(dominant, explained, k) for k in freqs}


def order_by_cluster(shares: torch.Tensor, threshold: float = NEURON_THRESHOLD) -> torch.Tensor:
    """Neuron indices grouped by dominant frequency (explained neurons first), best share first."""
    dominant, explained = neuron_clusters(shares, threshold)
    best = shares.max(dim=1).values
    # sort key: unexplained last, then by frequency, then by decreasing share
    key = (~explained).double() * 1e4 + dominant.double() * 10 + (1 - best.double())
    return key.argsort()


def explained_share(shares: torch.Tensor, threshold: float = NEURON_THRESHOLD) -> float:
    """Share of the neurons with more than ``threshold`` of their variance in one frequency."""
    _, explained = neuron_clusters(shares, threshold)
    return float(explained.double().mean())


def example_neurons(shares: torch.Tensor, freqs: list[int], threshold: float = NEURON_THRESHOLD) -> dict[int, int]:
    """Per frequency in ``freqs``, the neuron its terms explain best among the neurons of its
    cluster (dominant frequency k, share > ``threshold``): {k: neuron index}.

    These are the cleanest single-frequency neurons, the ones to show as examples; a
    frequency without a cluster is left out. ``shares`` is (d_mlp, K) from
    :func:`single_frequency_shares`.
    """
    dominant, explained = neuron_clusters(shares, threshold)
    picks = {}
    for k in freqs:
        members = neurons_of_frequency(dominant, explained, k)
        if len(members):
            picks[k] = int(members[shares[members, k - 1].argmax()])
    return picks


def cluster_counts(neuron_cluster: torch.Tensor, key_freqs: list[int]) -> dict[str, torch.Tensor]:
    """How many neurons are in each cluster at each checkpoint.

    ``neuron_cluster`` is (checkpoints, d_mlp): each neuron's cluster frequency, 0 for none
    (as :func:`grokking.analysis.progress.compute_progress` stores it). Returns, each
    (checkpoints,): ``"k = K"`` for each key frequency K, ``"other frequencies"`` (clustered
    on a frequency that is not a key frequency of the final model) and ``"unclustered"``.
    """
    cluster = neuron_cluster.long()
    out = {f"k = {k}": (cluster == k).sum(1) for k in key_freqs}
    keyed = torch.isin(cluster, torch.tensor(key_freqs))
    out["other frequencies"] = ((cluster > 0) & ~keyed).sum(1)
    out["unclustered"] = (cluster == 0).sum(1)
    return out


def mean_power_shares_2d(grid: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Each frequency pair's share of a neuron's variance, averaged over the neurons.

    ``grid`` is (p, p, d_mlp), the activations over (a, b). Entry [i, j] of the
    ((p+1)/2, (p+1)/2) result is the mean over neurons of (power at frequency i over a and
    j over b) / (the neuron's variance times p^2), 0 = constant; the [0, 0] entry (the mean)
    is 0. Every neuron counts alike, however large its activations; a neuron that never
    varies (up to float32 rounding) counts as 0 everywhere. The entries sum to 1 when no neuron is constant.
    """
    power, total = frequency_shares_2d(grid, basis)  # (K+1, K+1, d_mlp), (d_mlp,)
    # a constant neuron's variance is float32 rounding: below 1e-8 of its power it counts as none
    silent = total <= 1e-8 * power.sum(dim=(0, 1), dtype=torch.float64)
    shares = power / total.clamp_min(1e-30).float()  # float32: (K+1)^2 x d_mlp is more than p^3
    shares[0, 0] = 0.0
    shares[:, :, silent] = 0.0
    return shares.mean(dim=-1, dtype=torch.float64)


def sum_wave_shares(grid: torch.Tensor, basis: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """How much each neuron's products lean towards a wave of a + b rather than of a - b.

    ``grid`` (p, p, n) holds n neurons' activations over (a, b) and ``freqs`` (n,) each
    one's frequency k. Of the power in the four products of cos/sin(k a) with cos/sin(k b),
    the share in waves of a + b: cos k(a+b) = cos ka cos kb - sin ka sin kb and
    sin k(a+b) = sin ka cos kb + cos ka sin kb; the other two combinations are the waves of
    a - b. 1 for a pure wave of a + b (bands along one diagonal), 0 for a - b, 0.5 for an
    even mix (a round region). Returns (n,).
    """
    coeffs = to_fourier_2d(grid.float(), basis.float())  # (p, p, n): [i, j] pairs row i (a) with row j (b)
    n = torch.arange(grid.shape[-1])
    c, s = 2 * freqs.long() - 1, 2 * freqs.long()  # the cos and sin rows of each neuron's frequency
    cc, ss, cs, sc = coeffs[c, c, n], coeffs[s, s, n], coeffs[c, s, n], coeffs[s, c, n]
    plus = (cc - ss) ** 2 + (cs + sc) ** 2
    minus = (cc + ss) ** 2 + (cs - sc) ** 2
    return plus / (plus + minus).clamp_min(1e-30)
