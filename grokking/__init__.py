"""Reproduce and dissect grokking of (a + b) mod p in a one-layer transformer.

The package is a stack of layers, each importing only from those below it
(ARCHITECTURE.md has the full module table; tests/unit/test_layers.py checks the rule):

- :mod:`grokking.config`, :mod:`grokking.data`, :mod:`grokking.model`: what a run is
- :mod:`grokking.runs`: the run directory on disk (format, verification, loading)
- :mod:`grokking.training`: the fast step, the training loop, CPU settings, signals
- :mod:`grokking.analysis`: every measure of a trained model, and the per-run cache
- :mod:`grokking.plotting`: figures of computed results, one palette
- :mod:`grokking.pipeline`, :mod:`grokking.sweep`, :mod:`grokking.figures`,
  :mod:`grokking.chapter`, :mod:`grokking.cli`: orchestration and entry points
"""

__version__ = "0.2.0"
