"""The trig identities inside the MLP, measured (pure functions, tensors in and out).

Conventions as in :mod:`grokking.analysis.neurons`: grids are (p, p, ...) indexed [a, b, ...],
frequencies are 1-based and w = w_k = 2 pi k / p. A wave with amplitude A and phase
phi is written A cos(w x + phi) = A cos(phi) cos(w x) - A sin(phi) sin(w x), so a
least-squares coefficient pair (u on cos, v on sin) means A = hypot(u, v) and
phi = atan2(-v, u).

The story the functions measure, for a neuron n of the cluster of frequency k:

1. pre-activation  ~ kappa_n + A_n cos(w a + phi_n) + B_n cos(w b + psi_n), with B_n ~ A_n, psi_n ~ phi_n;
2. activation      ~ alpha + beta (x + y) + gamma x y, with x = cos(w a + phi_n), y = cos(w b + phi_n),
   and x y = [cos(w (a + b) + 2 phi_n) + cos(w (a - b))] / 2 (product to sum);
3. its row of W_L  ~ R_n cos(w c + 2 phi_n), so the product term sends
   gamma R_n / 4 [cos(w (a + b - c)) + cos(w (a + b + c) + 4 phi_n)] to the logit of c; summed over a
   cluster whose phases are spread around the circle, only cos(w (a + b - c)) survives.

Big tensors (p^2 x neurons, p^2 x p logits) stay in float32; only sums are accumulated in
float64, so no float64 tensor reaches p^3 elements.
"""

from __future__ import annotations

import math

import torch

from .logits import fit_cos_logits


def _angles(k: int, p: int) -> torch.Tensor:
    """w_k x for x = 0 .. p-1, float64."""
    return (2 * math.pi * k / p) * torch.arange(p, dtype=torch.float64)


def wrap(angle: torch.Tensor) -> torch.Tensor:
    """Angles reduced to [-pi, pi)."""
    return torch.remainder(angle + math.pi, 2 * math.pi) - math.pi


def by_angle(k: int, p: int) -> torch.Tensor:
    """The numbers 0 .. p-1 sorted by their angle w_k x on the circle: entry j is the x with k x = j (mod p).

    Indexing a grid with it (rows, columns or both) turns a wave of frequency k into a
    wave of frequency 1, which the eye can follow. Needs p prime (or k coprime to p).
    """
    return (torch.arange(p) * pow(k, -1, p)) % p


def wave_features(k: int, p: int) -> torch.Tensor:
    """The five functions of the pre-activation fit over the (a, b) grid: (5, p, p), float32.

    In order: 1, cos(w a), sin(w a), cos(w b), sin(w b) with w = 2 pi k / p.
    """
    t = _angles(k, p)
    ones = torch.ones(p, p, dtype=torch.float64)
    cos_a, sin_a = torch.cos(t)[:, None] * ones, torch.sin(t)[:, None] * ones
    cos_b, sin_b = torch.cos(t)[None, :] * ones, torch.sin(t)[None, :] * ones
    return torch.stack([ones, cos_a, sin_a, cos_b, sin_b]).float()


def least_squares(features: torch.Tensor, target: torch.Tensor) -> dict:
    """Fit every slice of ``target`` (p, p, N) by a weighted sum of features (least squares).

    ``features`` is (F, p, p), the same for every slice, or (F, p, p, N), one set per
    slice. Solves the normal equations G c_n = X_n^T y_n per slice, with the sums in
    G and X_n^T y_n accumulated in float64 over float32 products. Returns ``coef``
    (N, F) float64, ``fitted`` (p, p, N) float32 and ``r2`` (N,), the share of each
    slice's variance explained: r^2 = 1 - sum (y - fit)^2 / sum (y - mean y)^2.
    Include a constant feature for r^2 to mean what it says.
    """
    y = target.float().reshape(-1, target.shape[-1])  # (p*p, N)
    X = features.float().reshape(features.shape[0], -1, *features.shape[3:])  # (F, p*p[, N])
    if X.dim() == 2:
        X = X[..., None]  # the same features for every slice, broadcast below
    F = X.shape[0]

    def total(t):  # sum over pairs, accumulated in float64: (N,)
        return t.sum(0, dtype=torch.float64).expand(y.shape[1])

    gram = torch.stack([torch.stack([total(X[f] * X[g]) for g in range(F)], -1) for f in range(F)], -2)
    rhs = torch.stack([total(X[f] * y) for f in range(F)], -1)
    coef = torch.linalg.solve(gram, rhs)  # (N, F)
    fitted = sum(X[f] * coef[:, f].float() for f in range(F))
    residual = total((y - fitted).pow(2))
    spread = total((y - y.mean(0)).pow(2)).clamp_min(1e-30)
    return {"coef": coef, "fitted": fitted.reshape(target.shape), "r2": 1 - residual / spread}


