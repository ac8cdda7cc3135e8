"""The per-backend dense kernels behind the low-rank routines."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from randla.lowrank._dense import (
    flip_signs,
    lu_basis,
    qr_factor,
    solve_triangular_upper,
)

from lowrank_helpers import host


def test_lu_basis_is_scipy_permuted_l(xp, to_xp):
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((30, 6))
    PL = scipy.linalg.lu(Y, permute_l=True)[0]
    got = host(lu_basis(to_xp(Y)))  # native LU, or the array-API elimination
    np.testing.assert_allclose(got, PL, atol=1e-13)


def test_torch_device_side_row_swaps_match_host_path(torch):
    from randla.lowrank._dense import _permute_rows_torch

    Y = torch.from_numpy(np.random.default_rng(1).standard_normal((25, 7)))
    LU, piv, _ = torch.linalg.lu_factor_ex(Y)
    L = torch.tril(LU, -1)
    L.diagonal().fill_(1)
    PL = scipy.linalg.lu(Y.numpy(), permute_l=True)[0]
    np.testing.assert_allclose(_permute_rows_torch(L, piv.to(torch.int64) - 1).numpy(), PL,
                               atol=1e-13)


def test_lu_basis_singular_block(xp, to_xp):
    Y = np.zeros((10, 3))
    Y[:, 0] = 1.0
    got = host(lu_basis(to_xp(Y)))
    assert np.all(np.isfinite(got)) and np.linalg.matrix_rank(got) == 3


def test_qr_sign_convention(xp, to_xp):
    Y = np.random.default_rng(2).standard_normal((12, 4))
    Q, R = (host(x) for x in qr_factor(to_xp(Y)))
    assert np.all(np.diag(R) >= 0)
    np.testing.assert_allclose(Q @ R, Y, atol=1e-13)
    Q0, R0 = np.linalg.qr(Y)
    s = np.sign(np.diag(R0))
    np.testing.assert_allclose(Q, Q0 * s, atol=1e-13)


def test_solve_triangular_and_flip(xp, to_xp):
    rng = np.random.default_rng(3)
    R = np.triu(rng.standard_normal((5, 5))) + 5 * np.eye(5)
    B = rng.standard_normal((5, 3))
    np.testing.assert_allclose(host(solve_triangular_upper(to_xp(R), to_xp(B))),
                               np.linalg.solve(R, B), atol=1e-13)
    U = np.array([[0.1, -0.9], [-0.5, 0.2], [0.3, 0.1]])
    Vh = np.array([[1.0, 2.0], [3.0, 4.0]])
    Uf, Vf = (host(x) for x in flip_signs(to_xp(U), to_xp(Vh)))
    np.testing.assert_allclose(Uf, U * np.array([-1, -1]))
    np.testing.assert_allclose(Vf, -Vh)


@pytest.mark.parametrize("top_over_kth", [10.0, 99.0, 1e3, 1e6])
def test_top_svd_tall_accuracy(xp, to_xp, top_over_kth):
    # Backward-stable SVD (gesdd): |dS_i| <~ c eps s_1 and W orthonormal to
    # c eps. Gram route, used when kappa^2 = (s_1/s_k)^2 <= 1e4 (float64):
    # eigenvalues carry c eps s_1^2, so |dS_i| <~ c eps s_1 kappa and the
    # orthogonality of W ~ c eps kappa^2. c = 100 covers eigh/products.
    from randla.lowrank._dense import GRAM_CONDITION_LIMIT, top_svd_tall

    from lowrank_helpers import known_matrix

    k = 6
    s = np.geomspace(1.0, 1.0 / top_over_kth, k)
    s = np.concatenate([s, s[-1] * np.linspace(0.9, 0.5, 4)])
    M = known_matrix(300, 10, s, seed=4)
    W, S, Zh = (host(x) for x in top_svd_tall(to_xp(M), k))
    gram = top_over_kth ** 2 <= GRAM_CONDITION_LIMIT
    eps = 100 * 2.2e-16
    np.testing.assert_allclose(S, s[:k], rtol=0, atol=eps * (top_over_kth if gram else 1.0))
    np.testing.assert_allclose(W.T @ W, np.eye(k), atol=eps * (top_over_kth ** 2 if gram else 1))
    np.testing.assert_allclose(Zh @ Zh.T, np.eye(k), atol=eps)
    Mk = (W * S) @ Zh
    assert np.linalg.norm(M - Mk, 2) <= s[k] * (1 + 1e-10)
