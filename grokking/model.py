"""Building the TransformerLens model the paper studies."""

from __future__ import annotations

import warnings

import torch

from .config import Config

# TransformerLens is imported lazily and in one place only: it is slow to import
# (~5 s) and 3.x warns DeprecationWarning on every HookedTransformer construction.


def _transformer_lens():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import transformer_lens

    return transformer_lens


def hooked_config(config: Config, device: str | torch.device = "cpu"):
    """The ``HookedTransformerConfig`` for this run's architecture."""
    tl = _transformer_lens()
    return tl.HookedTransformerConfig(
        n_layers=config.n_layers,
        d_model=config.d_model,
        n_heads=config.n_heads,
        d_head=config.d_head,
        d_mlp=config.d_mlp,
        act_fn=config.act_fn,
        d_vocab=config.d_vocab,
        d_vocab_out=config.d_vocab_out,
        n_ctx=config.n_ctx,
        normalization_type=None,
        seed=config.model_seed,
        device=str(device),
    )


def build_model(config: Config, device: str | torch.device = "cpu"):
    """A freshly initialised ``HookedTransformer`` with every bias frozen at zero.

    TransformerLens seeds its own initialisation from ``config.model_seed``. The
    biases exist (TransformerLens always creates them) but never train, as in the
    TransformerLens grokking demo; see :mod:`grokking.config`.
    """
    tl = _transformer_lens()
    cfg = hooked_config(config, device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = tl.HookedTransformer(cfg)
    for name, param in model.named_parameters():
        if is_bias(name):
            param.requires_grad_(False)
    return model


def is_bias(name: str) -> bool:
    return name.rsplit(".", 1)[-1].startswith("b_")


def trainable_parameters(model) -> dict[str, torch.nn.Parameter]:
    """The parameters the optimiser updates, by their TransformerLens names."""
    return {name: p for name, p in model.named_parameters() if p.requires_grad}


def weight_norm(model) -> float:
    """L2 norm of all trained parameters together (sqrt of the sum of squared weights)."""
    with torch.no_grad():
        total = sum(p.detach().double().pow(2).sum() for p in trainable_parameters(model).values())
    return float(total) ** 0.5
