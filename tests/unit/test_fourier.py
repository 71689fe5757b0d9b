"""The Fourier basis and the embedding analyses: planted signals come back out, and the real run agrees."""

import math

import pytest
import torch

from grokking import analysis
from grokking.fourier import (
    basis_labels,
    fourier_basis,
    frequency_norms,
    frequency_power_2d,
    frequency_rows,
    key_frequencies,
    to_fourier,
    to_fourier_2d,
)
from grokking.plotting.embeddings import FIGURES, principal_components, top_component_spectrum

P = 113
PLANTED = [4, 17, 40]


@pytest.mark.parametrize("p", [113, 7])
def test_basis_is_orthonormal(p):
    basis = fourier_basis(p, dtype=torch.float64)
    assert basis.shape == (p, p)
    assert torch.allclose(basis @ basis.T, torch.eye(p, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(basis.T @ basis, torch.eye(p, dtype=torch.float64), atol=1e-12)
    labels = basis_labels(p)
    assert len(labels) == p and labels[0] == "const"
    # Row 2k-1 is cos k, row 2k is sin k: check one frequency by value.
    k = (p - 1) // 2
    x = torch.arange(p, dtype=torch.float64)
    cos_row, sin_row = frequency_rows(k)
    assert labels[cos_row] == f"cos {k}" and labels[sin_row] == f"sin {k}"
    assert torch.allclose(basis[cos_row], torch.cos(2 * math.pi * k * x / p) * math.sqrt(2 / p))
    assert torch.allclose(basis[sin_row], torch.sin(2 * math.pi * k * x / p) * math.sqrt(2 / p))


def test_basis_rejects_even_modulus():
    with pytest.raises(ValueError):
        fourier_basis(8)


def planted_embedding(freqs, p=P, d_model=128, noise=0.02, seed=0):
    """An embedding whose rows are cos/sin of the chosen frequencies along random directions."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.arange(p, dtype=torch.float64)
    W = noise * torch.randn(p, d_model, generator=gen, dtype=torch.float64)
    for k in freqs:
        phase = float(torch.rand(1, generator=gen)) * 2 * math.pi
        u, v = torch.randn(2, d_model, generator=gen, dtype=torch.float64)
        angle = 2 * math.pi * k * x / p + phase
        W += torch.cos(angle)[:, None] * u + torch.sin(angle)[:, None] * v
    return W.float()


def test_planted_frequencies_recovered_by_both_methods():
    W = planted_embedding(PLANTED)
    basis = fourier_basis(P)
    norms = frequency_norms(to_fourier(W, basis, 0))
    assert norms.shape == ((P - 1) // 2,)
    assert key_frequencies(norms) == PLANTED
    # The scipy route: FFT of the leading principal components (3 frequencies span 6 directions).
    U, S, _ = analysis.embedding_svd(W, P)
    assert float(S[6]) < 0.1 * float(S[5])
    assert analysis.n_leading_components(S) == 6
    magnitude = top_component_spectrum(U, S)
    assert magnitude.shape == ((P + 1) // 2, 6)
    assert analysis.fft_peak_frequencies(magnitude) == PLANTED


def test_planted_single_frequency_has_exact_norm():
    # cos(w x) along a unit vector: its coefficients are sqrt(p/2) on the cos k row and nothing else.
    k = 9
    x = torch.arange(P, dtype=torch.float64)
    direction = torch.zeros(5, dtype=torch.float64)
    direction[2] = 1.0
    W = torch.cos(2 * math.pi * k * x / P)[:, None] * direction
    coeffs = to_fourier(W, fourier_basis(P, torch.float64), 0)
    norms = frequency_norms(coeffs)
    assert float(norms[k - 1]) == pytest.approx(math.sqrt(P / 2), rel=1e-10)
    assert float(norms.pow(2).sum()) == pytest.approx(P / 2, rel=1e-10)
    assert float(coeffs[2 * k - 1, 2]) == pytest.approx(math.sqrt(P / 2), rel=1e-10)


def test_key_frequency_threshold_is_five_percent_of_power():
    norms = torch.zeros(10)
    norms[[0, 4, 7]] = torch.tensor([3.0, 1.0, 0.6])  # powers 9, 1, 0.36 of 10.36
    assert key_frequencies(norms) == [1, 5]  # 0.36 / 10.36 = 3.5% < 5%
    assert key_frequencies(norms, share=0.03) == [1, 5, 8]


def test_2d_transform_of_cos_a_plus_b():
    p = 23
    k = 5
    a = torch.arange(p, dtype=torch.float64)[:, None]
    b = torch.arange(p, dtype=torch.float64)[None, :]
    grid = torch.cos(2 * math.pi * k * (a + b) / p)  # = cos ka cos kb - sin ka sin kb
    coeffs = to_fourier_2d(grid, fourier_basis(p, torch.float64))
    cos_row, sin_row = frequency_rows(k)
    # Each product of unit basis vectors carries (sqrt(p/2))^2 = p/2.
    assert float(coeffs[cos_row, cos_row]) == pytest.approx(p / 2, rel=1e-10)
    assert float(coeffs[sin_row, sin_row]) == pytest.approx(-p / 2, rel=1e-10)
    rest = coeffs.clone()
    rest[cos_row, cos_row] = 0
    rest[sin_row, sin_row] = 0
    assert float(rest.abs().max()) < 1e-10
    # Grouped by frequency pair: all the power sits at (k, k).
    power = frequency_power_2d(coeffs)
    assert power.shape == ((p + 1) // 2, (p + 1) // 2)
    assert float(power[k, k]) == pytest.approx(2 * (p / 2) ** 2, rel=1e-10)
    assert float(power.sum() - power[k, k]) < 1e-18


def test_frequency_power_2d_groups_each_pair():
    p = 7
    K = (p - 1) // 2
    labels = basis_labels(p)
    freq_of_row = torch.tensor([0] + [k for k in range(1, K + 1) for _ in (0, 1)])
    coeffs = torch.randn(p, p, 3, dtype=torch.float64)
    power = frequency_power_2d(coeffs)
    assert power.shape == (K + 1, K + 1, 3)
    expected = torch.zeros(K + 1, K + 1, 3, dtype=torch.float64)
    for i in range(p):
        for j in range(p):
            expected[freq_of_row[i], freq_of_row[j]] += coeffs[i, j] ** 2
    assert torch.allclose(power, expected)
    assert labels[3] == "cos 2" and int(freq_of_row[3]) == 2
    # (k, 0) = cos/sin k a times the constant in b: two cells.
    assert torch.allclose(power[2, 0], coeffs[3, 0] ** 2 + coeffs[4, 0] ** 2)


def test_rfft_magnitude_matches_basis_coefficients():
    # scipy's |X_k|^2 is p/2 times the power of frequency k in the orthonormal basis.
    W = planted_embedding([11], d_model=4, noise=0.1, seed=3)
    magnitude = analysis.rfft_magnitude(W)
    fft_power = magnitude[1:].double().pow(2).sum(1)
    basis_power = frequency_norms(to_fourier(W.double(), fourier_basis(P, torch.float64), 0)).pow(2)
    assert torch.allclose(fft_power, basis_power * P / 2, rtol=1e-5)


# ------------------------------------------------------------------ the committed run
def test_committed_run_key_frequencies(canonical):
    from grokking.context import RunContext

    ctx = RunContext(canonical)
    keys = ctx.key_frequencies
    assert 3 <= len(keys) <= 8
    U, S, _ = ctx.embedding_svd
    # The scipy FFT of the top principal components peaks at the same frequencies.
    assert analysis.fft_peak_frequencies(top_component_spectrum(U, S)) == keys
    # Together the key frequencies carry almost all of W_E's Fourier power.
    power = ctx.embedding_frequency_norms.double().pow(2)
    assert float(power[[k - 1 for k in keys]].sum() / power.sum()) > 0.9
    # The SVD agrees: two directions (cos and sin) per key frequency hold most of W_E.
    pcs = principal_components(U, S)
    top = 2 * len(keys)
    assert float(pcs[:, :top].pow(2).sum() / pcs.pow(2).sum()) > 0.9
    # The '=' row is not part of the analysis.
    assert ctx.W_E.shape == (P, canonical.config.d_model)
    assert canonical.model.W_E.shape[0] == P + 1


def test_embedding_figures_draw(canonical):
    from grokking.context import RunContext

    stems = {"principal_components_on_the_input", "singular_values", "key_frequencies",
             "principal_components_on_the_input_most_important", "key_frequencies_by_singular_value",
             "fourier_basis", "embedding_in_fourier_basis"}
    assert stems <= set(FIGURES)
    ctx = RunContext(canonical)
    for name in ("key_frequencies", "embedding_frequency_norms"):
        fig = FIGURES[name](ctx)
        ax = fig.axes[0]
        assert ax.get_xlabel().startswith("frequency k") and ax.get_ylabel()
