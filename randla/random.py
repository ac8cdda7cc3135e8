"""Random number generators, probe vectors and sketching matrices.

Randomness enters randla only through an explicit ``rng`` argument, normalised
by :func:`as_generator` (an ``int`` seed, a :class:`numpy.random.Generator` or
``None``); global NumPy / torch state is never touched.

Probe matrices ``Z`` of shape ``(n, num_probes)`` satisfy ``E[Z Z^T] =
num_probes I`` for every kind, so ``tr(Z^T A Z) / num_probes`` estimates
``tr(A)`` without bias (Hutchinson 1989). They are drawn on the host and moved
once to the caller's namespace and device (:func:`randla.backend.from_host`),
so a seed gives the same probes on every backend; ``native=True`` draws with
the backend's own generator on the device instead (reproducible per backend).

All kinds live in one registry (:func:`register_probe_kind`,
:func:`probe_kind`): the core's :data:`PROBE_KINDS` and those applications add.

References
----------
P.-G. Martinsson, J. A. Tropp, "Randomized numerical linear algebra:
foundations and algorithms", Acta Numerica 29 (2020), Sections 8-9: the
Gaussian, orthonormal (Haar; Mezzadri 2007), SRFT (Woolfe, Liberty, Rokhlin,
Tygert 2008) and sparse sign (Meng, Mahoney 2013) test matrices.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Callable

import numpy as np

from .backend import check_positive_int, from_host, is_cupy, is_numpy, is_torch, numpy_dtype

__all__ = [
    "PROBE_KINDS",
    "ProbeKind",
    "as_generator",
    "draw_probes",
    "gaussian",
    "orthonormal",
    "probe_kind",
    "probe_kinds",
    "rademacher",
    "register_probe_kind",
    "seed_from",
    "sparse_sign",
    "sparse_sign_indices",
    "sphere",
    "srft",
    "srft_draw",
]

#: The core's probe kinds: accepted by every estimator's ``probe=`` and by
#: :func:`randla.sketch`. :func:`draw_probes` also draws the kinds that
#: applications register (:func:`register_probe_kind`).
PROBE_KINDS = ("gaussian", "orthonormal", "rademacher", "sparse_sign", "sphere", "srft")


def as_generator(rng: Any = None) -> np.random.Generator:
    """Normalise ``rng`` (an int seed ``>= 0``, a Generator or ``None``) to a Generator.

    A Generator is returned as is, so successive calls advance it; ``None`` gives
    fresh OS entropy (NEP 19, SciPy's SPEC 7).

    Raises
    ------
    TypeError
        For any other type (e.g. the legacy ``RandomState``).
    ValueError
        For a negative seed.

    Examples
    --------
    >>> from randla.random import as_generator
    >>> int(as_generator(0).integers(10)) == int(as_generator(0).integers(10))
    True
    """
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if int(rng) < 0:
            raise ValueError(f"rng seed must be non-negative, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        "rng must be an int seed, a numpy.random.Generator or None, "
        f"got {type(rng).__name__}"
    )


def seed_from(rng: Any = None) -> int:
    """Draw a 63-bit integer seed from ``rng`` (for backend-native generators).

    The same ``int`` seed always gives the same value; a Generator advances by
    one draw.

    Examples
    --------
    >>> from randla.random import seed_from
    >>> seed_from(0) == seed_from(0), 0 <= seed_from(1) < 2**63
    (True, True)
    """
    return int(as_generator(rng).integers(0, 2**63 - 1, dtype=np.int64))


def _check_sizes(n: Any, num_probes: Any) -> tuple[int, int]:
    return check_positive_int(n, "n"), check_positive_int(num_probes, "num_probes")


def _resolve(xp: Any, dtype: Any, device: Any) -> tuple[Any, Any]:
    if xp is None:
        from .backend import array_namespace

        xp = array_namespace(np.empty(0))
    if dtype is None:
        dtype = xp.float64
    if dtype not in (xp.float32, xp.float64):
        raise TypeError(f"dtype must be float32 or float64 of the namespace, got {dtype!r}")
    return xp, dtype


def _check_draw(n: Any, num_probes: Any, xp: Any, dtype: Any, device: Any, *,
                limited: str | None = None) -> tuple[int, int, Any, Any]:
    """``(n, num_probes, xp, dtype)`` checked and resolved; probes of kind
    ``limited`` (orthonormal, srft) also need ``num_probes <= n``."""
    n, num_probes = _check_sizes(n, num_probes)
    if limited is not None and num_probes > n:
        raise ValueError(f"{limited} probes need num_probes <= n, got {num_probes} > {n}")
    xp, dtype = _resolve(xp, dtype, device)
    return n, num_probes, xp, dtype


def _native_generator(xp: Any, rng: Any, device: Any) -> Any:
    seed = seed_from(rng)
    if is_torch(xp):
        import torch

        gen = torch.Generator(device=device if device is not None else "cpu")
        gen.manual_seed(seed)
        return gen
    if is_cupy(xp):
        import cupy

        return cupy.random.default_rng(seed)
    return None


def _finish(z: np.ndarray, xp: Any, dtype: Any, device: Any) -> Any:
    return from_host(z.astype(numpy_dtype(xp, dtype), copy=False), xp, dtype=dtype, device=device)


def gaussian(
    n: int, num_probes: int, /, *, rng: Any = None, xp: Any = None,
    dtype: Any = None, device: Any = None, native: bool = False,
) -> Any:
    """Standard Gaussian probes, ``Z[i, j] ~ N(0, 1)``.

    Parameters
    ----------
    n, num_probes : int
        Shape ``(n, num_probes)`` of the result.
    rng : int, numpy.random.Generator or None
    xp : namespace, optional
        Of the result (NumPy by default).
    dtype, device : optional
        Of the result; ``dtype`` float32 or float64 (default float64).
    native : bool
        Draw with the backend's own generator on ``device`` (no host copy).

    Returns
    -------
    Z : array, shape (n, num_probes)

    Raises
    ------
    TypeError, ValueError
        Sizes that are not integers ``>= 1``; another ``dtype``; a bad ``rng``.

    Examples
    --------
    >>> from randla.random import gaussian
    >>> gaussian(4, 2, rng=0).shape
    (4, 2)
    """
    n, num_probes, xp, dtype = _check_draw(n, num_probes, xp, dtype, device)
    if native and not is_numpy(xp):
        gen = _native_generator(xp, rng, device)
        if is_torch(xp):
            import torch

            return torch.randn(n, num_probes, generator=gen, dtype=dtype, device=device)
        if is_cupy(xp):
            return gen.standard_normal((n, num_probes), dtype=dtype)
    z = as_generator(rng).standard_normal((n, num_probes))
    return _finish(z, xp, dtype, device)


def rademacher(
    n: int, num_probes: int, /, *, rng: Any = None, xp: Any = None,
    dtype: Any = None, device: Any = None, native: bool = False,
) -> Any:
    """Rademacher probes ``+-1``: the minimum-variance real probe for Hutchinson.

    For symmetric ``A`` one probe has variance ``2 (||A||_F^2 - sum_i A_ii^2)``.

    Parameters
    ----------
    n, num_probes, rng, xp, dtype, device, native
        As for :func:`gaussian` (the same errors too).

    Returns
    -------
    Z : array, shape (n, num_probes)

    Examples
    --------
    >>> from randla.random import rademacher
    >>> bool(np.all(np.abs(rademacher(5, 3, rng=1)) == 1))
    True
    """
    n, num_probes, xp, dtype = _check_draw(n, num_probes, xp, dtype, device)
    if native and not is_numpy(xp):
        gen = _native_generator(xp, rng, device)
        if is_torch(xp):
            import torch

            bits = torch.randint(0, 2, (n, num_probes), generator=gen, device=device)
            return (2 * bits - 1).to(dtype)
        if is_cupy(xp):
            return (2 * gen.integers(0, 2, (n, num_probes)) - 1).astype(dtype)
    z = 2.0 * as_generator(rng).integers(0, 2, size=(n, num_probes), dtype=np.int8) - 1.0
    return _finish(z, xp, dtype, device)


def sphere(
    n: int, num_probes: int, /, *, rng: Any = None, xp: Any = None,
    dtype: Any = None, device: Any = None, native: bool = False,
) -> Any:
    """Probes uniform on the sphere of radius ``sqrt(n)`` (normalised Gaussian columns).

    The default probe of XTrace and XNysTrace, whose rescaled residual assumes it.

    Parameters
    ----------
    n, num_probes, rng, xp, dtype, device, native
        As for :func:`gaussian` (the same errors too).

    Returns
    -------
    Z : array, shape (n, num_probes)

    Examples
    --------
    >>> from randla.random import sphere
    >>> bool(np.allclose((sphere(16, 2, rng=0) ** 2).sum(axis=0), 16.0))
    True
    """
    n, num_probes, xp, dtype = _check_draw(n, num_probes, xp, dtype, device)
    if native and not is_numpy(xp):
        z = gaussian(n, num_probes, rng=rng, xp=xp, dtype=dtype, device=device, native=True)
        return z * (math.sqrt(n) / xp.sqrt(xp.sum(z * z, axis=0, keepdims=True)))
    z = as_generator(rng).standard_normal((n, num_probes))
    z *= math.sqrt(n) / np.sqrt(np.sum(z * z, axis=0, keepdims=True))
    return _finish(z, xp, dtype, device)


def orthonormal(
    n: int, num_probes: int, /, *, rng: Any = None, xp: Any = None,
    dtype: Any = None, device: Any = None, native: bool = False,
) -> Any:
    """Haar-distributed orthonormal columns scaled by ``sqrt(n)``, ``num_probes <= n``.

    ``Z^T Z = n I``; with ``num_probes == n`` Hutchinson's estimate is exact.

    Parameters
    ----------
    n, num_probes, rng, xp, dtype, device, native
        As for :func:`gaussian` (the same errors too).

    Returns
    -------
    Z : array, shape (n, num_probes)

    Examples
    --------
    >>> from randla.random import orthonormal
    >>> z = orthonormal(6, 6, rng=0)
    >>> bool(np.allclose(z.T @ z, 6 * np.eye(6)))
    True
    """
    n, num_probes, xp, dtype = _check_draw(n, num_probes, xp, dtype, device, limited="orthonormal")
    if native and not is_numpy(xp):
        g = gaussian(n, num_probes, rng=rng, xp=xp, dtype=dtype, device=device, native=True)
        q, r = xp.linalg.qr(g)
        signs = xp.sign(xp.linalg.diagonal(r)) if hasattr(xp.linalg, "diagonal") else xp.sign(xp.diagonal(r))
        signs = xp.where(signs == 0, xp.ones_like(signs), signs)
        return q * (signs * math.sqrt(n))
    g = as_generator(rng).standard_normal((n, num_probes))
    return _finish(_haar_columns(g) * math.sqrt(n), xp, dtype, device)


def _haar_columns(g: np.ndarray) -> np.ndarray:
    """Q of the QR factorisation ``g = Q R`` with ``diag(R) > 0`` (Haar for Gaussian ``g``).

    A tall Gaussian block (``k <= n / 2``) has condition number below ~6 with
    overwhelming probability, so CholeskyQR2 (two rounds of Gram matrix,
    Cholesky, triangular solve: BLAS-3 only, ~2.5x faster than Householder)
    reproduces Householder's Q to rounding (Fukaya et al., "CholeskyQR2",
    2014). Wider blocks, or a Cholesky that fails, use Householder QR with the
    sign of ``diag(R)`` fixed (Mezzadri 2007).
    """
    import scipy.linalg as sla

    n, k = g.shape
    if 2 * k <= n:
        try:
            q = g
            for _ in range(2):
                r = sla.cholesky(q.T @ q, lower=False, check_finite=False)
                q = sla.solve_triangular(r, q.T, trans="T", lower=False, check_finite=False).T
            if np.all(np.isfinite(q)):
                return np.ascontiguousarray(q)
        except np.linalg.LinAlgError:
            pass
    q, r = np.linalg.qr(g)
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    return q * signs


def _real_dft_columns(n: int, cols: np.ndarray) -> np.ndarray:
    """Columns ``cols`` of the orthonormal real DFT basis of size ``n``.

    Column 0 is the constant, then for frequency f = 1, 2, ... the cosine and
    sine pair, and for even ``n`` the Nyquist column ``(-1)^x`` last.
    """
    x = np.arange(n)[:, None]
    out = np.empty((n, cols.size))
    half = (n - 1) // 2
    for j, c in enumerate(cols):
        if c == 0:
            out[:, j] = 1.0 / math.sqrt(n)
        elif c <= 2 * half:
            freq = (c + 1) // 2
            trig = np.cos if c % 2 == 1 else np.sin
            out[:, j] = math.sqrt(2.0 / n) * trig(2 * math.pi * freq * x[:, 0] / n)
        else:
            out[:, j] = (-1.0) ** x[:, 0] / math.sqrt(n)
    return out


def srft(
    n: int, num_probes: int, /, *, rng: Any = None, xp: Any = None,
    dtype: Any = None, device: Any = None, native: bool = False,
) -> Any:
    """Subsampled randomized real Fourier transform probes, ``num_probes <= n``.

    ``Z = sqrt(n) D F[:, S]``: random signs ``D``, the orthonormal real DFT basis
    ``F`` (cosine/sine pairs) and ``num_probes`` of its columns ``S``;
    ``Z^T Z = n I``. :func:`randla.sketch` applies the same operator with the FFT
    in ``O(m n log n)``; ``native`` has no effect (see :func:`srft_draw`).

    Parameters
    ----------
    n, num_probes, rng, xp, dtype, device, native
        As for :func:`gaussian` (the same errors too).

    Returns
    -------
    Z : array, shape (n, num_probes)

    Examples
    --------
    >>> from randla.random import srft
    >>> z = srft(8, 8, rng=0)
    >>> bool(np.allclose(z.T @ z, 8 * np.eye(8)))
    True
    """
    n, num_probes, xp, dtype = _check_draw(n, num_probes, xp, dtype, device, limited="srft")
    signs, cols = srft_draw(n, num_probes, rng=rng)
    z = math.sqrt(n) * signs[:, None] * _real_dft_columns(n, cols)
    return _finish(z, xp, dtype, device)


def srft_draw(n: int, num_probes: int, /, *, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The random part of an SRFT: signs ``(n,)`` and ``num_probes`` sorted column indices.

    :func:`srft` and :func:`randla.sketch` build the same operator from it.

    Examples
    --------
    >>> from randla.random import srft_draw
    >>> signs, cols = srft_draw(8, 3, rng=0)
    >>> signs.shape, cols.tolist() == sorted(cols)
    ((8,), True)
    """
    n, num_probes = _check_sizes(n, num_probes)
    if num_probes > n:
        raise ValueError(f"srft probes need num_probes <= n, got {num_probes} > {n}")
    gen = as_generator(rng)
    signs = 2.0 * gen.integers(0, 2, size=n, dtype=np.int8) - 1.0
    cols = np.sort(gen.choice(n, size=num_probes, replace=False))
    return signs, cols


