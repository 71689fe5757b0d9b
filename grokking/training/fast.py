"""The last-position step: the same logits, loss and gradients as ``HookedTransformer``, by hand.

The loss only reads the logits at the last position (the ``=`` token). In a
one-layer, LayerNorm-free transformer the residual stream there is

    x2 = W_E[=] + W_pos[2]                       (the same for every example)
    resid_mid = x2 + b_O + sum_h (sum_i A[h, i] * v_i[h]) @ W_O[h]
    resid_post = resid_mid + b_out + ReLU(resid_mid @ W_in + b_in) @ W_out
    logits = resid_post @ W_U + b_U

where ``A[h, i]`` is head h's attention from the last position to position i and
``v_i = x_i @ W_V + b_V``. Three facts make the step cheap:

1. **Per-token tables.** Positions 0 and 1 enter only through their keys and values,
   which depend only on the token there (V = p + 1 possible values), and the '='
   position's are the same for every example. So the values and attention scores are
   small tables, gathered per example; the query side at positions 0 and 1, and the
   MLP and unembedding there, are never computed.
2. **The heads' output multiplied through first.** It reaches the MLP input and the
   logits only linearly, so with T_i[h] = v_i[h] @ W_O[h] W_in and U_i[h] = v_i[h] @
   W_O[h] W_U (a (V, d_mlp) and a (V, p) table per head and position),

       pre    = c_in + sum_h sum_i A_i[n, h] T_i[h][tok_i]
       logits = c_U  + sum_h sum_i A_i[n, h] U_i[h][tok_i] + ReLU(pre) @ W_out W_U

   With A_2 = 1 - A_0 - A_1 the '=' rows fold into the constants (T'_i = T_i - T_2,
   c' = c + sum_h T_2[h]), leaving per example 8 table rows and the constant:
   ``pre = S @ T'`` for a sparse S (B x (2HV + 1), 2H + 1 entries a row: the attention
   weights and a 1). Its pattern depends only on the tokens, so it is built once per
   token batch (:func:`sparsity_pattern`); each step supplies the values.
3. **A backward pass written out.** Instead of the dense d_pre @ (W_O W_in)^T it needs
   d_A[n, j] = <d_pre[n], T'[col(n, j)]> at S's pattern (a sampled product) and
   d_T' = S^T @ d_pre (a gather-and-sum over the rows of S^T). Softmax's backward
   ignores a constant added to every position's gradient, so the '=' position's can
   be taken as 0 (d_A'_i = d_A_i - d_A_2), and the '=' table's true gradient is the
   batch sum minus the others: d_T_2 = d_c - sum_t d_T'_0[t] - sum_t d_T'_1[t].

The sparse products run as ``embedding_bag`` with per-sample weights and
``torch.sparse.sampled_addmm``, which measured faster here than ``torch.sparse.mm``,
one-hot products or generic gathers and scatters (README, "How training is fast").
The dense batch work left is ReLU(pre) @ W_L, its two backward products, and the
float64 cross-entropy. The results equal ``model(tokens)[:, -1]`` and autograd's
gradients up to float rounding (tests/unit/test_fast.py checks both).

Sizes in the shape comments: B examples, V = d_vocab, O = d_vocab_out, d = d_model,
H = n_heads, dh = d_head, hd = H * dh, m = d_mlp, R = 2 H V + 1 table rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..model import BIAS_NAMES, WEIGHT_NAMES, parameters_by_short_name


def cross_entropy_high_precision(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy computed in float64, as in the TransformerLens demo."""
    logprobs = logits.to(torch.float64).log_softmax(dim=-1)
    return -logprobs.gather(-1, labels[:, None]).mean()


