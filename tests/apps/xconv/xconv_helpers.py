"""Test helpers for randla.apps.xconv: explicit tap matrices and variance formulas.

Everything here is deliberately naive (dense matrices, Python loops over
pixels) so that it shares no code with the implementation under test.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from randla.apps.xconv.geometry import ConvGeometry


def tap_matrices(geom: ConvGeometry, in_shape: tuple[int, ...]) -> np.ndarray:
    """``S[k]`` of shape ``(N_out, N_in)`` with ``(S_k x)[y] = x[s y + d k - p_lo]`` (0 outside)."""
    out_shape = geom.output_shape(in_shape)
    n_in, n_out = math.prod(in_shape), math.prod(out_shape)
    taps = list(itertools.product(*(range(k) for k in geom.kernel_size)))
    S = np.zeros((len(taps), n_out, n_in))
    for t, tap in enumerate(taps):
        for yo, y in enumerate(itertools.product(*(range(o) for o in out_shape))):
            src = [s * yy + d * kk - lo for yy, kk, s, d, lo in
                   zip(y, tap, geom.stride, geom.dilation, geom.pad_lo)]
            if all(0 <= i < n for i, n in zip(src, in_shape)):
                S[t, yo, np.ravel_multi_index(tuple(src), in_shape)] = 1.0
    return S


def exact_from_taps(X: np.ndarray, dY: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Exact weight gradient from the dense tap matrices (independent reference)."""
    B, C = X.shape[:2]
    Co = dY.shape[1]
    G = geom.groups
    S = tap_matrices(geom, X.shape[2:])
    Xf = X.reshape(B, C, -1)
    dYf = dY.reshape(B, Co, -1)
    out = np.zeros((Co, C // G, S.shape[0]))
    for o in range(Co):
        g = o // (Co // G)
        for ci in range(C // G):
            c = g * (C // G) + ci
            for k in range(S.shape[0]):
                out[o, ci, k] = np.sum(dYf[:, o] * (Xf[:, c] @ S[k].T))
    return out.reshape((Co, C // G) + tuple(geom.kernel_size))


def trace_matrices(X: np.ndarray, dY: np.ndarray, geom: ConvGeometry):
    """``M[o, c, k] = sum_b u_b v_b^T`` (all input channels ``c``) and ``U`` / ``V``.

    ``u_b = X[b, c]``, ``v_b = S_k^T dY[b, o]``; ``tr M[o, c, k]`` is the exact
    gradient for channels ``c`` in the group of ``o``.
    """
    B, C = X.shape[:2]
    Co = dY.shape[1]
    S = tap_matrices(geom, X.shape[2:])
    U = X.reshape(B, C, -1)                                   # (B, C, N)
    V = np.einsum("bon,kni->boki", dY.reshape(B, Co, -1), S)  # (B, Co, K, N)
    M = np.einsum("bci,bokj->ockij", U, V)                    # (Co, C, K, N, N)
    return M


def hutchinson_variance(M: np.ndarray, kind: str, num_probes: int) -> np.ndarray:
    """Per-entry variance of ``(1/r) sum_j z_j^T M z_j`` (last two axes are N x N)."""
    N = M.shape[-1]
    fro = np.sum(M * M, axis=(-2, -1))
    tr_sq = np.einsum("...ij,...ji->...", M, M)
    sym = 0.5 * (fro + tr_sq)                                  # ||M_s||_F^2
    trace = np.trace(M, axis1=-2, axis2=-1)
    diag_sq = np.sum(np.diagonal(M, axis1=-2, axis2=-1) ** 2, axis=-1)
    r = num_probes
    if kind == "gaussian":
        return 2 * sym / r
    if kind == "rademacher":
        return 2 * (sym - diag_sq) / r
    sphere = 2 * N / (N + 2) * (sym - trace**2 / N)
    if kind == "sphere":
        return sphere / r
    if kind == "orthonormal":
        return sphere * (N - r) / (r * (N - 1))
    raise ValueError(kind)


def estimator_variance(X, dY, geom, kind, mode, num_probes, layout):
    """Total variance ``sum over entries`` of the probed estimate (derivation in probes.py)."""
    M = trace_matrices(X, dY, geom)                            # (Co, C, K, N, N)
    Co, C = M.shape[:2]
    G = geom.groups
    cig, cog = C // G, Co // G
    total = 0.0
    sizes = layout.block_sizes
    cols = layout.slot_columns() if mode == "multi_channel" else None
    for o in range(Co):
        g = o // cog
        for ci in range(cig):
            c = g * cig + ci
            m = num_probes if mode == "per_channel" else sizes[c]
            total += np.sum(hutchinson_variance(M[o, c], kind, m))
            if mode == "multi_channel" and num_probes < C:
                for c2 in range(C):
                    if c2 != c and cols[c2, 0] == cols[c, 0]:
                        # cross term: M_{c'c} = sum_b X[b, c'] v_b^T
                        total += np.sum(M[o, c2] ** 2)
    return total


def structured_data(rng, batch, channels, out_channels, in_shape, out_shape):
    """Positive, channel-dependent fields plus noise.

    Smooth, positive data make ``tr M`` large against ``||M||_F`` (like real
    activations), so a few hundred seeds resolve biases of a few percent, e.g.
    the edge taps of a wrap-around shift.
    """
    X = (1.0 + np.arange(channels)[None, :, None] / channels
         + 0.3 * rng.standard_normal((batch, channels, math.prod(in_shape))))
    dY = (1.0 + 0.5 * np.arange(out_channels)[None, :, None] / out_channels
          + 0.3 * rng.standard_normal((batch, out_channels, math.prod(out_shape))))
    return (X.reshape((batch, channels) + tuple(in_shape)),
            dY.reshape((batch, out_channels) + tuple(out_shape)))
