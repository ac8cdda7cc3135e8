"""The trace estimators: Hutchinson, Hutch++, NA-Hutch++, XTrace, XNysTrace and ``trace``.

Which one to use is summarised in :mod:`randla.estimation`; each is a
validation, then a small body on the driver of ``_driver``.
"""

from __future__ import annotations

from typing import Any

from ..backend import to_scalar
from ..random import as_generator
from ._driver import (
    QuadraticForms,
    TraceEstimate,
    apply,
    check_block_size,
    check_estimator_args,
    check_tolerances,
    counter,
    draw,
    mean_and_std_error,
    result,
    run,
    transpose_apply,
)
from ._exchangeable import XTraceSketch, loo_residual_norms, xnystrace_estimates

__all__ = [
    "TRACE_METHODS",
    "TraceEstimate",
    "hutchinson",
    "hutchpp",
    "na_hutchpp",
    "trace",
    "xnystrace",
    "xtrace",
]

#: Names accepted by :func:`trace` (``"auto"`` first).
TRACE_METHODS = ("auto", "hutchinson", "hutchpp", "na_hutchpp", "xnystrace", "xtrace")

_DEFAULT_PROBE = {
    "auto": "sphere",
    "hutchinson": "rademacher",
    "hutchpp": "rademacher",
    "na_hutchpp": "rademacher",
    "xnystrace": "sphere",
    "xtrace": "sphere",
}


def hutchinson(
    A: Any, /, num_matvecs: int, *, probe: str = "rademacher", rng: Any = None,
    rtol: float | None = None, atol: float | None = None, block_size: int | None = None,
) -> TraceEstimate:
    """Hutchinson's estimator ``tr(A) ~ (1/m) sum_j z_j^T A z_j``.

    Parameters
    ----------
    A : operator-like
        A square matrix or anything :func:`randla.as_operator` accepts.
    num_matvecs : int
        Number of probes ``m >= 1``; with ``rtol``/``atol`` the cap.
    probe : str
        An unbiased kind of :func:`randla.random.probe_kinds`. Rademacher
        (default) has the smallest variance among i.i.d. real probes,
        ``2 (||A||_F^2 - sum_i A_ii^2) / m`` for symmetric ``A``.
    rng : int, numpy.random.Generator or None
    rtol, atol : float, optional
        Adaptive stopping: blocks of ``block_size`` probes until
        ``std_error <= max(atol, rtol |estimate|)`` or the cap.
    block_size : int, optional
        Probes per adaptive block (default 10; the first has at least 2).

    Returns
    -------
    TraceEstimate

    Raises
    ------
    ValueError
        Non-square or non-finite ``A``; ``num_matvecs < 1``; unknown ``probe``;
        negative tolerances.
    TypeError
        ``A`` not real float32/float64; mixed backends; non-integer ``num_matvecs``.

    References
    ----------
    M. F. Hutchinson, "A stochastic estimator of the trace of the influence
    matrix for Laplacian smoothing splines", Commun. Stat. Simul. Comput. 18 (1989).

    Examples
    --------
    >>> A = randla.demo.matrix_with_spectrum(np.linspace(1.0, 3.0, 200), rng=0)
    >>> res = randla.hutchinson(A, 100, rng=1)
    >>> res.method, bool(abs(res.estimate - 400.0) < 4 * res.std_error)
    ('hutchinson', True)
    >>> randla.hutchinson(A, 1000, rtol=1e-2, rng=1).num_matvecs < 1000
    True
    """
    op, _, m, probe = check_estimator_args(A, num_matvecs, probe, method="hutchinson",
                                           minimum=1, why="one probe")
    rtol, atol = check_tolerances(rtol, atol)
    block_size = check_block_size(block_size, 10)
    return _hutchinson_body(op, m, probe, as_generator(rng), rtol, atol, block_size)


def _hutchinson_body(op, m, probe, rng, rtol, atol, block_size, method="hutchinson"):
    start = counter(op)
    mean, se = run(op, QuadraticForms(op), probe, rng, cap=m, rtol=rtol, atol=atol,
                   block_size=block_size)
    return result(op, start, method, mean, se)


# -- Hutch++ and NA-Hutch++ ----------------------------------------------------


