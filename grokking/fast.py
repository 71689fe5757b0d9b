"""The last-position step: the same logits, loss and gradients as ``HookedTransformer``.

The loss only reads the logits at the last position (the ``=`` token). In a
one-layer, LayerNorm-free transformer the residual stream there is

    x2 = W_E[=] + W_pos[2]                       (the same for every example)
    resid_mid = x2 + b_O + sum_h (sum_i A[h, i] * v_i[h]) @ W_O[h]
    resid_post = resid_mid + b_out + ReLU(resid_mid @ W_in + b_in) @ W_out
    logits = resid_post @ W_U + b_U

where ``A[h, i]`` is head h's attention from the last position to position i and
``v_i = x_i @ W_V + b_V``. Positions 0 and 1 enter only through their keys and
values, which depend only on the token there (p possible values): they are
computed once per token as small tables and gathered per example. The query
side at positions 0 and 1, and the MLP and unembedding there, are never
computed. The results equal ``model(tokens)[:, -1]`` and autograd's gradients
up to float rounding (the tests check both).
"""

from __future__ import annotations

from types import SimpleNamespace

import torch


def cross_entropy_high_precision(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy computed in float64, as in the paper and the demo."""
    logprobs = logits.to(torch.float64).log_softmax(dim=-1)
    return -logprobs.gather(-1, labels[:, None]).mean()


def reference_last_logits(model, tokens: torch.Tensor) -> torch.Tensor:
    """The same quantity through ``HookedTransformer.forward`` (slow, for checking)."""
    return model(tokens)[:, -1]


def _weights(model) -> dict[str, torch.Tensor]:
    block = model.blocks[0]
    attn, mlp = block.attn, block.mlp
    return {
        "W_E": model.embed.W_E, "W_pos": model.pos_embed.W_pos,
        "W_Q": attn.W_Q, "W_K": attn.W_K, "W_V": attn.W_V, "W_O": attn.W_O,
        "b_Q": attn.b_Q, "b_K": attn.b_K, "b_V": attn.b_V, "b_O": attn.b_O,
        "W_in": mlp.W_in, "b_in": mlp.b_in, "W_out": mlp.W_out, "b_out": mlp.b_out,
        "W_U": model.unembed.W_U, "b_U": model.unembed.b_U,
    }


_GRAD_NAMES = {
    "W_E": "embed.W_E", "W_pos": "pos_embed.W_pos",
    "W_Q": "blocks.0.attn.W_Q", "W_K": "blocks.0.attn.W_K",
    "W_V": "blocks.0.attn.W_V", "W_O": "blocks.0.attn.W_O",
    "W_in": "blocks.0.mlp.W_in", "W_out": "blocks.0.mlp.W_out", "W_U": "unembed.W_U",
}


def _scatter_rows(index: torch.Tensor, values: torch.Tensor, scores: torch.Tensor, n_rows: int):
    """Sum per-example gradients into per-token table rows: ``[values | scores]``."""
    d_values = values.new_zeros(n_rows, values.shape[1]).index_add_(0, index, values)
    d_scores = scores.new_zeros(n_rows, scores.shape[1]).index_add_(0, index, scores)
    return torch.cat([d_values, d_scores], dim=1)


def _prepare(model) -> SimpleNamespace:
    """Everything that does not depend on the batch: weights and small products."""
    w = _weights(model)
    W_E, W_pos, W_in, W_out, W_U = w["W_E"], w["W_pos"], w["W_in"], w["W_out"], w["W_U"]
    n_heads, d_model, d_head = w["W_Q"].shape
    hd = n_heads * d_head
    scale = model.blocks[0].attn.attn_scale
    eq_token = model.cfg.d_vocab - 1
    x2 = W_E[eq_token] + W_pos[2]
    q = torch.einsum("d,hde->he", x2, w["W_Q"]) + w["b_Q"]  # (H, dh)
    kq = torch.einsum("hde,he->dh", w["W_K"], q) / scale  # (d, H)
    kq_bias = (w["b_K"] * q).sum(-1) / scale
    proj = torch.cat([w["W_V"].permute(1, 0, 2).reshape(d_model, hd), kq], dim=1)
    proj_bias = torch.cat([w["b_V"].reshape(hd), kq_bias])
    e0 = W_E + W_pos[0]
    e1 = W_E + W_pos[1]
    table0 = torch.addmm(proj_bias, e0, proj)  # (d_vocab, hd + H)
    table1 = torch.addmm(proj_bias, e1, proj)
    row2 = torch.addmv(proj_bias, proj.t(), x2)
    w_o = w["W_O"].reshape(hd, d_model)
    W_OI = w_o @ W_in  # (hd, d_mlp)
    W_OU = w_o @ W_U  # (hd, d_vocab_out)
    W_L = W_out @ W_U  # (d_mlp, d_vocab_out)
    r_in = x2 + w["b_O"]  # residual at '=' before the MLP, minus the heads' output
    r_out = r_in + w["b_out"]
    c_in = torch.addmv(w["b_in"], W_in.t(), r_in)
    c_U = torch.addmv(w["b_U"], W_U.t(), r_out)
    W_OI_c = torch.cat([W_OI, c_in[None]])  # (hd + 1, d_mlp): acts on [z | 1]
    W_OU_c = torch.cat([W_OU, c_U[None]])

    return SimpleNamespace(**{k: v for k, v in locals().items() if k != "model"})


def _attend(s: SimpleNamespace, tokens: torch.Tensor) -> SimpleNamespace:
    """Attention of the last position over the batch: pattern (3, B, H) and z (B, H*dh)."""
    batch = tokens.shape[0]
    n_heads, d_head, hd = s.n_heads, s.d_head, s.hd
    table0, table1, row2 = s.table0, s.table1, s.row2
    tok_a, tok_b = tokens[:, 0], tokens[:, 1]
    g0 = table0.index_select(0, tok_a)  # (B, hd + H)
    g1 = table1.index_select(0, tok_b)
    v0 = g0[:, :hd].view(batch, n_heads, d_head)
    v1 = g1[:, :hd].view(batch, n_heads, d_head)
    v2 = row2[:hd].view(n_heads, d_head)
    # Attention of the last position to positions 0, 1, 2, laid out (3, B, H) so
    # that the softmax runs along the outer axis rather than a length-3 inner one.
    scores = torch.stack([g0[:, hd:], g1[:, hd:], row2[hd:].expand(batch, n_heads)])
    pattern = scores.softmax(dim=0)  # (3, B, H)
    a0, a1, a2 = pattern.unsqueeze(-1).unbind(0)  # each (B, H, 1)
    # z_one = [z | 1]: the heads' outputs with a constant column, so that the
    # products below add the constant terms c_in, c_U without a separate pass.
    z_one = torch.empty(batch, hd + 1, dtype=v0.dtype, device=v0.device)
    z_one[:, hd] = 1.0
    z = z_one[:, :hd]
    z_heads = z.view(batch, n_heads, d_head)
    torch.mul(v0, a0, out=z_heads)
    z_heads.addcmul_(v1, a1).addcmul_(v2, a2)
    return SimpleNamespace(batch=batch, tok_a=tok_a, tok_b=tok_b, v0=v0, v1=v1, v2=v2,
                           pattern=pattern, a0=a0, a1=a1, a2=a2, z=z, z_one=z_one)


@torch.no_grad()
def last_logits(model, tokens: torch.Tensor) -> torch.Tensor:
    """Logits at the last position for ``tokens`` of shape (batch, 3): (batch, d_vocab_out).

    Equal to ``model(tokens)[:, -1]`` up to float rounding, several times faster.
    """
    s = _prepare(model)
    z_one = _attend(s, tokens).z_one
    hidden = (z_one @ s.W_OI_c).relu_()
    return (z_one @ s.W_OU_c).addmm_(hidden, s.W_L)


@torch.no_grad()
def loss_and_grads(model, tokens: torch.Tensor, labels: torch.Tensor):
    """Loss, last-position logits and the gradient of every trained weight, by hand.

    The same function as :func:`last_logits` followed by
    :func:`cross_entropy_high_precision` and ``loss.backward()``, computed with
    fewer batch-sized operations. Two things make it fast:

    1. positions 0 and 1 only enter through per-token tables (see the module
       docstring), so their work is done once per vocabulary entry;
    2. the linear maps after the attention are multiplied out before the batch
       is touched. With ``z`` the concatenated head outputs and ``h`` the MLP
       activations, the last-position logits are exactly

           pre    = c_in + z @ (W_O W_in)
           h      = ReLU(pre)
           logits = c_U + z @ (W_O W_U) + h @ (W_out W_U)

       where ``c_in`` and ``c_U`` collect the '=' token's own residual and the
       biases (folded into the products by a constant column, ``[z | 1]``). The
       batch then meets three products instead of the four of the plain model,
       and the unembedding of the MLP output becomes one (d_mlp x d_vocab)
       product. Gradients of W_O, W_in, W_out and W_U follow by the chain rule
       through those small products.

    Returns ``(loss, logits, grads)`` where ``grads`` maps TransformerLens names
    (``"embed.W_E"``, ...) to tensors shaped like the parameters. Biases are
    frozen in this project and get no gradient.
    """
    s = _prepare(model)
    w, W_E, W_in, W_out, W_U = s.w, s.W_E, s.W_in, s.W_out, s.W_U
    n_heads, d_model, d_head, hd, scale, eq_token = s.n_heads, s.d_model, s.d_head, s.hd, s.scale, s.eq_token
    q, proj, x2, w_o, r_in, r_out = s.q, s.proj, s.x2, s.w_o, s.r_in, s.r_out
    table0, table1, e0, e1 = s.table0, s.table1, s.e0, s.e1
    W_OI, W_OU, W_L = s.W_OI, s.W_OU, s.W_L
    t = _attend(s, tokens)
    batch, tok_a, tok_b, v0, v1, v2, z = t.batch, t.tok_a, t.tok_b, t.v0, t.v1, t.v2, t.z
    pattern, a0, a1, a2 = t.pattern, t.a0, t.a1, t.a2
    z_one = t.z_one
    hidden = (z_one @ s.W_OI_c).relu_()
    logits = (z_one @ s.W_OU_c).addmm_(hidden, W_L)

    logprobs = logits.to(torch.float64).log_softmax(dim=-1)
    loss = -logprobs.gather(-1, labels[:, None]).mean()

    # ------------------------------------------------- backward: the batch
    # Probabilities whose gradient would be subnormal in float32 are set to zero:
    # autograd would keep them as subnormals, which change nothing at float32
    # precision but make every later product ~4x slower on CPU threads that do
    # not flush subnormals.
    d_logits64 = torch.threshold_(logprobs.exp_(), torch.finfo(logits.dtype).tiny * batch, 0.0)
    d_logits64[torch.arange(batch, device=labels.device), labels] -= 1.0
    d_logits = d_logits64.div_(batch).to(logits.dtype)  # (B, V)
    d_W_L = (d_logits.t() @ hidden).t()
    d_W_OU_c = z_one.t() @ d_logits  # rows: d W_OU, then d c_U
    d_W_OU, d_c_U = d_W_OU_c[:hd], d_W_OU_c[hd]
    d_pre = d_logits @ W_L.t()
    torch.ops.aten.threshold_backward.grad_input(d_pre, hidden, 0.0, grad_input=d_pre)
    d_W_OI_c = z_one.t() @ d_pre  # rows: d W_OI, then d c_in
    d_W_OI, d_c_in = d_W_OI_c[:hd], d_W_OI_c[hd]
    d_z = torch.addmm(d_logits @ W_OU.t(), d_pre, W_OI.t()).view(batch, n_heads, d_head)
    d_pattern = torch.stack([(d_z * v0).sum(-1), (d_z * v1).sum(-1), (d_z * v2).sum(-1)])
    d_scores = pattern * (d_pattern - (pattern * d_pattern).sum(0))  # (3, B, H)
    d_table0 = _scatter_rows(tok_a, (d_z * a0).view(batch, hd), d_scores[0], len(table0))
    d_table1 = _scatter_rows(tok_b, (d_z * a1).view(batch, hd), d_scores[1], len(table1))
    d_row2 = torch.cat([(d_z * a2).sum(0).view(hd), d_scores[2].sum(0)])

    # ------------------------------------------------- backward: small products
    grads = {
        "W_out": d_W_L @ W_U.t(),
        "W_in": torch.addr(w_o.t() @ d_W_OI, r_in, d_c_in),
        "W_U": torch.addr(W_out.t() @ d_W_L, r_out, d_c_U).addmm_(w_o.t(), d_W_OU),
    }
    d_w_o = torch.addmm(d_W_OU @ W_U.t(), d_W_OI, W_in.t())
    grads["W_O"] = d_w_o.view(n_heads, d_head, d_model)
    d_x2 = torch.addmv(W_U @ d_c_U, W_in, d_c_in)
    # tables = e @ proj + proj_bias
    d_proj = e0.t() @ d_table0
    d_proj.addmm_(e1.t(), d_table1).addr_(x2, d_row2)
    d_e0 = d_table0 @ proj.t()
    d_e1 = d_table1 @ proj.t()
    d_x2 += proj @ d_row2
    d_bias_kq = d_table0[:, hd:].sum(0) + d_table1[:, hd:].sum(0) + d_row2[hd:]
    grads["W_V"] = d_proj[:, :hd].reshape(d_model, n_heads, d_head).permute(1, 0, 2)
    d_kq = d_proj[:, hd:] / scale  # (d, H)
    grads["W_K"] = torch.einsum("dh,he->hde", d_kq, q)
    d_q = torch.einsum("hde,dh->he", w["W_K"], d_kq) + w["b_K"] * (d_bias_kq / scale)[:, None]
    grads["W_Q"] = torch.einsum("d,he->hde", x2, d_q)
    d_x2 += torch.einsum("hde,he->d", w["W_Q"], d_q)
    d_W_E = d_e0 + d_e1
    d_W_E[eq_token] += d_x2
    grads["W_E"] = d_W_E
    grads["W_pos"] = torch.stack([d_e0.sum(0), d_e1.sum(0), d_x2])
    # Optimisers (fused AdamW in particular) expect each gradient laid out like its
    # parameter: contiguous, as the parameters are.
    return loss, logits, {_GRAD_NAMES[k]: v.contiguous() for k, v in grads.items()}
