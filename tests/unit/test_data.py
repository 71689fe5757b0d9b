"""The dataset: every (a, b) pair in row-major order and the seeded train/test split."""

import torch

from grokking.config import Config
from grokking.data import all_pairs, as_grid, make_dataset, pair_grid, pair_index, split_grid


def test_all_pairs_and_labels():
    tokens, labels = all_pairs(7)
    assert tokens.shape == (49, 3)
    assert torch.equal(tokens[:, 2], torch.full((49,), 7))
    assert torch.equal(labels, (tokens[:, 0] + tokens[:, 1]) % 7)
    # row-major: index a * p + b
    assert tokens[3 * 7 + 5].tolist() == [3, 5, 7]


def test_split_is_deterministic_disjoint_and_complete():
    c = Config()
    d1, d2 = make_dataset(c), make_dataset(c)
    assert torch.equal(d1.train_idx, d2.train_idx)
    assert len(d1.train_idx) == 3830
    assert len(d1.test_idx) == 8939
    both = torch.cat([d1.train_idx, d1.test_idx]).sort().values
    assert torch.equal(both, torch.arange(113 * 113))
    other = make_dataset(c.replace(split_seed=1))
    assert not torch.equal(other.train_idx, d1.train_idx)


def test_split_matches_the_demo_recipe():
    # The TransformerLens demo: torch.manual_seed(598); torch.randperm(p * p).
    torch.manual_seed(598)
    perm = torch.randperm(113 * 113)
    assert torch.equal(make_dataset(Config()).train_idx, perm[:3830])


def test_pair_grid_helpers_agree_with_all_pairs():
    p = 7
    tokens, _ = all_pairs(p)
    a, b = pair_grid(p)
    assert torch.equal(a, tokens[:, 0])
    assert torch.equal(b, tokens[:, 1])
    assert pair_index(3, 5, p) == 3 * 7 + 5
    grid = as_grid(torch.arange(p * p), p)
    assert grid.shape == (p, p)
    assert int(grid[3, 5]) == pair_index(3, 5, p)
    train_idx = torch.tensor([0, pair_index(3, 5, p), p * p - 1])
    mask = split_grid(train_idx, p)
    assert mask.shape == (p, p)
    assert float(mask.sum()) == 3
    assert mask[0, 0] == mask[3, 5] == mask[6, 6] == 1.0
