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

from dataclasses import dataclass

import torch

from ..model import WEIGHT_NAMES, parameters_by_short_name


def cross_entropy_high_precision(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy computed in float64, as in the paper and the demo."""
    logprobs = logits.to(torch.float64).log_softmax(dim=-1)
    return -logprobs.gather(-1, labels[:, None]).mean()


def reference_last_logits(model, tokens: torch.Tensor) -> torch.Tensor:
    """The same quantity through ``HookedTransformer.forward`` (slow, for checking)."""
    return model(tokens)[:, -1]


def _scatter_rows(index: torch.Tensor, values: torch.Tensor, scores: torch.Tensor, n_rows: int):
    """Sum per-example gradients into per-token table rows: ``[values | scores]``."""
    d_values = values.new_zeros(n_rows, values.shape[1]).index_add_(0, index, values)
    d_scores = scores.new_zeros(n_rows, scores.shape[1]).index_add_(0, index, scores)
    return torch.cat([d_values, d_scores], dim=1)


@dataclass(frozen=True)
class Tables:
    """Everything the step needs that does not depend on the batch: weights and small products.

    Sizes: V = d_vocab (p + 1 input tokens), O = d_vocab_out (p answers), d = d_model,
    H = n_heads, dh = d_head, hd = H * dh, m = d_mlp.
    """

    w: dict[str, torch.Tensor]  # every weight and bias by short name ("W_E", ..., "b_U")
    n_heads: int
    d_model: int
    d_head: int
    hd: int  # H * dh: the heads' outputs side by side
    scale: float  # attention scale, sqrt(dh)
    eq_token: int  # the '=' token, V - 1
    x2: torch.Tensor  # (d,) residual at '=' before attention: W_E[=] + W_pos[2]
    q: torch.Tensor  # (H, dh) the query of '=' (the same for every example)
    proj: torch.Tensor  # (d, hd + H): [values of every head | key . query / scale]
    e0: torch.Tensor  # (V, d) embedding of each token at position 0
    e1: torch.Tensor  # (V, d) ... at position 1
    table0: torch.Tensor  # (V, hd + H): per token at position 0, [v | score]
    table1: torch.Tensor  # (V, hd + H): per token at position 1
    row2: torch.Tensor  # (hd + H,): the '=' position's own [v | score]
    w_o: torch.Tensor  # (hd, d) W_O with the heads stacked
    W_OI: torch.Tensor  # (hd, m) W_O W_in
    W_OU: torch.Tensor  # (hd, O) W_O W_U
    W_L: torch.Tensor  # (m, O) W_out W_U
    r_in: torch.Tensor  # (d,) residual at '=' before the MLP, minus the heads' output
    r_out: torch.Tensor  # (d,) r_in plus the MLP's output bias
    W_OI_c: torch.Tensor  # (hd + 1, m): [W_OI ; c_in], acts on [z | 1]
    W_OU_c: torch.Tensor  # (hd + 1, O): [W_OU ; c_U]


def _prepare(model) -> Tables:
    """The batch-independent part of the step, computed once per step."""
    w = parameters_by_short_name(model)
    W_E, W_pos, W_in, W_out, W_U = w["W_E"], w["W_pos"], w["W_in"], w["W_out"], w["W_U"]
    n_heads, d_model, d_head = w["W_Q"].shape
    hd = n_heads * d_head
    scale = model.blocks[0].attn.attn_scale
    eq_token = model.cfg.d_vocab - 1
    x2 = W_E[eq_token] + W_pos[2]  # (d,)
    q = torch.einsum("d,hde->he", x2, w["W_Q"]) + w["b_Q"]  # (H, dh)
    kq = torch.einsum("hde,he->dh", w["W_K"], q) / scale  # (d, H): key weights dotted with the query
    kq_bias = (w["b_K"] * q).sum(-1) / scale  # (H,)
    proj = torch.cat([w["W_V"].permute(1, 0, 2).reshape(d_model, hd), kq], dim=1)  # (d, hd + H)
    proj_bias = torch.cat([w["b_V"].reshape(hd), kq_bias])  # (hd + H,)
    e0 = W_E + W_pos[0]  # (V, d)
    e1 = W_E + W_pos[1]  # (V, d)
    table0 = torch.addmm(proj_bias, e0, proj)  # (V, hd + H)
    table1 = torch.addmm(proj_bias, e1, proj)  # (V, hd + H)
    row2 = torch.addmv(proj_bias, proj.t(), x2)  # (hd + H,)
    w_o = w["W_O"].reshape(hd, d_model)  # (hd, d)
    W_OI = w_o @ W_in  # (hd, m)
    W_OU = w_o @ W_U  # (hd, O)
    W_L = W_out @ W_U  # (m, O)
    r_in = x2 + w["b_O"]  # (d,)
    r_out = r_in + w["b_out"]  # (d,)
    c_in = torch.addmv(w["b_in"], W_in.t(), r_in)  # (m,) constant part of the MLP's input
    c_U = torch.addmv(w["b_U"], W_U.t(), r_out)  # (O,) constant part of the logits
    return Tables(
        w=w, n_heads=n_heads, d_model=d_model, d_head=d_head, hd=hd, scale=scale, eq_token=eq_token,
        x2=x2, q=q, proj=proj, e0=e0, e1=e1, table0=table0, table1=table1, row2=row2, w_o=w_o,
        W_OI=W_OI, W_OU=W_OU, W_L=W_L, r_in=r_in, r_out=r_out,
        W_OI_c=torch.cat([W_OI, c_in[None]]),  # (hd + 1, m)
        W_OU_c=torch.cat([W_OU, c_U[None]]),  # (hd + 1, O)
    )


@dataclass(frozen=True)
class Attention:
    """The last position's attention over one batch of B examples."""

    batch: int  # B
    tok_a: torch.Tensor  # (B,) token at position 0
    tok_b: torch.Tensor  # (B,) token at position 1
    v0: torch.Tensor  # (B, H, dh) value of position 0, per head
    v1: torch.Tensor  # (B, H, dh)
    v2: torch.Tensor  # (H, dh) value of '=' (the same for every example)
    pattern: torch.Tensor  # (3, B, H) attention of '=' to positions 0, 1, 2
    a0: torch.Tensor  # (B, H, 1) pattern[0], ready to broadcast over dh
    a1: torch.Tensor  # (B, H, 1)
    a2: torch.Tensor  # (B, H, 1)
    z: torch.Tensor  # (B, hd) the heads' outputs side by side (a view into z_one)
    z_one: torch.Tensor  # (B, hd + 1): [z | 1]


def _attend(s: Tables, tokens: torch.Tensor) -> Attention:
    """Attention of the last position over the batch ``tokens`` (B, 3)."""
    batch = tokens.shape[0]
    n_heads, d_head, hd = s.n_heads, s.d_head, s.hd
    tok_a, tok_b = tokens[:, 0], tokens[:, 1]  # (B,), (B,)
    g0 = s.table0.index_select(0, tok_a)  # (B, hd + H)
    g1 = s.table1.index_select(0, tok_b)  # (B, hd + H)
    v0 = g0[:, :hd].view(batch, n_heads, d_head)  # (B, H, dh)
    v1 = g1[:, :hd].view(batch, n_heads, d_head)  # (B, H, dh)
    v2 = s.row2[:hd].view(n_heads, d_head)  # (H, dh)
    # Laid out (3, B, H) so that the softmax runs along the outer axis rather than a
    # length-3 inner one.
    scores = torch.stack([g0[:, hd:], g1[:, hd:], s.row2[hd:].expand(batch, n_heads)])  # (3, B, H)
    pattern = scores.softmax(dim=0)  # (3, B, H)
    a0, a1, a2 = pattern.unsqueeze(-1).unbind(0)  # each (B, H, 1)
    # z_one = [z | 1]: the heads' outputs with a constant column, so that the products
    # with W_OI_c and W_OU_c add the constant terms c_in, c_U without a separate pass.
    z_one = torch.empty(batch, hd + 1, dtype=v0.dtype, device=v0.device)  # (B, hd + 1)
    z_one[:, hd] = 1.0
    z = z_one[:, :hd]  # (B, hd), a view
    z_heads = z.view(batch, n_heads, d_head)  # (B, H, dh), the same memory
    torch.mul(v0, a0, out=z_heads)
    z_heads.addcmul_(v1, a1).addcmul_(v2, a2)  # z = sum_i a_i v_i per head
    return Attention(batch=batch, tok_a=tok_a, tok_b=tok_b, v0=v0, v1=v1, v2=v2,
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
    w = s.w
    n_heads, d_model, d_head, hd = s.n_heads, s.d_model, s.d_head, s.hd
    t = _attend(s, tokens)
    batch, z_one = t.batch, t.z_one
    hidden = (z_one @ s.W_OI_c).relu_()  # (B, m) MLP activations at '='
    logits = (z_one @ s.W_OU_c).addmm_(hidden, s.W_L)  # (B, O)

    logprobs = logits.to(torch.float64).log_softmax(dim=-1)
    loss = -logprobs.gather(-1, labels[:, None]).mean()

    # ------------------------------------------------- backward: the batch
    # Probabilities whose gradient would be subnormal in float32 are set to zero:
    # autograd would keep them as subnormals, which change nothing at float32
    # precision but make every later product ~4x slower on CPU threads that do
    # not flush subnormals.
    d_logits64 = torch.threshold_(logprobs.exp_(), torch.finfo(logits.dtype).tiny * batch, 0.0)  # (B, O)
    d_logits64[torch.arange(batch, device=labels.device), labels] -= 1.0
    d_logits = d_logits64.div_(batch).to(logits.dtype)  # (B, O) d loss / d logits
    d_W_L = (d_logits.t() @ hidden).t()  # (m, O)
    d_W_OU_c = z_one.t() @ d_logits  # (hd + 1, O): rows d W_OU, then d c_U
    d_W_OU, d_c_U = d_W_OU_c[:hd], d_W_OU_c[hd]  # (hd, O), (O,)
    d_pre = d_logits @ s.W_L.t()  # (B, m) through W_L ...
    torch.ops.aten.threshold_backward.grad_input(d_pre, hidden, 0.0, grad_input=d_pre)  # ... and the ReLU
    d_W_OI_c = z_one.t() @ d_pre  # (hd + 1, m): rows d W_OI, then d c_in
    d_W_OI, d_c_in = d_W_OI_c[:hd], d_W_OI_c[hd]  # (hd, m), (m,)
    d_z = torch.addmm(d_logits @ s.W_OU.t(), d_pre, s.W_OI.t()).view(batch, n_heads, d_head)  # (B, H, dh)
    d_pattern = torch.stack([(d_z * t.v0).sum(-1), (d_z * t.v1).sum(-1), (d_z * t.v2).sum(-1)])  # (3, B, H)
    d_scores = t.pattern * (d_pattern - (t.pattern * d_pattern).sum(0))  # (3, B, H) through the softmax
    d_table0 = _scatter_rows(t.tok_a, (d_z * t.a0).view(batch, hd), d_scores[0], len(s.table0))  # (V, hd + H)
    d_table1 = _scatter_rows(t.tok_b, (d_z * t.a1).view(batch, hd), d_scores[1], len(s.table1))  # (V, hd + H)
    d_row2 = torch.cat([(d_z * t.a2).sum(0).view(hd), d_scores[2].sum(0)])  # (hd + H,)

    # ------------------------------------------------- backward: small products
    grads = {
        "W_out": d_W_L @ s.w["W_U"].t(),  # (m, d)
        "W_in": torch.addr(s.w_o.t() @ d_W_OI, s.r_in, d_c_in),  # (d, m)
        "W_U": torch.addr(s.w["W_out"].t() @ d_W_L, s.r_out, d_c_U).addmm_(s.w_o.t(), d_W_OU),  # (d, O)
    }
    d_w_o = torch.addmm(d_W_OU @ s.w["W_U"].t(), d_W_OI, s.w["W_in"].t())  # (hd, d)
    grads["W_O"] = d_w_o.view(n_heads, d_head, d_model)
    d_x2 = torch.addmv(s.w["W_U"] @ d_c_U, s.w["W_in"], d_c_in)  # (d,)
    # the tables are e @ proj + proj_bias
    d_proj = s.e0.t() @ d_table0  # (d, hd + H)
    d_proj.addmm_(s.e1.t(), d_table1).addr_(s.x2, d_row2)
    d_e0 = d_table0 @ s.proj.t()  # (V, d)
    d_e1 = d_table1 @ s.proj.t()  # (V, d)
    d_x2 += s.proj @ d_row2
    d_bias_kq = d_table0[:, hd:].sum(0) + d_table1[:, hd:].sum(0) + d_row2[hd:]  # (H,)
    grads["W_V"] = d_proj[:, :hd].reshape(d_model, n_heads, d_head).permute(1, 0, 2)  # (H, d, dh)
    d_kq = d_proj[:, hd:] / s.scale  # (d, H)
    grads["W_K"] = torch.einsum("dh,he->hde", d_kq, s.q)  # (H, d, dh)
    d_q = torch.einsum("hde,dh->he", w["W_K"], d_kq) + w["b_K"] * (d_bias_kq / s.scale)[:, None]  # (H, dh)
    grads["W_Q"] = torch.einsum("d,he->hde", s.x2, d_q)  # (H, d, dh)
    d_x2 += torch.einsum("hde,he->d", w["W_Q"], d_q)
    d_W_E = d_e0 + d_e1  # (V, d)
    d_W_E[s.eq_token] += d_x2
    grads["W_E"] = d_W_E
    grads["W_pos"] = torch.stack([d_e0.sum(0), d_e1.sum(0), d_x2])  # (3, d)
    # Optimisers (fused AdamW in particular) expect each gradient laid out like its
    # parameter: contiguous, as the parameters are.
    return loss, logits, {WEIGHT_NAMES[k]: v.contiguous() for k, v in grads.items()}
