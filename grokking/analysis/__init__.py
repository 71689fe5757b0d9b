"""Interpretability measures: pure functions from tensors to tensors, plus :mod:`.context`,
the per-run cache that computes each of them once. :mod:`.hooks` is the only module
that runs the model with TransformerLens hooks."""
