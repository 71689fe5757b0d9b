"""The committed run's MLP neurons cluster on its key frequencies."""

import pytest

from grokking.analysis import neurons
from grokking.analysis.context import RunContext


@pytest.fixture(scope="module")
def ctx(canonical):
    return RunContext(canonical)


def test_committed_run_neurons_cluster_on_key_frequencies(ctx):
    dominant, explained = neurons.neuron_clusters(ctx.neuron_frequency_shares)
    assert len(explained) == 512
    # The paper's run had 433 of 512 (85%) above the bar and the book's issue asked for
    # > 80%. The committed run (the TransformerLens demo's setup, MLP biases frozen at
    # zero) has 344 of 512 (67%); the rest mostly mix two key frequencies. The target is
    # NOT met (see the neurons chapter): this asserts what the committed run shows, so
    # that a regression below it fails.
    assert explained.double().mean() > 0.65
    sizes = neurons.cluster_sizes(dominant, explained)
    big = [k for k, n in sizes.items() if n >= 10]
    assert big
    assert set(big) <= set(ctx.key_frequencies)
