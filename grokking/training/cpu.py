"""CPU settings that make training fast without changing what it computes.

This is the one place that sets them; the training loop, the CLI and the sweep
workers call :func:`prepare_process` (or use :func:`flush_denormals` around a loop).

- **Flushing subnormal floats to zero.** Late in training some values underflow to
  subnormals, and every operation that touches them runs several times slower on
  x86 CPUs. Flushing them to zero leaves every printed digit of the losses unchanged.
  The setting is per thread and new threads inherit it from the thread that creates
  them, so a process sets it before torch starts its worker threads.
- **Keeping freed memory.** Each step allocates the same few multi-megabyte tensors;
  by default glibc maps and unmaps them every time, and the page faults on first
  touch cost about a third of a CPU step. Raising glibc's mmap and trim thresholds
  keeps that memory in the heap (a few tens of MB). A no-op where glibc is absent.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator

import torch

# glibc's mallopt parameters (malloc.h) and the values used for them
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's maximum on 64-bit
TRIM_THRESHOLD_BYTES = 1024 * 1024 * 1024


def keep_freed_memory() -> None:
    """Ask glibc to reuse freed blocks instead of returning them to the kernel."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)


def prepare_process() -> None:
    """Both settings for the whole process; call it before any parallel torch work."""
    torch.set_flush_denormal(True)
    keep_freed_memory()


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Subnormals flushed to zero inside the block, restored to torch's default after it."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
