"""Several runs trained together: one full-batch step for M models at once.

Small runs (a small prime, a small training set) spend most of a step in per-call
overhead rather than arithmetic, so a sweep trains the runs that share their shapes
(the same p, training-set size and architecture) as one stack of models: every
weight gets a leading member axis and each operation runs once for all members.
The members stay independent: each has its own initialisation (TransformerLens'
init under its own ``model_seed``), its own split, its own AdamW state and
hyperparameters, and the summed loss gives each member its own gradient.

The forward pass reads only the last position, as :mod:`grokking.fast` does:
positions 0 and 1 enter through per-token key/value tables. Gradients come from
autograd. Biases are frozen at zero in this project (see :mod:`grokking.config`),
so they are left out here. The tests check a member's loss, gradients and first
epochs against the single-run trainer.
"""

from __future__ import annotations

import math

import torch

from .config import Config
from .data import make_dataset
from .model import build_model, trainable_parameters

# the trainable weights, by TransformerLens name, in this module's short names
NAMES = {
    "W_E": "embed.W_E", "W_pos": "pos_embed.W_pos",
    "W_Q": "blocks.0.attn.W_Q", "W_K": "blocks.0.attn.W_K",
    "W_V": "blocks.0.attn.W_V", "W_O": "blocks.0.attn.W_O",
    "W_in": "blocks.0.mlp.W_in", "W_out": "blocks.0.mlp.W_out", "W_U": "unembed.W_U",
}
ADAM_EPS = 1e-8  # torch.optim.AdamW's default


def shape_key(config: Config) -> tuple:
    """Runs with equal keys can share a batched step."""
    return (config.p, config.n_train, config.d_model, config.n_heads, config.d_head, config.d_mlp)


def batched_last_logits(w: dict[str, torch.Tensor], tokens: torch.Tensor) -> torch.Tensor:
    """Last-position logits of M models: weights ``(M, ...)``, tokens ``(M, B, 3)`` -> ``(M, B, p)``."""
    W_E, W_pos, W_Q, W_K, W_V, W_O = (w[k] for k in ("W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O"))
    M, n_heads, d_model, d_head = W_Q.shape
    hd = n_heads * d_head
    eq_token = W_E.shape[1] - 1
    x2 = W_E[:, eq_token] + W_pos[:, 2]  # (M, d): the '=' position's residual
    q = torch.einsum("md,mhde->mhe", x2, W_Q)
    kq = torch.einsum("mhde,mhe->mdh", W_K, q) / math.sqrt(d_head)  # (M, d, H)
    proj = torch.cat([W_V.permute(0, 2, 1, 3).reshape(M, d_model, hd), kq], dim=2)  # (M, d, hd + H)
    table0 = (W_E + W_pos[:, 0:1]) @ proj  # (M, d_vocab, hd + H): value and score per token
    table1 = (W_E + W_pos[:, 1:2]) @ proj
    row2 = (x2[:, None] @ proj)  # (M, 1, hd + H)
    width = hd + n_heads
    batch = tokens.shape[1]
    g0 = table0.gather(1, tokens[:, :, 0:1].expand(M, batch, width))
    g1 = table1.gather(1, tokens[:, :, 1:2].expand(M, batch, width))
    scores = torch.stack([g0[..., hd:], g1[..., hd:], row2[..., hd:].expand(M, batch, n_heads)])
    pattern = scores.softmax(dim=0).unsqueeze(-1)  # (3, M, B, H, 1)
    v0 = g0[..., :hd].view(M, batch, n_heads, d_head)
    v1 = g1[..., :hd].view(M, batch, n_heads, d_head)
    v2 = row2[..., :hd].view(M, 1, n_heads, d_head)
    z = (pattern[0] * v0 + pattern[1] * v1 + pattern[2] * v2).reshape(M, batch, hd)
    resid = torch.baddbmm(x2[:, None], z, W_O.reshape(M, hd, d_model))
    hidden = torch.bmm(resid, w["W_in"]).relu()
    resid = torch.baddbmm(resid, hidden, w["W_out"])
    return torch.bmm(resid, w["W_U"])


