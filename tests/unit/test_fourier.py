"""The Fourier basis on Z_p and transforms in it: planted signals come back out."""

import math

import pytest
import torch

from grokking.analysis.fourier import (
    KEY_FREQUENCY_SHARE,
    basis_labels,
    fourier_basis,
    frequency_norms,
    frequency_power_2d,
    frequency_rows,
    key_frequencies,
    key_rows,
    spectrum_2d,
    to_fourier,
    to_fourier_2d,
)

P = 113


@pytest.mark.parametrize("p", [113, 7])
def test_basis_is_orthonormal(p):
    basis = fourier_basis(p, dtype=torch.float64)
    assert basis.shape == (p, p)
    assert torch.allclose(basis @ basis.T, torch.eye(p, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(basis.T @ basis, torch.eye(p, dtype=torch.float64), atol=1e-12)
    labels = basis_labels(p)
    assert len(labels) == p
    assert labels[0] == "const"
    # Row 2k-1 is cos k, row 2k is sin k: check one frequency by value.
    k = (p - 1) // 2
    x = torch.arange(p, dtype=torch.float64)
    cos_row, sin_row = frequency_rows(k)
    assert labels[cos_row] == f"cos {k}"
    assert labels[sin_row] == f"sin {k}"
    assert torch.allclose(basis[cos_row], torch.cos(2 * math.pi * k * x / p) * math.sqrt(2 / p))
    assert torch.allclose(basis[sin_row], torch.sin(2 * math.pi * k * x / p) * math.sqrt(2 / p))


def test_basis_rejects_even_modulus():
    with pytest.raises(ValueError, match="odd p >= 3"):
        fourier_basis(8)


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
    assert labels[3] == "cos 2"
    assert int(freq_of_row[3]) == 2
    # (k, 0) = cos/sin k a times the constant in b: two cells.
    assert torch.allclose(power[2, 0], coeffs[3, 0] ** 2 + coeffs[4, 0] ** 2)


def test_key_rows_are_the_constant_then_cos_sin_of_each_frequency():
    assert key_rows([]) == [0]
    assert key_rows([3, 5]) == [0, 5, 6, 9, 10]
    labels = basis_labels(23)
    assert [labels[r] for r in key_rows([3, 5])] == ["const", "cos 3", "sin 3", "cos 5", "sin 5"]
    assert KEY_FREQUENCY_SHARE == 0.05


def test_spectrum_2d_of_cos_a_plus_b():
    p, k = 23, 5
    a = torch.arange(p, dtype=torch.float64)[:, None]
    b = torch.arange(p, dtype=torch.float64)[None, :]
    grid = (3.0 + torch.cos(2 * math.pi * k * (a + b) / p)).float()
    spec = spectrum_2d(grid, fourier_basis(p), [2, k])
    by_freq, zoom = spec["by_frequency"], spec["zoom"]
    assert by_freq.shape == ((p + 1) // 2, (p + 1) // 2)
    assert math.isnan(float(by_freq[0, 0]))
    assert math.isnan(float(zoom[0, 0]))
    # all the variation sits at (k, k): sqrt(2 (p/2)^2)
    assert float(by_freq[k, k]) == pytest.approx(math.sqrt(2) * p / 2, rel=1e-4)
    rest = by_freq.clone()
    rest[0, 0] = rest[k, k] = 0
    assert float(rest.max()) < 1e-3
    assert spec["zoom_labels"] == ["const", "cos 2", "sin 2", "cos 5", "sin 5"]
    assert zoom.shape == (5, 5)
    assert float(zoom[3, 3]) == pytest.approx(p / 2, rel=1e-4)
    assert float(zoom[4, 4]) == pytest.approx(p / 2, rel=1e-4)
