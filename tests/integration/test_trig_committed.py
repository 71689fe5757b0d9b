"""The trig identities measured on the committed run's neurons and read out in its logits."""

import math

import pytest

from grokking.analysis import neurons, trig
from grokking.analysis.context import RunContext
from grokking.analysis.logits import fit_cos_logits


@pytest.fixture(scope="module")
def table(canonical):
    ctx = RunContext(canonical)
    dominant, explained = neurons.neuron_clusters(ctx.neuron_frequency_shares)
    clusters = {k: neurons.neurons_of_frequency(dominant, explained, k) for k in ctx.key_frequencies}
    table = ctx.trig_table  # the same fits, as the chapter reads them
    assert {k: row["neurons"].tolist() for k, row in table.items()} == {k: v.tolist() for k, v in clusters.items()}
    return ctx, table


def test_committed_run_neurons_follow_the_trig_story(table):
    ctx, tab = table
    assert sorted(tab) == ctx.key_frequencies
    gaps = {}
    for k, row in tab.items():
        waves = row["waves"]
        assert row["r2_waves"] > 0.85, k
        # a- and b-waves of a neuron match: same amplitude (within 2%), same phase (within 1%
        # of a turn, while the neurons' phases spread over the whole turn)
        assert (waves["amp_b"] / waves["amp_a"] - 1).abs().max() < 0.02, k
        assert trig.wrap(waves["phase_a"] - waves["phase_b"]).abs().max() < 0.01 * 2 * math.pi, k
        assert trig.wrap(waves["phase_a"] - waves["phase_a"].mean()).abs().max() > 0.25 * 2 * math.pi, k
        # the ReLU makes a product: with gamma clearly better than without
        assert row["r2_with"] > 0.85 and row["r2_with"] > row["r2_without"] + 0.1, k
        _, theta = trig.wave_over_c(ctx.W_L[row["neurons"]], k)
        gaps[k] = trig.wrap(theta + 2 * waves["phase"])
    # Each neuron's W_L row is a wave over c peaking near -2 phi_n, as the chapter says: closely
    # (median gap under 0.2 rad, no neuron off by 0.5 rad) in every cluster but one; that one
    # (committed run: k = 12, median 0.45 rad) only roughly, its gaps on both sides of zero, its
    # median still far below the pi/2 of a peak unrelated to the phase.
    medians = {k: float(g.abs().median()) for k, g in gaps.items()}
    close = [k for k, m in medians.items() if m < 0.2]
    rough = [k for k in gaps if k not in close]
    assert close and len(rough) == 1, medians
    assert all(float(gaps[k].abs().max()) < 0.5 for k in close), medians
    assert 0.25 < float((gaps[rough[0]] > 0).double().mean()) < 0.75
    assert medians[rough[0]] < math.pi / 4, medians


def test_committed_run_clusters_read_out_a_plus_b(table):
    ctx, tab = table
    p = ctx.p
    total = 0
    for k, row in tab.items():
        logits = trig.cluster_logits(ctx.neuron_acts, ctx.W_L, row["neurons"])
        total = total + logits
        # Its own frequency is the single cos(w(a+b-c)) wave that explains the cluster's
        # contribution best (on the committed run 65% to 73% of it; the rest is the
        # ReLU's harmonics and the mixing neurons, which the sum over clusters cancels).
        explained = [fit_cos_logits(logits, [j], p)["explained"] for j in range(1, (p + 1) // 2)]
        assert max(range(len(explained)), key=explained.__getitem__) + 1 == k
        assert explained[k - 1] > 0.2, k
    _, labels = ctx.pairs
    def accuracy(logits):
        return float((logits.argmax(-1) == labels).float().mean())
    alone = max(accuracy(trig.cluster_logits(ctx.neuron_acts, ctx.W_L, row["neurons"])) for row in tab.values())
    # Summing the clusters sharpens the peak: far more pairs right than any cluster
    # alone (committed run: ~96% against at most ~4%), all of them with every neuron.
    assert accuracy(total) > 5 * alone
    assert accuracy(ctx.logits) == 1.0
    sharp, _ = trig.sharpening(ctx.cluster_logits, ctx.logits, labels)
    assert sharp["clusters\nsummed"] == pytest.approx(accuracy(total))
    assert sharp["whole\nmodel"] == 1.0
    # ... and the sum is closer to pure key-frequency waves than the clusters are on average.
    own = [fit_cos_logits(trig.cluster_logits(ctx.neuron_acts, ctx.W_L, row["neurons"]), [k], p)["explained"]
           for k, row in tab.items()]
    assert fit_cos_logits(total, ctx.key_frequencies, p)["explained"] > sum(own) / len(own)


def test_fits_make_no_p_cubed_float64_tensor(table, float64_watch):
    ctx, tab = table
    p = ctx.p
    with float64_watch as watch:
        clusters = {k: row["neurons"] for k, row in tab.items()}
        trig.relu_product_table(ctx.neuron_pre, ctx.neuron_acts, clusters)
        for k, row in tab.items():
            logits = trig.cluster_logits(ctx.neuron_acts, ctx.W_L, row["neurons"])
            trig.readout_r2(logits, k)
            trig.top_margin(logits)
    assert watch.largest < p**3
