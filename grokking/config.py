"""The run configuration: one frozen dataclass whose defaults are the paper's setup.

Where the paper's own code and the TransformerLens grokking demo disagree, this
project follows the **TransformerLens demo**, because the book's subject is a
``HookedTransformer`` and the demo is the reference most readers will compare with:

- biases: every ``b_*`` parameter exists (TransformerLens always creates them) but is
  frozen at zero, so the trained model has exactly the paper's bias-free attention
  and unembedding; the demo also freezes the MLP biases (the paper trains them);
- initialisation: TransformerLens' default init, seeded with ``model_seed`` = 999;
- split: ``torch.manual_seed(split_seed=598)`` then ``torch.randperm`` over the p*p
  pairs, the first ``frac_train`` of them are the training set;
- optimiser: AdamW, lr 1e-3, weight decay 1.0, betas (0.9, 0.98), *no* warm-up
  (the TransformerLens demo's choice; the paper's code warms up over 10 steps; the
  ``paper-setup`` experiment trains with it);
- length: the paper's 40,000 epochs (the demo stops at 25,000), full batch, one
  optimiser step per epoch, checkpoints every 100 epochs.

The fields after ``checkpoint_every`` are the *variants* the "Beyond the paper"
experiments train (:mod:`grokking.experiments`): another loss, optimiser, gradient
filter, attention, initialisation or split. Their defaults are the setup above, and
a config writes them only when they differ from it, so a default config reads and
writes exactly as it did before they existed (the committed runs' ``config.json``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, fields


class ConfigError(ValueError):
    """A configuration value is invalid."""


# The bounds every config is checked against, and why each is what it is.
# p: the model's logits over all p*p pairs are p**3 floats, and the fast step keeps a few
# such products; at p = 499 that is 0.5 GB per product, the most a laptop holds comfortably.
# Checking the bound first also keeps the primality test quick.
P_MAX = 499
# Seeds go to torch.manual_seed, which takes integers in [0, 2**64); JSON readers in other
# languages lose precision above 2**53, so the stored seeds stay below that.
SEED_MAX = 2**53 - 1
# The history and the checkpoint folder grow with the epochs: at 10**6 epochs, 100,000
# recorded rows and 10,000 checkpoints (about 10 GB for the default model).
EPOCHS_MAX = 1_000_000
# Model widths: the default is 128 / 4 x 32 / 512 (227k weights). Each width is bounded,
# and so is the whole model: 2**24 weights are 64 MiB in float32, well inside the run
# store's bound on one file (grokking.runs.store.MAX_FILE_BYTES, 256 MiB).
WIDTH_MAX = 4096
WEIGHTS_MAX = 2**24

# The variants' choices (see the Config fields of the same names).
LOSSES = ("ce64", "ce32", "stablemax")  # cross-entropy in float64 / float32, StableMax cross-entropy
OPTIMIZERS = ("adamw", "ortho_adamw")  # AdamW, or AdamW on the gradient made orthogonal to the weights
ATTENTIONS = ("softmax", "uniform")  # learned attention, or every head attending equally to [a, b, =]
INITS = ("transformer_lens", "paper")  # TransformerLens' default init, or the paper code's randn / sqrt(d_model)
BIASES = ("none", "mlp")  # every bias frozen at zero, or the MLP's two biases trained (the paper code)
SPLITS = ("torch", "python")  # torch.randperm under split_seed, or Python's random.shuffle (the paper code)
WARMUP_MAX = EPOCHS_MAX


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


@dataclass(frozen=True)
class Config:
    """Everything that determines a training run (and nothing that does not)."""

    # task
    p: int = 113
    frac_train: float = 0.3
    split_seed: int = 598
    # model (one layer, no LayerNorm, ReLU MLP, learned positions, tokens [a, b, =])
    model_seed: int = 999
    n_layers: int = 1
    d_model: int = 128
    n_heads: int = 4
    d_head: int = 32
    d_mlp: int = 512
    act_fn: str = "relu"
    n_ctx: int = 3
    # optimisation (full batch AdamW)
    lr: float = 1e-3
    weight_decay: float = 1.0
    beta1: float = 0.9
    beta2: float = 0.98
    epochs: int = 40_000
    # bookkeeping
    eval_every: int = 10
    checkpoint_every: int = 100
    # variants (the defaults are the setup above; see the module docstring)
    loss: str = "ce64"
    optimizer: str = "adamw"
    adam_eps: float = 1e-8
    grokfast_alpha: float = 0.0  # Grokfast's EMA gradient filter: off when grokfast_lambda is 0
    grokfast_lambda: float = 0.0
    attention: str = "softmax"
    init: str = "transformer_lens"
    biases: str = "none"
    warmup_steps: int = 0  # linear warm-up of the learning rate over this many steps
    split: str = "torch"
    # continue from another run's weights on a random subset of this config's training
    # pairs (ungrokking): the subset's size (0: the whole training split) and its seed
    train_subset: int = 0
    subset_seed: int = 0

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise ConfigError(msg)

        for f in fields(self):
            value = getattr(self, f.name)
            expected = {"int": int, "float": (int, float), "str": str}[f.type]
            need(
                isinstance(value, expected) and not isinstance(value, bool),
                f"{f.name} must be {f.type}, got {value!r}",
            )
        for f in fields(self):
            value = getattr(self, f.name)
            need(not isinstance(value, float) or math.isfinite(value), f"{f.name} must be finite, got {value}")
        need(3 <= self.p <= P_MAX and is_prime(self.p), f"p must be a prime between 3 and {P_MAX}, got {self.p}")
        need(0.0 < self.frac_train < 1.0, f"frac_train must lie in (0, 1), got {self.frac_train}")
        pairs = self.p * self.p
        need(
            1 <= self.n_train <= pairs - 1,
            f"frac_train {self.frac_train} leaves {self.n_train} of the {pairs} pairs for training "
            f"and {pairs - self.n_train} for testing; both splits need at least one",
        )
        for name in ("split_seed", "model_seed"):
            need(0 <= getattr(self, name) <= SEED_MAX, f"{name} must lie in [0, 2**53), got {getattr(self, name)}")
        need(self.n_layers == 1, "only one-layer models are supported (n_layers must be 1)")
        need(self.n_ctx == 3, "the task uses exactly three tokens [a, b, =] (n_ctx must be 3)")
        need(self.act_fn == "relu", "only the ReLU MLP is supported (act_fn must be 'relu')")
        for names, bound in ((("d_model", "n_heads", "d_head", "d_mlp"), WIDTH_MAX),
                             (("eval_every", "checkpoint_every"), EPOCHS_MAX)):
            for name in names:
                value = getattr(self, name)
                need(1 <= value <= bound, f"{name} must lie in [1, {bound}], got {value}")
        need(self.n_weights <= WEIGHTS_MAX,
             f"the model would have {self.n_weights:,} weights, more than {WEIGHTS_MAX:,}; choose smaller widths")
        need(0 <= self.epochs <= EPOCHS_MAX, f"epochs must lie in [0, {EPOCHS_MAX}], got {self.epochs}")
        need(self.lr > 0, f"lr must be > 0, got {self.lr}")
        need(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")
        # AdamW's decoupled decay multiplies every weight by (1 - lr * weight_decay) each step.
        need(
            self.lr * self.weight_decay < 1,
            f"lr x weight_decay must be < 1 (each step scales the weights by 1 - lr x weight_decay), "
            f"got {self.lr:g} x {self.weight_decay:g}",
        )
        need(0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "betas must lie in [0, 1)")
        need(
            self.checkpoint_every % self.eval_every == 0,
            "checkpoint_every must be a multiple of eval_every",
        )
        for name, choices in (("loss", LOSSES), ("optimizer", OPTIMIZERS), ("attention", ATTENTIONS),
                              ("init", INITS), ("biases", BIASES), ("split", SPLITS)):
            need(getattr(self, name) in choices,
                 f"{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        need(0 < self.adam_eps < 1, f"adam_eps must lie in (0, 1), got {self.adam_eps}")
        need(0 <= self.grokfast_alpha < 1, f"grokfast_alpha must lie in [0, 1), got {self.grokfast_alpha}")
        need(0 <= self.grokfast_lambda <= 100, f"grokfast_lambda must lie in [0, 100], got {self.grokfast_lambda}")
        need(0 <= self.warmup_steps <= WARMUP_MAX,
             f"warmup_steps must lie in [0, {WARMUP_MAX}], got {self.warmup_steps}")
        need(0 <= self.train_subset <= self.n_train,
             f"train_subset must lie in [0, {self.n_train}] (the training split's size), got {self.train_subset}")
        need(0 <= self.subset_seed <= SEED_MAX, f"subset_seed must lie in [0, 2**53), got {self.subset_seed}")

    # ------------------------------------------------------------ derived sizes
    @property
    def d_vocab(self) -> int:
        """Input vocabulary: the p residues plus the '=' token."""
        return self.p + 1

    @property
    def d_vocab_out(self) -> int:
        return self.p

    @property
    def equals_token(self) -> int:
        return self.p

    @property
    def n_weights(self) -> int:
        """Trainable weights: embeddings, attention (Q, K, V, O), MLP in and out, unembedding."""
        attention = 4 * self.n_heads * self.d_head * self.d_model
        return (self.d_vocab + self.n_ctx + self.d_vocab_out) * self.d_model + attention + 2 * self.d_model * self.d_mlp

    @property
    def n_train(self) -> int:
        return int(self.frac_train * self.p * self.p)

    @property
    def n_trained(self) -> int:
        """The pairs each step trains on: the training split, or its subset."""
        return self.train_subset or self.n_train

    @property
    def trains_biases(self) -> tuple[str, ...]:
        """Short names of the biases this config trains (none by default)."""
        return ("b_in", "b_out") if self.biases == "mlp" else ()

    @property
    def frozen_weights(self) -> tuple[str, ...]:
        """Short names of weight matrices held fixed (uniform attention fixes the queries
        and keys at zero, which makes every head's scores equal)."""
        return ("W_Q", "W_K") if self.attention == "uniform" else ()

    # ----------------------------------------------------------- serialisation
    def to_dict(self) -> dict:
        """Every field, but the variants' only where they differ from their defaults."""
        data = dataclasses.asdict(self)
        for f in fields(self)[VARIANTS_START:]:
            if data[f.name] == f.default:
                del data[f.name]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict) -> Config:
        if not isinstance(data, dict):
            raise ConfigError("a config must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> Config:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config is not valid JSON ({exc.msg})") from None
        return cls.from_dict(data)

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)


# Where the variant fields begin (Config.to_dict leaves them out at their defaults).
VARIANTS_START = [f.name for f in fields(Config)].index("loss")