def sparse_sign_indices(
    n: int, num_probes: int, /, *, nnz_per_row: int | None = None, rng: Any = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Random structure of a sparse sign matrix (host arrays).

    Each of the ``n`` rows holds ``nnz_per_row`` nonzeros ``+-scale`` in distinct
    columns, ``scale = sqrt(num_probes / nnz_per_row)``, so ``E[Z Z^T] =
    num_probes I``.

    Parameters
    ----------
    n, num_probes : int
    nnz_per_row : int, optional
        ``1 <= nnz_per_row <= num_probes`` (default ``min(num_probes, 8)``).
    rng : int, numpy.random.Generator or None

    Returns
    -------
    cols : numpy.ndarray of int64, shape (n, nnz_per_row)
        Column of each nonzero, sorted within a row.
    signs : numpy.ndarray of float64, shape (n, nnz_per_row)
    scale : float

    Examples
    --------
    >>> from randla.random import sparse_sign_indices
    >>> cols, signs, scale = sparse_sign_indices(5, 4, nnz_per_row=2, rng=0)
    >>> cols.shape, scale
    ((5, 2), 1.4142135623730951)
    """
    n, num_probes = _check_sizes(n, num_probes)
    if nnz_per_row is None:
        nnz_per_row = min(num_probes, 8)
    if check_positive_int(nnz_per_row, "nnz_per_row") > num_probes:
        raise ValueError(
            f"nnz_per_row must be an integer in [1, num_probes={num_probes}], got {nnz_per_row}"
        )
    gen = as_generator(rng)
    # distinct columns per row: argpartition of uniform keys (vectorised sampling
    # without replacement)
    keys = gen.random((n, num_probes))
    cols = np.argpartition(keys, nnz_per_row - 1, axis=1)[:, :nnz_per_row].astype(np.int64)
    cols.sort(axis=1)
    signs = 2.0 * gen.integers(0, 2, size=(n, nnz_per_row), dtype=np.int8) - 1.0
    return cols, signs, math.sqrt(num_probes / nnz_per_row)


def sparse_sign(
    n: int, num_probes: int, /, *, nnz_per_row: int | None = None, rng: Any = None,
    xp: Any = None, dtype: Any = None, device: Any = None, native: bool = False,
) -> Any:
    """Sparse sign probes (:func:`sparse_sign_indices`) as a dense matrix.

    :func:`randla.sketch` applies them without forming the matrix;
    ``nnz_per_row`` as :func:`sparse_sign_indices`; ``native`` has no effect.

    Parameters
    ----------
    n, num_probes, rng, xp, dtype, device, native
        As for :func:`gaussian` (the same errors too).

    Returns
    -------
    Z : array, shape (n, num_probes)

    Examples
    --------
    >>> from randla.random import sparse_sign
    >>> bool(np.all((sparse_sign(10, 4, nnz_per_row=2, rng=0) != 0).sum(axis=1) == 2))
    True
    """
    cols, signs, scale = sparse_sign_indices(n, num_probes, nnz_per_row=nnz_per_row, rng=rng)
    xp, dtype = _resolve(xp, dtype, device)
    z = np.zeros((n, num_probes))
    np.put_along_axis(z, cols, signs * scale, axis=1)
    return _finish(z, xp, dtype, device)


@dataclasses.dataclass(frozen=True)
class ProbeKind:
    """A registered probe kind (see :func:`register_probe_kind`).

    Attributes
    ----------
    name : str
    draw : callable
        ``draw(n, num_probes, /, *, rng, xp, dtype, device, native, **options)``
        returning an ``(n, num_probes)`` array.
    unbiased : bool
        ``E[Z Z^T] = num_probes I``: estimates with these probes are unbiased.
        False for projection kinds such as a data-driven basis.
    orthogonal : bool
        The columns are orthogonal, so ``num_probes <= n``.

    Examples
    --------
    >>> from randla.random import probe_kind
    >>> probe_kind("srft").orthogonal, probe_kind("gaussian").unbiased
    (True, True)
    """

    name: str
    draw: Callable[..., Any]
    unbiased: bool = True
    orthogonal: bool = False


_REGISTRY: dict[str, ProbeKind] = {}


def register_probe_kind(
    name: str, draw: Callable[..., Any], /, *, unbiased: bool = True,
    orthogonal: bool = False, replace: bool = False,
) -> ProbeKind:
    """Add a probe kind to the one registry that :func:`draw_probes` reads.

    Applications extend the core's kinds here instead of keeping a second
    list: :mod:`randla.apps.fwi` registers its time-probe kinds (``dft``,
    ``data_qr``), which then draw through :func:`draw_probes` with their extra
    options (``data=``) passed through.

    Parameters
    ----------
    name : str
        The kind's name, as passed to ``draw_probes(name, ...)``.
    draw : callable
        ``draw(n, num_probes, /, *, rng, xp, dtype, device, native, **options)``
        returning an ``(n, num_probes)`` array of namespace ``xp`` on ``device``.
    unbiased, orthogonal : bool
        See :class:`ProbeKind`.
    replace : bool
        Allow replacing a registered kind of the same name (otherwise a
        ``ValueError``; the core's kinds can never be replaced).

    Returns
    -------
    ProbeKind

    Examples
    --------
    >>> import numpy as np
    >>> from randla.random import draw_probes, register_probe_kind, rademacher
    >>> def doubled(n, num_probes, /, **kw):
    ...     return rademacher(2 * n, num_probes, **kw)[:n]
    >>> _ = register_probe_kind("doubled_demo", doubled, replace=True)
    >>> draw_probes("doubled_demo", 5, 2, rng=0).shape
    (5, 2)
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    if not callable(draw):
        raise TypeError(f"draw must be callable, got {type(draw).__name__}")
    if name in PROBE_KINDS and name in _REGISTRY:
        raise ValueError(f"probe kind {name!r} belongs to the core and cannot be replaced")
    if name in _REGISTRY and not replace:
        raise ValueError(f"probe kind {name!r} is already registered (pass replace=True)")
    kind = ProbeKind(name, draw, unbiased=bool(unbiased), orthogonal=bool(orthogonal))
    _REGISTRY[name] = kind
    return kind


def probe_kinds(*, unbiased: bool | None = None, orthogonal: bool | None = None) -> tuple[str, ...]:
    """Sorted names of the registered probe kinds, optionally filtered.

    Examples
    --------
    >>> from randla.random import probe_kinds
    >>> {'orthonormal', 'srft'} <= set(probe_kinds(orthogonal=True))
    True
    """
    return tuple(sorted(
        k.name for k in _REGISTRY.values()
        if (unbiased is None or k.unbiased == unbiased)
        and (orthogonal is None or k.orthogonal == orthogonal)
    ))


def probe_kind(name: Any, /, *, argument: str = "probe") -> ProbeKind:
    """The registered :class:`ProbeKind` called ``name``.

    Raises
    ------
    ValueError
        For an unknown kind; the message names ``argument`` and lists the
        registered kinds.

    Examples
    --------
    >>> from randla.random import probe_kind
    >>> probe_kind("orthonormal").orthogonal
    True
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"{argument} must be one of {probe_kinds()}, got {name!r}")
    return _REGISTRY[name]


for _name, _draw in (("gaussian", gaussian), ("orthonormal", orthonormal), ("rademacher", rademacher),
                     ("sparse_sign", sparse_sign), ("sphere", sphere), ("srft", srft)):
    register_probe_kind(_name, _draw, orthogonal=_name in ("orthonormal", "srft"))
del _name, _draw


def draw_probes(
    probe: str, n: int, num_probes: int, /, *, rng: Any = None, xp: Any = None,
    dtype: Any = None, device: Any = None, native: bool = False, **options: Any,
) -> Any:
    """Draw an ``(n, num_probes)`` matrix of the registered kind ``probe``.

    Parameters
    ----------
    probe : str
        A kind of :func:`probe_kinds`: the core's :data:`PROBE_KINDS` and those
        applications register.
    n, num_probes : int
    rng, xp, dtype, device, native
        As for :func:`gaussian`.
    **options
        Passed to the kind's draw (e.g. ``data=`` for ``data_qr``).

    Returns
    -------
    Z : array, shape (n, num_probes)
        ``E[Z Z^T] = num_probes I`` for the unbiased kinds.

    Raises
    ------
    ValueError
        An unknown ``probe``, and as the draw of that kind.

    Examples
    --------
    >>> from randla.random import draw_probes
    >>> draw_probes("rademacher", 100, 3, rng=0).shape
    (100, 3)
    """
    entry = probe_kind(probe)
    return entry.draw(n, num_probes, rng=rng, xp=xp, dtype=dtype, device=device, native=native, **options)
