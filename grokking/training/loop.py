"""Training: the full-batch loop, its metrics, checkpoints, interruption and resume.

Epoch ``e`` in the history describes the model after ``e`` optimiser steps: the
train loss and accuracy come from the forward pass of the step that follows, the
test metrics and weight norm from the same weights. Everything is recorded every
``config.eval_every`` epochs and at the last epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import Config, ConfigError
from ..data import Dataset, make_dataset
from ..model import build_model, trainable_parameters, weight_norm
from ..runs import store
from ..runs.store import HISTORY_KEYS
from . import fast
from .cpu import flush_denormals, keep_freed_memory

# A run has learned a split once its accuracy there reaches this: "grokked" for the test
# split. The early-stop rule, the sweeps' result tables and the chapters all use it.
GROK_ACCURACY = 0.99
EARLY_STOP_PATIENCE = 1000  # epochs at or above GROK_ACCURACY before a sweep run stops early


class TrainingFailed(store.RunError):
    """Training produced a non-finite loss; the run is marked failed (never finished)."""


def _check_finite(run_dir: Path, row: dict) -> None:
    """Stop a run whose loss is no longer a number: record why in ``failed.json`` and raise.

    The run keeps its last resume state, but ``--resume`` refuses it: resuming would
    replay the same arithmetic into the same non-finite loss.
    """
    bad = [key for key in ("train_loss", "test_loss", "weight_norm") if not math.isfinite(row[key])]
    if not bad:
        return
    epoch = row["epoch"]
    reason = f"non-finite {', '.join(bad)} at epoch {epoch}"
    store.atomic_write_json(run_dir / store.FAILED, {"epoch": epoch, "reason": reason})
    raise TrainingFailed(f"{run_dir}: training failed: {reason} (a smaller lr may help); "
                         f"details in {run_dir / store.FAILED}")


def empty_history() -> dict[str, list]:
    return {key: [] for key in HISTORY_KEYS}


def make_optimizer(config: Config, params: list[torch.nn.Parameter]) -> torch.optim.AdamW:
    return torch.optim.AdamW(
        params,
        lr=config.lr,
        betas=(config.beta1, config.beta2),
        eps=config.adam_eps,
        weight_decay=config.weight_decay,
        fused=True,
    )


# Prieto et al.'s orthogonal-gradient code adds this to both denominators of the projection.
ORTHO_EPS = 1e-30


@torch.no_grad()
def orthogonal_gradient(weight: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """``grad`` without its component along ``weight``, rescaled to ``grad``'s norm (the ⊥Grad
    of Prieto et al. 2025, per parameter tensor, both flattened):
    g_perp = g - (w . g) / (w . w) w, returned as g_perp ||g|| / ||g_perp||."""
    w, g = weight.reshape(-1), grad.reshape(-1)
    g_perp = g - (torch.dot(w, g) / (torch.dot(w, w) + ORTHO_EPS)) * w
    return (g_perp * (g.norm() / (g_perp.norm() + ORTHO_EPS))).view_as(grad)


@torch.no_grad()
def grokfast_filter(ema: torch.Tensor | None, grad: torch.Tensor, alpha: float, lamb: float
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Grokfast's EMA filter (Lee et al. 2024) for one parameter: the new average
    mu = alpha mu + (1 - alpha) g (mu starts as the first gradient) and the gradient the
    optimiser gets instead of g, g + lamb mu. Returns (mu, filtered gradient)."""
    ema = grad.clone() if ema is None else ema.mul_(alpha).add_(grad, alpha=1 - alpha)
    return ema, grad + lamb * ema


def warmup_factor(config: Config, steps_done: int) -> float:
    """The learning rate's multiplier for the step after ``steps_done`` steps: min(t / warm-up, 1),
    as the paper code's ``LambdaLR(lambda step: min(step / 10, 1))`` (the first step's is 0)."""
    return 1.0 if config.warmup_steps == 0 else min(steps_done / config.warmup_steps, 1.0)


