"""One trained run plus the analyses the book needs, each computed once on demand.

>>> ctx = RunContext(load_run(Path("runs/canonical")))
>>> ctx.key_frequencies, ctx.neuron_acts.shape
"""

from __future__ import annotations

from functools import cached_property

import torch

from ..data import all_pairs, as_grid
from ..runs.load import Run
from . import ablations, attention, beyond, embedding, hooks, neurons, trig
from .fourier import fourier_basis, frequency_norms, key_frequencies, spectrum_2d, to_fourier
from .logits import (
    cos_waves,
    first_test_pair,
    fit_cos_logits,
    unembed_fourier,
    unembed_frequency_norms,
    unembed_product,
)
from .phases import progress_phase_boundaries
from .progress import load_progress


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
        return hooks.run_cache(self.model, tokens)

    @cached_property
    def logits(self) -> torch.Tensor:
        """Last-position logits for every pair: (p*p, p)."""
        return self._cache["logits"]

    @cached_property
    def attention_to_a(self) -> torch.Tensor:
        """(n_heads, p, p): attention from '=' to 'a' over the (a, b) grid."""
        return attention.attention_to_a(self._cache["pattern"], self.p)

    @cached_property
    def neuron_acts(self) -> torch.Tensor:
        """(p, p, d_mlp): MLP activations (after ReLU) at '=' over the (a, b) grid."""
        return as_grid(self._cache["post"], self.p)

    @cached_property
    def neuron_pre(self) -> torch.Tensor:
        """(p, p, d_mlp): MLP pre-activations at '='."""
        return as_grid(self._cache["pre"], self.p)

    # -------------------------------------------------------------- embedding
    @cached_property
    def W_E(self) -> torch.Tensor:
        """The number rows of the embedding, (p, d_model) (the '=' row left out)."""
        return self.model.W_E[: self.p].detach()

    @cached_property
    def embedding_svd(self):
        return embedding.embedding_svd(self.model.W_E, self.p)

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
        """The key frequencies: at least KEY_FREQUENCY_SHARE of W_E's Fourier power each (fourier.key_frequencies)."""
        return key_frequencies(self.embedding_frequency_norms)

    # -------------------------------------------------------------- neurons, logits
    @cached_property
    def neuron_frequency_shares(self) -> torch.Tensor:
        """(d_mlp, K): share of each neuron's variance explained by each single frequency."""
        return neurons.single_frequency_shares(self.neuron_acts, self.basis)

    @cached_property
    def W_L(self) -> torch.Tensor:
        return unembed_product(self.model)

    @cached_property
    def cos_fit(self) -> dict:
        return fit_cos_logits(self.logits, self.key_frequencies, self.p)

    # -------------------------------------------------------------- clock or pizza (Zhong et al.)
    @cached_property
    def gradient_symmetricity(self) -> float:
        """Zhong et al.'s gradient symmetricity over their 100 triples (analysis.beyond)."""
        triples = beyond.symmetricity_triples(self.p)
        return beyond.gradient_symmetricity(hooks.embedding_gradients(self.model, triples))

    @cached_property
    def distance_irrelevance(self) -> float:
        """Zhong et al.'s distance irrelevance of the correct logits over all pairs (analysis.beyond)."""
        return beyond.distance_irrelevance(beyond.correct_logits(self.logits, self.p))

    # -------------------------------------------------------------- over training
    @cached_property
    def progress(self) -> dict[str, torch.Tensor]:
        """The run's progress measures per checkpoint (progress.safetensors; see grokking.analysis.progress)."""
        return load_progress(self.run.path)

    @cached_property
    def phase_boundaries(self) -> dict[str, int]:
        """Epochs ending memorisation, starting and ending clean-up (phases.progress_phase_boundaries)."""
        return progress_phase_boundaries(self.progress)

    # -------------------------------------------------------------- trig identities
    @cached_property
    def trig_table(self) -> dict:
        """Per key frequency k, its neuron cluster (neurons.NEURON_THRESHOLD) with the fits of analysis.trig:
        the pre-activation wave fit and the ReLU fits with and without the product term."""
        clusters = neurons.clusters_of(self.neuron_frequency_shares, self.key_frequencies)
        return trig.relu_product_table(self.neuron_pre, self.neuron_acts, clusters)

    # -------------------------------------------------------------- derived, for the figures
    @cached_property
    def principal_components(self) -> torch.Tensor:
        """W_E's principal components over the numbers, (p, r)."""
        U, S, _ = self.embedding_svd
        return embedding.principal_components(U, S)

    @cached_property
    def n_leading_components(self) -> int:
        return embedding.n_leading_components(self.embedding_svd[1])

    @cached_property
    def leading_spectrum(self) -> tuple[int, torch.Tensor, list[int]]:
        """(n, |rfft| of the first n principal components, the frequencies the key-frequency rule picks)."""
        U, S, _ = self.embedding_svd
        return embedding.leading_spectrum(U, S)

    @cached_property
    def attention_scores_to_a(self) -> torch.Tensor:
        """(p, n_heads): pre-softmax score of '=' for the 'a' token."""
        return hooks.attention_scores_to_a(self.model, self.p)

    def fourier_spectrum_2d(self, grid: torch.Tensor) -> dict:
        """:func:`fourier.spectrum_2d` of a (p, p) grid, zoomed on the key frequencies."""
        return spectrum_2d(grid, self.basis, self.key_frequencies)

    @cached_property
    def head_key_shares(self) -> torch.Tensor:
        """(n_heads,) share of each head's attention-to-'a' variance in the key frequencies."""
        return attention.head_key_shares(self.attention_to_a, self.basis, self.key_frequencies)

    @cached_property
    def neuron_order(self) -> torch.Tensor:
        """Neurons grouped by cluster (neurons.order_by_cluster)."""
        return neurons.order_by_cluster(self.neuron_frequency_shares)

    @cached_property
    def neuron_clusters(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(dominant frequency, explained?) per neuron (neurons.neuron_clusters)."""
        return neurons.neuron_clusters(self.neuron_frequency_shares)

    @cached_property
    def cluster_sizes(self) -> dict[int, int]:
        return neurons.cluster_sizes(*self.neuron_clusters)

    @cached_property
    def n_unexplained_neurons(self) -> int:
        return int((~self.neuron_clusters[1]).sum())

    @cached_property
    def W_L_fourier(self) -> torch.Tensor:
        """W_L in the Fourier basis over the answer c: (d_mlp, p)."""
        return unembed_fourier(self.W_L, self.basis)

    @cached_property
    def unembed_frequency_norms(self) -> torch.Tensor:
        return unembed_frequency_norms(self.W_L, self.basis)

    @cached_property
    def first_test_pair(self) -> tuple[int, int]:
        return first_test_pair(self.run.data)

    @cached_property
    def cluster_ablation(self) -> dict:
        """hooks.cluster_ablation: test loss and accuracy with each cluster mean-ablated."""
        return hooks.cluster_ablation(self.model, self.run.data, self.logits, self.neuron_acts,
                                      self.neuron_frequency_shares)

    @cached_property
    def frequency_ablations(self) -> dict[str, dict[str, float]]:
        """ablations.frequency_ablation_table: losses with Fourier components of a + b removed."""
        return ablations.frequency_ablation_table(self.logits, self.run.data, self.p, self.key_frequencies,
                                                  self.embedding_frequency_norms)

    @cached_property
    def logit_parts(self) -> dict[str, torch.Tensor]:
        """hooks.logit_parts: the logits of every pair (p*p, p) as the direct path, the
        key-frequency clusters' neurons and the unclustered neurons, which add up to them."""
        _, explained = self.neuron_clusters
        groups = {"clustered neurons": explained.nonzero().flatten(),
                  "unclustered neurons": (~explained).nonzero().flatten()}
        acts = self.neuron_acts.reshape(self.p * self.p, -1)
        return hooks.logit_parts(self.model, self.run.data.tokens, acts, groups)

    @cached_property
    def cluster_logits(self) -> dict[int, torch.Tensor]:
        """Per key-frequency cluster, its contribution to the logits of every pair: (p*p, p)."""
        return trig.cluster_logit_table(self.neuron_acts, self.W_L, self.trig_table)

    @cached_property
    def readout_fits(self) -> dict[int, dict]:
        return trig.readout_fits(self.cluster_logits, self.p)

    def score_frequency_norms(self, head: int) -> torch.Tensor:
        """Norm per frequency of one head's pre-softmax score for 'a' over a."""
        return frequency_norms(to_fourier(self.attention_scores_to_a[:, head].double(), self.basis.double(), 0)).float()

    def cos_waves(self, s: int) -> torch.Tensor:
        """cos(w_k (s - c)) over c for each key frequency: (n_keys, p)."""
        return cos_waves(self.key_frequencies, s, self.p)
