"""Everything that runs the model with TransformerLens hooks: caching activations and ablating neurons.

The rest of :mod:`grokking.analysis` takes the tensors these functions return. Per-pair
tensors are in row-major (a, b) order (:mod:`grokking.data`).
"""

from __future__ import annotations

import torch

from ..data import Dataset
from .logits import loss_and_accuracy, unembed_product
from .neurons import NEURON_THRESHOLD, neuron_clusters, neurons_of_frequency

# Hook names in TransformerLens for the activations the book reads.
PATTERN_HOOK = "blocks.0.attn.hook_pattern"  # (batch, head, query_pos, key_pos)
SCORES_HOOK = "blocks.0.attn.hook_attn_scores"  # (batch, head, query_pos, key_pos), before the softmax
NEURON_HOOK = "blocks.0.mlp.hook_post"  # (batch, pos, d_mlp), after the ReLU
NEURON_PRE_HOOK = "blocks.0.mlp.hook_pre"  # before the ReLU
RESID_MID_HOOK = "blocks.0.hook_resid_mid"  # (batch, pos, d_model): embeddings + attention, before the MLP


def run_cache(model, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
    """One forward pass over ``tokens`` (N, 3): the last-position logits (N, p), the attention
    pattern (N, heads, 3, 3), and the MLP activations at '=' after and before the ReLU (N, d_mlp)."""
    hooks = (PATTERN_HOOK, NEURON_HOOK, NEURON_PRE_HOOK)
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens, names_filter=lambda name: name in hooks)
    return {
        "logits": logits[:, -1].detach(),
        "pattern": cache[PATTERN_HOOK],
        "post": cache[NEURON_HOOK][:, 2],
        "pre": cache[NEURON_PRE_HOOK][:, 2],
    }


def neuron_ablation_hook(neurons: torch.Tensor, replacement: torch.Tensor | None = None):
    """A TransformerLens hook function for :data:`NEURON_HOOK` that overwrites some neurons at '='.

    ``neurons`` are indices into d_mlp. With ``replacement`` None they are set to
    zero; with a (d_mlp,) tensor (e.g. each neuron's mean activation) neuron n is
    set to ``replacement[n]`` for every input. Only the last position is touched:
    in a one-layer model it is the only one whose MLP output reaches the logits.
    """
    neurons = torch.as_tensor(neurons, dtype=torch.long)

    def hook(activation: torch.Tensor, hook=None) -> torch.Tensor:
        # activation: (batch, position, d_mlp)
        if replacement is None:
            activation[:, -1, neurons] = 0.0
        else:
            activation[:, -1, neurons] = replacement[neurons].to(activation.dtype)
        return activation

    return hook


def logits_with_neurons_ablated(model, tokens: torch.Tensor, neurons: torch.Tensor,
                                replacement: torch.Tensor | None = None) -> torch.Tensor:
    """Last-position logits (N, d_vocab_out) with ``neurons`` overwritten (:func:`neuron_ablation_hook`)."""
    hook = neuron_ablation_hook(neurons, replacement)
    with torch.no_grad():
        logits = model.run_with_hooks(tokens, fwd_hooks=[(NEURON_HOOK, hook)])
    return logits[:, -1].detach()


def attention_scores_to_a(model, p: int) -> torch.Tensor:
    """Pre-softmax score of '=' (query 2) for the 'a' token (key 0), per number a: (p, n_heads).

    The score for key 0 depends on a alone (the query is always '=' and the key is
    a's embedding plus position 0), so p prompts [a, 0, =] give all of it.
    """
    a = torch.arange(p)
    tokens = torch.stack([a, torch.zeros_like(a), torch.full_like(a, p)], dim=1)
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, names_filter=SCORES_HOOK)
    return cache[SCORES_HOOK][:, :, 2, 0].detach()


def cluster_ablation(model, data: Dataset, logits: torch.Tensor, neuron_acts: torch.Tensor,
                     shares: torch.Tensor, threshold: float = NEURON_THRESHOLD) -> dict:
    """Test loss and accuracy with each frequency cluster of neurons mean-ablated.

    ``logits`` (p*p, p) are the model's own on all pairs, ``neuron_acts`` (p, p, d_mlp)
    its activations at '=' and ``shares`` (d_mlp, K) their single-frequency shares.
    Returns ``{"baseline": (loss, acc), "clusters": {k: (n_neurons, loss, acc)},
    "unexplained": (n_neurons, loss, acc)}``, all on the test pairs. Mean ablation
    sets each chosen neuron to its mean activation at '=' over all pairs.
    """
    tokens, labels, test = data.tokens, data.labels, data.test_idx
    means = neuron_acts.mean(dim=(0, 1))
    dominant, explained = neuron_clusters(shares, threshold)
    out = {"baseline": loss_and_accuracy(logits[test], labels[test]), "clusters": {}}
    for k in sorted(int(k) for k in dominant[explained].unique()):
        neurons = neurons_of_frequency(dominant, explained, k)
        ablated = logits_with_neurons_ablated(model, tokens[test], neurons, means)
        out["clusters"][k] = (len(neurons), *loss_and_accuracy(ablated, labels[test]))
    rest = (~explained).nonzero().flatten()
    ablated = logits_with_neurons_ablated(model, tokens[test], rest, means)
    out["unexplained"] = (len(rest), *loss_and_accuracy(ablated, labels[test]))
    return out


def logit_parts(model, tokens: torch.Tensor, neuron_acts: torch.Tensor, groups: dict[str, torch.Tensor]) -> dict:
    """The logits at '=' split into the parts that add up to them (one layer, no final norm):

    - ``"direct path"``: what reaches the unembedding without the MLP neurons, the residual
      stream before the MLP plus the MLP's output bias, times W_U, plus b_U;
    - one part per entry of ``groups`` (name: neuron indices; together every neuron once):
      the sum over its neurons n of act_n(a, b) * W_L[n], with W_L = W_out W_U.

    ``tokens`` (N, 3) and ``neuron_acts`` (N, d_mlp) row for row. Each part is (N, p); their
    sum is the model's logits up to float rounding.
    """
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, names_filter=lambda name: name == RESID_MID_HOOK)
        mid = cache[RESID_MID_HOOK][:, -1]  # (N, d_model)
        direct = (mid + model.blocks[0].mlp.b_out) @ model.W_U + model.b_U  # (N, p)
        W_L = unembed_product(model)  # (d_mlp, p)
        parts = {"direct path": direct}
        for name, neurons in groups.items():
            parts[name] = neuron_acts[:, neurons] @ W_L[neurons]  # (N, p)
    return parts


def embedding_gradients(model, triples: torch.Tensor) -> torch.Tensor:
    """d logit_c / d (input at a's position, b's position) for each triple (a, b, c):
    (n, 2, d_model). The input of a position is its token embedding plus its positional
    embedding; the gradient is the same for either term."""
    p = model.cfg.d_vocab_out
    tokens = torch.stack([triples[:, 0], triples[:, 1], torch.full_like(triples[:, 0], p)], dim=1)  # (n, 3)
    store = {}

    def keep(value, hook):  # the token embeddings, made a leaf whose gradient is kept
        value = value.detach().requires_grad_(True)
        store["embed"] = value
        return value

    with torch.enable_grad():
        logits = model.run_with_hooks(tokens, fwd_hooks=[("hook_embed", keep)])[:, -1]  # (n, p)
        picked = logits.gather(1, triples[:, 2:3]).sum()  # the examples are independent
        (grad,) = torch.autograd.grad(picked, store["embed"])  # (n, 3, d)
    return grad[:, :2].detach()