class Trainer:
    """A model, its data and its AdamW optimiser; one ``step()`` is one epoch.

    The sparsity patterns of the fast step (:func:`fast.sparsity_pattern`) depend only on
    the tokens, so they are built once here for the training and the test split.
    """

    def __init__(self, config: Config, model, data: Dataset):
        self.config = config
        self.model = model
        self.data = data
        self.params = trainable_parameters(model)
        self.optimizer = make_optimizer(config, list(self.params.values()))
        self.steps_done = 0  # optimiser steps taken (the warm-up reads it)
        self.ema: dict[str, torch.Tensor] = {}  # Grokfast's gradient averages, by parameter name
        self.train_tokens, self.train_labels = data.train_tokens, data.train_labels
        self.test_tokens, self.test_labels = data.test_tokens, data.test_labels
        heads, vocab = model.cfg.n_heads, model.cfg.d_vocab
        self.train_pattern = fast.sparsity_pattern(self.train_tokens, heads, vocab)
        self.test_pattern = fast.sparsity_pattern(self.test_tokens, heads, vocab)

    def tables(self) -> fast.Tables:
        """The fast step's batch-independent products of the current weights."""
        return fast.prepare(self.model)

    def step(self, tables: fast.Tables | None = None, measure: bool = True) -> tuple[float, float] | None:
        """One full-batch AdamW step; returns the loss and accuracy *before* it (None when
        ``measure`` is False: the loop records them only every ``eval_every`` epochs).

        ``tables`` may be :meth:`tables` of the current weights (when the caller made them
        already, e.g. to evaluate the test split first); they are stale after the step.
        """
        config = self.config
        loss, logits, grads = fast.loss_and_grads(self.model, self.train_tokens, self.train_labels,
                                                  self.train_pattern, tables, config.loss)
        for name, param in self.params.items():
            grad = grads[name]
            if config.optimizer == "ortho_adamw":
                grad = orthogonal_gradient(param, grad)
            if config.grokfast_lambda:
                self.ema[name], grad = grokfast_filter(self.ema.get(name), grad, config.grokfast_alpha,
                                                       config.grokfast_lambda)
            param.grad = grad
        if config.warmup_steps:
            for group in self.optimizer.param_groups:
                group["lr"] = config.lr * warmup_factor(config, self.steps_done)
        self.optimizer.step()
        self.steps_done += 1
        if not measure:
            return None
        acc = (logits.argmax(-1) == self.train_labels).double().mean()
        return float(loss), float(acc)

    def evaluate(self, split: str = "test", tables: fast.Tables | None = None) -> tuple[float, float]:
        """Loss and accuracy of the current weights on ``split`` ("train" or "test")."""
        tokens, labels, pattern = ((self.train_tokens, self.train_labels, self.train_pattern) if split == "train"
                                   else (self.test_tokens, self.test_labels, self.test_pattern))
        logits = fast.last_logits(self.model, tokens, pattern, tables)
        loss = fast.loss_value(logits, labels, self.config.loss)
        acc = (logits.argmax(-1) == labels).double().mean()
        return float(loss), float(acc)

    # ---------------------------------------------------------------- resume
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Weights and optimiser moments, by parameter name."""
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        for name, param in self.params.items():
            for key, value in self.optimizer.state.get(param, {}).items():
                tensors[f"optim.{name}.{key}"] = value
        for name, ema in self.ema.items():
            tensors[f"filter.{name}"] = ema
        return tensors

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        self.model.load_state_dict(model_state)
        device = next(iter(self.params.values())).device
        for name, param in self.params.items():
            prefix = f"optim.{name}."
            state = {k[len(prefix):]: v.to(device) for k, v in tensors.items() if k.startswith(prefix)}
            if state:
                self.optimizer.state[param] = state
        self.ema = {k[len("filter."):]: v.to(device) for k, v in tensors.items() if k.startswith("filter.")}


def hooked_step(trainer: Trainer) -> float:
    """The reference step through ``HookedTransformer.forward`` and autograd (slow)."""
    logits = trainer.model(trainer.train_tokens)[:, -1]
    loss = fast.loss_value(logits, trainer.train_labels, trainer.config.loss)
    trainer.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    trainer.optimizer.step()
    return float(loss.detach())


class EarlyStop:
    """Stop once test accuracy has stayed at or above ``threshold`` for ``patience`` epochs.

    ``update`` is fed every recorded (epoch, test accuracy) in order and says whether
    training should end at that epoch. The streak restarts whenever accuracy dips.
    """

    def __init__(self, threshold: float = GROK_ACCURACY, patience: int = EARLY_STOP_PATIENCE):
        self.threshold = threshold
        self.patience = patience
        self.streak_start: int | None = None

    def update(self, epoch: int, test_acc: float) -> bool:
        if test_acc < self.threshold:
            self.streak_start = None
            return False
        if self.streak_start is None:
            self.streak_start = epoch
        return epoch - self.streak_start >= self.patience

    def replay(self, history: dict[str, list]) -> None:
        """Rebuild the streak from a resumed history."""
        for epoch, acc in zip(history["epoch"], history["test_acc"], strict=False):
            self.update(epoch, acc)


@dataclass
class TrainResult:
    epoch: int  # epochs completed
    finished: bool  # False when stopped early (resume state saved)
    history: dict[str, list]


def model_state(model) -> dict[str, torch.Tensor]:
    """The state dict as saved: every TransformerLens key, parameters and buffers."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _save_resume(run_dir: Path, trainer: Trainer, epoch: int, history: dict) -> None:
    tensors = trainer.state_tensors()
    for key, values in history.items():
        tensors[f"history.{key}"] = torch.tensor(values, dtype=torch.float64)
    metadata = {"epoch": str(epoch), "config": trainer.config.to_json()}
    store.save_tensors(run_dir / store.CHECKPOINTS / store.RESUME, tensors, metadata)


