"""The TransformerLens hooks: neuron ablation touches only the chosen neurons at '='; the cache on a small model."""

import torch

from grokking.analysis import hooks
from grokking.data import all_pairs
from grokking.model import build_model


def test_ablation_hook_overwrites_only_chosen_neurons_at_last_position():
    act = torch.arange(2 * 3 * 6, dtype=torch.float32).reshape(2, 3, 6)
    means = torch.full((6,), -1.0)
    zeroed = hooks.neuron_ablation_hook(torch.tensor([1, 4]))(act.clone())
    meaned = hooks.neuron_ablation_hook([1, 4], means)(act.clone())
    assert (zeroed[:, -1, [1, 4]] == 0).all()
    assert (meaned[:, -1, [1, 4]] == -1).all()
    keep = [0, 2, 3, 5]
    for out in (zeroed, meaned):
        assert torch.equal(out[:, :2], act[:, :2])
        assert torch.equal(out[:, -1, keep], act[:, -1, keep])


def test_run_cache_and_ablating_nothing_on_a_small_model(tiny_config):
    model = build_model(tiny_config).eval()
    tokens, _ = all_pairs(tiny_config.p)
    cache = hooks.run_cache(model, tokens)
    n, p = len(tokens), tiny_config.p
    with torch.no_grad():
        assert torch.allclose(cache["logits"], model(tokens)[:, -1], atol=1e-6)
    assert cache["pattern"].shape == (n, tiny_config.n_heads, 3, 3)
    assert cache["post"].shape == cache["pre"].shape == (n, tiny_config.d_mlp)
    assert torch.equal(cache["post"], cache["pre"].relu())
    none = torch.tensor([], dtype=torch.long)
    assert torch.allclose(hooks.logits_with_neurons_ablated(model, tokens, none), cache["logits"], atol=1e-6)
    # zeroing every neuron leaves what reaches the logits around the MLP
    everything = torch.arange(tiny_config.d_mlp)
    zeroed = hooks.logits_with_neurons_ablated(model, tokens, everything)
    assert not torch.allclose(zeroed, cache["logits"])
    scores = hooks.attention_scores_to_a(model, p)
    assert scores.shape == (p, tiny_config.n_heads)


def test_logit_parts_add_up_to_the_logits_and_the_direct_path_is_the_mlp_off(tiny_config):
    model = build_model(tiny_config).eval()
    with torch.no_grad():  # non-zero biases, so the direct path must carry b_out and b_U
        model.blocks[0].mlp.b_out.normal_()
        model.b_U.normal_()
    tokens, _ = all_pairs(tiny_config.p)
    cache = hooks.run_cache(model, tokens)
    d = tiny_config.d_mlp
    groups = {"first": torch.arange(0, d, 2), "second": torch.arange(1, d, 2)}
    parts = hooks.logit_parts(model, tokens, cache["post"], groups)
    assert list(parts) == ["direct path", "first", "second"]
    assert torch.allclose(sum(parts.values()), cache["logits"], atol=1e-4)
    # the direct path is the model with every neuron silenced
    silenced = hooks.logits_with_neurons_ablated(model, tokens, torch.arange(d))
    assert torch.allclose(parts["direct path"], silenced, atol=1e-5)
    # a group is its neurons' activations times their rows of W_out W_U
    W_L = model.blocks[0].mlp.W_out @ model.W_U
    n = int(groups["first"][1])
    alone = hooks.logit_parts(model, tokens, cache["post"], {"one": torch.tensor([n])})["one"]
    assert torch.allclose(alone, cache["post"][:, n : n + 1] * W_L[n], atol=1e-6)
