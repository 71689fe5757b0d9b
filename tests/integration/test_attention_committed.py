"""The committed run's attention heads: their pattern over (a, b) lives in the key frequencies."""

import pytest
import torch

from grokking.analysis import attention
from grokking.analysis.context import RunContext

P = 113


@pytest.fixture(scope="module")
def ctx(canonical):
    return RunContext(canonical)


def test_committed_run_heads_use_key_frequencies(ctx):
    att = ctx.attention_to_a
    assert att.shape == (4, P, P)
    # '=' splits its attention among three positions, so attention to 'a' is a weight in [0, 1]
    assert float(att.min()) >= 0
    assert float(att.max()) <= 1
    shares = attention.head_key_shares(att, ctx.basis, ctx.key_frequencies)
    assert shares.shape == (4,)
    assert ((shares >= 0) & (shares <= 1)).all()
    assert float(shares.min()) > 0.5
    assert torch.equal(ctx.head_key_shares, shares)