def _hutchpp_body(op, m, probe, rng):
    xp = op.xp
    start = counter(op)
    k = m // 3
    S = draw(op, probe, k, rng)
    Q, _ = xp.linalg.qr(apply(op, S))
    G = draw(op, probe, m - 2 * k, rng)
    G = G - Q @ (Q.T @ G)
    AV = apply(op, xp.concat([Q, G], axis=1))
    low_rank = xp.sum(Q * AV[:, :k])
    samples = xp.sum(G * AV[:, k:], axis=0)
    mean, se = mean_and_std_error(xp, samples)
    return result(op, start, "hutchpp", low_rank + mean, se)


def hutchpp(A: Any, /, num_matvecs: int, *, probe: str = "rademacher",
            rng: Any = None) -> TraceEstimate:
    """Hutch++: exact trace of a randomized low-rank part plus Hutchinson on the rest.

    With ``k = num_matvecs // 3``: ``Q = orth(A S)`` for ``k`` probes ``S``, then
    ``tr(Q^T A Q)`` plus Hutchinson with ``g = num_matvecs - 2k`` probes on
    ``(I - QQ^T) A (I - QQ^T)``. Unbiased; relative error ``O(1/m)`` for PSD ``A``.

    Parameters
    ----------
    A : operator-like
    num_matvecs : int
        Budget ``3 <= m``, ``m // 3 <= n``.
    probe : str
        Kind of the sketch and of the probes (default Rademacher).
    rng : int, numpy.random.Generator or None

    Returns
    -------
    TraceEstimate
        ``std_error`` of the Hutchinson part (``nan`` for ``m = 3``).

    Raises
    ------
    ValueError, TypeError
        As :func:`hutchinson`, with the bounds on ``num_matvecs`` above.

    References
    ----------
    R. A. Meyer, C. Musco, C. Musco, D. P. Woodruff, "Hutch++: optimal
    stochastic trace estimation", SOSA (2021), Algorithm 1.

    Examples
    --------
    >>> A = randla.demo.matrix_with_spectrum(0.7 ** np.arange(300), rng=0)
    >>> res = randla.hutchpp(A, 60, rng=1)
    >>> res.num_matvecs, bool(abs(res.estimate - np.trace(A)) < 1e-3 * np.trace(A))
    (60, True)
    """
    op, _, m, probe = check_estimator_args(
        A, num_matvecs, probe, method="hutchpp", minimum=3,
        why="a sketch vector, its product and a probe", vectors_per_matvec=3)
    return _hutchpp_body(op, m, probe, as_generator(rng))


