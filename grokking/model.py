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
    TransformerLens grokking demo; see :mod:`grokking.config`. The variants change
    this in three ways: ``init = "paper"`` redraws every weight matrix as the paper
    code does (:func:`paper_init`); ``biases = "mlp"`` trains ``b_in`` and ``b_out``
    (from zero); ``attention = "uniform"`` sets ``W_Q`` and ``W_K`` to zero and freezes
    them, so every score is 0 and every head attends 1/3 to each of [a, b, =].
    """
    tl = _transformer_lens()
    cfg = hooked_config(config, device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = tl.HookedTransformer(cfg)
    if config.init == "paper":
        paper_init(model, config.model_seed)
    trained_biases = {BIAS_NAMES[b] for b in config.trains_biases}
    frozen = {WEIGHT_NAMES[w] for w in config.frozen_weights}
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in frozen:
                param.zero_()
            if (is_bias(name) and name not in trained_biases) or name in frozen:
                param.requires_grad_(False)
    return model


@torch.no_grad()
def paper_init(model, seed: int) -> None:
    """Every weight matrix drawn from N(0, 1) / sqrt(d_model), but W_U from N(0, 1) / sqrt(d_vocab),
    as in the paper's code (transformers.py); every bias zero. The draws come from a
    generator seeded with ``seed``, in the order of :data:`WEIGHT_NAMES`, in TransformerLens'
    shapes: the paper's distribution, not its numbers (its code lays the matrices out
    transposed and never seeds torch)."""
    generator = torch.Generator().manual_seed(seed)
    named = dict(model.named_parameters())
    for short, full in WEIGHT_NAMES.items():
        param = named[full]
        fan = model.cfg.d_vocab if short == "W_U" else model.cfg.d_model
        param.copy_(torch.randn(param.shape, generator=generator) * fan**-0.5)
    for full in BIAS_NAMES.values():
        named[full].zero_()


# The weight matrices the model trains, by the short name the paper and the book use,
# with their TransformerLens state-dict names. This table is the one place that knows
# the mapping: the fast step, the run store and the diagrams all read it.
WEIGHT_NAMES = {
    "W_E": "embed.W_E",
    "W_pos": "pos_embed.W_pos",
    "W_Q": "blocks.0.attn.W_Q",
    "W_K": "blocks.0.attn.W_K",
    "W_V": "blocks.0.attn.W_V",
    "W_O": "blocks.0.attn.W_O",
    "W_in": "blocks.0.mlp.W_in",
    "W_out": "blocks.0.mlp.W_out",
    "W_U": "unembed.W_U",
}
# The biases TransformerLens creates; they exist but stay frozen at zero (see build_model).
BIAS_NAMES = {
    "b_Q": "blocks.0.attn.b_Q",
    "b_K": "blocks.0.attn.b_K",
    "b_V": "blocks.0.attn.b_V",
    "b_O": "blocks.0.attn.b_O",
    "b_in": "blocks.0.mlp.b_in",
    "b_out": "blocks.0.mlp.b_out",
    "b_U": "unembed.b_U",
}


def weight_shapes(config: Config) -> dict[str, tuple[int, ...]]:
    """Shapes of the trained weights implied by ``config``, by TransformerLens name."""
    d, h, e = config.d_model, config.n_heads, config.d_head
    shapes = {
        "W_E": (config.d_vocab, d),
        "W_pos": (config.n_ctx, d),
        "W_Q": (h, d, e),
        "W_K": (h, d, e),
        "W_V": (h, d, e),
        "W_O": (h, e, d),
        "W_in": (d, config.d_mlp),
        "W_out": (config.d_mlp, d),
        "W_U": (d, config.d_vocab_out),
    }
    return {WEIGHT_NAMES[short]: shape for short, shape in shapes.items()}


def parameters_by_short_name(model) -> dict[str, torch.nn.Parameter]:
    """Every weight and bias of ``model`` by its short name (``"W_E"``, ..., ``"b_U"``)."""
    named = dict(model.named_parameters())
    return {short: named[full] for short, full in {**WEIGHT_NAMES, **BIAS_NAMES}.items()}


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


def model_spec(model) -> dict:
    """Shapes of every weight matrix and the sizes in ``model.cfg``, for the diagrams.

    ``{"shapes": {"W_E": (d_vocab, d_model), ..., "W_U": (d_model, d_vocab_out)},
    "n_heads": ..., "d_head": ..., "d_model": ..., "d_mlp": ..., "d_vocab": ...,
    "d_vocab_out": ..., "n_ctx": ..., "act_fn": ...}``, per-head matrices without
    the layer axis (``W_Q`` is ``(n_heads, d_model, d_head)``).
    """
    weights = parameters_by_short_name(model)
    spec: dict = {"shapes": {name: tuple(int(n) for n in weights[name].shape) for name in WEIGHT_NAMES}}
    for key in ("n_heads", "d_head", "d_model", "d_mlp", "d_vocab", "d_vocab_out", "n_ctx"):
        spec[key] = int(getattr(model.cfg, key))
    spec["act_fn"] = str(model.cfg.act_fn)
    return spec
