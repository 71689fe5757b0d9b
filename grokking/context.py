"""One trained run plus the analyses the book needs, each computed once on demand.

>>> ctx = RunContext(load_or_train())
>>> ctx.key_frequencies, ctx.neuron_acts.shape
"""

from __future__ import annotations

from functools import cached_property

import torch

from . import analysis
from .data import all_pairs
from .fourier import fourier_basis, frequency_norms, key_frequencies, to_fourier
from .runs import Run


class RunContext:
    """Lazily computed, cached views of a run (everything derived, nothing stored)."""

    def __init__(self, run: Run):
        self.run = run
        self.model = run.model
        self.config = run.config
        self.p = run.config.p

    # -------------------------------------------------------------- inputs
    @cached_property
    def basis(self) -> torch.Tensor:
        return fourier_basis(self.p)

    @cached_property
    def pairs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All p*p token triples [a, b, =] in row-major (a, b) order, and their labels."""
        return all_pairs(self.p)

    # -------------------------------------------------------------- activations
    @cached_property
    def _cache(self) -> dict[str, torch.Tensor]:
        tokens, _ = self.pairs
        hooks = (analysis.PATTERN_HOOK, analysis.NEURON_HOOK, analysis.NEURON_PRE_HOOK)
        with torch.no_grad():
            logits, cache = self.model.run_with_cache(tokens, names_filter=lambda name: name in hooks)
        return {
            "logits": logits[:, -1].detach(),
            "pattern": cache[analysis.PATTERN_HOOK],
            "post": cache[analysis.NEURON_HOOK][:, 2],
            "pre": cache[analysis.NEURON_PRE_HOOK][:, 2],
        }

    @cached_property
    def logits(self) -> torch.Tensor:
        """Last-position logits for every pair: (p*p, p)."""
        return self._cache["logits"]

    @cached_property
    def attention_to_a(self) -> torch.Tensor:
        """(n_heads, p, p): attention from '=' to 'a' over the (a, b) grid."""
        return analysis.attention_to_a(self._cache["pattern"], self.p)

    @cached_property
    def neuron_acts(self) -> torch.Tensor:
        """(p, p, d_mlp): MLP activations (after ReLU) at '=' over the (a, b) grid."""
        return analysis.pairs_grid(self._cache["post"], self.p)

    @cached_property
    def neuron_pre(self) -> torch.Tensor:
        """(p, p, d_mlp): MLP pre-activations at '='."""
        return analysis.pairs_grid(self._cache["pre"], self.p)

    # -------------------------------------------------------------- embedding
    @cached_property
    def W_E(self) -> torch.Tensor:
        """The number rows of the embedding, (p, d_model) (the '=' row left out)."""
        return self.model.W_E[: self.p].detach()

    @cached_property
    def embedding_svd(self):
        return analysis.embedding_svd(self.model.W_E, self.p)

    @cached_property
    def W_E_fourier(self) -> torch.Tensor:
        """W_E in the Fourier basis: (p, d_model), row i = basis vector i."""
        return to_fourier(self.W_E, self.basis, 0)

    @cached_property
    def embedding_frequency_norms(self) -> torch.Tensor:
        """Norm of W_E's Fourier coefficients per frequency k = 1 .. (p-1)/2."""
        return frequency_norms(self.W_E_fourier)

    @cached_property
    def key_frequencies(self) -> list[int]:
        """The key frequencies: at least 5% of W_E's Fourier power each (see fourier.key_frequencies)."""
        return key_frequencies(self.embedding_frequency_norms)

    # -------------------------------------------------------------- neurons, logits
    @cached_property
    def neuron_frequency_shares(self) -> torch.Tensor:
        """(d_mlp, K): share of each neuron's variance explained by each single frequency."""
        return analysis.single_frequency_shares(self.neuron_acts, self.basis)

    @cached_property
    def W_L(self) -> torch.Tensor:
        return analysis.unembed_product(self.model)

    @cached_property
    def cos_fit(self) -> dict:
        return analysis.fit_cos_logits(self.logits, self.key_frequencies, self.p)

    # -------------------------------------------------------------- over training
    @cached_property
    def progress(self) -> dict[str, torch.Tensor]:
        """The run's progress measures per checkpoint (progress.safetensors; see grokking.progress)."""
        from .progress import load_progress

        return load_progress(self.run.path)

    @cached_property
    def phase_boundaries(self) -> dict[str, int]:
        """Epochs ending memorisation, starting and ending clean-up (grokking.phases.progress_phase_boundaries)."""
        from .phases import progress_phase_boundaries

        return progress_phase_boundaries(self.progress)

    # -------------------------------------------------------------- trig identities
    @cached_property
    def trig_table(self) -> dict:
        """Per key frequency k, its neuron cluster (> 85% explained by k) with the fits of grokking.trig:
        the pre-activation wave fit and the ReLU fits with and without the product term."""
        from .trig import relu_product_table

        dominant, explained = analysis.neuron_clusters(self.neuron_frequency_shares)
        clusters = {k: analysis.neurons_of_frequency(dominant, explained, k) for k in self.key_frequencies}
        return relu_product_table(self.neuron_pre, self.neuron_acts, clusters)
