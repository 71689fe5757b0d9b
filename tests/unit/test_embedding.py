"""The embedding analyses (SVD, scipy FFT of the principal components): planted frequencies come back out."""

import math

import torch

from grokking.analysis import embedding
from grokking.analysis.fourier import fourier_basis, frequency_norms, key_frequencies, to_fourier

P = 113
PLANTED = [4, 17, 40]


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
    U, S, _ = embedding.embedding_svd(W, P)
    assert float(S[6]) < 0.1 * float(S[5])
    assert embedding.n_leading_components(S) == 6
    magnitude = embedding.top_component_spectrum(U, S)
    assert magnitude.shape == ((P + 1) // 2, 6)
    assert embedding.fft_peak_frequencies(magnitude) == PLANTED


def test_rfft_magnitude_matches_basis_coefficients():
    # scipy's |X_k|^2 is p/2 times the power of frequency k in the orthonormal basis.
    W = planted_embedding([11], d_model=4, noise=0.1, seed=3)
    magnitude = embedding.rfft_magnitude(W)
    fft_power = magnitude[1:].double().pow(2).sum(1)
    basis_power = frequency_norms(to_fourier(W.double(), fourier_basis(P, torch.float64), 0)).pow(2)
    assert torch.allclose(fft_power, basis_power * P / 2, rtol=1e-5)


def test_leading_spectrum_and_principal_components():
    W = planted_embedding(PLANTED)
    U, S, Vh = embedding.embedding_svd(W, P)
    pcs = embedding.principal_components(U, S)
    assert torch.allclose(pcs, U * S)
    assert torch.allclose(pcs @ Vh, W, atol=1e-4)  # U S Vh = W
    n, magnitude, freqs = embedding.leading_spectrum(U, S)
    assert n == 6
    assert freqs == PLANTED
    assert torch.equal(magnitude, embedding.top_component_spectrum(U, S, 6))
    assert key_frequencies(frequency_norms(to_fourier(W, fourier_basis(P), 0))) == freqs
    # the '=' row (index p) is left out of the SVD
    with_eq = torch.cat([W, 100 * torch.ones(1, W.shape[1])])
    assert torch.allclose(embedding.embedding_svd(with_eq, P)[1], S)