def member_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per member, in float64 as the single-run trainer does: (M,)."""
    logprobs = logits.to(torch.float64).log_softmax(dim=-1)
    return -logprobs.gather(-1, labels[..., None]).squeeze(-1).mean(dim=1)


class BatchedTrainer:
    """M runs with equal :func:`shape_key`, stepped together; one ``step()`` is one epoch each.

    Members can be dropped (:meth:`keep`) when they finish, so the rest run faster.
    """

    def __init__(self, configs: list[Config], device: str | torch.device = "cpu"):
        if not configs:
            raise ValueError("a batch needs at least one config")
        keys = {shape_key(c) for c in configs}
        if len(keys) != 1:
            raise ValueError("a batch's configs must share p, training-set size and architecture")
        self.device = torch.device(device)
        self.configs = list(configs)
        models = [build_model(c, "cpu") for c in configs]
        self.template = models[0]  # for the state-dict layout (frozen biases, buffers)
        params = [trainable_parameters(m) for m in models]
        self.weights = {
            short: torch.stack([p[long].detach() for p in params]).to(self.device).requires_grad_()
            for short, long in NAMES.items()
        }
        self.exp_avg = {k: torch.zeros_like(v) for k, v in self.weights.items()}
        self.exp_avg_sq = {k: torch.zeros_like(v) for k, v in self.weights.items()}
        self.steps = 0
        data = [make_dataset(c) for c in configs]
        self.train_tokens = torch.stack([d.train_tokens for d in data]).to(self.device)
        self.train_labels = torch.stack([d.train_labels for d in data]).to(self.device)
        self.test_tokens = torch.stack([d.test_tokens for d in data]).to(self.device)
        self.test_labels = torch.stack([d.test_labels for d in data]).to(self.device)
        self._hyper = {
            name: torch.tensor([float(getattr(c, name)) for c in configs], dtype=torch.float64)
            for name in ("lr", "weight_decay", "beta1", "beta2")
        }

    @property
    def size(self) -> int:
        return len(self.configs)

    def _per_member(self, values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return values.to(like.dtype).to(self.device).view(-1, *([1] * (like.dim() - 1)))

    def step(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One AdamW step for every member; returns each member's loss and accuracy *before* it."""
        logits = batched_last_logits(self.weights, self.train_tokens)
        losses = member_losses(logits, self.train_labels)
        grads = torch.autograd.grad(losses.sum(), list(self.weights.values()))
        acc = (logits.detach().argmax(-1) == self.train_labels).double().mean(dim=1)
        self._adamw(dict(zip(self.weights, grads)))
        return losses.detach(), acc

    @torch.no_grad()
    def _adamw(self, grads: dict[str, torch.Tensor]) -> None:
        """torch.optim.AdamW's update (decoupled weight decay), with per-member hyperparameters."""
        self.steps += 1
        h = self._hyper
        bc1 = 1 - h["beta1"] ** self.steps
        bc2_sqrt = (1 - h["beta2"] ** self.steps).sqrt()
        decay = 1 - h["lr"] * h["weight_decay"]
        step_size = h["lr"] / bc1
        for name, w in self.weights.items():
            g, m, v = grads[name], self.exp_avg[name], self.exp_avg_sq[name]
            w.mul_(self._per_member(decay, w))
            m.lerp_(g, self._per_member(1 - h["beta1"], m))
            v.mul_(self._per_member(h["beta2"], v)).addcmul_(g, g * self._per_member(1 - h["beta2"], g))
            denom = (v.sqrt() / self._per_member(bc2_sqrt, v)).add_(ADAM_EPS)
            w.addcdiv_(m * self._per_member(-step_size, m), denom)

    @torch.no_grad()
    def evaluate(self, split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
        """Loss and accuracy of every member on its ``"train"`` or ``"test"`` split: two (M,) tensors."""
        tokens, labels = (self.test_tokens, self.test_labels) if split == "test" else (self.train_tokens, self.train_labels)
        logits = batched_last_logits(self.weights, tokens)
        return member_losses(logits, labels), (logits.argmax(-1) == labels).double().mean(dim=1)

    @torch.no_grad()
    def weight_norms(self) -> torch.Tensor:
        """L2 norm of each member's trained weights together: (M,)."""
        total = sum(w.double().pow(2).flatten(1).sum(1) for w in self.weights.values())
        return total.sqrt().cpu()

    def keep(self, members: list[int]) -> None:
        """Continue with only these members (indices into the current batch)."""
        index = torch.tensor(members, dtype=torch.long, device=self.device)
        with torch.no_grad():
            for table in (self.weights, self.exp_avg, self.exp_avg_sq):
                for name in table:
                    table[name] = table[name].index_select(0, index)
        for name in self.weights:
            self.weights[name].requires_grad_()
        for attr in ("train_tokens", "train_labels", "test_tokens", "test_labels"):
            setattr(self, attr, getattr(self, attr).index_select(0, index))
        self._hyper = {k: v[index.cpu()] for k, v in self._hyper.items()}
        self.configs = [self.configs[i] for i in members]

    def member_state(self, i: int) -> dict[str, torch.Tensor]:
        """Member ``i`` as a full TransformerLens state dict (biases zero, buffers as built)."""
        state = {k: v.detach().clone() for k, v in self.template.state_dict().items()}
        for short, long in NAMES.items():
            state[long] = self.weights[short][i].detach().cpu().clone()
        return state

    # ------------------------------------------------------------- resume
    def state_tensors(self) -> dict[str, torch.Tensor]:
        tensors = {}
        for prefix, table in (("w", self.weights), ("m", self.exp_avg), ("v", self.exp_avg_sq)):
            for name, value in table.items():
                tensors[f"{prefix}.{name}"] = value.detach().cpu().contiguous()
        return tensors

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], steps: int) -> None:
        with torch.no_grad():
            for prefix, table in (("w", self.weights), ("m", self.exp_avg), ("v", self.exp_avg_sq)):
                for name in table:
                    value = tensors[f"{prefix}.{name}"]
                    if value.shape != table[name].shape:
                        raise ValueError(f"saved {prefix}.{name} has shape {tuple(value.shape)}, "
                                         f"expected {tuple(table[name].shape)}")
                    table[name].copy_(value)
        self.steps = steps
