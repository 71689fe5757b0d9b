"""The training variants of the Beyond-the-paper experiments: each against a reference
computed another way (autograd, the paper code's own recipe, a hand-written filter)."""

import json
import math
import random

import pytest
import torch

from grokking.config import VARIANTS_START, Config, ConfigError
from grokking.data import make_dataset
from grokking.model import BIAS_NAMES, WEIGHT_NAMES, build_model, trainable_parameters
from grokking.runs import store
from grokking.training import fast
from grokking.training.loop import Trainer, grokfast_filter, orthogonal_gradient, train, warmup_factor


def small(**changes) -> Config:
    sizes = dict(p=23, d_model=32, n_heads=4, d_head=8, d_mlp=64, epochs=60, eval_every=10, checkpoint_every=20)
    return Config(**{**sizes, **changes})


def reference_grads(model, tokens, labels, loss):
    for p in model.parameters():
        p.grad = None
    value = fast.loss_value(model(tokens)[:, -1], labels, loss)
    value.backward()
    return value.detach(), {k: p.grad.clone() for k, p in trainable_parameters(model).items()}


def assert_grads_match(model, tokens, labels, loss):
    ref_loss, ref = reference_grads(model, tokens, labels, loss)
    value, _, grads = fast.loss_and_grads(model, tokens, labels, loss=loss)
    assert abs(float(value) - float(ref_loss)) <= 1e-5 * abs(float(ref_loss)) + 1e-9
    assert set(grads) == set(ref)
    for name, g in ref.items():
        assert (grads[name] - g).abs().max() <= 1e-4 * g.abs().max() + 1e-10, name


@pytest.mark.parametrize("loss", ["ce64", "ce32", "stablemax"])
def test_each_loss_gives_autograds_gradients(loss):
    config = small(loss=loss)
    model = build_model(config)
    data = make_dataset(config)
    with torch.no_grad():  # larger weights: logits of several units, both signs (StableMax's two pieces)
        for p in trainable_parameters(model).values():
            p.mul_(3.0)
    assert_grads_match(model, data.train_tokens, data.train_labels, loss)


def test_stablemax_by_its_formula():
    x = torch.tensor([[2.0, -1.0, 0.0], [-3.0, -0.5, 4.0]])
    s = torch.tensor([[3.0, 0.5, 1.0], [0.25, 1 / 1.5, 5.0]], dtype=torch.float64)
    labels = torch.tensor([0, 1])
    expected = -(torch.log(s[0, 0] / s[0].sum()) + torch.log(s[1, 1] / s[1].sum())) / 2
    assert torch.allclose(fast.loss_value(x, labels, "stablemax"), expected, rtol=1e-12)
    value, _ = fast.loss_and_logit_grads(x, labels, "stablemax")
    assert torch.allclose(value, expected, rtol=1e-12)


def test_float32_softmax_collapses_where_float64_does_not():
    # exp(-20) = 2e-9 is lost next to 1 in float32 (its spacing there is 1.2e-7): the
    # float32 loss and gradient are exactly zero; in float64 they are not.
    logits = torch.tensor([[20.0, 0.0, 0.0]])
    labels = torch.tensor([0])
    v32, g32 = fast.loss_and_logit_grads(logits, labels, "ce32")
    v64, g64 = fast.loss_and_logit_grads(logits, labels, "ce64")
    assert float(v32) == 0.0 and float(g32[0, 0]) == 0.0
    assert float(v64) > 0.0 and float(g64[0, 0]) < 0.0


def test_trained_mlp_biases_get_autograds_gradients():
    config = small(biases="mlp", init="paper")
    model = build_model(config)
    names = set(trainable_parameters(model))
    assert names == set(WEIGHT_NAMES.values()) | {BIAS_NAMES["b_in"], BIAS_NAMES["b_out"]}
    with torch.no_grad():  # nonzero biases, as after some training
        g = torch.Generator().manual_seed(3)
        for short in ("b_in", "b_out"):
            p = dict(model.named_parameters())[BIAS_NAMES[short]]
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    data = make_dataset(config)
    assert_grads_match(model, data.train_tokens, data.train_labels, "ce64")


