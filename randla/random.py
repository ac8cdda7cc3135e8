"""Random number generators, probe vectors and sketching matrices.

Randomness in randla enters only through an explicit ``rng`` argument, normalised
by :func:`as_generator`: an ``int`` seed, a :class:`numpy.random.Generator`, or
``None`` for fresh OS entropy. The global NumPy / torch random state is never
touched.

Probe matrices ``Z`` of shape ``(n, num_probes)`` are normalised so that
``E[Z Z^T] = num_probes * I`` for every kind: each column is an isotropic probe
(``E[z z^T] = I``), so ``tr(Z^T A Z) / num_probes`` is an unbiased estimate of
``tr(A)`` (Hutchinson 1989) whatever the kind.

By default probes are drawn on the host with NumPy and then moved once to the
caller's namespace and device (:func:`randla.backend.from_host`): the same seed
gives the same probes on NumPy, torch, CuPy and array_api_strict. With
``native=True`` the draw happens with the backend's own generator on the
device (CuPy, torch), seeded from ``rng``: reproducible per backend, different
numbers across backends, and no host-to-device copy of a large sketch.

References
----------
Halko, Martinsson, Tropp, "Finding structure with randomness", SIAM Review 53 (2011).
Martinsson, Tropp, "Randomized numerical linear algebra: foundations and
algorithms", Acta Numerica 29 (2020), Sections 8-9 (SRFT, sparse sign).
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
    """Normalise ``rng`` to a :class:`numpy.random.Generator`.

    Parameters
    ----------
    rng : int, numpy.random.Generator or None
        A non-negative integer seed, an existing generator (returned as is, so
        successive calls advance it), or ``None`` for fresh OS entropy.

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    TypeError
        For any other type (e.g. the legacy ``RandomState``).
    ValueError
        For a negative seed.

    References
    ----------
    NEP 19, "Random number generator policy" (NumPy, 2018): explicit
    Generator objects instead of global state; SciPy's ``rng`` keyword
    (SPEC 7, "Seeding pseudo-random number generation", 2023).

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

    Parameters
    ----------
    rng : int, numpy.random.Generator or None
        As for :func:`as_generator`; a Generator advances by one draw.

    Returns
    -------
    int
        In ``[0, 2**63 - 1)``; the same ``int`` seed always gives the same value.

    Raises
    ------
    TypeError, ValueError
        As :func:`as_generator`.

    References
    ----------
    SPEC 7, "Seeding pseudo-random number generation" (Scientific Python, 2023).

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
        Shape of the probe matrix ``(n, num_probes)``.
    rng : int, numpy.random.Generator or None
        Source of randomness (see :func:`as_generator`).
    xp : namespace, optional
        Array namespace of the result (NumPy by default).
    dtype, device : optional
        Of the result; ``dtype`` defaults to ``xp.float64``.
    native : bool
        Draw with the backend's own generator on ``device`` (no host copy).

    Returns
    -------
    Z : array, shape ``(n, num_probes)``
        In ``xp`` on ``device``, with ``E[Z Z^T] = num_probes I``.

    Raises
    ------
    TypeError
        Non-integer ``n`` or ``num_probes``; a ``dtype`` other than float32 /
        float64 of ``xp``; an ``rng`` that is not an int, Generator or None.
    ValueError
        ``n < 1`` or ``num_probes < 1``; a negative seed.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with
    randomness: probabilistic algorithms for constructing approximate matrix
    decompositions", SIAM Review 53 (2011), Section 4.

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
    """Rademacher probes, ``Z[i, j] = +-1`` with equal probability.

    The minimum-variance real probe for Hutchinson's estimator
    (Hutchinson 1989): ``Var = 2 (||A||_F^2 - sum_i A_ii^2)`` for symmetric ``A``.

    Parameters
    ----------
    n, num_probes, rng, xp, dtype, device, native
        As for :func:`gaussian`.

    Returns
    -------
    Z : array, shape ``(n, num_probes)``
        As for :func:`gaussian`.

    Raises
    ------
    TypeError, ValueError
        As :func:`gaussian`.

    References
    ----------
    M. F. Hutchinson, "A stochastic estimator of the trace of the influence
    matrix for Laplacian smoothing splines", Commun. Stat. Simul. Comput. 18
    (1989).

    Examples
    --------
    >>> import numpy as np
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
    """Probes uniform on the sphere of radius ``sqrt(n)`` (so ``E[z z^T] = I``).

    Normalised Gaussian columns. The default probe of XTrace and XNysTrace,
    whose rescaled residual term assumes it.

    Parameters
    ----------
    n, num_probes, rng, xp, dtype, device, native
        As for :func:`gaussian`.

    Returns
    -------
    Z : array, shape ``(n, num_probes)``
        As for :func:`gaussian`.

    Raises
    ------
    TypeError, ValueError
        As :func:`gaussian`.

    References
    ----------
    E. N. Epperly, J. A. Tropp, R. J. Webber, "XTrace: making the most of every
    sample in stochastic trace estimation", SIAM J. Matrix Anal. Appl. 45
    (2024), Section 2.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.random import sphere
    >>> z = sphere(16, 2, rng=0)
    >>> np.allclose((z**2).sum(axis=0), 16.0)
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
    """Haar-distributed orthonormal columns scaled by ``sqrt(n)``.

    ``Z = sqrt(n) Q`` where ``Q`` has orthonormal columns drawn from the Haar
    measure (QR of a Gaussian matrix with the sign of ``diag(R)`` fixed,
    Mezzadri 2007). Requires ``num_probes <= n``; with ``num_probes == n``
    the Hutchinson estimate ``tr(Z^T A Z) / n`` equals ``tr(A)`` exactly.

    Parameters
    ----------
    n, num_probes, rng, xp, dtype, device, native
        As for :func:`gaussian`.

    Returns
    -------
    Z : array, shape ``(n, num_probes)``
        As for :func:`gaussian`; the columns are orthogonal, ``Z^T Z = n I``.

    Raises
    ------
    TypeError, ValueError
        As :func:`gaussian`; ``ValueError`` also for ``num_probes > n``.

    References
    ----------
    F. Mezzadri, "How to generate random matrices from the classical compact
    groups", Notices of the AMS 54 (2007).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.random import orthonormal
    >>> z = orthonormal(6, 6, rng=0)
    >>> np.allclose(z.T @ z, 6 * np.eye(6))
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
    """Subsampled randomized (real) Fourier transform probes.

    ``Z = sqrt(n) D F[:, S]``: random signs ``D``, the orthonormal real DFT
    basis ``F`` (cosine/sine pairs, so the probes are real) and ``num_probes``
    of its ``n`` columns ``S`` sampled without replacement. ``E[Z Z^T] =
    num_probes I``; columns are orthogonal, so ``num_probes == n`` is exact.
    The matrix is formed here for use as probes; :func:`randla.sketch` applies
    the same operator to a matrix with the FFT in ``O(m n log n)``.

    Parameters
    ----------
    n, num_probes, rng, xp, dtype, device
        As for :func:`gaussian`.
    native : bool
        No effect (the draw is a sign vector and an index set, see
        :func:`srft_draw`).

    Returns
    -------
    Z : array, shape ``(n, num_probes)``
        As for :func:`gaussian`; the columns are orthogonal, ``Z^T Z = n I``.

    Raises
    ------
    TypeError, ValueError
        As :func:`gaussian`; ``ValueError`` also for ``num_probes > n``.

    References
    ----------
    Woolfe, Liberty, Rokhlin, Tygert, "A fast randomized algorithm for the
    approximation of matrices", ACHA 25 (2008).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.random import srft
    >>> z = srft(8, 8, rng=0)
    >>> np.allclose(z.T @ z, 8 * np.eye(8))
    True
    """
    n, num_probes, xp, dtype = _check_draw(n, num_probes, xp, dtype, device, limited="srft")
    signs, cols = srft_draw(n, num_probes, rng=rng)
    z = math.sqrt(n) * signs[:, None] * _real_dft_columns(n, cols)
    return _finish(z, xp, dtype, device)


def srft_draw(n: int, num_probes: int, /, *, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The random part of an SRFT: signs ``(n,)`` and sorted column indices.

    :func:`srft` and :func:`randla.sketch` build the same operator from it.

    Parameters
    ----------
    n : int
        Size of the transform.
    num_probes : int
        Number of columns kept, ``1 <= num_probes <= n``.
    rng : int, numpy.random.Generator or None
        Source of randomness (see :func:`as_generator`).

    Returns
    -------
    signs : numpy.ndarray of float64, shape (n,)
        Random signs ``+-1``.
    cols : numpy.ndarray of int64, shape (num_probes,)
        Distinct column indices, sorted.

    Raises
    ------
    TypeError
        Non-integer ``n`` or ``num_probes``; a bad ``rng``.
    ValueError
        ``n < 1``, ``num_probes < 1`` or ``num_probes > n``; a negative seed.

    References
    ----------
    F. Woolfe, E. Liberty, V. Rokhlin, M. Tygert, "A fast randomized algorithm
    for the approximation of matrices", Appl. Comput. Harmon. Anal. 25 (2008).

    Examples
    --------
    >>> from randla.random import srft_draw
    >>> signs, cols = srft_draw(8, 3, rng=0)
    >>> signs.shape, sorted(set(signs.tolist())) <= [-1.0, 1.0], cols.tolist() == sorted(cols)
    ((8,), True, True)
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

    Each of the ``n`` rows holds ``nnz_per_row`` nonzeros ``+-scale`` in
    distinct columns chosen uniformly, ``scale = sqrt(num_probes / nnz_per_row)``
    so that ``E[Z Z^T] = num_probes I``.

    Parameters
    ----------
    n, num_probes : int
        Shape ``(n, num_probes)`` of the sparse sign matrix.
    nnz_per_row : int, optional
        Nonzeros per row, ``1 <= nnz_per_row <= num_probes`` (default
        ``min(num_probes, 8)``).
    rng : int, numpy.random.Generator or None
        Source of randomness (see :func:`as_generator`).

    Returns
    -------
    cols : numpy.ndarray of int64, shape (n, nnz_per_row)
        Column of each nonzero, sorted within a row.
    signs : numpy.ndarray of float64, shape (n, nnz_per_row)
        Entries ``+-1``.
    scale : float
        ``sqrt(num_probes / nnz_per_row)``.

    Raises
    ------
    TypeError
        Non-integer ``n`` or ``num_probes``; a bad ``rng``.
    ValueError
        ``n < 1``, ``num_probes < 1``, ``nnz_per_row`` outside
        ``[1, num_probes]``; a negative seed.

    References
    ----------
    J. A. Tropp, A. Yurtsever, M. Udell, V. Cevher, "Streaming low-rank matrix
    approximation with an application to scientific simulation", SIAM J. Sci.
    Comput. 41 (2019), Section 3.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.random import sparse_sign_indices
    >>> cols, signs, scale = sparse_sign_indices(5, 4, nnz_per_row=2, rng=0)
    >>> cols.shape, bool(np.all(np.abs(signs) == 1)), scale
    ((5, 2), True, 1.4142135623730951)
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
    """Sparse sign probes as a dense ``(n, num_probes)`` matrix.

    See :func:`sparse_sign_indices` for the structure. Use
    :func:`randla.sketch` to apply it to a matrix without forming it.

    Parameters
    ----------
    n, num_probes : int
        Shape of the probe matrix.
    nnz_per_row : int, optional
        See :func:`sparse_sign_indices`.
    rng, xp, dtype, device
        As for :func:`gaussian`.
    native : bool
        No effect (the structure is drawn on the host).

    Returns
    -------
    Z : array, shape ``(n, num_probes)``
        As for :func:`gaussian`.

    Raises
    ------
    TypeError
        Non-integer sizes; a ``dtype`` other than float32 / float64; a bad ``rng``.
    ValueError
        ``n < 1``, ``num_probes < 1``, ``nnz_per_row`` outside ``[1, num_probes]``.

    References
    ----------
    Meng, Mahoney, "Low-distortion subspace embeddings in input-sparsity time
    and applications to robust linear regression", STOC (2013); Tropp, Yurtsever,
    Udell, Cevher, SIMAX 38 (2017).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.random import sparse_sign
    >>> z = sparse_sign(10, 4, nnz_per_row=2, rng=0)
    >>> bool(np.all((z != 0).sum(axis=1) == 2))
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
    >>> probe_kinds(orthogonal=True)[:2]
    ('orthonormal', 'srft')
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
    """Draw an ``(n, num_probes)`` probe matrix of the given ``kind``.

    Parameters
    ----------
    probe : str
        A registered kind (:func:`probe_kinds`): the core's
        :data:`PROBE_KINDS` and those applications register.
    n, num_probes : int
    rng, xp, dtype, device, native
        See :func:`gaussian`.
    **options
        Passed to the kind's draw (e.g. ``data=`` for ``data_qr``).

    Returns
    -------
    Z : array of shape ``(n, num_probes)``; ``E[Z Z^T] = num_probes I`` for
        the unbiased kinds.

    Raises
    ------
    ValueError
        An unknown ``probe``, and as the draw of that kind.
    TypeError
        As the draw of that kind.

    References
    ----------
    M. F. Hutchinson, "A stochastic estimator of the trace of the influence
    matrix for Laplacian smoothing splines", Commun. Stat. Simul. Comput. 18
    (1989).
    P.-G. Martinsson, J. A. Tropp, "Randomized numerical linear algebra:
    foundations and algorithms", Acta Numerica 29 (2020), Sections 8-9.

    Examples
    --------
    >>> from randla.random import draw_probes
    >>> draw_probes("rademacher", 100, 3, rng=0).shape
    (100, 3)
    """
    entry = probe_kind(probe)
    return entry.draw(n, num_probes, rng=rng, xp=xp, dtype=dtype, device=device, native=native, **options)
