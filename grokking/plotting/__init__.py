"""Plotting: every function takes tensors (or a RunContext) and returns a matplotlib Figure.

One submodule per chapter topic; ``common`` holds the shared style. Each topic
module exposes ``FIGURES``: a dict from PNG file stem to a function of a
:class:`grokking.context.RunContext` returning a Figure, which
``python -m grokking figures`` writes out.
"""
