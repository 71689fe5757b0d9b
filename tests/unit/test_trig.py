"""The trig-identity fits: planted signals with known answers, then the committed run."""

import math

import pytest
import torch

from grokking import analysis, trig
from grokking.context import RunContext

P = 113


def planted_waves(k, amps_a, phases_a, amps_b, phases_b, const, p=P):
    """const_n + A_n cos(w a + phi_n) + B_n cos(w b + psi_n) on the (a, b) grid: (p, p, N)."""
    t = 2 * math.pi * k / p * torch.arange(p, dtype=torch.float64)
    wa = torch.cos(t[:, None] + torch.tensor(phases_a)[None]) * torch.tensor(amps_a)  # (p, N)
    wb = torch.cos(t[:, None] + torch.tensor(phases_b)[None]) * torch.tensor(amps_b)
    return torch.tensor(const) + wa[:, None, :] + wb[None, :, :]


def test_exact_wave_form_is_fitted_perfectly_and_its_parameters_recovered():
    amps_a, phases_a = [1.5, 0.3, 4.0], [0.4, -2.9, 2.0]
    amps_b, phases_b = [0.7, 2.2, 4.0], [-1.1, 1.3, 2.0]
    pre = planted_waves(7, amps_a, phases_a, amps_b, phases_b, [0.5, -1.0, 2.0])
    fit = trig.fit_waves(pre, 7)
    assert torch.allclose(fit["r2"], torch.ones(3, dtype=torch.float64), atol=1e-9)  # float32 data
    assert torch.allclose(fit["amp_a"], torch.tensor(amps_a, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(fit["amp_b"], torch.tensor(amps_b, dtype=torch.float64), atol=1e-5)
    assert trig.wrap(fit["phase_a"] - torch.tensor(phases_a)).abs().max() < 1e-5
    assert trig.wrap(fit["phase_b"] - torch.tensor(phases_b)).abs().max() < 1e-5
    assert torch.allclose(fit["coef"][:, 0], torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64), atol=1e-5)
    # the wrong frequency explains almost nothing
    assert float(trig.fit_waves(pre, 8)["r2"].max()) < 0.01


def test_least_squares_matches_torch_lstsq_with_per_slice_features():
    torch.manual_seed(1)
    feats = torch.randn(3, 11, 11, 4, dtype=torch.float64)
    target = torch.randn(11, 11, 4, dtype=torch.float64)
    fit = trig.least_squares(feats, target)
    for n in range(4):
        X = feats[..., n].reshape(3, -1).T
        expected = torch.linalg.lstsq(X, target[..., n].reshape(-1, 1)).solution.flatten()
        assert torch.allclose(fit["coef"][n], expected, atol=1e-5)


def test_relu_of_two_waves_needs_the_product_term_and_keeps_the_phase():
    k, phis = 5, [0.0, 1.0, -2.5]
    pre = planted_waves(k, [2.0] * 3, phis, [2.0] * 3, phis, [0.3, 0.0, -0.5])
    post = pre.clamp_min(0)
    waves = trig.fit_waves(pre, k)
    assert trig.wrap(waves["phase"] - torch.tensor(phis)).abs().max() < 1e-5
    # the ReLU output's own first harmonic sits at the same phase (ReLU of a wave is symmetric about its peak)
    post_phase = trig.fit_waves(post, k)["phase"]
    assert trig.wrap(post_phase - torch.tensor(phis)).abs().max() < 1e-3  # equal up to grid sampling
    with_g = trig.fit_relu_product(post, waves["phase"], k, with_product=True)
    without = trig.fit_relu_product(post, waves["phase"], k, with_product=False)
    assert (with_g["r2"] > 0.9).all()
    assert (with_g["r2"] - without["r2"] > 0.1).all()
    assert (with_g["coef"][:, 2] > 0).all()  # the product enters with a positive sign


def test_wave_over_c_recovers_amplitude_and_peak():
    c = torch.arange(P, dtype=torch.float64)
    k, R, theta = 12, 3.0, 1.2
    values = 5.0 + R * torch.cos(2 * math.pi * k / P * c - theta)
    amp, angle = trig.wave_over_c(values, k)
    assert abs(float(amp) - R) < 1e-5 and abs(float(trig.wrap(angle - theta))) < 1e-5


def test_phase_resultant():
    spread = torch.arange(8) * 2 * math.pi / 8
    assert trig.phase_resultant(spread, torch.ones(8), 1) < 1e-6
    assert trig.phase_resultant(spread, torch.ones(8), 8) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def table(canonical):
    ctx = RunContext(canonical)
    dominant, explained = analysis.neuron_clusters(ctx.neuron_frequency_shares)
    clusters = {k: analysis.neurons_of_frequency(dominant, explained, k) for k in ctx.key_frequencies}
    return ctx, trig.relu_product_table(ctx.neuron_pre, ctx.neuron_acts, clusters)


def test_committed_run_neurons_follow_the_trig_story(table):
    ctx, tab = table
    assert sorted(tab) == ctx.key_frequencies
    for k, row in tab.items():
        waves = row["waves"]
        assert row["r2_waves"] > 0.85, k
        # a- and b-waves of a neuron match: same amplitude, same phase
        assert (waves["amp_b"] / waves["amp_a"] - 1).abs().max() < 0.02, k
        assert trig.wrap(waves["phase_a"] - waves["phase_b"]).abs().max() < 0.02, k
        # the ReLU makes a product: with gamma clearly better than without
        assert row["r2_with"] > 0.85 and row["r2_with"] > row["r2_without"] + 0.1, k
        # each neuron's W_L row is a wave over c peaking at -2 phi_n
        _, theta = trig.wave_over_c(ctx.W_L[row["neurons"]], k)
        assert trig.wrap(theta + 2 * waves["phase"]).abs().median() < 0.2, k  # spread phases: ~pi/2


def test_committed_run_clusters_read_out_a_plus_b(table):
    ctx, tab = table
    p = ctx.p
    total = 0
    for k, row in tab.items():
        logits = trig.cluster_logits(ctx.neuron_acts, ctx.W_L, row["neurons"])
        total = total + logits
        # Its own frequency is the single cos(w(a+b-c)) wave that explains the cluster's
        # contribution best (on the committed run 24% to 77% of it; the rest is the
        # ReLU's harmonics and the mixing neurons, which the sum over clusters cancels).
        explained = [analysis.fit_cos_logits(logits, [j], p)["explained"] for j in range(1, (p + 1) // 2)]
        assert max(range(len(explained)), key=explained.__getitem__) + 1 == k
        assert explained[k - 1] > 0.2, k
    _, labels = ctx.pairs
    accuracy = lambda logits: float((logits.argmax(-1) == labels).float().mean())  # noqa: E731
    alone = max(accuracy(trig.cluster_logits(ctx.neuron_acts, ctx.W_L, row["neurons"])) for row in tab.values())
    # Summing the clusters sharpens the peak: far more pairs right than any cluster
    # alone (committed run: ~58% against at most ~7%), all of them with every neuron.
    assert accuracy(total) > 5 * alone
    assert accuracy(ctx.logits) == 1.0
    # ... and the sum is closer to pure key-frequency waves than the clusters are on average.
    own = [analysis.fit_cos_logits(trig.cluster_logits(ctx.neuron_acts, ctx.W_L, row["neurons"]), [k], p)["explained"]
           for k, row in tab.items()]
    assert analysis.fit_cos_logits(total, ctx.key_frequencies, p)["explained"] > sum(own) / len(own)


def test_by_angle_turns_frequency_k_into_frequency_one():
    k = 38
    order = trig.by_angle(k, P)
    assert sorted(order.tolist()) == list(range(P))
    wave = torch.cos(2 * math.pi * k / P * order.double())
    assert torch.allclose(wave, torch.cos(2 * math.pi / P * torch.arange(P, dtype=torch.float64)), atol=1e-9)


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
