"""Numba CPU backend of the acoustic engine (NumPy arrays).

One time step updates the field in place::

    up <- a * lap(u) + b * (u - up) + up           (b == 2 where damp == 0)

with ``a = dt^2 / (m + damp dt / 2)`` and ``b = 2 m / (m + damp dt / 2)``
precomputed (this is ``m u_tt - lap u + damp u_t = 0`` with centred
differences solved for ``u^{n+1}``; ``(m - damp dt/2)/(m + damp dt/2) = b - 1``).
``up`` holds ``u^{n-1}`` on entry and ``u^{n+1}`` on exit, so two buffers
suffice. Fields are flat C-order arrays of the *storage* grid: the padded grid
plus a zero halo of ``radius`` points that is never written.

Performance notes: indices are unsigned 64-bit so Numba emits no negative-index
wrap-around code and LLVM vectorises the contiguous inner loop (AVX-512 here);
the stencil radius is the length of the weight tuples (a compile-time
constant), the Laplacian is generated fully unrolled for that length (an
``overload`` producing one expression), and all kernels are module-level functions
compiled once per (ndim, radius, dtype) and cached on disk. ``parallel=True`` builds a
``prange`` variant over the outermost axis (opt-in; threads from
``numba.set_num_threads``).

The stencil update is written once per dimension (:func:`_update2`,
:func:`_update3`) and reached through one inlined generic ``_update``; the
step kernel and the whole-sweep kernel are each one Python body compiled
serial and ``parallel=True`` (the inlined ``prange`` becomes parallel only in
the parallel compilation).
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

import numpy as np
from numba import njit, prange
from numba.extending import overload

from randla.backend import is_numpy

from . import Backend

__all__ = [
    "NumbaBackend",
    "accumulate_checkpoint",
    "accumulate_imaging",
    "born_source",
    "get_step",
    "get_sweep",
    "step",
    "step_parallel",
    "sweep",
    "sweep_parallel",
    "inject",
    "interpolate",
]

_U = np.uint64
_OPTS = dict(fastmath=True, boundscheck=False, error_model="numpy", nogil=True, cache=True)


# -- the unrolled Laplacian, generated per stencil radius ---------------------------


def _lap2(u, p, s, w0, w1, c0):  # pragma: no cover - replaced by the overload in jitted code
    raise NotImplementedError


def _lap3(u, p, s0, s1, w0, w1, w2, c0):  # pragma: no cover
    raise NotImplementedError


_GENERATED: dict = {}


def _generate(ndim: int, radius: int):
    key = (ndim, radius)
    if key not in _GENERATED:
        terms = ["c0 * u[p]"]
        if ndim == 2:
            args = "u, p, s, w0, w1, c0"
            for k in range(1, radius + 1):
                terms.append(f"w1[{k}] * (u[p - U({k})] + u[p + U({k})])")
                terms.append(f"w0[{k}] * (u[p - U({k}) * s] + u[p + U({k}) * s])")
        else:
            args = "u, p, s0, s1, w0, w1, w2, c0"
            for k in range(1, radius + 1):
                terms.append(f"w2[{k}] * (u[p - U({k})] + u[p + U({k})])")
                terms.append(f"w1[{k}] * (u[p - U({k}) * s1] + u[p + U({k}) * s1])")
                terms.append(f"w0[{k}] * (u[p - U({k}) * s0] + u[p + U({k}) * s0])")
        src = f"def lap({args}):\n    return " + " + ".join(terms) + "\n"
        namespace = {"U": _U}
        exec(src, namespace)  # noqa: S102 - generated from integers only
        _GENERATED[key] = namespace["lap"]
    return _GENERATED[key]


@overload(_lap2, inline="always")
def _ov_lap2(u, p, s, w0, w1, c0):
    return _generate(2, w0.count - 1)


@overload(_lap3, inline="always")
def _ov_lap3(u, p, s0, s1, w0, w1, w2, c0):
    return _generate(3, w0.count - 1)


# -- one time step -------------------------------------------------------------------


def _update2(u, up, a, b, w, c0, shape):  # pragma: no cover - inlined into the kernels
    w0, w1 = w
    R = len(w0) - 1
    n0, n1 = shape
    s = _U(n1)
    for i in prange(R, n0 - R):
        base = _U(i) * s
        for j in range(R, n1 - R):
            p = base + _U(j)
            up[p] = a[p] * _lap2(u, p, s, w0, w1, c0) + b[p] * (u[p] - up[p]) + up[p]


_BLOCK_J = 64  # rows per block in 3-D: 2R+1 planes x BLOCK_J rows stay in L2


def _update3(u, up, a, b, w, c0, shape):  # pragma: no cover - inlined into the kernels
    # 2.5-D blocking: for a block of rows j, sweep all planes i, so the planes
    # i-R..i+R of that block are reused from cache instead of re-read.
    w0, w1, w2 = w
    R = len(w0) - 1
    n0, n1, n2 = shape
    s1 = _U(n2)
    s0 = _U(n1) * s1
    nblocks = (n1 - 2 * R + _BLOCK_J - 1) // _BLOCK_J
    for blk in prange(nblocks):
        jb = R + blk * _BLOCK_J
        je = min(jb + _BLOCK_J, n1 - R)
        for i in range(R, n0 - R):
            for j in range(jb, je):
                base = _U(i) * s0 + _U(j) * s1
                for k in range(R, n2 - R):
                    p = base + _U(k)
                    up[p] = a[p] * _lap3(u, p, s0, s1, w0, w1, w2, c0) + b[p] * (u[p] - up[p]) + up[p]


def _update(u, up, a, b, w, c0, shape):  # pragma: no cover - replaced by the overload
    raise NotImplementedError


@overload(_update, inline="always")
def _ov_update(u, up, a, b, w, c0, shape):
    return _update2 if shape.count == 2 else _update3


def _step_body(u, up, a, b, w, c0, shape):  # pragma: no cover - compiled twice below
    _update(u, up, a, b, w, c0, shape)


step = njit(**_OPTS)(_step_body)
step_parallel = njit(parallel=True, **_OPTS)(_step_body)


def get_step(ndim: int, parallel: bool = False):
    """Compiled in-place step ``step(u, up, a, b, w, c0, shape)`` (any ``ndim``).

    ``u, up, a, b`` are flat storage arrays, ``w`` a tuple of ``ndim`` tuples
    of ``radius + 1`` weights (``w[axis][k] = w_k / h_axis^2``; entry 0
    unused; the radius is their length), ``c0`` the centre weight and
    ``shape`` the storage shape (its length selects the 2-D or 3-D loop).
    """
    return step_parallel if parallel else step


# -- points, Born source, imaging -------------------------------------------------------


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
        du[p] -= scaled_dm[p] * (u_next[p] - (u_cur[p] + u_cur[p]) + u_prev[p])


@njit(**_OPTS)
def _imaging2(g, v, u0, u1, u2):
    for i in range(g.shape[0]):
        gi, vi, a, b, c = g[i], v[i], u0[i], u1[i], u2[i]
        for j in range(gi.shape[0]):
            gi[j] += vi[j] * (a[j] - (b[j] + b[j]) + c[j])


@njit(**_OPTS)
def _imaging3(g, v, u0, u1, u2):
    for i in range(g.shape[0]):
        for k in range(g.shape[1]):
            gi, vi, a, b, c = g[i, k], v[i, k], u0[i, k], u1[i, k], u2[i, k]
            for j in range(gi.shape[0]):
                gi[j] += vi[j] * (a[j] - (b[j] + b[j]) + c[j])


def accumulate_imaging(g, v, u0, u1, u2):
    """``g += v * (u0 - 2 u1 + u2)`` on 2-D or 3-D arrays (views allowed)."""
    (_imaging2 if g.ndim == 2 else _imaging3)(g, v, u0, u1, u2)


@njit(**_OPTS)
def _checkpoint2(g, v, u_t, u_tm1, v_next):
    for i in range(g.shape[0]):
        gi, vi, a, b, c = g[i], v[i], u_t[i], u_tm1[i], v_next[i]
        for j in range(gi.shape[0]):
            x = vi[j]
            gi[j] += x * (a[j] - (b[j] + b[j])) + c[j] * b[j]
            c[j] = x


@njit(**_OPTS)
def _checkpoint3(g, v, u_t, u_tm1, v_next):
    for i in range(g.shape[0]):
        for k in range(g.shape[1]):
            gi, vi, a, b, c = g[i, k], v[i, k], u_t[i, k], u_tm1[i, k], v_next[i, k]
            for j in range(gi.shape[0]):
                x = vi[j]
                gi[j] += x * (a[j] - (b[j] + b[j])) + c[j] * b[j]
                c[j] = x


def accumulate_checkpoint(g, v, u_t, u_tm1, v_next):
    """``g += v (u_t - 2 u_tm1) + v_next u_tm1``, then ``v_next <- v`` (2-D/3-D, views allowed)."""
    (_checkpoint2 if g.ndim == 2 else _checkpoint3)(g, v, u_t, u_tm1, v_next)


# -- the whole sweep (no Python in the time loop) ------------------------------------------


def _sweep_body(u, up, a, b, w, c0, shape, inj_idx, inj_w, inj_vals, rec_idx, rec_w, out):
    for s in range(out.shape[0]):  # pragma: no cover - compiled twice below
        _update(u, up, a, b, w, c0, shape)
        inject(up, a, inj_idx, inj_w, inj_vals[s])
        u, up = up, u
        interpolate(u, rec_idx, rec_w, out[s])
    return u, up


sweep = njit(**_OPTS)(_sweep_body)
sweep_parallel = njit(parallel=True, **_OPTS)(_sweep_body)


def get_sweep(ndim: int, parallel: bool = False):
    """Compiled multi-step sweep ``sweep(u, up, a, b, w, c0, shape,
    inj_idx, inj_w, inj_vals, rec_idx, rec_w, out)``: ``len(out)`` steps, step
    ``s`` injects ``inj_vals[s]`` and records ``out[s]`` from the new field;
    returns ``(current, previous)``. The same recurrence as
    ``Propagator._steps``, for sweeps no strategy needs to see."""
    return sweep_parallel if parallel else sweep


# -- the propagator backend ---------------------------------------------------------------


class NumbaBackend(Backend):
    """NumPy models: flat C-order storage fields and these kernels; the
    ``prange`` variants when ``prop.num_threads > 1``."""

    name = "numba"
    compiled_sweep = True
    requirement: ClassVar[str] = "a model with NumPy arrays"

    @classmethod
    def accepts(cls, xp: Any) -> bool:
        return is_numpy(xp)

    def __init__(self, prop: Any) -> None:
        super().__init__(prop)
        num = prop.num_threads
        self.parallel = num is not None and num > 1
        dtype = np.dtype(prop.np_dtype)
        self.dtype = dtype
        self.a = prop.a_storage.reshape(-1)
        self.b = prop.b_storage.reshape(-1)
        w = tuple(tuple(dtype.type(x) for x in row) for row in prop.weights)
        self.args = (self.a, self.b, w, dtype.type(prop.center),
                     tuple(int(n) for n in prop.storage_shape))
        self.step_fn = get_step(prop.ndim, self.parallel)
        self.sweep_fn = get_sweep(prop.ndim, self.parallel)
        self.size = int(np.prod(prop.storage_shape))

    def zeros(self) -> np.ndarray:
        return np.zeros(self.size, dtype=self.dtype)

    def fill_zero(self, x: np.ndarray) -> np.ndarray:
        x.fill(0)
        return x

    def copy(self, dst: np.ndarray, src: np.ndarray) -> np.ndarray:
        np.copyto(dst, src)
        return dst

    def step(self, u: np.ndarray, up: np.ndarray) -> np.ndarray:
        self.step_fn(u, up, *self.args)
        return up

    def sweep(self, u: np.ndarray, up: np.ndarray, inj: tuple, values: Any, rec: tuple,
              out: np.ndarray) -> None:
        vals = np.ascontiguousarray(values, dtype=self.dtype)
        self.sweep_fn(u, up, *self.args, inj[0], inj[1], vals, rec[0], rec[1], out)

    def points(self, interp: Any) -> tuple:
        idx = interp.flat_indices(self.storage_shape, offset=self.prop.radius)
        return (np.ascontiguousarray(idx), np.ascontiguousarray(interp.weights.astype(self.dtype)))

    def inject(self, up: np.ndarray, pts: tuple, values: Any) -> np.ndarray:
        inject(up, self.a, pts[0], pts[1], values)
        return up

    def view(self, u: np.ndarray) -> np.ndarray:
        return u.reshape(self.storage_shape)[self.inner]

    def load(self, dst: np.ndarray, x: Any) -> np.ndarray:
        np.copyto(self.view(dst), x)
        return dst

    def from_padded(self, x: Any) -> np.ndarray:
        return self.load(self.zeros(), x)

    def born_source(self, du, u_next, u_cur, u_prev, sdm):
        born_source(du, u_next, u_cur, u_prev, sdm)
        return du

    def new_record(self, nt: int, npts: int) -> np.ndarray:
        return np.zeros((nt, npts), dtype=self.dtype)

    def set_row(self, rec: np.ndarray, n: int, u: np.ndarray, pts: tuple) -> np.ndarray:
        interpolate(u, pts[0], pts[1], rec[n])
        return rec

    @contextlib.contextmanager
    def threads(self):
        if not self.parallel:
            yield
            return
        import numba

        old = numba.get_num_threads()
        numba.set_num_threads(self.prop.num_threads)
        try:
            yield
        finally:
            numba.set_num_threads(old)
