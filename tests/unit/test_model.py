"""The HookedTransformer the paper studies: its shapes, its frozen biases, the weight-name table."""

import pytest

from grokking.config import Config
from grokking.model import (
    BIAS_NAMES,
    WEIGHT_NAMES,
    build_model,
    model_spec,
    parameters_by_short_name,
    trainable_parameters,
    weight_norm,
    weight_shapes,
)


def test_spec_reads_live_shapes():
    cfg = Config()
    spec = model_spec(build_model(cfg))
    assert spec["shapes"] == {
        "W_E": (cfg.d_vocab, cfg.d_model), "W_pos": (cfg.n_ctx, cfg.d_model),
        "W_Q": (cfg.n_heads, cfg.d_model, cfg.d_head), "W_K": (cfg.n_heads, cfg.d_model, cfg.d_head),
        "W_V": (cfg.n_heads, cfg.d_model, cfg.d_head), "W_O": (cfg.n_heads, cfg.d_head, cfg.d_model),
        "W_in": (cfg.d_model, cfg.d_mlp), "W_out": (cfg.d_mlp, cfg.d_model),
        "W_U": (cfg.d_model, cfg.d_vocab_out),
    }
    assert spec["shapes"]["W_E"] == (114, 128)
    assert spec["shapes"]["W_U"] == (128, 113)
    assert spec["n_heads"] == 4
    assert spec["d_mlp"] == 512
    assert spec["act_fn"] == "relu"
    other = Config(p=23, d_model=32, n_heads=2, d_head=16, d_mlp=64)
    small = model_spec(build_model(other))
    assert small["shapes"]["W_Q"] == (2, 32, 16)
    assert small["shapes"]["W_U"] == (32, 23)
    assert small["d_mlp"] == 64


def test_only_the_weights_train_and_the_biases_stay_zero(tiny_config):
    model = build_model(tiny_config)
    trained = trainable_parameters(model)
    assert set(trained) == set(WEIGHT_NAMES.values())
    by_short = parameters_by_short_name(model)
    assert set(by_short) == set(WEIGHT_NAMES) | set(BIAS_NAMES)
    for short in BIAS_NAMES:
        assert not by_short[short].requires_grad and not by_short[short].any(), short
    shapes = {WEIGHT_NAMES[k]: tuple(v.shape) for k, v in by_short.items() if k in WEIGHT_NAMES}
    assert shapes == weight_shapes(tiny_config)
    total = sum(float(p.detach().double().pow(2).sum()) for p in trained.values())
    assert weight_norm(model) == pytest.approx(total**0.5, rel=1e-12)
