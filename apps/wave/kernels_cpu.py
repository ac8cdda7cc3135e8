"""Numba CPU kernels of the acoustic engine (NumPy arrays).

One time step updates the field in place::

    up <- a * lap(u) + b * (u - up) + up          (damped points)
    up <- a * lap(u) + 2 u - up                    (undamped: b == 2 exactly)

with ``a = dt^2 / (m + damp dt / 2)`` and ``b = 2 m / (m + damp dt / 2)``
precomputed (this is ``m u_tt - lap u + damp u_t = 0`` with centred
differences solved for ``u^{n+1}``; ``(m - damp dt/2)/(m + damp dt/2) = b - 1``).
``up`` holds ``u^{n-1}`` on entry and ``u^{n+1}`` on exit, so two buffers
suffice. Fields are flat C-order arrays of the *storage* grid: the padded grid
plus a zero halo of ``radius`` points that is never written.

Performance notes: indices are unsigned 64-bit so Numba emits no negative-index
wrap-around code and LLVM vectorises the contiguous inner loop (AVX-512 here);
the stencil radius and weights are compile-time constants / SSA values (a
closure constant and a tuple), the undamped interior reads a single
coefficient stream (``a``), and every kernel is compiled once per
(ndim, radius, parallel, dtype) and cached on disk. ``parallel=True`` builds a
``prange`` variant over the outermost axis (opt-in; threads from
``numba.set_num_threads``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = [
    "accumulate_imaging",
    "born_source",
    "get_step",
    "get_sweep",
    "inject",
    "interpolate",
]

_U = np.uint64
_OPTS = dict(fastmath=True, boundscheck=False, error_model="numpy", nogil=True, cache=True)
_STEPS: dict = {}
_SWEEPS: dict = {}


def _make_rows(radius: int):
    R = radius

    @njit(**_OPTS)
    def row_free2(u, up, a, w0, w1, c0, s, p0, count):
        for jj in range(count):
            p = p0 + _U(jj)
            lap = c0 * u[p]
            for k in range(1, R + 1):
                kk = _U(k)
                lap += w1[k] * (u[p - kk] + u[p + kk]) + w0[k] * (u[p - kk * s] + u[p + kk * s])
            up[p] = a[p] * lap + 2 * u[p] - up[p]

    @njit(**_OPTS)
    def row_damp2(u, up, a, b, w0, w1, c0, s, p0, count):
        for jj in range(count):
            p = p0 + _U(jj)
            lap = c0 * u[p]
            for k in range(1, R + 1):
                kk = _U(k)
                lap += w1[k] * (u[p - kk] + u[p + kk]) + w0[k] * (u[p - kk * s] + u[p + kk * s])
            up[p] = a[p] * lap + b[p] * (u[p] - up[p]) + up[p]

    @njit(**_OPTS)
    def row_free3(u, up, a, w0, w1, w2, c0, s0, s1, p0, count):
        for jj in range(count):
            p = p0 + _U(jj)
            lap = c0 * u[p]
            for k in range(1, R + 1):
                kk = _U(k)
                lap += (w2[k] * (u[p - kk] + u[p + kk]) + w1[k] * (u[p - kk * s1] + u[p + kk * s1])
                        + w0[k] * (u[p - kk * s0] + u[p + kk * s0]))
            up[p] = a[p] * lap + 2 * u[p] - up[p]

    @njit(**_OPTS)
    def row_damp3(u, up, a, b, w0, w1, w2, c0, s0, s1, p0, count):
        for jj in range(count):
            p = p0 + _U(jj)
            lap = c0 * u[p]
            for k in range(1, R + 1):
                kk = _U(k)
                lap += (w2[k] * (u[p - kk] + u[p + kk]) + w1[k] * (u[p - kk * s1] + u[p + kk * s1])
                        + w0[k] * (u[p - kk * s0] + u[p + kk * s0]))
            up[p] = a[p] * lap + b[p] * (u[p] - up[p]) + up[p]

    return row_free2, row_damp2, row_free3, row_damp3


def _make_step(ndim: int, radius: int, parallel: bool):
    R = radius
    row_free2, row_damp2, row_free3, row_damp3 = _make_rows(radius)
    loop = prange if parallel else range
    opts = dict(_OPTS, parallel=parallel)

    if ndim == 2:
        @njit(**opts)
        def step(u, up, a, b, w, c0, shape, box):
            w0, w1 = w
            n0, n1 = shape
            lo0, hi0, lo1, hi1 = box
            s = _U(n1)
            for i in loop(R, n0 - R):
                base = _U(i) * s
                if lo0 <= i < hi0:
                    row_damp2(u, up, a, b, w0, w1, c0, s, base + _U(R), lo1 - R)
                    row_free2(u, up, a, w0, w1, c0, s, base + _U(lo1), hi1 - lo1)
                    row_damp2(u, up, a, b, w0, w1, c0, s, base + _U(hi1), n1 - R - hi1)
                else:
                    row_damp2(u, up, a, b, w0, w1, c0, s, base + _U(R), n1 - 2 * R)
        return step

    @njit(**opts)
    def step3(u, up, a, b, w, c0, shape, box):
        w0, w1, w2 = w
        n0, n1, n2 = shape
        lo0, hi0, lo1, hi1, lo2, hi2 = box
        s1 = _U(n2)
        s0 = _U(n1) * s1
        for i in loop(R, n0 - R):
            inside_i = lo0 <= i < hi0
            for j in range(R, n1 - R):
                base = _U(i) * s0 + _U(j) * s1
                if inside_i and lo1 <= j < hi1:
                    row_damp3(u, up, a, b, w0, w1, w2, c0, s0, s1, base + _U(R), lo2 - R)
                    row_free3(u, up, a, w0, w1, w2, c0, s0, s1, base + _U(lo2), hi2 - lo2)
                    row_damp3(u, up, a, b, w0, w1, w2, c0, s0, s1, base + _U(hi2), n2 - R - hi2)
                else:
                    row_damp3(u, up, a, b, w0, w1, w2, c0, s0, s1, base + _U(R), n2 - 2 * R)
    return step3


def get_step(ndim: int, radius: int, parallel: bool = False):
    """Compiled in-place step ``step(u, up, a, b, w, c0, shape, box)``.

    ``u, up, a, b`` are flat storage arrays, ``w`` a tuple of ``ndim`` tuples
    of ``radius + 1`` weights (``w[axis][k] = w_k / h_axis^2``; entry 0
    unused), ``c0`` the centre weight, ``shape`` the storage shape and
    ``box = (lo0, hi0, lo1, hi1[, lo2, hi2])`` the undamped region (storage
    indices, half open).
    """
    key = (ndim, radius, bool(parallel))
    if key not in _STEPS:
        _STEPS[key] = _make_step(ndim, radius, bool(parallel))
    return _STEPS[key]


@njit(**_OPTS)
def inject(up, a, idx, wts, values):
    """``up[idx] += a[idx] * wts * values`` (scatter-add, duplicates summed).

    ``idx`` and ``wts`` are (npts, ncorners), ``values`` is (npts,).
    """
    for p in range(idx.shape[0]):
        v = values[p]
        for c in range(idx.shape[1]):
            q = idx[p, c]
            up[q] += a[q] * wts[p, c] * v


@njit(**_OPTS)
def interpolate(u, idx, wts, out):
    """``out[p] = sum_c wts[p, c] u[idx[p, c]]``."""
    for p in range(idx.shape[0]):
        acc = 0.0
        for c in range(idx.shape[1]):
            acc += wts[p, c] * u[idx[p, c]]
        out[p] = acc


@njit(**_OPTS)
def born_source(du, u_next, u_cur, u_prev, scaled_dm):
    """``du -= scaled_dm * (u_next - 2 u_cur + u_prev)`` (flat arrays)."""
    for p in range(du.shape[0]):
        du[p] -= scaled_dm[p] * (u_next[p] - 2 * u_cur[p] + u_prev[p])


@njit(**_OPTS)
def accumulate_imaging(g, v, u0, u1, u2):
    """``g += v * (u0 - 2 u1 + u2)`` on flat contiguous arrays."""
    for p in range(g.shape[0]):
        g[p] += v[p] * (u0[p] - 2 * u1[p] + u2[p])


def _make_sweep(ndim: int, radius: int, parallel: bool):
    step = get_step(ndim, radius, parallel)

    @njit(**_OPTS)
    def sweep(u, up, a, b, w, c0, shape, box, inj_idx, inj_w, inj_vals, rec_idx, rec_w, out):
        """``len(out)`` steps; step s injects ``inj_vals[s]`` and records
        ``out[s]`` from the new field. Returns (current, previous)."""
        for s in range(out.shape[0]):
            step(u, up, a, b, w, c0, shape, box)
            inject(up, a, inj_idx, inj_w, inj_vals[s])
            u, up = up, u
            interpolate(u, rec_idx, rec_w, out[s])
        return u, up

    return sweep


def get_sweep(ndim: int, radius: int, parallel: bool = False):
    """Compiled multi-step sweep (no Python in the time loop), used by the
    propagator when no wavefield history is attached."""
    key = (ndim, radius, bool(parallel))
    if key not in _SWEEPS:
        _SWEEPS[key] = _make_sweep(ndim, radius, bool(parallel))
    return _SWEEPS[key]
