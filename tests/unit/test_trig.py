"""The trig-identity fits: planted signals with known answers, then the committed run."""

import math

import pytest
import torch

from grokking.analysis import trig

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
    assert abs(float(amp) - R) < 1e-5
    assert abs(float(trig.wrap(angle - theta))) < 1e-5


def test_phase_resultant():
    spread = torch.arange(8) * 2 * math.pi / 8
    assert trig.phase_resultant(spread, torch.ones(8), 1) < 1e-6
    assert trig.phase_resultant(spread, torch.ones(8), 8) == pytest.approx(1.0)


def test_by_angle_turns_frequency_k_into_frequency_one():
    k = 38
    order = trig.by_angle(k, P)
    assert sorted(order.tolist()) == list(range(P))
    wave = torch.cos(2 * math.pi * k / P * order.double())
    assert torch.allclose(wave, torch.cos(2 * math.pi / P * torch.arange(P, dtype=torch.float64)), atol=1e-9)


def test_example_pair_wraps_past_p():
    assert trig.example_pair(113) == (37, 95)
    for p in (7, 23, 59, 113):
        a, b = trig.example_pair(p)
        assert 0 <= a < p
        assert 0 <= b < p
        assert a + b >= p


def planted_table():
    """A trig table with only what the per-cluster helpers read."""
    return {3: {"neurons": torch.tensor([0, 1, 2]), "waves": {"amp_a": torch.tensor([1.0, 3.0, 2.0]),
                                                               "phase": torch.tensor([0.1, 1.0, -2.0])}},
            5: {"neurons": torch.tensor([3]), "waves": {"amp_a": torch.tensor([0.5]),
                                                        "phase": torch.tensor([2.5])}}}


def test_example_neurons_and_largest_cluster():
    table = planted_table()
    assert trig.example_neurons(table) == {3: 1, 5: 0}
    assert trig.largest_cluster(table) == 3


def test_cluster_logit_table_and_readout_fits():
    p = 23
    g = torch.Generator().manual_seed(5)
    acts = torch.rand(p, p, 4, generator=g)
    W_L = torch.randn(4, p, generator=g)
    table = planted_table()
    logits = trig.cluster_logit_table(acts, W_L, table)
    assert set(logits) == {3, 5}
    for k, row in table.items():
        assert torch.equal(logits[k], trig.cluster_logits(acts, W_L, row["neurons"]))
    assert torch.allclose(logits[5], acts.reshape(p * p, 4)[:, [3]] @ W_L[[3]])
    # a cluster whose logits are 2 cos(w_k (a + b - c)) plus noise at other frequencies reads out perfectly
    a = torch.arange(p).repeat_interleave(p)[:, None].double()
    b = torch.arange(p).repeat(p)[:, None].double()
    c = torch.arange(p)[None, :].double()
    clean = {k: (2.0 * torch.cos(2 * math.pi * k / p * (a + b - c))
                 + torch.cos(2 * math.pi * (k + 1) / p * (a - c))).float() for k in (3, 5)}
    fits = trig.readout_fits(clean, p)
    for k in (3, 5):
        assert fits[k]["explained"] == pytest.approx(1.0, abs=1e-5)
        assert float(fits[k]["alphas"][0]) == pytest.approx(2.0, rel=1e-4)
        assert trig.readout_r2(clean[k], k) == pytest.approx(fits[k]["explained"])


def test_sharpening_counts_right_answers_and_margins():
    labels = torch.tensor([0, 1, 2])
    one = torch.tensor([[3.0, 0, 0], [0, 0, 1.0], [0, 0, 1.0]])  # 2 of 3 right
    two = torch.tensor([[0, 1.0, 0], [0, 2.0, 0], [0, 0, 0.5]])  # 2 of 3 right
    model = torch.eye(3) * 10
    accuracy, margin = trig.sharpening({3: one, 5: two}, model, labels)
    assert list(accuracy) == ["k = 3\nalone", "k = 5\nalone", "clusters\nsummed", "whole\nmodel"]
    assert accuracy["k = 3\nalone"] == pytest.approx(2 / 3)
    assert accuracy["whole\nmodel"] == 1.0
    assert accuracy["clusters\nsummed"] == 1.0  # the sum gets all three right
    assert margin["whole\nmodel"] == pytest.approx(float(trig.top_margin(model).mean()))


def test_unembed_phases_put_the_readout_at_twice_the_input_phase():
    p, k = 113, 7
    table = planted_table()
    table[k] = {"neurons": torch.tensor([0, 1, 2]), "waves": {"phase": torch.tensor([0.3, -1.2, 2.9])}}
    del table[3], table[5]
    c = torch.arange(p, dtype=torch.float64)
    # neuron n's W_L row peaks where w c + 2 phi_n = 0
    W_L = torch.stack([torch.cos(2 * math.pi * k / p * c + 2 * phi) for phi in (0.3, -1.2, 2.9)]).float()
    twice, readout = trig.unembed_phases(W_L, table)[k]
    assert ((twice >= 0) & (twice < 2 * math.pi)).all()
    assert torch.allclose(readout.double(), twice.double(), atol=1e-4)
