"""What the book's interactive explorers show, computed from a run: arrays, no drawing.

Each function returns plain tensors and labels; :mod:`grokking.plotting.interactive`
turns them into Plotly figures. Grids are (p, p) indexed [a, b] (as everywhere in the
package); frequencies are 1-based.

The explorers carry their data into the page, so each chooses a readable subset where
the whole would be too heavy for a phone (a (p, p) float32 grid is 51 kB at p = 113):
a few neurons per cluster, a few answers c, every other checkpoint of a 40,000-epoch
run (the right/wrong table of all p^2 pairs stays packed, eight pairs to a byte, and the
page unpacks it).
"""

from __future__ import annotations

import torch

from ..data import split_grid
from .fourier import spectrum_2d
from .neurons import cluster_sizes, neuron_clusters, neurons_of_frequency
from .phases import phase_of
from .progress import pack_bits, unpack_bits

TRAINING_FRAMES = 201  # at most this many checkpoints in the training explorer (every other of 401)
# the training explorer's table: each pair's code is 2 * (training pair) + (right)
TABLE_CODES = ("test, wrong", "test, right", "train, wrong", "train, right")
FRAME_SERIES = ("train_loss", "test_loss", "restricted_loss", "excluded_loss")  # per frame, from the progress

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


def frame_indices(n: int, most: int = TRAINING_FRAMES) -> list[int]:
    """Indices of at most ``most`` of ``n`` checkpoints, evenly spaced in index (so in epoch,
    for evenly spaced checkpoints), always the first and the last; all of them if ``n <= most``."""
    if n < 1 or most < 2:
        raise ValueError(f"need at least one checkpoint and two frames, got {n} and {most}")
    if n <= most:
        return list(range(n))
    step = -(-(n - 1) // (most - 1))  # the smallest whole stride that fits in ``most`` frames
    out = list(range(0, n, step))
    return out if out[-1] == n - 1 else [*out, n - 1]


def table_codes(correct_bits: torch.Tensor, train_bits: torch.Tensor, p: int) -> torch.Tensor:
    """The (p, p) int8 grid of :data:`TABLE_CODES` for one checkpoint, from its packed
    ``correct_bits`` and the packed training pairs (both :func:`pack_bits` of p^2 flags)."""
    right = unpack_bits(correct_bits, p * p)
    train = unpack_bits(train_bits, p * p)
    return (2 * train.to(torch.int8) + right.to(torch.int8)).reshape(p, p)


def training_frames(progress: dict[str, torch.Tensor], boundaries: dict[str, int], train_idx: torch.Tensor,
                    p: int, most: int = TRAINING_FRAMES) -> dict:
    """What the training explorer shows at each of its frames (checkpoints picked by
    :func:`frame_indices`), from the run's progress measures
    (:func:`grokking.analysis.progress.compute_progress`, which stores ``correct_bits``):

    - ``p``, and ``train_bits``: the training pairs ``train_idx`` packed like the checkpoints';
    - ``epoch`` (frames,) and ``phase``: the phase name at each frame (:func:`phase_of`
      with ``boundaries``);
    - ``correct_bits`` (frames, ceil(p^2 / 8)) uint8: which pairs the model gets right;
    - ``W_E_freq_norms``, ``W_L_freq_norms`` (frames, (p - 1) / 2): the Fourier norms per
      frequency k = 1 .. (p - 1) / 2;
    - each of :data:`FRAME_SERIES` (frames,): the losses at that checkpoint.
    """
    if "correct_bits" not in progress:
        raise KeyError("these progress measures have no correct_bits; recompute them with "
                       "python -m grokking progress RUN")
    idx = frame_indices(len(progress["epoch"]), most)
    epochs = progress["epoch"][idx]
    out = {"p": p, "train_bits": pack_bits(split_grid(train_idx, p).flatten().bool()), "epoch": epochs,
           "phase": [phase_of(int(e), boundaries) for e in epochs]}
    for key in ("correct_bits", "W_E_freq_norms", "W_L_freq_norms", *FRAME_SERIES):
        out[key] = progress[key][idx]
    return out


def training_curves(history: dict[str, torch.Tensor], progress: dict[str, torch.Tensor]) -> dict:
    """The whole curve of each of :data:`FRAME_SERIES`, as (epochs, values): the train and
    test losses from the history (every recorded epoch), the restricted and excluded losses
    from the progress measures (every checkpoint)."""
    return {key: (source["epoch"], source[key])
            for key, source in zip(FRAME_SERIES, (history, history, progress, progress), strict=True)}
