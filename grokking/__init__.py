"""Reproduce and dissect grokking of (a + b) mod p in a one-layer transformer.

The package is organised one module per concern:

- :mod:`grokking.config`  - the frozen run configuration (paper defaults)
- :mod:`grokking.data`    - the full (a, b) dataset and its train/test split
- :mod:`grokking.model`   - building the TransformerLens ``HookedTransformer``
- :mod:`grokking.fast`    - the last-position training step (same maths, faster)
- :mod:`grokking.train`   - the training loop, metrics, checkpoints, resume
- :mod:`grokking.store`   - the on-disk run format (safetensors + JSON, atomic)
- :mod:`grokking.runs`    - the entry points the book uses to get a trained model
- :mod:`grokking.cli`     - ``python -m grokking ...``
"""

__version__ = "0.1.0"