def test_uniform_attention_attends_a_third_to_each_position_and_keeps_it():
    config = small(attention="uniform")
    model = build_model(config)
    named = dict(model.named_parameters())
    for short in ("W_Q", "W_K"):
        assert not named[WEIGHT_NAMES[short]].requires_grad
        assert torch.count_nonzero(named[WEIGHT_NAMES[short]]) == 0
    data = make_dataset(config)
    _, cache = model.run_with_cache(data.tokens[:50])
    pattern = cache["blocks.0.attn.hook_pattern"][:, :, -1]  # (batch, heads, 3) from '='
    assert torch.allclose(pattern, torch.full_like(pattern, 1 / 3), atol=1e-7)
    trainer = Trainer(config, model, data)
    for _ in range(5):
        trainer.step(measure=False)
    assert torch.count_nonzero(named[WEIGHT_NAMES["W_Q"]]) == 0
    assert_grads_match(model, data.train_tokens, data.train_labels, "ce64")


def test_orthogonal_gradient_is_orthogonal_and_keeps_the_norm():
    g = torch.Generator().manual_seed(0)
    w, grad = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g)
    out = orthogonal_gradient(w, grad)
    assert out.shape == grad.shape
    assert abs(float((out * w).sum())) < 1e-5 * float(out.norm() * w.norm())
    assert math.isclose(float(out.norm()), float(grad.norm()), rel_tol=1e-6)
    # the component along w is gone, the rest is kept in direction
    expected = grad - (grad * w).sum() / (w * w).sum() * w
    assert torch.allclose(out / out.norm(), expected / expected.norm(), atol=1e-6)
    already = expected  # orthogonal to w already: only rescaled, here by 1
    assert torch.allclose(orthogonal_gradient(w, already), already, atol=1e-6)


def test_grokfast_filter_is_the_ema_of_the_paper_code():
    alpha, lamb = 0.98, 2.0
    grads = [torch.tensor([1.0, -2.0]), torch.tensor([3.0, 0.5]), torch.tensor([-1.0, 1.0])]
    ema, outs = None, []
    for grad in grads:
        ema, out = grokfast_filter(ema, grad, alpha, lamb)
        outs.append(out)
    mu = grads[0]  # the average starts at the first gradient
    expected = [grads[0] + lamb * mu]
    for grad in grads[1:]:
        mu = alpha * mu + (1 - alpha) * grad
        expected.append(grad + lamb * mu)
    for out, exp in zip(outs, expected, strict=True):
        assert torch.allclose(out, exp, atol=1e-6)
    # a steady gradient is amplified (1 + lambda) times: the matched learning rate's factor
    steady = None
    for _ in range(10):
        steady, out = grokfast_filter(steady, torch.tensor([0.5]), alpha, lamb)
    assert torch.allclose(out, torch.tensor([0.5 * (1 + lamb)]))


def test_warmup_matches_the_paper_codes_lambda_lr():
    config = Config(warmup_steps=10)
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=config.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(step / 10, 1))
    for t in range(15):
        assert math.isclose(opt.param_groups[0]["lr"], config.lr * warmup_factor(config, t), rel_tol=1e-12)
        opt.step()
        sched.step()
    assert warmup_factor(Config(), 0) == 1.0


def test_warmup_first_step_changes_nothing():
    config = small(warmup_steps=10)
    model = build_model(config)
    before = {k: v.clone() for k, v in trainable_parameters(model).items()}
    trainer = Trainer(config, model, make_dataset(config))
    trainer.step(measure=False)  # lr 0: no update and no decay
    assert all(torch.equal(before[k], v) for k, v in trainable_parameters(model).items())
    trainer.step(measure=False)
    assert not all(torch.equal(before[k], v) for k, v in trainable_parameters(model).items())


def test_python_split_is_the_paper_codes():
    config = Config(split="python", split_seed=0)
    pairs = [(i, j) for i in range(113) for j in range(113)]
    random.seed(0)
    random.shuffle(pairs)
    cut = int(0.3 * len(pairs))
    data = make_dataset(config)
    assert [tuple(t[:2].tolist()) for t in data.train_tokens] == pairs[:cut]
    assert [tuple(t[:2].tolist()) for t in data.test_tokens] == pairs[cut:]