def amplitude_phase(u: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, phi) with u cos(t) + v sin(t) = A cos(t + phi)."""
    return torch.hypot(u, v), torch.atan2(-v, u)


def fit_waves(pre: torch.Tensor, k: int) -> dict:
    """Fit each neuron's pre-activation grid (p, p, N) by a wave of frequency k in a plus one in b.

    pre[a, b, n] ~ kappa_n + u_n cos(w a) + v_n sin(w a) + u'_n cos(w b) + v'_n sin(w b)
                 = kappa_n + A_n cos(w a + phi_n) + B_n cos(w b + psi_n).
    Returns the :func:`least_squares` result plus ``amp_a`` (A), ``phase_a`` (phi),
    ``amp_b`` (B), ``phase_b`` (psi) and ``phase``, the neuron's common phase (see
    :func:`common_phase`).
    """
    fit = least_squares(wave_features(k, pre.shape[0]), pre)
    c = fit["coef"]
    fit["amp_a"], fit["phase_a"] = amplitude_phase(c[:, 1], c[:, 2])
    fit["amp_b"], fit["phase_b"] = amplitude_phase(c[:, 3], c[:, 4])
    fit["phase"] = common_phase(fit["amp_a"], fit["phase_a"], fit["amp_b"], fit["phase_b"])
    return fit


def common_phase(amp_a, phase_a, amp_b, phase_b) -> torch.Tensor:
    """One phase per neuron: the angle of A e^{i phi} + B e^{i psi} (an amplitude-weighted average)."""
    z = torch.polar(amp_a.double(), phase_a.double()) + torch.polar(amp_b.double(), phase_b.double())
    return torch.angle(z)


def product_features(phase: torch.Tensor, k: int, p: int, with_product: bool = True) -> torch.Tensor:
    """Per-neuron features of the ReLU fit: (F, p, p, N) with F = 3 (or 2 without the product).

    With x = cos(w a + phase_n) and y = cos(w b + phase_n): 1, x + y and x y.
    """
    x = torch.cos(_angles(k, p)[:, None] + phase.double()[None, :]).float()  # (p, N)
    ones = torch.ones(p, p, phase.shape[0])
    feats = [ones, x[:, None, :] + x[None, :, :]]
    if with_product:
        feats.append(x[:, None, :] * x[None, :, :])
    return torch.stack(feats)


def fit_relu_product(acts: torch.Tensor, phase: torch.Tensor, k: int, with_product: bool = True) -> dict:
    """Fit activations (p, p, N) by alpha + beta (x + y) + gamma x y (or without gamma).

    x = cos(w a + phase_n), y = cos(w b + phase_n), phase from :func:`fit_waves` on the
    pre-activations. The ReLU is not linear: a smooth approximation of it has a u^2
    term, and with u = x + y that holds (x + y)^2 = x^2 + y^2 + 2 x y, a product term.
    Returns the :func:`least_squares` result (coef columns alpha, beta[, gamma]).
    """
    return least_squares(product_features(phase, k, acts.shape[0], with_product), acts)


def relu_product_table(pre: torch.Tensor, acts: torch.Tensor, clusters: dict[int, torch.Tensor]) -> dict:
    """Per cluster (frequency k -> neuron indices): mean r^2 of the pre-activation wave fit and
    of the ReLU fit with and without the product term, plus the per-neuron results.

    Returns {k: {"neurons", "waves" (fit_waves), "with" / "without" (fit_relu_product),
    "r2_waves", "r2_with", "r2_without"}} with the r^2 entries as floats (means over neurons).
    """
    table = {}
    for k, neurons in clusters.items():
        waves = fit_waves(pre[:, :, neurons], k)
        with_g = fit_relu_product(acts[:, :, neurons], waves["phase"], k, True)
        without = fit_relu_product(acts[:, :, neurons], waves["phase"], k, False)
        table[k] = {"neurons": neurons, "waves": waves, "with": with_g, "without": without,
                    "r2_waves": float(waves["r2"].mean()), "r2_with": float(with_g["r2"].mean()),
                    "r2_without": float(without["r2"].mean())}
    return table


# ------------------------------------------------------------------ readout
def wave_over_c(values: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Amplitude R and angle theta of the frequency-k part of ``values`` (..., p) over c.

    values[..., c] ~ mean + R cos(w c - theta) + other frequencies, with
    R cos(theta) = (2/p) sum_c values cos(w c) and R sin(theta) = (2/p) sum_c values sin(w c).
    theta is the angle at which the wave peaks: for logits that read out
    cos(w (a + b - c)) it is w (a + b) (mod 2 pi).
    """
    t = _angles(k, values.shape[-1])
    v = values.float()  # float32 products over c (p terms each); the results are small
    C = (v @ torch.cos(t).float()).double() * (2 / len(t))
    S = (v @ torch.sin(t).float()).double() * (2 / len(t))
    return torch.hypot(C, S), torch.atan2(S, C)


