"""The run configuration: the paper's defaults, JSON round trip, one-line errors for bad values."""

import pytest

from grokking.config import Config, ConfigError


def test_defaults_are_the_paper_setup():
    c = Config()
    assert (c.p, c.frac_train, c.n_layers, c.d_model, c.n_heads, c.d_head, c.d_mlp) == (113, 0.3, 1, 128, 4, 32, 512)
    assert (c.lr, c.weight_decay, c.beta1, c.beta2, c.epochs, c.checkpoint_every) == (1e-3, 1.0, 0.9, 0.98, 40_000, 100)
    assert (c.d_vocab, c.d_vocab_out, c.equals_token, c.n_ctx) == (114, 113, 113, 3)
    assert c.n_train == 3830


def test_json_round_trip():
    c = Config(p=31, weight_decay=0.3, epochs=123)
    assert Config.from_json(c.to_json()) == c


@pytest.mark.parametrize("change", [dict(p=4), dict(p=2), dict(p=1), dict(frac_train=0.0), dict(frac_train=1.0),
                                    dict(frac_train=-0.1), dict(n_layers=2), dict(epochs=-1), dict(lr=0.0),
                                    dict(act_fn="gelu"), dict(d_model=1.5)])
def test_invalid_values_rejected(change):
    with pytest.raises(ConfigError):
        Config(**change)


def test_unknown_keys_and_bad_json_rejected():
    with pytest.raises(ConfigError, match="unknown config keys: banana"):
        Config.from_dict({"banana": 1})
    with pytest.raises(ConfigError, match="not valid JSON"):
        Config.from_json("{")
