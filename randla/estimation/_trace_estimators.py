"""Stochastic trace estimators: Hutchinson, Hutch++, NA-Hutch++, XTrace, XNysTrace.

Every estimator works matrix-free through :func:`randla.as_operator` (only
products ``A @ X`` with blocks of probe vectors are used), counts its budget in
matrix-vector products ``num_matvecs``, and returns a :class:`TraceEstimate`.
:func:`trace` dispatches by name and offers ``method="auto"``, which chooses
between Hutchinson and XTrace from the first block of products.

Which one to use (``m`` = ``num_matvecs``):

* :func:`hutchinson` -- error ``~ ||A - tr(A)/n I||_F / sqrt(m)``; best when the
  spectrum is flat (no low-rank structure to exploit).
* :func:`hutchpp`, :func:`na_hutchpp` -- a rank ``~m/3`` approximation taken
  exactly plus Hutchinson on the rest; ``O(1/m)`` error for PSD matrices with
  decaying spectrum (Meyer, Musco, Musco, Woodruff 2021).
* :func:`xtrace` -- the exchangeable "leave one out" refinement: every product
  serves both the low-rank part and the residual estimate; best on decaying
  spectra (Epperly, Tropp, Webber 2024).
* :func:`xnystrace` -- for positive semidefinite ``A``: Nyström instead of a
  projection, every product used once; the most accurate for PSD input.
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
    check_confidence,
    check_estimator_args,
    check_tolerances,
    counter,
    draw,
    eps,
    mean_and_std_error,
    result,
    run,
    transpose_apply,
)
from ._exchangeable import (
    XTraceSketch,
    exchangeable_std_error,
    loo_residual_norms,
    xnystrace_estimates,
)

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
    confidence: float = 0.95,
) -> TraceEstimate:
    """Hutchinson's trace estimator ``tr(A) ~ (1/m) sum_j z_j^T A z_j``.

    Parameters
    ----------
    A : operator-like
        A square matrix or anything :func:`randla.as_operator` accepts.
    num_matvecs : int
        Number of probes ``m`` (products with ``A``), ``>= 1``; with ``rtol``
        or ``atol`` the cap of the adaptive loop.
    probe : str
        Any kind of :data:`randla.random.PROBE_KINDS`. Rademacher (default)
        has the smallest variance among i.i.d. real probes,
        ``Var = 2 (||A||_F^2 - sum_i A_ii^2) / m`` for symmetric ``A``;
        Gaussian ``2 ||A||_F^2 / m``; sphere ``~ 2 ||A - tr(A)/n I||_F^2 / m``.
    rng : int, numpy.random.Generator or None
        Source of the probes (see :func:`randla.random.as_generator`).
    rtol, atol : float, optional
        Adaptive stopping: draw ``block_size`` probes at a time and stop as soon
        as the error bound at ``confidence`` is ``<= max(atol, rtol *
        |estimate|)`` or the cap is reached.
    block_size : int, optional
        Probes per adaptive block (default 10; the first block has at least 2).
    confidence : float
        Level of ``result.interval`` and of the adaptive stop (default 0.95):
        stop as soon as the interval's half-width ``q std_error`` (``q`` the
        Student-t quantile) is ``<= max(atol, rtol * |estimate|)``. See
        ``docs/error_estimates.rst``.

    Returns
    -------
    TraceEstimate
        ``std_error`` is the sample standard deviation of the quadratic forms
        over ``sqrt(m)``; ``interval`` uses ``m - 1`` degrees of freedom.

    Raises
    ------
    ValueError
        Non-square or non-finite ``A``; ``num_matvecs < 1``; unknown ``probe``;
        negative tolerances.
    TypeError
        Integer, half-precision or complex ``A``; a callable returning arrays of
        another backend; non-integer ``num_matvecs``.

    References
    ----------
    M. F. Hutchinson, "A stochastic estimator of the trace of the influence
    matrix for Laplacian smoothing splines", Commun. Stat. Simul. Comput. 18
    (1989). H. Avron, S. Toledo, "Randomized algorithms for estimating the
    trace of an implicit symmetric positive semi-definite matrix", J. ACM 58
    (2011).

    Examples
    --------
    >>> import numpy as np
    >>> import randla
    >>> rng = np.random.default_rng(0)
    >>> Q, _ = np.linalg.qr(rng.standard_normal((200, 200)))
    >>> A = (Q * np.linspace(1.0, 3.0, 200)) @ Q.T          # trace 400
    >>> res = randla.hutchinson(A, num_matvecs=100, rng=1)
    >>> res.num_matvecs, res.method
    (100, 'hutchinson')
    >>> abs(float(res) - 400.0) < 4 * res.std_error
    True
    >>> lo, hi = res.interval                               # 95% by default
    >>> bool(lo < 400.0 < hi), res.confidence
    (True, 0.95)
    >>> ada = randla.hutchinson(A, num_matvecs=1000, rtol=1e-2, rng=1)
    >>> lo, hi = ada.interval
    >>> bool(hi - lo <= 2e-2 * ada.estimate), ada.num_matvecs < 1000
    (True, True)
    """
    op, _, m, probe = check_estimator_args(A, num_matvecs, probe, method="hutchinson",
                                           minimum=1, why="one probe")
    rtol, atol = check_tolerances(rtol, atol)
    block_size = check_block_size(block_size, 10)
    confidence = check_confidence(confidence)
    return _hutchinson_body(op, m, probe, as_generator(rng), rtol, atol, block_size,
                            confidence)


def _hutchinson_body(op, m, probe, rng, rtol, atol, block_size, confidence,
                     method="hutchinson"):
    start = counter(op)
    mean, se, dof = run(op, QuadraticForms(op), probe, rng, cap=m, rtol=rtol, atol=atol,
                        block_size=block_size, confidence=confidence)
    return result(op, start, method, mean, se, dof, confidence)


# -- Hutch++ and NA-Hutch++ ----------------------------------------------------


def _hutchpp_body(op, m, probe, rng, confidence):
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
    se = _with_rounding(se, eps(xp, samples.dtype) * (abs(to_scalar(low_rank)) + abs(to_scalar(mean))))
    return result(op, start, "hutchpp", low_rank + mean, se, m - 2 * k - 1, confidence)


def hutchpp(A: Any, /, num_matvecs: int, *, probe: str = "rademacher",
            rng: Any = None, confidence: float = 0.95) -> TraceEstimate:
    """Hutch++: exact trace of a randomized low-rank part plus Hutchinson on the rest.

    With ``k = num_matvecs // 3``: ``Q = orth(A S)`` for ``k`` probes ``S``,
    ``tr(A) ~ tr(Q^T A Q) + (1/g) tr(G^T (I - QQ^T) A (I - QQ^T) G)`` with
    ``g = num_matvecs - 2k`` probes ``G``; exactly ``num_matvecs`` products.
    Unbiased for any square ``A``; relative error ``O(1/m)`` for PSD ``A``.

    Parameters
    ----------
    A : operator-like
        Square matrix or operator.
    num_matvecs : int
        Budget ``m >= 3`` (one sketch vector, its product, one probe).
    probe : str
        Kind of both the sketch and the Hutchinson probes (default Rademacher,
        as in the paper); any of :data:`randla.random.PROBE_KINDS`.
    rng : int, numpy.random.Generator or None
    confidence : float
        Level of ``result.interval`` (default 0.95).

    Returns
    -------
    TraceEstimate
        ``std_error`` is the sample standard error of the ``g`` Hutchinson
        terms on the residual (``nan`` when ``g = 1``, i.e. ``num_matvecs =
        3``). It is the whole error: given the sketch ``Q`` the estimator is
        unbiased and the terms are i.i.d., so ``E[std_error^2] = Var`` and the
        interval is a Student-t interval with ``g - 1`` degrees of freedom
        (its coverage is exact for Gaussian terms and close to it otherwise,
        see ``docs/error_estimates.rst``).

    Raises
    ------
    ValueError
        ``num_matvecs < 3`` or ``num_matvecs // 3 > n``; non-square or
        non-finite ``A``; unknown ``probe``.
    TypeError
        Integer, half-precision or complex ``A``; mixed backends.

    References
    ----------
    R. A. Meyer, C. Musco, C. Musco, D. P. Woodruff, "Hutch++: optimal
    stochastic trace estimation", SOSA (2021), Algorithm 1.

    Examples
    --------
    >>> import numpy as np
    >>> import randla
    >>> rng = np.random.default_rng(0)
    >>> Q, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    >>> A = (Q * 0.7 ** np.arange(300)) @ Q.T
    >>> exact = np.trace(A)
    >>> res = randla.hutchpp(A, num_matvecs=60, rng=1)
    >>> res.num_matvecs, bool(abs(res.estimate - exact) < 1e-3 * exact)
    (60, True)
    """
    op, _, m, probe = check_estimator_args(
        A, num_matvecs, probe, method="hutchpp", minimum=3,
        why="a sketch vector, its product and a probe", vectors_per_matvec=3)
    return _hutchpp_body(op, m, probe, as_generator(rng), check_confidence(confidence))


def _na_hutchpp_body(op, m, probe, rng, confidence):
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
    se = _with_rounding(se, eps(xp, samples.dtype) * (abs(to_scalar(low_rank)) + abs(to_scalar(mean))))
    return result(op, start, "na_hutchpp", low_rank + mean, se, g - 1, confidence)


def na_hutchpp(A: Any, /, num_matvecs: int, *, probe: str = "rademacher",
               rng: Any = None, confidence: float = 0.95) -> TraceEstimate:
    """NA-Hutch++: the non-adaptive (single-pass) variant of Hutch++.

    All probes are drawn up front, so the products can be computed in one
    parallel pass: ``Z = A R`` (``m/6`` vectors), ``W = A^T S`` (``m/3``),
    ``A G`` (the rest). With the two-sided low-rank approximation
    ``A_hat = Z (S^T Z)^+ W^T``,
    ``tr(A) ~ tr(A_hat) + (1/g) [tr(G^T A G) - tr(G^T A_hat G)]``
    (constants ``c1 = 1/6``, ``c2 = 1/3``, ``c3 = 1/2`` of the paper).

    Parameters
    ----------
    A : operator-like
        Square matrix or operator. Products with ``A^T`` are needed: arrays
        provide them; for callables pass ``rmatmat=`` or ``symmetric=True`` to
        :func:`randla.as_operator`.
    num_matvecs : int
        Budget ``m >= 3`` (one vector for each of the three sketches),
        products with ``A^T`` included.
    probe : str
        Probe kind for the three sketches (default Rademacher).
    rng : int, numpy.random.Generator or None
    confidence : float
        Level of ``result.interval`` (default 0.95).

    Returns
    -------
    TraceEstimate
        ``std_error``: sample standard error of the ``g`` correction terms
        ``g_j^T (A - A_hat) g_j``, i.i.d. given the sketches, whose mean is
        unbiased for ``tr(A - A_hat)``: the whole error, as for Hutch++
        (Student-t interval with ``g - 1`` degrees of freedom; ``nan`` for
        one probe).

    Raises
    ------
    ValueError
        ``num_matvecs < 3`` or ``num_matvecs // 3 > n``; bad ``A``; unknown probe.
    TypeError
        An operator without adjoint that is not declared symmetric; integer,
        half-precision or complex ``A``.

    References
    ----------
    R. A. Meyer, C. Musco, C. Musco, D. P. Woodruff, "Hutch++: optimal
    stochastic trace estimation", SOSA (2021), Algorithm 2.

    Examples
    --------
    >>> import numpy as np
    >>> import randla
    >>> rng = np.random.default_rng(0)
    >>> Q, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    >>> A = (Q * 0.7 ** np.arange(300)) @ Q.T
    >>> res = randla.na_hutchpp(A, num_matvecs=60, rng=1)
    >>> res.num_matvecs, bool(abs(res.estimate - np.trace(A)) < 1e-2 * np.trace(A))
    (60, True)
    """
    op, _, m, probe = check_estimator_args(
        A, num_matvecs, probe, method="na_hutchpp", minimum=3, why="one vector per sketch",
        vectors_per_matvec=3)
    return _na_hutchpp_body(op, m, probe, as_generator(rng), check_confidence(confidence))


# -- XTrace and XNysTrace ------------------------------------------------------


def xtrace(
    A: Any, /, num_matvecs: int, *, probe: str = "sphere", rng: Any = None,
    rtol: float | None = None, atol: float | None = None, block_size: int | None = None,
    confidence: float = 0.95,
) -> TraceEstimate:
    """XTrace: the exchangeable (leave-one-out) low-rank + residual estimator.

    With ``k = num_matvecs // 2`` test vectors ``omega_i`` and ``Y = A Omega``,
    XTrace averages over ``i`` the Hutch++-like estimates
    ``tr(P_i A P_i) + r_i^T A r_i`` where ``P_i`` projects onto the range of
    ``Y`` without its i-th column and ``r_i = (I - P_i) omega_i``: every test
    vector serves both the low-rank part and the residual. The efficient form
    downdates one QR factorisation (``O(n k^2)`` work besides the ``2k``
    products ``A Omega`` and ``A Q``). No symmetry of ``A`` is needed.

    Parameters
    ----------
    A : operator-like
        Square matrix or operator.
    num_matvecs : int
        Budget ``m``: ``m // 2`` test vectors and as many products with their
        orthonormal basis, so an odd ``m`` leaves one product unused (see
        ``result.num_matvecs``). ``m >= 4``: the leave-one-out estimates and
        their error estimate need two test vectors. ``m // 2 <= n``.
    probe : str
        Kind of test vectors. Default "sphere" (uniform on the sphere of
        radius ``sqrt(n)``) with the paper's rescaling of the residual term
        ("XTrace improved"), which helps most on flat spectra; other kinds use
        the plain form.
    rng : int, numpy.random.Generator or None
    rtol, atol : float, optional
        Adaptive stopping: add ``block_size`` test vectors at a time (``2
        block_size`` products) until the error bound at ``confidence`` is
        ``<= max(atol, rtol * |estimate|)`` or the ``num_matvecs`` cap.
    block_size : int, optional
        Test vectors per adaptive block (default 8).
    confidence : float
        Level of ``result.interval`` and of the adaptive stop (default 0.95):
        stop as soon as the interval's half-width ``q std_error`` (``q`` the
        Student-t quantile) is ``<= max(atol, rtol * |estimate|)``. See
        ``docs/error_estimates.rst``.

    Returns
    -------
    TraceEstimate
        ``std_error`` is the calibrated exchangeable error estimate of
        :func:`randla.estimation._exchangeable.exchangeable_std_error`:
        ``sqrt(s^2 / k + max(0, c))`` with ``s^2`` the sample variance of the
        ``k`` leave-one-out estimates ``t_i`` (Epperly, Tropp, Webber 2024,
        Section 2.3, whose estimate is ``s / sqrt(k)``) and ``c`` an unbiased
        estimate of ``Cov(t_i, t_j)`` from the leave-two-out estimates,
        ``mean_{i != j} (t_i - t_ij)(t_j - t_ji)``. ``s / sqrt(k)`` alone
        misses that covariance, which makes it optimistic on decaying spectra
        (95% intervals covered 55-90% of the time on the XTrace test suite;
        with the correction 90-99%, ``benchmarks/trace_calibration.py``).
        ``interval`` uses Welch-Satterthwaite effective degrees of freedom
        (at most ``k - 1``; fewer when a few test vectors dominate).

    Raises
    ------
    ValueError
        ``num_matvecs < 4`` or ``num_matvecs // 2 > n``; non-square or
        non-finite ``A``; unknown ``probe``; negative tolerances.
    TypeError
        Integer, half-precision or complex ``A``; mixed backends.

    References
    ----------
    E. N. Epperly, J. A. Tropp, R. J. Webber, "XTrace: making the most of every
    sample in stochastic trace estimation", SIAM J. Matrix Anal. Appl. 45
    (2024), Algorithm 1 and Section 2.

    Examples
    --------
    >>> import numpy as np
    >>> import randla
    >>> rng = np.random.default_rng(0)
    >>> Q, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    >>> A = (Q * 0.9 ** np.arange(300)) @ Q.T
    >>> exact = np.trace(A)
    >>> xt = randla.xtrace(A, num_matvecs=100, rng=1)
    >>> hpp = randla.hutchpp(A, num_matvecs=100, rng=1)
    >>> bool(abs(xt.estimate - exact) < abs(hpp.estimate - exact))
    True
    >>> ada = randla.xtrace(A, num_matvecs=300, rtol=1e-4, rng=1)
    >>> lo, hi = ada.interval
    >>> bool(hi - lo <= 2e-4 * ada.estimate), ada.num_matvecs <= 300
    (True, True)
    """
    op, _, m, probe = check_estimator_args(
        A, num_matvecs, probe, method="xtrace", minimum=4,
        why="two test vectors and their two basis products", vectors_per_matvec=2,
        note=" (n test vectors already give the exact trace)")
    rtol, atol = check_tolerances(rtol, atol)
    block_size = check_block_size(block_size, 8)
    confidence = check_confidence(confidence)
    return _xtrace_body(op, m, probe, as_generator(rng), rtol, atol, block_size, confidence)


def xnystrace(A: Any, /, num_matvecs: int, *, probe: str = "sphere",
              rng: Any = None, confidence: float = 0.95) -> TraceEstimate:
    """XNysTrace: exchangeable Nyström trace estimator for PSD matrices.

    Every one of the ``m`` products ``Y = A Omega`` is used once: the
    leave-one-out Nyström approximation from the other ``m - 1`` test vectors
    has an exact trace, and the held-out vector estimates the residual. The
    robust eigh-based form (a tiny shift, ``eigh`` of ``Omega^T Y`` with a
    pseudo-inverse instead of a Cholesky factor that can fail) is described in
    ``randla.estimation._exchangeable.xnystrace_estimates``.

    Parameters
    ----------
    A : operator-like
        Symmetric positive semidefinite matrix or operator (checked only
        through the sign of ``omega^T A omega``).
    num_matvecs : int
        Number of test vectors ``m``, ``2 <= m <= n`` (two are needed to leave
        one out).
    probe : str
        Kind of test vectors (default "sphere", with the rescaled residual of
        the paper; other kinds use the plain form).
    rng : int, numpy.random.Generator or None
    confidence : float
        Level of ``result.interval`` (default 0.95).

    Returns
    -------
    TraceEstimate
        ``std_error`` is the calibrated exchangeable error estimate (as for
        :func:`xtrace`, with the leave-two-out Nyström estimates: removing
        test vectors ``i`` and ``j`` subtracts a rank-two Schur complement
        term); ``interval`` uses the effective degrees of freedom ``dof``
        described there (at most ``m - 1``).

    Raises
    ------
    ValueError
        ``num_matvecs`` outside ``[2, n]``; ``A`` detectably not PSD;
        non-square or non-finite ``A``; unknown ``probe``.
    TypeError
        Integer, half-precision or complex ``A``; mixed backends.

    References
    ----------
    E. N. Epperly, J. A. Tropp, R. J. Webber, "XTrace: making the most of every
    sample in stochastic trace estimation", SIAM J. Matrix Anal. Appl. 45
    (2024), Section 3 (XNysTrace). Y. Nakatsukasa, "Fast and stable randomized
    low-rank matrix approximation" (2020) and J. A. Tropp, A. Yurtsever, M.
    Udell, V. Cevher, "Fixed-rank approximation of a positive-semidefinite
    matrix from streaming data", NeurIPS (2017) for the shifted Nyström form.

    Examples
    --------
    >>> import numpy as np
    >>> import randla
    >>> rng = np.random.default_rng(0)
    >>> Q, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    >>> A = (Q * np.arange(1, 301) ** -2.0) @ Q.T
    >>> res = randla.xnystrace(A, num_matvecs=50, rng=1)
    >>> bool(abs(res.estimate - np.trace(A)) < 5e-3 * np.trace(A))
    True
    """
    op, _, m, probe = check_estimator_args(
        A, num_matvecs, probe, method="xnystrace", minimum=2,
        why="one test vector left out of two", vectors_per_matvec=1)
    return _xnystrace_body(op, m, probe, as_generator(rng), check_confidence(confidence))


# -- trace(): dispatch by name, and method="auto" ----------------------------------


def trace(
    A: Any, /, num_matvecs: int, *, method: str = "auto", probe: str | None = None,
    rng: Any = None, rtol: float | None = None, atol: float | None = None,
    block_size: int | None = None, confidence: float = 0.95,
) -> TraceEstimate:
    """Estimate ``tr(A)`` with ``num_matvecs`` products; ``method="auto"`` chooses.

    Parameters
    ----------
    A : operator-like
        Square matrix or anything :func:`randla.as_operator` accepts.
    num_matvecs : int
        Budget of matrix-vector products.
    method : {"auto", "hutchinson", "hutchpp", "na_hutchpp", "xtrace", "xnystrace"}
        ``"auto"`` (below) or one of the estimators of this module.
    probe : str, optional
        Probe kind; default: the method's own (Rademacher for Hutchinson and
        Hutch++, sphere for XTrace, XNysTrace and ``"auto"``).
    rng : int, numpy.random.Generator or None
    rtol, atol, block_size : optional
        Adaptive stopping, for ``"hutchinson"`` and ``"xtrace"`` only.
    confidence : float
        Level of ``result.interval`` and of the adaptive stop (default 0.95);
        every method, ``"auto"`` included, reports the calibrated error
        estimate of the estimator it ran (``docs/error_estimates.rst``).

    Returns
    -------
    TraceEstimate
        For ``"auto"``, ``result.method`` is ``"auto:hutchinson"`` or
        ``"auto:xtrace"``.

    Raises
    ------
    ValueError
        Unknown ``method`` or ``probe``; tolerances with a method that does not
        stop adaptively; the method's own errors.
    TypeError
        As the chosen method.

    Notes
    -----
    **The "auto" rule.** Hutchinson's error is about ``sqrt(V/m)`` with ``V``
    the per-probe variance; XTrace spends half its products on a rank
    ``k = m/2`` approximation and estimates only the residual, so it wins
    when that approximation captures a large part of ``A`` and loses up to
    about ``sqrt(2)`` on a flat spectrum, where nothing is captured. "auto"
    measures this on a pilot block without spending anything extra:

    1. Draw ``b = max(3, m // 4)`` test vectors ``omega_i`` (sphere by
       default) and compute ``Y = A Omega``.
    2. Captured energy: the leave-one-out residuals ``||(I - P_{-i}) y_i||``
       (``P_{-i}`` the projector onto the other columns of ``Y``) cost one QR
       of ``Y``; given the other vectors, ``E ||(I - P_{-i}) A omega_i||^2 =
       ||(I - P_{-i}) A||_F^2``, so ``c = 1 - sum_i ||(I - P_{-i}) y_i||^2 /
       ||Y||_F^2`` estimates the fraction of ``||A||_F^2`` captured by a
       randomized rank ``b - 1`` range finder.
    3. Extrapolate linearly to XTrace's final rank: ``c_k = c (k - 1) / (b -
       1)``. The randomized range of a flat rank-``r`` matrix captures
       ``k / r`` of it, so the linear rule is exact there (the step
       spectrum) and pessimistic for decaying spectra, whose captured
       fraction grows faster than linearly.
    4. If ``c_k > 1/2``, continue as XTrace, reusing the pilot as its first
       ``b`` test vectors (``m`` products in total); otherwise continue as
       Hutchinson, reusing the ``b`` quadratic forms ``omega_i^T y_i`` as
       probes (``m`` products in total).

    Nothing is wasted on either branch, so "auto" matches Hutchinson on flat
    spectra and XTrace on decaying ones. On the XTrace test suite (n = 1000,
    m = 100, 500 seeds, ``benchmarks/trace_suite.py``) its mean error is
    1.03 +- 0.05 times Hutchinson's on the flat spectrum and 0.97-1.03 times
    XTrace's on the poly, slowexp, fastexp and step spectra. A wrong choice
    near the threshold costs at most the gap between the two methods there,
    which is small by construction. Budgets below 12 use Hutchinson.

    References
    ----------
    M. F. Hutchinson, Commun. Stat. Simul. Comput. 18 (1989); R. A. Meyer,
    C. Musco, C. Musco, D. P. Woodruff, "Hutch++: optimal stochastic trace
    estimation", SOSA (2021); E. N. Epperly, J. A. Tropp, R. J. Webber,
    "XTrace: making the most of every sample in stochastic trace estimation",
    SIAM J. Matrix Anal. Appl. 45 (2024). The "auto" rule is randla's own.

    Examples
    --------
    >>> import numpy as np
    >>> import randla
    >>> rng = np.random.default_rng(0)
    >>> Q, _ = np.linalg.qr(rng.standard_normal((400, 400)))
    >>> flat = (Q * np.linspace(1.0, 3.0, 400)) @ Q.T
    >>> fast = (Q * 0.7 ** np.arange(400)) @ Q.T
    >>> randla.trace(flat, 100, rng=1).method
    'auto:hutchinson'
    >>> randla.trace(fast, 100, rng=1).method
    'auto:xtrace'
    >>> randla.trace(fast, 30, method="hutchpp", rng=1).num_matvecs
    30
    """
    if not isinstance(method, str) or method not in TRACE_METHODS:
        raise ValueError(f"method must be one of {TRACE_METHODS}, got {method!r}")
    if probe is None:
        probe = _DEFAULT_PROBE[method]
    adaptive_args = {"rtol": rtol, "atol": atol, "block_size": block_size}
    if method in ("hutchinson", "xtrace"):
        func = hutchinson if method == "hutchinson" else xtrace
        return func(A, num_matvecs=num_matvecs, probe=probe, rng=rng, confidence=confidence,
                    **adaptive_args)
    given = [k for k, v in adaptive_args.items() if v is not None]
    if given:
        raise ValueError(
            f"{', '.join(given)}: adaptive stopping is available for method="
            f"'hutchinson' and 'xtrace', not {method!r}"
        )
    if method == "auto":
        op, n, m, probe = check_estimator_args(A, num_matvecs, probe, method="auto",
                                               minimum=1, why="one probe")
        return _auto_body(op, n, m, probe, as_generator(rng), check_confidence(confidence))
    funcs = {"hutchpp": hutchpp, "na_hutchpp": na_hutchpp, "xnystrace": xnystrace}
    return funcs[method](A, num_matvecs=num_matvecs, probe=probe, rng=rng,
                         confidence=confidence)


# -- bodies of XTrace, XNysTrace and "auto" (validated input) -------------------


def _xtrace_body(op, m, probe, rng, rtol, atol, block_size, confidence):
    start = counter(op)
    sketch = XTraceSketch(op, improved=probe == "sphere")
    mean, se, dof = run(op, sketch, probe, rng, cap=m // 2, rtol=rtol, atol=atol,
                        block_size=block_size, confidence=confidence)
    return result(op, start, "xtrace", mean, se, dof, confidence)


def _with_rounding(se: float, size: float) -> float:
    """``std_error`` with a rounding floor: ``sqrt(se^2 + (2 size)^2)``.

    ``size`` is the rounding scale of the computed estimate (``eps`` times the
    magnitude of its parts): when the statistical error reaches machine
    precision (fast decay, a sketch that captures ``A``) the interval keeps
    covering the floating-point error.
    """
    return (se * se + 4.0 * size * size) ** 0.5 if se == se else se


def _xnystrace_body(op, m, probe, rng, confidence):
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
    single, pairs = xnystrace_estimates(xp, Omega, Y, improved=probe == "sphere",
                                        leave_two_out=True)
    mean = xp.mean(single)
    se, dof = exchangeable_std_error(xp, single, pairs)
    # the stabilising shift nu = eps ||Y||_F / sqrt(n) perturbs the estimate by
    # up to nu n (xnystrace_estimates): a rounding floor of that size
    n = int(Omega.shape[0])
    se = _with_rounding(se, eps(xp, Y.dtype) * to_scalar(xp.linalg.vector_norm(Y)) * n**0.5)
    return result(op, start, "xnystrace", mean, se, dof, confidence)


#: below this budget "auto" is plain Hutchinson (no room for a pilot block)
_AUTO_MIN_MATVECS = 12
#: choose XTrace when it is predicted to capture more than this energy fraction
_AUTO_CAPTURE = 0.5


def _auto_body(op, n, m, probe, rng, confidence):
    """Pilot block, captured energy, then XTrace or Hutchinson (see :func:`trace`)."""
    xp = op.xp
    start = counter(op)
    k_final = min(m // 2, n)
    pilot = min(max(3, m // 4), k_final)
    if m < _AUTO_MIN_MATVECS or pilot < 3:
        return _hutchinson_body(op, m, probe, rng, None, None, 1, confidence,
                                "auto:hutchinson")
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
    mean, se, dof = run(op, integrand, probe, rng, cap=cap, confidence=confidence)
    return result(op, start, method, mean, se, dof, confidence)
