"""The embedding of the committed run: its key frequencies, by the Fourier basis and by the FFT of its SVD."""

import torch

from grokking.analysis import embedding
from grokking.analysis.context import RunContext
from grokking.figures import RUN_FIGURES

P = 113


def test_committed_run_key_frequencies(canonical):
    ctx = RunContext(canonical)
    keys = ctx.key_frequencies
    assert 3 <= len(keys) <= 8
    U, S, _ = ctx.embedding_svd
    # The scipy FFT of the top principal components peaks at the same frequencies.
    assert embedding.fft_peak_frequencies(embedding.top_component_spectrum(U, S)) == keys
    assert ctx.leading_spectrum[2] == keys
    # Together the key frequencies carry almost all of W_E's Fourier power.
    power = ctx.embedding_frequency_norms.double().pow(2)
    assert float(power[[k - 1 for k in keys]].sum() / power.sum()) > 0.9
    # The SVD agrees: two directions (cos and sin) per key frequency hold most of W_E.
    pcs = ctx.principal_components
    assert torch.equal(pcs, embedding.principal_components(U, S))
    top = 2 * len(keys)
    assert float(pcs[:, :top].pow(2).sum() / pcs.pow(2).sum()) > 0.9
    # The '=' row is not part of the analysis.
    assert ctx.W_E.shape == (P, canonical.config.d_model)
    assert canonical.model.W_E.shape[0] == P + 1


def test_embedding_figures_draw(canonical):
    stems = {"principal_components_on_the_input", "singular_values", "key_frequencies",
             "principal_components_on_the_input_most_important", "key_frequencies_by_singular_value",
             "fourier_basis", "embedding_in_fourier_basis"}
    assert stems <= set(RUN_FIGURES)
    ctx = RunContext(canonical)
    for name in ("key_frequencies", "embedding_frequency_norms"):
        fig = RUN_FIGURES[name](ctx)
        ax = fig.axes[0]
        assert ax.get_xlabel().startswith("frequency k")
        assert ax.get_ylabel()