def frequency_part(values: torch.Tensor, k: int) -> torch.Tensor:
    """The frequency-k part of ``values`` (..., p) over c, R cos(w c - theta) from :func:`wave_over_c`."""
    amp, theta = wave_over_c(values, k)
    t = _angles(k, values.shape[-1]).float()
    return amp.float()[..., None] * torch.cos(t - theta.float()[..., None])


def readout_r2(logits: torch.Tensor, k: int) -> float:
    """How well the frequency-k part of ``logits`` (p*p, p) is alpha cos(w_k (a + b - c)), alpha one number.

    The share of the variance of :func:`frequency_part` explained by
    :func:`grokking.analysis.logits.fit_cos_logits` with the single frequency k.
    """
    return fit_cos_logits(frequency_part(logits, k), [k], logits.shape[-1])["explained"]


def cluster_logits(acts: torch.Tensor, W_L: torch.Tensor, neurons: torch.Tensor) -> torch.Tensor:
    """What a group of neurons adds to the logits: acts[:, :, neurons] @ W_L[neurons], as (p*p, p) float32."""
    p = acts.shape[0]
    return acts.reshape(p * p, -1)[:, neurons].float() @ W_L[neurons].float()


# ------------------------------------------------------------------ per cluster, for the chapter
def example_neurons(table: dict) -> dict[int, int]:
    """Per cluster, the position (within the cluster) of its neuron with the largest wave amplitude."""
    return {k: int(row["waves"]["amp_a"].argmax()) for k, row in table.items()}


def largest_cluster(table: dict) -> int:
    """The frequency whose cluster has the most neurons."""
    return max(table, key=lambda k: len(table[k]["neurons"]))


def cluster_logit_table(acts: torch.Tensor, W_L: torch.Tensor, table: dict) -> dict[int, torch.Tensor]:
    """Per cluster, its contribution to the logits of every pair: (p*p, p)."""
    return {k: cluster_logits(acts, W_L, row["neurons"]) for k, row in table.items()}


def readout_fits(cluster_logits: dict[int, torch.Tensor], p: int) -> dict[int, dict]:
    """Per cluster, :func:`grokking.analysis.logits.fit_cos_logits` of the frequency-k part of its logits."""
    return {k: fit_cos_logits(frequency_part(v, k), [k], p) for k, v in cluster_logits.items()}


def sharpening(logits: dict[int, torch.Tensor], model_logits: torch.Tensor, labels: torch.Tensor):
    """Accuracy and mean top margin of each cluster alone, the clusters summed, and the whole model."""
    sources = {f"k = {k}\nalone": v for k, v in logits.items()}
    sources["clusters\nsummed"] = sum(logits.values())
    sources["whole\nmodel"] = model_logits
    accuracy = {n: float((v.argmax(-1) == labels).double().mean()) for n, v in sources.items()}
    margin = {n: float(top_margin(v).mean()) for n, v in sources.items()}
    return accuracy, margin


def example_pair(p: int) -> tuple[int, int]:
    """The pair the clock figures follow: a about a third of the way round, b about five sixths,
    a = p // 3 and b = p - max(1, p // 6), so that a + b wraps past p (the answer is smaller
    than both). For p = 113 it is (37, 95)."""
    return p // 3, p - max(1, p // 6)


def phase_resultant(phase: torch.Tensor, weight: torch.Tensor, m: int) -> float:
    """|sum_n weight_n e^{i m phase_n}| / sum_n weight_n: 1 if the angles m phase_n agree, ~0 if spread.

    Terms like cos(w (a + b + c) + 4 phi_n) cancel over a cluster when the m = 4 resultant is small.
    """
    z = torch.polar(weight.double(), m * phase.double()).sum()
    return float(z.abs() / weight.double().sum())


def top_margin(logits: torch.Tensor) -> torch.Tensor:
    """Largest minus second-largest logit of each row, divided by the row's standard deviation."""
    top = logits.float().topk(2, dim=-1).values.double()
    return (top[..., 0] - top[..., 1]) / logits.float().std(-1).double().clamp_min(1e-30)


def unembed_phases(W_L: torch.Tensor, table: dict) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """Per cluster: twice each neuron's input phase, 2 phi_n mod 2 pi, and the angle -theta_n at
    which its W_L row's frequency-k wave over c peaks (unwrapped next to 2 phi_n)."""
    out = {}
    for k, row in table.items():
        _, theta = wave_over_c(W_L[row["neurons"]], k)
        twice = torch.remainder(2 * row["waves"]["phase"], 2 * math.pi)
        out[k] = (twice, twice + wrap(-theta - twice))
    return out
