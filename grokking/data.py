"""The dataset: every pair (a, b) with 0 <= a, b < p, labelled (a + b) mod p."""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from .config import Config


@dataclass(frozen=True)
class Dataset:
    """All p*p examples and a fixed train/test split.

    ``tokens[i] = [a, b, =]`` with the pairs in row-major order (index ``a * p + b``),
    so any per-example tensor reshapes to a (p, p) grid with ``.view(p, p)``.
    """

    tokens: torch.Tensor  # (p*p, 3) int64
    labels: torch.Tensor  # (p*p,) int64
    train_idx: torch.Tensor  # (n_train,) int64, indices into tokens
    test_idx: torch.Tensor  # (p*p - n_train,)

    @property
    def train_tokens(self) -> torch.Tensor:
        return self.tokens[self.train_idx]

    @property
    def train_labels(self) -> torch.Tensor:
        return self.labels[self.train_idx]

    @property
    def test_tokens(self) -> torch.Tensor:
        return self.tokens[self.test_idx]

    @property
    def test_labels(self) -> torch.Tensor:
        return self.labels[self.test_idx]

    def to(self, device: str | torch.device) -> Dataset:
        return Dataset(*(t.to(device) for t in (self.tokens, self.labels, self.train_idx, self.test_idx)))


# ------------------------------------------------------------------ the pair grid
# Every per-pair tensor in the package lists the p*p pairs in row-major order: pair
# (a, b) is row a * p + b, so ``values.view(p, p, ...)`` is a grid indexed [a, b].
def pair_grid(p: int, dtype: torch.dtype = torch.int64) -> tuple[torch.Tensor, torch.Tensor]:
    """The first and second number of every pair, in row-major order: two (p*p,) tensors."""
    a = torch.arange(p, dtype=dtype).repeat_interleave(p)
    b = torch.arange(p, dtype=dtype).repeat(p)
    return a, b


def pair_index(a: int, b: int, p: int) -> int:
    """Row of the pair (a, b) in the row-major order."""
    return a * p + b


def as_grid(values: torch.Tensor, p: int) -> torch.Tensor:
    """Per-pair values (p*p, ...) as a grid (p, p, ...) indexed [a, b]."""
    return values.reshape(p, p, *values.shape[1:])


def split_grid(train_idx: torch.Tensor, p: int) -> torch.Tensor:
    """A (p, p) float tensor over the (a, b) grid: 1 where the pair is a training example."""
    grid = torch.zeros(p * p)
    grid[train_idx] = 1.0
    return as_grid(grid, p)


def all_pairs(p: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens ``[a, b, p]`` for every pair in row-major order, and labels ``(a + b) % p``."""
    a, b = pair_grid(p)
    eq = torch.full_like(a, p)
    return torch.stack([a, b, eq], dim=1), (a + b) % p


def split_order(config: Config) -> torch.Tensor:
    """The p*p pair indices in split order: the first ``n_train`` are the training split.

    ``split = "torch"`` (the default): ``torch.randperm`` under ``split_seed``.
    ``split = "python"`` (the paper code's): the pairs in row-major order shuffled by
    Python's ``random.shuffle`` after ``random.seed(split_seed)``; a shuffle depends
    only on the seed and the list's length, so shuffling the indices is the same draw.
    """
    n = config.p * config.p
    if config.split == "python":
        order = list(range(n))
        random.Random(config.split_seed).shuffle(order)
        return torch.tensor(order, dtype=torch.int64)
    return torch.randperm(n, generator=torch.Generator().manual_seed(config.split_seed))


def make_dataset(config: Config) -> Dataset:
    """The full dataset with the seeded split (:func:`split_order`).

    With ``config.train_subset`` the training split is a random subset of that size
    (``torch.randperm`` of the training split under ``subset_seed``); the test split is
    unchanged, so the pairs left out are in neither.
    """
    tokens, labels = all_pairs(config.p)
    perm = split_order(config)
    n_train = config.n_train
    train_idx, test_idx = perm[:n_train].clone(), perm[n_train:].clone()
    if config.train_subset:
        keep = torch.randperm(n_train, generator=torch.Generator().manual_seed(config.subset_seed))
        train_idx = train_idx[keep[: config.train_subset]].clone()
    return Dataset(tokens, labels, train_idx, test_idx)