def _load_resume(run_dir: Path, trainer: Trainer) -> tuple[int, dict]:
    path = run_dir / store.CHECKPOINTS / store.RESUME
    tensors, metadata = store.load_tensors_with_metadata(path)
    try:
        config = Config.from_json(metadata.get("config", "{}"))
    except ConfigError as exc:
        raise store.RunError(f"{path}: resume state has an invalid config ({exc})") from None
    if config != trainer.config:
        raise store.RunError(f"{path}: resume state was written for a different config")
    missing = sorted({f"history.{key}" for key in HISTORY_KEYS} - set(tensors))
    epoch = metadata.get("epoch", "")
    if missing or not epoch.isdigit():
        raise store.RunError(f"{path}: not a resume state of this project "
                             f"({'missing ' + ', '.join(missing) if missing else 'no epoch'})")
    try:
        trainer.load_state_tensors(tensors)
    except (RuntimeError, KeyError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise store.RunError(f"{path}: resume state does not fit the model ({reason})") from None
    history = {}
    for key in HISTORY_KEYS:
        values = tensors[f"history.{key}"].tolist()
        history[key] = [int(v) for v in values] if key == "epoch" else values
    if len({len(v) for v in history.values()}) != 1 or (history["epoch"] and history["epoch"][-1] >= int(epoch)):
        raise store.RunError(f"{path}: resume state's history does not match its epoch {epoch}")
    return int(epoch), history


def train(
    config: Config,
    run_dir: Path,
    *,
    device: str | torch.device = "cpu",
    resume: bool = False,
    on_record: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    keep_checkpoints: bool = True,
    early_stop: EarlyStop | None = None,
    start_state: dict[str, torch.Tensor] | None = None,
) -> TrainResult:
    """Train ``config`` into ``run_dir`` (which must hold a matching ``config.json``).

    ``on_record`` is called with each history row; ``should_stop`` is polled after
    every epoch, and when it returns True the full state is saved for ``resume``
    and training returns with ``finished=False``. Checkpoints (weights only) are
    written every ``config.checkpoint_every`` epochs when ``keep_checkpoints``.
    With ``early_stop``, the run ends (and is written as finished) at the first
    recorded epoch where it says so, before ``config.epochs``. ``start_state`` (a model
    state dict, e.g. another run's final weights) replaces the initial weights of a run
    that starts from scratch; the optimiser starts fresh.
    """
    run_dir = Path(run_dir)
    device = torch.device(device)
    data = make_dataset(config).to(device)
    trainer = Trainer(config, build_model(config, device), data)
    epoch, history = 0, empty_history()
    if resume and (run_dir / store.CHECKPOINTS / store.RESUME).exists():
        epoch, history = _load_resume(run_dir, trainer)
        trainer.steps_done = epoch
        if early_stop is not None:
            early_stop.replay(history)
    elif start_state is not None:
        trainer.model.load_state_dict(start_state)

    keep_freed_memory()  # see grokking.training.cpu
    last = config.epochs
    with flush_denormals():
        while True:
            if epoch % config.checkpoint_every == 0 or epoch == config.epochs:
                if keep_checkpoints:
                    store.save_tensors(store.checkpoint_path(run_dir, epoch), model_state(trainer.model))
                if epoch < config.epochs:
                    _save_resume(run_dir, trainer, epoch, history)
            record = epoch % config.eval_every == 0 or epoch == config.epochs
            tables = None
            if record:  # the test split through the same tables the step then uses
                tables = trainer.tables()
                test_loss, test_acc = trainer.evaluate("test", tables)
                norm = weight_norm(trainer.model)
                if early_stop is not None and early_stop.update(epoch, test_acc):
                    last = epoch
            if epoch == last:
                train_loss, train_acc = trainer.evaluate("train", tables)
            elif record:
                train_loss, train_acc = trainer.step(tables)
            else:
                trainer.step(measure=False)
            if record:
                row = dict(epoch=epoch, train_loss=train_loss, train_acc=train_acc,
                           test_loss=test_loss, test_acc=test_acc, weight_norm=norm)
                _check_finite(run_dir, row)
                for key in HISTORY_KEYS:
                    history[key].append(row[key])
                if on_record is not None:
                    on_record(row)
            if epoch == last:
                break
            epoch += 1
            if should_stop is not None and should_stop():
                _save_resume(run_dir, trainer, epoch, history)
                return TrainResult(epoch, False, history)

    store.write_final(run_dir, config, model_state(trainer.model), history)
    (run_dir / store.CHECKPOINTS / store.RESUME).unlink(missing_ok=True)
    return TrainResult(epoch, True, history)