def test_training_subset_is_part_of_the_split_and_leaves_the_test_split():
    full = make_dataset(Config())
    sub = make_dataset(Config(train_subset=1000, subset_seed=4))
    assert sub.train_idx.numel() == 1000 and sub.train_idx.unique().numel() == 1000
    assert torch.isin(sub.train_idx, full.train_idx).all()
    assert torch.equal(sub.test_idx, full.test_idx)
    assert not torch.equal(sub.train_idx, make_dataset(Config(train_subset=1000, subset_seed=5)).train_idx)


def test_paper_init_scales_and_seed():
    config = Config(init="paper", biases="mlp", model_seed=0)
    model = build_model(config)
    named = dict(model.named_parameters())
    assert math.isclose(float(named[WEIGHT_NAMES["W_in"]].detach().std()), 128**-0.5, rel_tol=0.02)
    assert math.isclose(float(named[WEIGHT_NAMES["W_U"]].detach().std()), 114**-0.5, rel_tol=0.03)
    assert all(torch.count_nonzero(named[full]) == 0 for full in BIAS_NAMES.values())
    again = dict(build_model(config).named_parameters())
    assert all(torch.equal(named[k], again[k]) for k in named)
    other = dict(build_model(config.replace(model_seed=1)).named_parameters())
    assert not torch.equal(named[WEIGHT_NAMES["W_E"]], other[WEIGHT_NAMES["W_E"]])


def test_variant_fields_are_written_only_when_set():
    assert list(Config().to_dict()) == list(Config.__dataclass_fields__)[:VARIANTS_START]
    varied = Config(loss="stablemax", warmup_steps=10, adam_eps=1e-25)
    data = varied.to_dict()
    assert data["loss"] == "stablemax" and data["warmup_steps"] == 10 and "optimizer" not in data
    assert Config.from_json(varied.to_json()) == varied
    path = store.Path("config.json")
    assert store.check_config(json.loads(varied.to_json()), path) == varied


@pytest.mark.parametrize(("changes", "words"), [
    ({"loss": "ce16"}, "loss must be one of"),
    ({"optimizer": "sgd"}, "optimizer must be one of"),
    ({"attention": "none"}, "attention must be one of"),
    ({"init": "xavier"}, "init must be one of"),
    ({"biases": "all"}, "biases must be one of"),
    ({"split": "numpy"}, "split must be one of"),
    ({"adam_eps": 0.0}, "adam_eps"),
    ({"grokfast_alpha": 1.0}, "grokfast_alpha"),
    ({"grokfast_lambda": -1.0}, "grokfast_lambda"),
    ({"warmup_steps": -1}, "warmup_steps"),
    ({"train_subset": 3831}, "train_subset"),
    ({"train_subset": -5}, "train_subset"),
    ({"subset_seed": -1}, "subset_seed"),
    ({"loss": 3}, "loss must be str"),
])
def test_bad_variant_values_are_refused(changes, words):
    with pytest.raises(ConfigError, match=words):
        Config(**changes)


@pytest.mark.parametrize("changes", [
    {"grokfast_alpha": 0.98, "grokfast_lambda": 2.0},
    {"optimizer": "ortho_adamw", "weight_decay": 0.0},
    {"warmup_steps": 10, "biases": "mlp", "init": "paper"},
])
def test_interrupted_variant_resumes_bit_identically(tmp_path, changes):
    config = small(**changes)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        store.write_config(tmp_path / name, config)
    straight = train(config, tmp_path / "a")
    calls = []
    first = train(config, tmp_path / "b", should_stop=lambda: (calls.append(1), len(calls) == 27)[1])
    assert not first.finished
    second = train(config, tmp_path / "b", resume=True)
    assert second.history == straight.history
    wa = store.load_tensors(tmp_path / "a" / "model.safetensors")
    wb = store.load_tensors(tmp_path / "b" / "model.safetensors")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_start_state_replaces_the_initial_weights(tmp_path):
    base = small(epochs=30)
    (tmp_path / "base").mkdir()
    store.write_config(tmp_path / "base", base)
    train(base, tmp_path / "base")
    _, state, _ = store.read_run(tmp_path / "base")
    cont = base.replace(epochs=0, train_subset=50)
    (tmp_path / "cont").mkdir()
    store.write_config(tmp_path / "cont", cont)
    train(cont, tmp_path / "cont", start_state=state)
    _, after, _ = store.read_run(tmp_path / "cont")
    assert all(torch.equal(state[k], after[k]) for k in state)  # 0 epochs: the start weights, unchanged