def _na_hutchpp_body(op, m, probe, rng):
    xp = op.xp
    start = counter(op)
    k_range = max(1, m // 6)
    k_corange = max(1, m // 3)
    g = m - k_range - k_corange
    R = draw(op, probe, k_range, rng)
    S = draw(op, probe, k_corange, rng)
    G = draw(op, probe, g, rng)
    AV = apply(op, xp.concat([R, G], axis=1))
    Z, AG = AV[:, :k_range], AV[:, k_range:]
    W = transpose_apply(op, S, "na_hutchpp")  # A^T S
    core_pinv = xp.linalg.pinv(S.T @ Z)  # (k_range, k_corange)
    # A_hat = Z (S^T Z)^+ W^T: generalized Nyström / two-sided sketch
    low_rank = xp.sum(core_pinv * (W.T @ Z).T)
    correction = xp.sum(((G.T @ Z) @ core_pinv) * (G.T @ W), axis=1)
    samples = xp.sum(G * AG, axis=0) - correction
    mean, se = mean_and_std_error(xp, samples)
    return result(op, start, "na_hutchpp", low_rank + mean, se)


def na_hutchpp(A: Any, /, num_matvecs: int, *, probe: str = "rademacher",
               rng: Any = None) -> TraceEstimate:
    """NA-Hutch++: the non-adaptive, single-pass variant of Hutch++.

    All probes are drawn up front: ``Z = A R`` (``m/6`` vectors), ``W = A^T S``
    (``m/3``), ``A G`` (the rest); with ``A_hat = Z (S^T Z)^+ W^T``,
    ``tr(A) ~ tr(A_hat) + (1/g) [tr(G^T A G) - tr(G^T A_hat G)]``.

    Parameters
    ----------
    A : operator-like
        Products with ``A^T`` are needed: arrays give them; for callables pass
        ``rmatmat=`` or ``symmetric=True`` to :func:`randla.as_operator`.
    num_matvecs : int
        Budget ``3 <= m``, ``m // 3 <= n``, products with ``A^T`` included.
    probe : str
        Kind of the three sketches (default Rademacher).
    rng : int, numpy.random.Generator or None

    Returns
    -------
    TraceEstimate

    Raises
    ------
    ValueError, TypeError
        As :func:`hutchpp`; ``TypeError`` for an operator without adjoint.

    References
    ----------
    Meyer, Musco, Musco, Woodruff, SOSA (2021), Algorithm 2.

    Examples
    --------
    >>> A = randla.demo.matrix_with_spectrum(0.7 ** np.arange(300), rng=0)
    >>> res = randla.na_hutchpp(A, 60, rng=1)
    >>> bool(abs(res.estimate - np.trace(A)) < 1e-2 * np.trace(A))
    True
    """
    op, _, m, probe = check_estimator_args(
        A, num_matvecs, probe, method="na_hutchpp", minimum=3, why="one vector per sketch",
        vectors_per_matvec=3)
    return _na_hutchpp_body(op, m, probe, as_generator(rng))


# -- XTrace and XNysTrace ------------------------------------------------------


def xtrace(
    A: Any, /, num_matvecs: int, *, probe: str = "sphere", rng: Any = None,
    rtol: float | None = None, atol: float | None = None, block_size: int | None = None,
) -> TraceEstimate:
    """XTrace: the exchangeable (leave-one-out) low-rank + residual estimator.

    With ``k = num_matvecs // 2`` test vectors ``omega_i`` and ``Y = A Omega``,
    XTrace averages the Hutch++-like estimates ``tr(P_i A P_i) + r_i^T A r_i``,
    ``P_i`` the projector onto ``range(Y)`` without column ``i`` and ``r_i = (I -
    P_i) omega_i``: every test vector serves both parts. One downdated QR,
    ``O(n k^2)`` work besides the ``2k`` products. No symmetry is needed.

    Parameters
    ----------
    A : operator-like
    num_matvecs : int
        Budget ``m >= 4`` (two test vectors), ``m // 2 <= n``; an odd budget
        leaves one product unused.
    probe : str
        Default "sphere", with the paper's rescaled residual ("XTrace
        improved"); other kinds use the plain form.
    rng : int, numpy.random.Generator or None
    rtol, atol : float, optional
        Adaptive stopping, ``block_size`` test vectors (``2 block_size``
        products) at a time, as in :func:`hutchinson`.
    block_size : int, optional
        Default 8.

    Returns
    -------
    TraceEstimate
        ``std_error``: the exchangeable estimate ``std(t_i) / sqrt(k)``.

    Raises
    ------
    ValueError, TypeError
        As :func:`hutchinson`, with the bounds on ``num_matvecs`` above.

    References
    ----------
    E. N. Epperly, J. A. Tropp, R. J. Webber, "XTrace", SIAM J. Matrix Anal.
    Appl. 45 (2024), Algorithm 1.

    Examples
    --------
    >>> A = randla.demo.matrix_with_spectrum(0.9 ** np.arange(300), rng=0)
    >>> err = {f.__name__: abs(f(A, 100, rng=1).estimate - np.trace(A))
    ...        for f in (randla.xtrace, randla.hutchpp)}
    >>> bool(err["xtrace"] < err["hutchpp"])
    True
    """
    op, _, m, probe = check_estimator_args(
        A, num_matvecs, probe, method="xtrace", minimum=4,
        why="two test vectors and their two basis products", vectors_per_matvec=2,
        note=" (n test vectors already give the exact trace)")
    rtol, atol = check_tolerances(rtol, atol)
    block_size = check_block_size(block_size, 8)
    return _xtrace_body(op, m, probe, as_generator(rng), rtol, atol, block_size)


def xnystrace(A: Any, /, num_matvecs: int, *, probe: str = "sphere",
              rng: Any = None) -> TraceEstimate:
    """XNysTrace: exchangeable Nyström trace estimator for positive semidefinite ``A``.

    Every product ``Y = A Omega`` is used once: the leave-one-out Nyström
    approximation from the other ``m - 1`` test vectors has an exact trace and
    the held-out vector estimates the residual. The robust eigh-based form is
    derived in ``randla.estimation._exchangeable.xnystrace_estimates``.

    Parameters
    ----------
    A : operator-like
        Symmetric positive semidefinite (checked through ``omega^T A omega``).
    num_matvecs : int
        Test vectors ``m``, ``2 <= m <= n``.
    probe : str
        Default "sphere" (rescaled residual); other kinds use the plain form.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    TraceEstimate

    Raises
    ------
    ValueError, TypeError
        As :func:`hutchinson`; ``ValueError`` for ``A`` detectably not PSD.

    References
    ----------
    Epperly, Tropp, Webber, SIAM J. Matrix Anal. Appl. 45 (2024), Section 3.

    Examples
    --------
    >>> A = randla.demo.matrix_with_spectrum(np.arange(1, 301) ** -2.0, rng=0)
    >>> res = randla.xnystrace(A, 50, rng=1)
    >>> bool(abs(res.estimate - np.trace(A)) < 5e-3 * np.trace(A))
    True
    """
    op, _, m, probe = check_estimator_args(
        A, num_matvecs, probe, method="xnystrace", minimum=2,
        why="one test vector left out of two", vectors_per_matvec=1)
    return _xnystrace_body(op, m, probe, as_generator(rng))


# -- trace(): dispatch by name, and method="auto" ----------------------------------


def trace(
    A: Any, /, num_matvecs: int, *, method: str = "auto", probe: str | None = None,
    rng: Any = None, rtol: float | None = None, atol: float | None = None,
    block_size: int | None = None,
) -> TraceEstimate:
    """Estimate ``tr(A)`` with ``num_matvecs`` products; ``method="auto"`` chooses.

    Parameters
    ----------
    A : operator-like
    num_matvecs : int
        Budget of matrix-vector products.
    method : {"auto", "hutchinson", "hutchpp", "na_hutchpp", "xtrace", "xnystrace"}
    probe : str, optional
        Default: the method's own (Rademacher for Hutchinson and Hutch++, sphere
        for XTrace, XNysTrace and "auto").
    rng : int, numpy.random.Generator or None
    rtol, atol, block_size : optional
        Adaptive stopping, for "hutchinson" and "xtrace" only.

    Returns
    -------
    TraceEstimate
        For "auto", ``method`` is ``"auto:hutchinson"`` or ``"auto:xtrace"``.

    Raises
    ------
    ValueError
        Unknown ``method``; tolerances for a method without adaptive stopping;
        the method's own errors.

    Notes
    -----
    **The "auto" rule.** Hutchinson's error is about ``sqrt(V/m)``; XTrace
    spends half its products on a rank ``k = m/2`` approximation, so it wins when
    that captures much of ``A`` and loses up to ``sqrt(2)`` on a flat spectrum.
    "auto" measures this on a pilot block without spending anything extra:

    1. Draw ``b = max(3, m // 4)`` test vectors and compute ``Y = A Omega``.
    2. The leave-one-out residuals ``||(I - P_{-i}) y_i||`` (one QR of ``Y``)
       give ``c = 1 - sum_i ||(I - P_{-i}) y_i||^2 / ||Y||_F^2``, an estimate of
       the fraction of ``||A||_F^2`` a rank ``b - 1`` range finder captures.
    3. Extrapolate linearly to XTrace's rank: ``c_k = c (k - 1) / (b - 1)``
       (exact for a flat rank-``r`` matrix, pessimistic for decaying spectra).
    4. If ``c_k > 1/2`` continue as XTrace, else as Hutchinson, reusing the
       pilot either way (``m`` products in total). Budgets below 12 use
       Hutchinson.

    On the XTrace test suite (n = 1000, m = 100, 500 seeds,
    ``benchmarks/trace_suite.py``) its mean error is 1.03 +- 0.05 times
    Hutchinson's on the flat spectrum and 0.97-1.03 times XTrace's on the poly,
    slowexp, fastexp and step spectra.

    Examples
    --------
    >>> flat = randla.demo.matrix_with_spectrum(np.linspace(1.0, 3.0, 400), rng=0)
    >>> fast = randla.demo.matrix_with_spectrum(0.7 ** np.arange(400), rng=0)
    >>> randla.trace(flat, 100, rng=1).method, randla.trace(fast, 100, rng=1).method
    ('auto:hutchinson', 'auto:xtrace')
    """
    if not isinstance(method, str) or method not in TRACE_METHODS:
        raise ValueError(f"method must be one of {TRACE_METHODS}, got {method!r}")
    if probe is None:
        probe = _DEFAULT_PROBE[method]
    adaptive_args = {"rtol": rtol, "atol": atol, "block_size": block_size}
    if method in ("hutchinson", "xtrace"):
        func = hutchinson if method == "hutchinson" else xtrace
        return func(A, num_matvecs=num_matvecs, probe=probe, rng=rng, **adaptive_args)
    given = [k for k, v in adaptive_args.items() if v is not None]
    if given:
        raise ValueError(
            f"{', '.join(given)}: adaptive stopping is available for method="
            f"'hutchinson' and 'xtrace', not {method!r}"
        )
    if method == "auto":
        op, n, m, probe = check_estimator_args(A, num_matvecs, probe, method="auto",
                                               minimum=1, why="one probe")
        return _auto_body(op, n, m, probe, as_generator(rng))
    funcs = {"hutchpp": hutchpp, "na_hutchpp": na_hutchpp, "xnystrace": xnystrace}
    return funcs[method](A, num_matvecs=num_matvecs, probe=probe, rng=rng)


# -- bodies of XTrace, XNysTrace and "auto" (validated input) -------------------


def _xtrace_body(op, m, probe, rng, rtol, atol, block_size):
    start = counter(op)
    sketch = XTraceSketch(op, improved=probe == "sphere")
    mean, se = run(op, sketch, probe, rng, cap=m // 2, rtol=rtol, atol=atol,
                   block_size=block_size)
    return result(op, start, "xtrace", mean, se)


def _xnystrace_body(op, m, probe, rng):
    xp = op.xp
    start = counter(op)
    Omega = draw(op, probe, m, rng)
    Y = apply(op, Omega)
    # a PSD matrix has omega^T A omega >= 0; allow rounding-size violations
    quad = xp.sum(Omega * Y, axis=0)
    scale = xp.linalg.vector_norm(Omega, axis=0) * xp.linalg.vector_norm(Y, axis=0)
    tol = 100.0 * m * float(xp.finfo(Y.dtype).eps)
    if bool(xp.any(quad < -tol * scale)):
        raise ValueError(
            "xnystrace needs a positive semidefinite A: found omega^T A omega < 0 "
            "(use xtrace for indefinite or nonsymmetric matrices)"
        )
    estimates = xnystrace_estimates(xp, Omega, Y, improved=probe == "sphere")
    mean, se = mean_and_std_error(xp, estimates)
    return result(op, start, "xnystrace", mean, se)


#: below this budget "auto" is plain Hutchinson (no room for a pilot block)
_AUTO_MIN_MATVECS = 12
#: choose XTrace when it is predicted to capture more than this energy fraction
_AUTO_CAPTURE = 0.5


def _auto_body(op, n, m, probe, rng):
    """Pilot block, captured energy, then XTrace or Hutchinson (see :func:`trace`)."""
    xp = op.xp
    start = counter(op)
    k_final = min(m // 2, n)
    pilot = min(max(3, m // 4), k_final)
    if m < _AUTO_MIN_MATVECS or pilot < 3:
        return _hutchinson_body(op, m, probe, rng, None, None, 1, "auto:hutchinson")
    Omega = draw(op, probe, pilot, rng)
    Y = apply(op, Omega)
    energy = to_scalar(xp.sum(Y * Y))
    captured = 0.0
    if energy > 0:
        _, R = xp.linalg.qr(Y)
        left = loo_residual_norms(xp, R)
        captured = max(0.0, 1.0 - to_scalar(xp.sum(left * left)) / energy)
    predicted = min(1.0, captured * (k_final - 1) / (pilot - 1))
    if predicted > _AUTO_CAPTURE:  # continue as XTrace, the pilot its first vectors
        integrand, cap, method = XTraceSketch(op, improved=probe == "sphere"), k_final, "auto:xtrace"
    else:  # continue as Hutchinson, the pilot its first probes
        integrand, cap, method = QuadraticForms(op), m, "auto:hutchinson"
    integrand.add(Omega, Y)
    mean, se = run(op, integrand, probe, rng, cap=cap)
    return result(op, start, method, mean, se)
