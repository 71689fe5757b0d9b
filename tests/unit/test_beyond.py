"""The other papers' measures (grokking.analysis.beyond) on planted inputs with known answers."""

import math
import random

import pytest
import torch

from grokking.analysis import beyond, hooks
from grokking.config import Config
from grokking.model import build_model


def test_collapsed_rows_are_those_whose_float32_sum_is_one():
    logits = torch.tensor([
        [0.0, -200.0, -300.0],  # every other term underflows to 0
        [20.0, 0.0, 0.0],  # exp(-20) = 2e-9 is absorbed into 1 in float32
        [0.0, -1.0, -2.0],  # not collapsed
        [5.0, 5.0, -100.0],  # two equal maxima: the sum is 2
    ])
    assert beyond.collapsed_fraction(logits) == 0.5
    assert beyond.collapsed_fraction(logits.double()) == 0.5  # measured in float32 whatever comes in


def test_distance_irrelevance_of_planted_grids():
    p = 31
    a = torch.arange(p)[:, None].double()
    b = torch.arange(p)[None, :].double()
    w = 2 * math.pi * 3 / p
    by_difference = torch.cos(w * (a - b))  # depends on a - b only: irrelevance 0
    assert beyond.distance_irrelevance(by_difference) < 1e-12
    by_sum = torch.cos(w * (a + b))  # independent of a - b: every difference's spread is the whole spread
    assert beyond.distance_irrelevance(by_sum) == pytest.approx(1.0, abs=1e-12)
    mixed = by_sum + by_difference  # half the variance from each: sqrt(1/2)
    assert beyond.distance_irrelevance(mixed) == pytest.approx(math.sqrt(0.5), abs=1e-9)


def test_correct_logits_pick_the_answer():
    p = 5
    logits = torch.arange(p * p * p, dtype=torch.float32).view(p * p, p)
    grid = beyond.correct_logits(logits, p)
    assert grid[2, 4] == logits[2 * p + 4, (2 + 4) % p]


def test_symmetricity_triples_are_zhong_et_als_sample():
    p = 7
    xs = [(a, b, c) for a in range(p) for b in range(p) for c in range(p)]
    random.Random(42).shuffle(xs)
    assert [tuple(t) for t in beyond.symmetricity_triples(p).tolist()] == xs[:100]


def test_gradient_symmetricity_of_planted_gradients():
    g = torch.randn(10, 1, 16)
    assert beyond.gradient_symmetricity(torch.cat([g, g], 1)) == pytest.approx(1.0)
    assert beyond.gradient_symmetricity(torch.cat([g, -g], 1)) == pytest.approx(-1.0)
    e = torch.zeros(10, 2, 16)
    e[:, 0, 0], e[:, 1, 1] = 1.0, 2.0
    assert beyond.gradient_symmetricity(e) == pytest.approx(0.0)


def test_uniform_attention_is_perfectly_symmetric_and_learned_attention_is_not():
    # With uniform attention a and b reach everything through (x_a + x_b + x_=) / 3: the same
    # gradient for both, whatever the weights. Learned attention weighs them unequally.
    config = Config(p=23, d_model=32, n_heads=4, d_head=8, d_mlp=64)
    triples = beyond.symmetricity_triples(23)
    uniform = build_model(config.replace(attention="uniform"))
    grads = hooks.embedding_gradients(uniform, triples)
    assert grads.shape == (100, 2, 32)
    assert beyond.gradient_symmetricity(grads) == pytest.approx(1.0, abs=1e-5)
    learned = build_model(config)
    with torch.no_grad():
        for name, p in learned.named_parameters():
            if name.endswith(("W_Q", "W_K")):
                p.mul_(20.0)  # sharp attention
    assert beyond.gradient_symmetricity(hooks.embedding_gradients(learned, triples)) < 0.99


def test_embedding_gradients_match_finite_differences():
    config = Config(p=11, d_model=16, n_heads=2, d_head=8, d_mlp=32)
    model = build_model(config).double()
    triple = torch.tensor([[3, 5, 2]])
    grad = hooks.embedding_gradients(model, triple)[0]  # (2, d)
    tokens = torch.tensor([[3, 5, 11]])
    eps = 1e-6
    for pos in (0, 1):
        direction = torch.zeros(3, 16, dtype=torch.float64)
        direction[pos, 4] = 1.0

        def logit(sign, d=direction):
            return model.run_with_hooks(tokens, fwd_hooks=[
                ("hook_embed", lambda v, hook, s=sign: v + s * eps * d[None])])[0, -1, 2]

        numeric = (logit(1) - logit(-1)) / (2 * eps)
        assert float(grad[pos, 4]) == pytest.approx(float(numeric), rel=1e-5, abs=1e-9)