# ------------------------------------------------------------------ the loss variants
# Each loss is -mean log q[label] for a normalised q over the outputs:
#   "ce64"      q = softmax(logits) computed in float64 (the default);
#   "ce32"      the same softmax in float32, where it can round to exactly one-hot
#               ("softmax collapse", Prieto et al. 2025);
#   "stablemax" q = s(logits) / sum s(logits) in float64, with s(x) = x + 1 for x >= 0 and
#               1 / (1 - x) for x < 0 (Prieto et al.'s StableMax; no max is subtracted).
def stablemax_s(x: torch.Tensor) -> torch.Tensor:
    """StableMax's s(x): x + 1 for x >= 0, 1 / (1 - x) for x < 0 (positive, increasing)."""
    return torch.where(x >= 0, x + 1, 1 / (1 - x.clamp(max=0)))


def loss_probs(logits: torch.Tensor, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(log q, q) of the loss named ``loss`` for ``logits`` (B, O), in the loss's dtype."""
    if loss == "stablemax":
        s = stablemax_s(logits.to(torch.float64))
        q = s / s.sum(-1, keepdim=True)
        return q.log(), q
    logprobs = logits.to(torch.float32 if loss == "ce32" else torch.float64).log_softmax(dim=-1)
    return logprobs, logprobs.exp()


def loss_value(logits: torch.Tensor, labels: torch.Tensor, loss: str = "ce64") -> torch.Tensor:
    """The mean loss named ``loss`` (see :func:`loss_probs`) of ``logits`` (B, O) at ``labels``."""
    return -loss_probs(logits, loss)[0].gather(-1, labels[:, None]).mean()


def loss_and_logit_grads(logits: torch.Tensor, labels: torch.Tensor, loss: str = "ce64"):
    """The mean loss and its gradient with respect to ``logits`` (B, O), by hand.

    Softmax: d/dx_i = q_i - [i = y]. StableMax: with S = sum_j s(x_j),
    d/dx_i = s'(x_i) / S - [i = y] s'(x_y) / s(x_y), where s'(x) = 1 for x >= 0 and
    1 / (1 - x)^2 for x < 0. Returned in the loss's dtype, divided by the batch size.
    """
    batch = logits.shape[0]
    rows = torch.arange(batch, device=labels.device)
    if loss == "stablemax":
        x = logits.to(torch.float64)
        inv = 1 / (1 - x.clamp(max=0))  # 1 / (1 - x) where x < 0, 1 elsewhere
        s = torch.where(x >= 0, x + 1, inv)  # s(x)
        s_prime = inv.square_()  # s'(x): 1 / (1 - x)^2 where x < 0, 1 elsewhere
        total = s.sum(-1, keepdim=True)
        s_y, s_prime_y = s.gather(1, labels[:, None]), s_prime.gather(1, labels[:, None])  # (B, 1)
        value = (total.log() - s_y.log()).mean()
        grad = s_prime.div_(total)
        grad[rows, labels] -= (s_prime_y / s_y).squeeze(1)
        return value, grad.div_(batch)
    logq, q = loss_probs(logits, loss)
    value = -logq.gather(-1, labels[:, None]).mean()
    # Probabilities whose gradient would be subnormal in float32 are set to zero:
    # autograd would keep them as subnormals, which change nothing at float32
    # precision but make every later product several times slower on CPU threads
    # that do not flush subnormals.
    grad = torch.threshold_(q, torch.finfo(logits.dtype).tiny * batch, 0.0)
    grad[rows, labels] -= 1.0
    return value, grad.div_(batch)


def reference_last_logits(model, tokens: torch.Tensor) -> torch.Tensor:
    """The same quantity through ``HookedTransformer.forward`` (slow, for checking)."""
    return model(tokens)[:, -1]


# ------------------------------------------------------------------ the sparse pattern
@dataclass(frozen=True)
class Pattern:
    """Where the nonzeros of S sit for one batch of tokens (S's values change every step).

    Row n of S has 2H + 1 entries, at table rows (position 0, head h, a_n) = h V + a_n,
    (position 1, h, b_n) = H V + h V + b_n, and the constant row R - 1.
    """

    batch: int  # B
    nnz: int  # 2H + 1 entries per row
    n_rows: int  # R = 2HV + 1 rows of the tables T', U'
    crow: torch.Tensor  # (B + 1,) int32 CSR row pointers of S
    col: torch.Tensor  # (B * nnz,) int32 CSR column indices of S
    idx: torch.Tensor  # (B, nnz) int64: S's columns per row, as embedding_bag indices
    perm: torch.Tensor  # (B * nnz,): S^T's values are S's values [perm] (S^T in CSR order)
    t_idx: torch.Tensor  # (B * nnz,): S^T's column (= example) per entry, as embedding_bag indices
    t_off: torch.Tensor  # (R,): where each row of S^T starts, as embedding_bag offsets
    ones: torch.Tensor  # (B, 1): the constant column's values
    tok_a: torch.Tensor  # (B,) token at position 0
    tok_b: torch.Tensor  # (B,) token at position 1


@torch.no_grad()
def sparsity_pattern(tokens: torch.Tensor, n_heads: int, d_vocab: int) -> Pattern:
    """The pattern of S (and of S^T) for ``tokens`` (B, 3); build it once per fixed batch."""
    batch, H, V, device = tokens.shape[0], n_heads, d_vocab, tokens.device
    heads = torch.arange(H, device=device)
    n_rows = 2 * H * V + 1
    cols = torch.cat([heads * V + tokens[:, :1],  # (B, H): rows (position 0, h, a_n)
                      H * V + heads * V + tokens[:, 1:2],  # (B, H): rows (position 1, h, b_n)
                      torch.full((batch, 1), n_rows - 1, device=device)], 1)  # (B, 2H + 1), sorted per row
    nnz = cols.shape[1]
    flat = cols.reshape(-1)  # (B * nnz,)
    examples = torch.arange(batch, device=device).repeat_interleave(nnz)  # (B * nnz,)
    perm = torch.argsort(flat * batch + examples)  # S^T in CSR order: by table row, then example
    counts = torch.bincount(flat, minlength=n_rows)  # (R,) entries per table row
    return Pattern(
        batch=batch, nnz=nnz, n_rows=n_rows,
        crow=torch.arange(0, batch * nnz + 1, nnz, device=device).to(torch.int32),
        col=flat.to(torch.int32), idx=cols, perm=perm, t_idx=examples[perm],
        t_off=torch.cat([counts.new_zeros(1), counts.cumsum(0)[:-1]]),
        ones=torch.ones(batch, 1, device=device),
        tok_a=tokens[:, 0].contiguous(), tok_b=tokens[:, 1].contiguous(),
    )


def _gather_sum(table: torch.Tensor, idx: torch.Tensor, weights: torch.Tensor, offsets=None) -> torch.Tensor:
    """Row r of the result = sum_j weights[r, j] table[idx[r, j]]: a sparse (CSR) x dense product.

    With ``offsets`` the rows are variable-length bags over a flat ``idx`` (the rows of S^T).
    """
    return F.embedding_bag(idx, table, offsets, mode="sum", per_sample_weights=weights.reshape(idx.shape))


# ------------------------------------------------------------------ the batch-independent part
@dataclass(frozen=True)
class Tables:
    """Everything the step needs that does not depend on the batch: weights and small products."""

    w: dict[str, torch.Tensor]  # every weight and bias by short name ("W_E", ..., "b_U")
    n_heads: int  # H
    d_model: int  # d
    d_head: int  # dh
    hd: int  # H * dh
    d_vocab: int  # V
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
    W_OI_h: torch.Tensor  # (H, dh, m) W_O W_in per head
    W_OU_h: torch.Tensor  # (H, dh, O) W_O W_U per head
    W_L: torch.Tensor  # (m, O) W_out W_U
    r_in: torch.Tensor  # (d,) residual at '=' before the MLP, minus the heads' output
    r_out: torch.Tensor  # (d,) r_in plus the MLP's output bias
    v01: torch.Tensor  # (2, H, V, dh) values of every token at positions 0 and 1, per head
    v2: torch.Tensor  # (H, 1, dh) the '=' position's values
    T: torch.Tensor  # (R, m): rows T'_i[h][t] = T_i[h][t] - T_2[h], then c'_in
    U: torch.Tensor  # (R, O): rows U'_i[h][t] = U_i[h][t] - U_2[h], then c'_U


@torch.no_grad()
def prepare(model) -> Tables:
    """The batch-independent part of the step, computed once per step."""
    w = parameters_by_short_name(model)
    W_E, W_pos, W_in, W_out, W_U = w["W_E"], w["W_pos"], w["W_in"], w["W_out"], w["W_U"]
    n_heads, d_model, d_head = w["W_Q"].shape
    hd, V = n_heads * d_head, W_E.shape[0]
    scale = model.blocks[0].attn.attn_scale
    x2 = W_E[V - 1] + W_pos[2]  # (d,)
    q = torch.einsum("d,hde->he", x2, w["W_Q"]) + w["b_Q"]  # (H, dh)
    kq = torch.einsum("hde,he->dh", w["W_K"], q) / scale  # (d, H): key weights dotted with the query
    kq_bias = (w["b_K"] * q).sum(-1) / scale  # (H,)
    proj = torch.cat([w["W_V"].permute(1, 0, 2).reshape(d_model, hd), kq], dim=1)  # (d, hd + H)
    proj_bias = torch.cat([w["b_V"].reshape(hd), kq_bias])  # (hd + H,)
    e0, e1 = W_E + W_pos[0], W_E + W_pos[1]  # (V, d) each
    table0 = torch.addmm(proj_bias, e0, proj)  # (V, hd + H)
    table1 = torch.addmm(proj_bias, e1, proj)  # (V, hd + H)
    row2 = torch.addmv(proj_bias, proj.t(), x2)  # (hd + H,)
    w_o = w["W_O"].reshape(hd, d_model)  # (hd, d)
    W_OI_h = (w_o @ W_in).view(n_heads, d_head, -1)  # (H, dh, m)
    W_OU_h = (w_o @ W_U).view(n_heads, d_head, -1)  # (H, dh, O)
    r_in = x2 + w["b_O"]  # (d,)
    r_out = r_in + w["b_out"]  # (d,)
    c_in = torch.addmv(w["b_in"], W_in.t(), r_in)  # (m,) constant part of the MLP's input
    c_U = torch.addmv(w["b_U"], W_U.t(), r_out)  # (O,) constant part of the logits
    v01 = torch.stack([table0[:, :hd], table1[:, :hd]]).view(2, V, n_heads, d_head).transpose(1, 2)  # (2, H, V, dh)
    v2 = row2[:hd].view(n_heads, 1, d_head)  # (H, 1, dh)
    T2 = torch.bmm(v2, W_OI_h)  # (H, 1, m): the '=' position's table rows
    U2 = torch.bmm(v2, W_OU_h)  # (H, 1, O)
    n_rows = 2 * n_heads * V + 1
    T = W_in.new_empty(n_rows, W_in.shape[1])  # (R, m)
    U = W_in.new_empty(n_rows, W_U.shape[1])  # (R, O)
    torch.matmul(v01, W_OI_h, out=T[:-1].view(2, n_heads, V, -1)).sub_(T2)  # T'_i = T_i - T_2
    torch.matmul(v01, W_OU_h, out=U[:-1].view(2, n_heads, V, -1)).sub_(U2)  # U'_i = U_i - U_2
    torch.add(c_in, T2.sum(0)[0], out=T[-1])  # c'_in = c_in + sum_h T_2[h]
    torch.add(c_U, U2.sum(0)[0], out=U[-1])  # c'_U = c_U + sum_h U_2[h]
    return Tables(w=w, n_heads=n_heads, d_model=d_model, d_head=d_head, hd=hd, d_vocab=V, scale=scale,
                  eq_token=V - 1, x2=x2, q=q, proj=proj, e0=e0, e1=e1, table0=table0, table1=table1,
                  row2=row2, w_o=w_o, W_OI_h=W_OI_h, W_OU_h=W_OU_h, W_L=W_out @ W_U, r_in=r_in,
                  r_out=r_out, v01=v01, v2=v2, T=T, U=U)


# ------------------------------------------------------------------ forward
@dataclass(frozen=True)
class Attention:
    """The last position's attention over one batch, and S with those weights as its values."""

    pattern: torch.Tensor  # (3, B, H) attention of '=' to positions 0, 1, 2
    vals: torch.Tensor  # (B, 2H + 1) S's values, row-major: A_0 per head, A_1 per head, 1
    S: torch.Tensor  # (B, R) sparse CSR


def attend(s: Tables, pat: Pattern) -> Attention:
    """Attention of the last position over the batch the pattern was built for."""
    batch, H, hd = pat.batch, s.n_heads, s.hd
    # laid out (3, B, H) so that the softmax runs along the outer axis
    scores = torch.stack([s.table0[:, hd:].index_select(0, pat.tok_a),  # (3, B, H)
                          s.table1[:, hd:].index_select(0, pat.tok_b),
                          s.row2[hd:].expand(batch, H)])
    # The softmax over the three positions, written out: torch's softmax along a
    # non-last axis rounds differently with the number of threads, these element-wise
    # operations do not, so a run comes out the same on 1 thread or 2 (tested).
    exps = (scores - scores.amax(0)).exp_()  # (3, B, H)
    pattern = exps.div_(exps.sum(0))  # (3, B, H)
    vals = torch.cat([pattern[0], pattern[1], pat.ones], 1)  # (B, 2H + 1)
    with warnings.catch_warnings():  # torch calls its sparse CSR support "beta" on first use
        warnings.simplefilter("ignore", UserWarning)
        S = torch.sparse_csr_tensor(pat.crow, pat.col, vals.view(-1), (batch, pat.n_rows), check_invariants=False)
    return Attention(pattern=pattern, vals=vals, S=S)


def pre_activations(s: Tables, pat: Pattern, att: Attention) -> torch.Tensor:
    """The MLP's input at '=' (B, m): S @ T', before the ReLU."""
    return _gather_sum(s.T, pat.idx, att.vals)


def forward(s: Tables, pat: Pattern) -> tuple[Attention, torch.Tensor, torch.Tensor]:
    """(attention, MLP activations at '=' (B, m), last-position logits (B, O))."""
    att = attend(s, pat)
    hidden = pre_activations(s, pat, att).relu_()  # (B, m) ReLU(S @ T')
    logits = _gather_sum(s.U, pat.idx, att.vals).addmm_(hidden, s.W_L)  # (B, O) S @ U' + hidden W_L
    return att, hidden, logits


@torch.no_grad()
def last_logits(model, tokens: torch.Tensor, pattern: Pattern | None = None,
                tables: Tables | None = None) -> torch.Tensor:
    """Logits at the last position for ``tokens`` (B, 3): (B, d_vocab_out).

    Equal to ``model(tokens)[:, -1]`` up to float rounding, several times faster. Pass the
    ``pattern`` of a batch used again and again, and ``tables`` to reuse a step's.
    """
    s = tables or prepare(model)
    pat = pattern or sparsity_pattern(tokens, s.n_heads, s.d_vocab)
    return forward(s, pat)[2]


@torch.no_grad()
def last_logits_and_neurons(model, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`last_logits` and the MLP activations at '=' (after the ReLU) of the same
    forward pass: (B, d_vocab_out) and (B, d_mlp)."""
    s = prepare(model)
    _, hidden, logits = forward(s, sparsity_pattern(tokens, s.n_heads, s.d_vocab))
    return logits, hidden


# ------------------------------------------------------------------ forward and backward
@torch.no_grad()
def loss_and_grads(model, tokens: torch.Tensor, labels: torch.Tensor, pattern: Pattern | None = None,
                   tables: Tables | None = None, loss: str = "ce64"):
    """Loss, last-position logits and the gradient of every trained weight, by hand.

    The same function as :func:`last_logits` followed by :func:`loss_value` (by
    default :func:`cross_entropy_high_precision`) and ``loss.backward()``. ``pattern`` is
    :func:`sparsity_pattern` of ``tokens`` (built here when None; a training loop builds
    it once), ``tables`` :func:`prepare` of the model (reused when the caller has them).

    Returns ``(loss, logits, grads)`` where ``grads`` maps TransformerLens names
    (``"embed.W_E"``, ...) to contiguous tensors shaped like the parameters, for every
    parameter that trains (``requires_grad``): the weight matrices, and the MLP's two
    biases when the config trains them.
    """
    s = tables or prepare(model)
    pat = pattern or sparsity_pattern(tokens, s.n_heads, s.d_vocab)
    w, H, d_head, hd, V = s.w, s.n_heads, s.d_head, s.hd, s.d_vocab
    batch = pat.batch
    att, hidden, logits = forward(s, pat)

    loss_value_, d_logits_loss = loss_and_logit_grads(logits, labels, loss)  # (), (B, O) in the loss's dtype

    # ------------------------------------------------- backward: the batch
    d_logits = d_logits_loss.to(logits.dtype)  # (B, O) d loss / d logits
    d_W_L = (d_logits.t() @ hidden).t()  # (m, O)
    d_pre = d_logits @ s.W_L.t()  # (B, m) through W_L ...
    torch.ops.aten.threshold_backward.grad_input(d_pre, hidden, 0.0, grad_input=d_pre)  # ... and the ReLU
    # d_A[n, j] = <d_pre[n], T'[col]> + <d_logits[n], U'[col]> at S's pattern
    d_S = torch.sparse.sampled_addmm(att.S, d_pre, s.T.t(), beta=0.0)  # CSR, values (B * nnz,)
    d_S = torch.sparse.sampled_addmm(d_S, d_logits, s.U.t())
    d_A = d_S.values().view(batch, pat.nnz)  # (B, 2H + 1); the constant's column is unused
    t_vals = att.vals.view(-1)[pat.perm]  # (B * nnz,) S^T's values
    d_T = _gather_sum(d_pre, pat.t_idx, t_vals, pat.t_off)  # (R, m) = S^T @ d_pre
    d_U = _gather_sum(d_logits, pat.t_idx, t_vals, pat.t_off)  # (R, O) = S^T @ d_logits
    # attention-weight gradients (the '=' position's taken as 0) -> score gradients
    d_pat = torch.stack([d_A[:, :H], d_A[:, H:2 * H]])  # (2, B, H)
    inner = (att.pattern[:2] * d_pat).sum(0)  # (B, H)
    d_scores = att.pattern * torch.cat([d_pat, d_pat.new_zeros(1, batch, H)]).sub_(inner)  # (3, B, H)
    d_sc0 = d_scores.new_zeros(V, H).index_add_(0, pat.tok_a, d_scores[0])  # (V, H)
    d_sc1 = d_scores.new_zeros(V, H).index_add_(0, pat.tok_b, d_scores[1])  # (V, H)
    d_sc2 = d_scores[2].sum(0)  # (H,)

    # ------------------------------------------------- backward: the tables
    d_c_in, d_c_U = d_T[-1], d_U[-1]  # (m,), (O,): sums over the batch
    d_T01 = d_T[:-1].view(2, H, V, -1)  # (2, H, V, m)
    d_U01 = d_U[:-1].view(2, H, V, -1)  # (2, H, V, O)
    d_T2 = d_c_in - d_T01.sum(2).sum(0)  # (H, m) the '=' rows' true gradient
    d_U2 = d_c_U - d_U01.sum(2).sum(0)  # (H, O)
    W_OI_t, W_OU_t = s.W_OI_h.transpose(1, 2), s.W_OU_h.transpose(1, 2)  # (H, m, dh), (H, O, dh)
    d_v01 = torch.matmul(d_T01, W_OI_t).add_(torch.matmul(d_U01, W_OU_t))  # (2, H, V, dh)
    d_v2 = torch.bmm(d_T2[:, None], W_OI_t).add_(torch.bmm(d_U2[:, None], W_OU_t))  # (H, 1, dh)
    v01_t, v2_t = s.v01.transpose(2, 3), s.v2.transpose(1, 2)  # (2, H, dh, V), (H, dh, 1)
    d_W_OI = torch.matmul(v01_t, d_T01).sum(0).add_(torch.bmm(v2_t, d_T2[:, None])).view(hd, -1)  # (hd, m)
    d_W_OU = torch.matmul(v01_t, d_U01).sum(0).add_(torch.bmm(v2_t, d_U2[:, None])).view(hd, -1)  # (hd, O)
    d_table0 = torch.cat([d_v01[0].transpose(0, 1).reshape(V, hd), d_sc0], 1)  # (V, hd + H)
    d_table1 = torch.cat([d_v01[1].transpose(0, 1).reshape(V, hd), d_sc1], 1)  # (V, hd + H)
    d_row2 = torch.cat([d_v2.reshape(hd), d_sc2])  # (hd + H,)

    # ------------------------------------------------- backward: small products
    grads = {
        "W_out": d_W_L @ w["W_U"].t(),  # (m, d)
        "W_in": torch.addr(s.w_o.t() @ d_W_OI, s.r_in, d_c_in),  # (d, m)
        "W_U": torch.addr(w["W_out"].t() @ d_W_L, s.r_out, d_c_U).addmm_(s.w_o.t(), d_W_OU),  # (d, O)
    }
    d_w_o = torch.addmm(d_W_OU @ w["W_U"].t(), d_W_OI, w["W_in"].t())  # (hd, d)
    grads["W_O"] = d_w_o.view(H, d_head, s.d_model)
    d_x2 = torch.addmv(w["W_U"] @ d_c_U, w["W_in"], d_c_in)  # (d,)
    # the attention tables are e @ proj + proj_bias
    d_proj = s.e0.t() @ d_table0  # (d, hd + H)
    d_proj.addmm_(s.e1.t(), d_table1).addr_(s.x2, d_row2)
    d_e0 = d_table0 @ s.proj.t()  # (V, d)
    d_e1 = d_table1 @ s.proj.t()  # (V, d)
    d_x2 += s.proj @ d_row2
    d_bias_kq = d_table0[:, hd:].sum(0) + d_table1[:, hd:].sum(0) + d_row2[hd:]  # (H,)
    grads["W_V"] = d_proj[:, :hd].reshape(s.d_model, H, d_head).permute(1, 0, 2)  # (H, d, dh)
    d_kq = d_proj[:, hd:] / s.scale  # (d, H)
    grads["W_K"] = torch.einsum("dh,he->hde", d_kq, s.q)  # (H, d, dh)
    d_q = torch.einsum("hde,dh->he", w["W_K"], d_kq) + w["b_K"] * (d_bias_kq / s.scale)[:, None]  # (H, dh)
    grads["W_Q"] = torch.einsum("d,he->hde", s.x2, d_q)  # (H, d, dh)
    d_x2 += torch.einsum("hde,he->d", w["W_Q"], d_q)
    d_W_E = d_e0 + d_e1  # (V, d)
    d_W_E[s.eq_token] += d_x2
    grads["W_E"] = d_W_E
    grads["W_pos"] = torch.stack([d_e0.sum(0), d_e1.sum(0), d_x2])  # (3, d)
    grads["b_in"] = d_c_in  # (m,): c_in = b_in + W_in^T r_in
    grads["b_out"] = w["W_U"] @ d_c_U  # (d,): b_out enters through r_out, c_U = b_U + W_U^T r_out
    # Optimisers (fused AdamW in particular) expect each gradient laid out like its
    # parameter: contiguous, as the parameters are.
    names = {**WEIGHT_NAMES, **BIAS_NAMES}
    return loss_value_, logits, {names[k]: v.contiguous() for k, v in grads.items() if w[k].requires_grad}
