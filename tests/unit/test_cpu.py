"""The CPU settings: subnormals flushed inside the block only; keeping freed memory is harmless."""

import torch

from grokking.training.cpu import flush_denormals, keep_freed_memory

TINY = 1e-40  # a float32 subnormal


def subnormal_survives() -> bool:
    return float(torch.tensor([TINY], dtype=torch.float32) * 1.0) != 0.0


def test_flush_denormals_inside_the_block_only():
    assert subnormal_survives()
    with flush_denormals():
        assert not subnormal_survives()
    assert subnormal_survives()  # torch's default again


def test_flush_denormals_restores_after_an_error():
    try:
        with flush_denormals():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert subnormal_survives()


def test_keep_freed_memory_changes_no_result():
    keep_freed_memory()
    a = torch.randn(300, 300, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a @ a, a @ a)
