"""Matrices with known spectra and the error bounds the low-rank tests check.

Every bound here is a theorem about EXPECTED errors for Gaussian test
matrices; the tests compare it with the mean over fixed seeds (the bounds
are not tight, so a correct implementation passes with room, and a wrong
basis, a lost power iteration or a broken reconstruction fails).
"""

from __future__ import annotations

import math

import numpy as np

from randla.backend import to_host


def haar(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """Haar-distributed orthonormal columns (QR of a Gaussian, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.sign(np.diag(r))


def known_matrix(m: int, n: int, sigma: np.ndarray, seed: int = 0) -> np.ndarray:
    """``U diag(sigma) V^T`` with Haar U, V (len(sigma) <= min(m, n))."""
    rng = np.random.default_rng(seed)
    r = len(sigma)
    return (haar(m, r, rng) * sigma) @ haar(n, r, rng).T


def psd_matrix(n: int, lam: np.ndarray, seed: int = 0) -> np.ndarray:
    """``V diag(lam) V^T`` with Haar V."""
    V = haar(n, len(lam), np.random.default_rng(seed))
    A = (V * lam) @ V.T
    return 0.5 * (A + A.T)


def host(x) -> np.ndarray:
    return np.asarray(to_host(x), dtype=np.float64)


def spectral_error(A: np.ndarray, approx: np.ndarray) -> float:
    return float(np.linalg.norm(A - approx, 2))


def hmt_power_bound(sigma: np.ndarray, k: int, p: int, q: int) -> float:
    """HMT 2011 Cor. 10.10 (q = 0: Thm. 10.6): bound on E||(I - P_Y) A||_2 for
    ``Y = (A A^T)^q A Omega`` with a Gaussian ``n x (k + p)`` Omega, p >= 2."""
    e = 2 * q + 1
    tail = sigma[k:]
    inner = ((1 + math.sqrt(k / (p - 1))) * sigma[k] ** e
             + math.e * math.sqrt(k + p) / p * math.sqrt(np.sum(tail ** (2 * e))))
    return inner ** (1.0 / e)


def hmt_frobenius_bound(sigma: np.ndarray, k: int, p: int) -> float:
    """HMT 2011 Thm. 10.5: E||(I - P_Y) A||_F <= sqrt(1 + k/(p-1)) tau_{k+1}."""
    return math.sqrt(1 + k / (p - 1)) * math.sqrt(np.sum(sigma[k:] ** 2))


def f_ratio(s: int, t: int) -> float:
    """``f(s, t) = s / (t - s - 1)`` (Tropp et al. 2017), for t > s + 1."""
    return s / (t - s - 1)
