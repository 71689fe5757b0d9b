"""Plotting: every function takes computed results (tensors, dicts of them) and returns a
matplotlib Figure. Plot functions only draw: they never run the model, read files or
compute an analysis (the layer rule in tests/unit/test_layers.py checks the imports).

One submodule per chapter topic; :mod:`.style` holds the one palette and the shared
helpers. :mod:`grokking.figures` wires each figure to a run by its PNG file name.
"""
