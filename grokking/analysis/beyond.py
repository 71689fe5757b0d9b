"""Measures from the papers the "Beyond the paper" chapter tests on this model.

Conventions: logits are the last position's, (B, p) for B pairs; "correct logit" is the
logit of the right answer (a + b) mod p; pairs are in the package's row-major order
(pair (a, b) is row a * p + b, :mod:`grokking.data`).

- **Softmax collapse** (Prieto et al. 2025): a row has collapsed when, in float32, the
  sum of exp(logit - max logit) over the outputs is exactly 1: every other output's
  term has vanished next to the largest's 1, so the softmax is exactly one-hot and the
  cross-entropy's gradient for that row is zero (their code's ``softmax_collapse``).
- **Gradient symmetricity** (Zhong et al. 2023, Definition 4.1): for a triple (a, b, c),
  the cosine similarity of the gradients of logit c with respect to the input embeddings
  at a's and b's positions, averaged over triples. Their code takes 100 triples: every
  (a, b, c) in lexicographic order, shuffled by ``random.Random(42)``, the first 100
  (:func:`symmetricity_triples`).
- **Distance irrelevance** (Zhong et al. 2023, Definition 4.2): with L[a, b] the correct
  logit, the mean over differences d of the standard deviation of L over the pairs with
  a - b = d, divided by the standard deviation of L over all pairs (population standard
  deviations, as their code's numpy). Near 1 when the correct logit does not depend on
  a - b (clock), small when it does (pizza).
"""

from __future__ import annotations

import random

import torch

from ..data import pair_grid

SYMMETRICITY_TRIPLES = 100  # Zhong et al.'s |S| (their footnote 3)
SYMMETRICITY_SEED = 42  # their evaluation notebook's random.Random(42)


def collapsed_fraction(logits: torch.Tensor) -> float:
    """The fraction of rows of ``logits`` (B, O) whose float32 softmax has collapsed:
    sum_j exp(x_j - max x) == 1 exactly, computed in float32."""
    x = logits.to(torch.float32)
    sums = (x - x.amax(-1, keepdim=True)).exp().sum(-1)  # (B,)
    return float((sums == 1).double().mean())


def symmetricity_triples(p: int, n: int = SYMMETRICITY_TRIPLES, seed: int = SYMMETRICITY_SEED) -> torch.Tensor:
    """(n, 3) int64 triples (a, b, c): all p^3 in lexicographic order, shuffled by Python's
    ``random.Random(seed)``, the first ``n`` (Zhong et al.'s sample)."""
    order = list(range(p**3))
    random.Random(seed).shuffle(order)
    idx = torch.tensor(order[:n], dtype=torch.int64)
    return torch.stack([idx // (p * p), (idx // p) % p, idx % p], dim=1)


def gradient_symmetricity(grads: torch.Tensor) -> float:
    """Mean cosine similarity of d Q_abc / d E_a and d Q_abc / d E_b over the triples of
    ``grads`` (n, 2, d_model) (:func:`grokking.analysis.hooks.embedding_gradients` of
    :func:`symmetricity_triples`)."""
    grads = grads.double()
    cos = torch.nn.functional.cosine_similarity(grads[:, 0], grads[:, 1], dim=-1, eps=1e-300)  # (n,)
    return float(cos.mean())


def correct_logits(logits: torch.Tensor, p: int) -> torch.Tensor:
    """The correct logit of every pair, (p, p) indexed [a, b], from all pairs' logits (p*p, p)."""
    a, b = pair_grid(p)
    return logits.gather(1, ((a + b) % p)[:, None]).view(p, p)


def distance_irrelevance(correct: torch.Tensor) -> float:
    """Zhong et al.'s q for a (p, p) grid of correct logits L[a, b]: the mean over d of
    std(L[a, a - d] over a), divided by std(L over all pairs)."""
    p = correct.shape[0]
    L = correct.double()
    a = torch.arange(p)
    by_difference = torch.stack([L[a, (a - d) % p] for d in range(p)])  # (p differences, p pairs each)
    return float(by_difference.std(dim=1, correction=0).mean() / L.std(correction=0))
