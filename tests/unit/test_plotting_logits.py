"""The logits chapter's figures drawn from planted results."""

from matplotlib.figure import Figure

from grokking.plotting import logits as plots


def test_cluster_ablation_figure_from_a_planted_result():
    result = {"baseline": (1e-7, 1.0), "clusters": {4: (10, 0.1, 0.9)}, "unexplained": (3, 1e-3, 1.0)}
    assert isinstance(plots.plot_cluster_ablation(result), Figure)
