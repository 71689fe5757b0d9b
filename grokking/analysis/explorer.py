"""What the book's interactive explorers show, computed from a run: arrays, no drawing.

Each function returns plain tensors and labels; :mod:`grokking.plotting.interactive`
turns them into Plotly figures. Grids are (p, p) indexed [a, b] (as everywhere in the
package); frequencies are 1-based.

The explorers carry their data into the page, so each chooses a readable subset where
the whole would be too heavy for a phone (a (p, p) float32 grid is 51 kB at p = 113):
a few neurons per cluster, a few answers c.
"""

from __future__ import annotations

import torch

from .fourier import spectrum_2d
from .neurons import cluster_sizes, neuron_clusters, neurons_of_frequency

NEURONS_PER_CLUSTER = 3  # the best-explained neurons of each cluster in the neuron picker
UNCLUSTERED_NEURONS = 3  # and the unclustered neurons with the largest activations


def picked_neurons(shares: torch.Tensor, acts: torch.Tensor, per_cluster: int = NEURONS_PER_CLUSTER,
                   unclustered: int = UNCLUSTERED_NEURONS) -> list[dict]:
    """The neuron picker's entries, grouped by cluster (largest cluster first).

    ``shares`` is (d_mlp, K) from :func:`grokking.analysis.neurons.single_frequency_shares`,
    ``acts`` the (p, p, d_mlp) activations. Per cluster the ``per_cluster`` neurons with
    the largest share of their variance in the cluster's frequency; then the
    ``unclustered`` neurons in no cluster whose activations vary most. Each entry:
    ``neuron``, ``cluster`` (its frequency, or None), ``share`` (its largest single-frequency
    share) and ``frequency`` (the frequency of that share).
    """
    dominant, explained = neuron_clusters(shares)
    best = shares.max(dim=1).values
    picks = []
    for k in cluster_sizes(dominant, explained):  # largest cluster first
        members = neurons_of_frequency(dominant, explained, k)
        for n in members[best[members].argsort(descending=True)][:per_cluster].tolist():
            picks.append({"neuron": n, "cluster": k, "share": float(best[n]), "frequency": k})
    spread = acts.flatten(0, 1).float().std(dim=0)
    others = (~explained).nonzero().flatten()
    for n in others[spread[others].argsort(descending=True)][:unclustered].tolist():
        picks.append({"neuron": n, "cluster": None, "share": float(best[n]), "frequency": int(dominant[n])})
    return picks


def neuron_views(acts: torch.Tensor, picks: list[dict], basis: torch.Tensor, freqs: list[int]) -> dict:
    """For the picked neurons: ``acts`` (n, p, p) activations over (a, b) and ``spectra``
    (n, (p+1)/2, (p+1)/2), the sqrt power per (frequency of a, frequency of b), 0 = constant
    (the constant-constant entry, the mean, is NaN)."""
    grids = torch.stack([acts[:, :, pick["neuron"]] for pick in picks]).float()
    spectra = torch.stack([spectrum_2d(grid, basis, freqs)["by_frequency"] for grid in grids])
    return {"acts": grids, "spectra": spectra}


def answers_to_show(p: int, pair: tuple[int, int], count: int = 4) -> list[int]:
    """The answers c whose logits the logit explorer shows: the example pair's answer
    (a + b) mod p first, then ``count - 1`` more spread over 0 .. p - 1."""
    first = (pair[0] + pair[1]) % p
    step = p // count
    return [first] + [(first + step * i) % p for i in range(1, count)]


def logit_grids(logits: torch.Tensor, p: int, answers: list[int]) -> torch.Tensor:
    """(len(answers), p, p): the logit of each answer c over the (a, b) grid.
    ``logits`` is (p*p, p), pairs in row-major (a, b) order."""
    grid = logits.reshape(p, p, p)
    return torch.stack([grid[:, :, c] for c in answers]).float()
