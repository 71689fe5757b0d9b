"""Progress measures over training (Nanda et al. 2023, section 5), one value per checkpoint.

Definitions used throughout the book (``K`` = the final model's key frequencies,
w_k = 2 pi k / p, s = a + b):

- **restricted loss**: the logits of every pair, projected (for each output c)
  onto the span of the pair-functions {1, cos(w_k s), sin(w_k s) : k in K}
  over all p^2 pairs, then the cross-entropy on **all p^2 pairs**. It keeps only
  what the key frequencies' "clock" mechanism can express.
- **excluded loss**: the logits minus their projection onto
  {cos(w_k s), sin(w_k s) : k in K} (all key frequencies at once), then the
  cross-entropy on the **training pairs**. It removes the generalising
  mechanism and keeps the rest (memorisation).
- **Gini coefficient** of the norms per frequency (k = 1 .. (p-1)/2, cos and sin
  together) of W_E in the Fourier basis over the input number, and of
  W_L = W_out W_U in the Fourier basis over the output logit c. With the norms
  x_(1) <= ... <= x_(n) sorted, G = sum_i (2i - n - 1) x_(i) / (n sum_i x_i):
  0 when all frequencies are used equally, (n - 1)/n when one frequency is.
- **total sum of squared weights** of all trained parameters.

Stored with them, per checkpoint: the norms per frequency themselves
(``W_E_freq_norms``, ``W_L_freq_norms``); which of the p^2 pairs the model gets
right (``correct_bits``: the pairs in row-major order, a * p + b, packed eight to
a byte, first pair in the highest bit; see :func:`pack_bits` / :func:`unpack_bits`);
the excluded loss with one key frequency removed at a time (``excluded_loss_per_key``,
in the order of ``key_frequencies``); and each MLP neuron's cluster
(``neuron_cluster``: the frequency that explains more than the neuron threshold of
its activations' variance, 0 for none; :func:`grokking.analysis.neurons.neuron_clusters`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from ..config import Config
from ..data import make_dataset, pair_grid
from ..model import weight_norm
from ..runs import store
from ..runs.load import model_from_state
from ..training import fast
from .fourier import fourier_basis, frequency_norms, to_fourier
from .logits import cross_entropy_chunked, unembed_product
from .neurons import neuron_clusters, single_frequency_shares

MEASURES = ("restricted_loss", "excluded_loss", "gini_W_E", "gini_W_L", "sum_sq_weights",
            "train_loss", "test_loss")


def gini(x: torch.Tensor) -> float:
    """Gini coefficient of a non-negative vector: 0 if uniform, (n-1)/n if one-hot."""
    x = x.double().flatten().sort().values
    n = x.numel()
    total = x.sum()
    if total <= 0:
        return 0.0
    i = torch.arange(1, n + 1, dtype=torch.float64)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def pack_bits(flags: torch.Tensor) -> torch.Tensor:
    """A bool tensor, flattened, as uint8 bytes: eight flags to a byte, the first in the
    highest bit, the last byte padded with zeros (numpy's ``packbits``). Shape (ceil(n / 8),)."""
    return torch.from_numpy(np.packbits(flags.flatten().bool().numpy()))


def unpack_bits(packed: torch.Tensor, n: int) -> torch.Tensor:
    """The first ``n`` flags of :func:`pack_bits` bytes, as bool. ``packed`` (..., bytes)
    gives (..., n)."""
    return torch.from_numpy(np.unpackbits(packed.to(torch.uint8).numpy(), axis=-1, count=n).astype(bool))


def sum_frequency_basis(p: int, freqs: Iterable[int], constant: bool) -> torch.Tensor:
    """Orthonormal columns over the p^2 pairs (row-major a, b): [1/p,] sqrt(2)/p cos(w_k s), sin(w_k s).

    Over all pairs, s = a + b mod p takes every residue p times, so these vectors
    are orthonormal. Shape (p*p, 2 |freqs| [+ 1]).
    """
    a, b = pair_grid(p, torch.float64)
    cols = [torch.full((p * p,), 1.0 / p, dtype=torch.float64)] if constant else []
    for k in freqs:
        angle = 2 * math.pi * k * (a + b) / p
        cols += [torch.cos(angle) * math.sqrt(2) / p, torch.sin(angle) * math.sqrt(2) / p]
    if not cols:
        return torch.zeros(p * p, 0)
    return torch.stack(cols, dim=1).float()


def project(logits: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Projection of each output column of ``logits`` (p*p, p) onto the pair-basis columns."""
    if basis.shape[1] == 0:
        return torch.zeros_like(logits)
    return basis @ (basis.t() @ logits)


def restricted_logits(logits: torch.Tensor, p: int, freqs: list[int]) -> torch.Tensor:
    return project(logits, sum_frequency_basis(p, freqs, constant=True))


def excluded_logits(logits: torch.Tensor, p: int, freqs: list[int]) -> torch.Tensor:
    return logits - project(logits, sum_frequency_basis(p, freqs, constant=False))


def measures_for_model(model, config: Config, key_freqs: list[int], data, fourier: torch.Tensor) -> dict:
    """Every progress measure of one model (one checkpoint)."""
    p = config.p
    logits, hidden = fast.last_logits_and_neurons(model, data.tokens)  # (p*p, p), (p*p, d_mlp), row-major
    dominant, explained = neuron_clusters(single_frequency_shares(hidden.reshape(p, p, -1), fourier))
    labels = data.labels
    train_idx, test_idx = data.train_idx, data.test_idx
    W_E_norms = frequency_norms(to_fourier(model.W_E[:p].detach(), fourier, 0))
    W_L_norms = frequency_norms(to_fourier(unembed_product(model), fourier, 1), dim=1)
    sq = weight_norm(model) ** 2
    excluded = excluded_logits(logits, p, key_freqs)
    return {
        "restricted_loss": cross_entropy_chunked(restricted_logits(logits, p, key_freqs), labels),
        "excluded_loss": cross_entropy_chunked(excluded[train_idx], labels[train_idx]),
        "gini_W_E": gini(W_E_norms),
        "gini_W_L": gini(W_L_norms),
        "sum_sq_weights": sq,
        "train_loss": cross_entropy_chunked(logits[train_idx], labels[train_idx]),
        "test_loss": cross_entropy_chunked(logits[test_idx], labels[test_idx]),
        "W_E_freq_norms": W_E_norms.float(),
        "W_L_freq_norms": W_L_norms.float(),
        "correct_bits": pack_bits(logits.argmax(-1) == labels),
        "excluded_loss_per_key": torch.tensor(
            [cross_entropy_chunked(excluded_logits(logits, p, [k])[train_idx], labels[train_idx]) for k in key_freqs],
            dtype=torch.float64),
        "neuron_cluster": torch.where(explained, dominant, 0).to(torch.uint8),
    }


def compute_progress(run_dir: Path, key_freqs: list[int], model=None) -> dict[str, torch.Tensor]:
    """Progress measures for every stored checkpoint of a run: dict of tensors over epochs.

    Scalars become 1-D float64 tensors indexed like ``epoch``; the per-frequency
    norms become (n_checkpoints, (p-1)/2) float32 tensors, ``correct_bits``
    (n_checkpoints, ceil(p^2 / 8)) uint8, ``excluded_loss_per_key`` (n_checkpoints, |K|)
    float64 and ``neuron_cluster`` (n_checkpoints, d_mlp) uint8.
    """
    run_dir = Path(run_dir)
    config = store.load_config(run_dir)
    epochs = store.checkpoint_epochs(run_dir)
    if not epochs:
        raise store.RunError(f"{run_dir / store.CHECKPOINTS}: no checkpoints to measure")
    data = make_dataset(config)
    fourier = fourier_basis(config.p)
    rows = []
    for epoch in epochs:
        state = store.load_tensors(store.checkpoint_path(run_dir, epoch))
        if model is None:
            model = model_from_state(config, state)
        else:
            model.load_state_dict(state)
        rows.append(measures_for_model(model, config, key_freqs, data, fourier))
    out = {"epoch": torch.tensor(epochs, dtype=torch.int64),
           "key_frequencies": torch.tensor(key_freqs, dtype=torch.int64)}
    for key in rows[0]:
        values = [r[key] for r in rows]
        is_tensor = isinstance(values[0], torch.Tensor)
        out[key] = torch.stack(values) if is_tensor else torch.tensor(values, dtype=torch.float64)
    return out


def save_progress(run_dir: Path, progress: dict[str, torch.Tensor]) -> None:
    """Store the measures in the run (``progress.safetensors``, listed in the manifest)."""
    store.add_file(Path(run_dir), store.PROGRESS, store.tensors_to_bytes(progress))


def load_progress(run_dir: Path) -> dict[str, torch.Tensor]:
    store.verify_run(run_dir)
    return store.load_tensors(Path(run_dir) / store.PROGRESS)
