"""Leave-one-out algebra of the exchangeable estimators (XTrace, XNysTrace, XDiag).

These estimators average ``k`` leave-one-out estimates, one per test vector
``omega_i``: a low-rank approximation built from the *other* ``k - 1`` test
vectors, whose trace is exact, plus a one-vector Hutchinson estimate of the
residual with ``omega_i`` (independent of that approximation, so the estimate
is unbiased). The spread of the ``k`` estimates gives the error estimate
``std(estimates) / sqrt(k)``. The efficient forms below never form the ``k``
approximations: they downdate one QR factorisation (XTrace, XDiag) or one
Nyström approximation (XNysTrace) with ``O(n k^2)`` extra work in total.

Reference (cited once for this package): E. N. Epperly, J. A. Tropp, R. J.
Webber, "XTrace: making the most of every sample in stochastic trace
estimation", SIAM J. Matrix Anal. Appl. 45 (2024), Sections 2-4 and the
implementation notes of their Section 5. The formulas are derived again in the
comments below.
"""

from __future__ import annotations

from typing import Any

from ..backend import array_namespace, device_of, to_scalar
from ..operators import LinearOperator
from ._driver import apply, eps

__all__ = [
    "XTraceSketch",
    "exchangeable_std_error",
    "improved_scale",
    "loo_directions",
    "loo_residual_norms",
    "regularized_inverse",
    "xnystrace_estimates",
    "xtrace_leave_two_out",
]


def regularized_inverse(xp: Any, R: Any) -> Any:
    """Inverse of an upper-triangular ``R`` with tiny diagonal entries lifted.

    Diagonal entries smaller than ``k eps max|R|`` (rank-deficient sketches)
    are replaced by that floor, with their sign kept, so the inverse exists;
    the directions it produces for such columns are arbitrary unit vectors,
    which is all the exchangeable estimators need there.
    """
    k = int(R.shape[0])
    dtype = R.dtype
    scale = to_scalar(xp.max(xp.abs(R))) if k > 0 else 0.0
    floor = k * eps(xp, dtype) * scale if scale > 0 else 1.0
    diag = xp.linalg.diagonal(R)
    up = xp.full_like(diag, floor)
    lifted = xp.where(xp.abs(diag) < floor, xp.where(diag >= 0, up, -up), diag)
    eye = xp.eye(k, dtype=dtype, device=device_of(R))
    return xp.linalg.inv(R + eye * (lifted - diag)[None, :])


def loo_directions(xp: Any, R: Any) -> Any:
    """Unit vectors ``S[:, i]`` orthogonal to every column of ``R`` but the i-th.

    For ``Y = Q R`` (reduced QR), ``Q S[:, i]`` is the unit direction of
    ``range(Y)`` orthogonal to the other columns of ``Y``: removing it from
    ``Q`` gives an orthonormal basis of ``range(Y without column i)``. The
    columns are the normalised columns of ``R^{-T}`` (Epperly, Tropp, Webber
    2024, Section 2.1), i.e. the normalised rows of ``R^{-1}``.
    """
    rinv = regularized_inverse(xp, R)
    rows = rinv.T  # column i is row i of R^{-1}
    big = xp.max(xp.abs(rows), axis=0, keepdims=True)
    rows = rows / big
    return rows / xp.sqrt(xp.sum(rows * rows, axis=0, keepdims=True))


def loo_residual_norms(xp: Any, R: Any) -> Any:
    """``||(I - P_{-i}) y_i||`` for ``Y = Q R``: distance of column i to the others.

    Equals ``1 / ||row i of R^{-1}||``; zero (up to rounding) when the column
    lies in the span of the others.
    """
    rinv = regularized_inverse(xp, R)
    big = xp.max(xp.abs(rinv), axis=1)
    scaled = rinv / big[:, None]
    return (1.0 / big) / xp.sqrt(xp.sum(scaled * scaled, axis=1))


def _diag_prod(xp: Any, X: Any, Y: Any) -> Any:
    """``diag(X^T Y)`` without forming the product."""
    return xp.sum(X * Y, axis=0)


def improved_scale(xp: Any, Omega: Any, W: Any, S: Any) -> Any:
    """Rescaling of the residual term for sphere test vectors ("XTrace improved").

    ``P_i`` is the orthogonal projector onto the span left after removing
    direction ``Q s_i`` from ``range(Q)``; ``W = Q^T Omega``. Given the other
    test vectors, ``(I - P_i) omega_i`` of a sphere vector points uniformly in
    the ``n - k + 1`` dimensional complement, so normalising its squared length
    to ``n - k + 1`` keeps the residual estimate unbiased and removes the
    length fluctuation (Epperly, Tropp, Webber 2024, Section 2.2). Returns the
    factor ``(n - k + 1) / ||(I - P_i) omega_i||^2`` per test vector, using
    ``||(I - P_i) w||^2 = ||w||^2 - ||Q^T w||^2 + (s_i^T Q^T w)^2``.
    """
    n, k = int(Omega.shape[0]), int(Omega.shape[1])
    c = _diag_prod(xp, S, W)
    left = _diag_prod(xp, Omega, Omega) - _diag_prod(xp, W, W) + c * c
    tiny = eps(xp, Omega.dtype) * float(n)
    left = xp.where(left > tiny, left, xp.full_like(left, tiny))
    return (n - k + 1) / left


class XTraceSketch:
    """Growing XTrace sketch of an operator.

    Holds test vectors ``Omega`` (``n x k``), ``Y = A Omega``, an orthonormal
    basis ``Q`` of ``range(Y)`` with ``R = Q^T Y`` upper triangular, and
    ``Z = A Q``. :meth:`add` appends a block: ``Y_b`` is orthogonalised
    against ``Q`` (block Gram-Schmidt, twice) and QR-factorised, so the
    earlier columns of ``Q`` and ``Z`` stay valid and only ``A Q_b`` is new.
    Each block costs ``2 b`` products with ``A``.
    """

    def __init__(self, op: LinearOperator, *, improved: bool = False) -> None:
        self.op = op
        self.xp = op.xp
        self.improved = improved
        self.Omega = self.Y = self.Q = self.Z = self.R = None

    @property
    def num_vectors(self) -> int:
        return 0 if self.Omega is None else int(self.Omega.shape[1])

    def add(self, Omega_b: Any, Y_b: Any) -> None:
        """Append test vectors ``Omega_b`` with ``Y_b = A Omega_b`` (already applied)."""
        xp = self.xp
        if self.Q is None:
            Q_b, R = xp.linalg.qr(Y_b)
            self.Omega, self.Y, self.Q, self.R = Omega_b, Y_b, Q_b, R
        else:
            Q = self.Q
            C = Q.T @ Y_b
            V = Y_b - Q @ C
            C2 = Q.T @ V  # second pass ("twice is enough" for the residual)
            V = V - Q @ C2
            Q_b, R_b = xp.linalg.qr(V)
            # When Y_b is numerically inside range(Q) (fast decay), V is
            # rounding noise and its normalised QR factor loses orthogonality
            # to Q; one pass on the unit-norm Q_b restores it, and the removed
            # part is booked in the coupling block so that Y = Q R still holds:
            # Q_b = Q X + Q_b' R'  =>  Y_b = Q (C + X R_b) + Q_b' (R' R_b).
            X = Q.T @ Q_b
            Q_b, R_fix = xp.linalg.qr(Q_b - Q @ X)
            C = C + C2 + X @ R_b
            R_b = R_fix @ R_b
            k, b = self.num_vectors, int(Y_b.shape[1])
            zeros = xp.zeros((b, k), dtype=R_b.dtype, device=device_of(R_b))
            top = xp.concat([self.R, C], axis=1)
            self.R = xp.concat([top, xp.concat([zeros, R_b], axis=1)], axis=0)
            self.Omega = xp.concat([self.Omega, Omega_b], axis=1)
            self.Y = xp.concat([self.Y, Y_b], axis=1)
            self.Q = xp.concat([Q, Q_b], axis=1)
        Z_b = apply(self.op, Q_b)
        self.Z = Z_b if self.Z is None else xp.concat([self.Z, Z_b], axis=1)

    def samples(self) -> Any:
        """The leave-one-out estimates (their mean is the XTrace estimate)."""
        return self.estimates(self.improved)

    def stats(self) -> tuple[Any, float, int]:
        """``(estimate, std_error, dof)``: the integrand protocol of :func:`run`.

        ``std_error`` is the calibrated :func:`exchangeable_std_error`.
        """
        S = loo_directions(self.xp, self.R)  # shared by both (one k x k inverse)
        single = self.estimates(self.improved, S)
        k = int(single.shape[0])
        if k < 2:
            return self.xp.mean(single), float("nan"), 0
        mean = self.xp.mean(single)
        pairs = xtrace_leave_two_out(self, S)
        se, dof = exchangeable_std_error(self.xp, single, pairs)
        return mean, se, dof

    def estimates(self, improved: bool, S: Any = None) -> Any:
        """The ``k`` leave-one-out estimates (their mean is the XTrace estimate).

        With ``P_i = Q Q^T - Q s_i s_i^T Q^T`` (the projector onto the range of
        ``Y`` without column ``i``), estimate ``i`` is

            tr(P_i A P_i) + r_i^T A r_i,   r_i = (I - P_i) omega_i.

        Writing ``w = Q^T omega_i``, ``c = s_i^T w``, ``t = Z^T omega_i``,
        ``H = Q^T A Q`` and using ``(I - Q Q^T) y_i = 0``:

            tr(P_i A P_i) = tr(H) - s^T H s
            r^T A r = -t^T w + w^T H w + c s^T (r_i - H w)
                      + c (t - H^T w)^T s + c^2 s^T H s

        (``r_i`` the i-th column of ``R``). No symmetry of ``A`` is assumed.
        """
        xp = self.xp
        Q, Z, R, Omega = self.Q, self.Z, self.R, self.Omega
        H = Q.T @ Z
        W = Q.T @ Omega
        T = Z.T @ Omega
        S = loo_directions(xp, R) if S is None else S
        HS = H @ S
        HW = H @ W
        c = _diag_prod(xp, S, W)
        dSHS = _diag_prod(xp, S, HS)
        residual = (
            -_diag_prod(xp, T, W)
            + _diag_prod(xp, W, HW)
            + c * _diag_prod(xp, S, R - HW)
            + c * _diag_prod(xp, T - H.T @ W, S)
            + c * c * dSHS
        )
        if improved:
            residual = residual * improved_scale(xp, Omega, W, S)
        return xp.sum(xp.linalg.diagonal(H)) - dSHS + residual


def xnystrace_estimates(xp: Any, Omega: Any, Y: Any, improved: bool,
                        leave_two_out: bool = False) -> Any:
    """The ``k`` leave-one-out XNysTrace estimates from ``Y = A Omega`` (A PSD).

    Robust eigh-based form. Shift ``A_nu = A + nu I`` with ``nu = eps
    ||Y||_F / sqrt(n)`` (``Y_nu = Y + nu Omega``) and factor the core
    ``H = Omega^T Y_nu = V diag(lam) V^T`` with :func:`eigh` instead of a
    Cholesky factorisation, which fails when rounding leaves ``H`` numerically
    indefinite: eigenvalues below ``eps max(lam)`` are lifted to that floor
    (``lam~``), so the core ``H~ = V diag(lam~) V^T`` is always positive
    definite. With ``Y_nu = Q R`` the Nyström approximation
    ``A_hat = Y_nu H~^{-1} Y_nu^T = Q B B^T Q^T``, ``B = R V lam~^{-1/2}``, has
    trace ``||B||_F^2``.

    Leave-one-out: by the Schur complement of ``H~``, removing test vector
    ``i`` subtracts ``u_i u_i^T`` from ``A_hat``, with ``u_i = Y_nu H~^{-1}
    e_i / sqrt((H~^{-1})_ii) = Q s_i``. The held-out residual is
    ``omega_i^T (A_nu - A_hat + u_i u_i^T) omega_i = (H - H H~^{-1} H)_ii +
    (w_i^T s_i)^2`` with ``w_i = Q^T omega_i``; the first term, ``sum_j
    V_ij^2 lam_j (1 - lam_j / lam~_j)``, vanishes unless eigenvalues were
    lifted (Nyström interpolates the test vectors). Hence

        estimate_i = ||B||_F^2 - ||s_i||^2 + (H - H H~^{-1} H)_ii
                     + (w_i^T s_i)^2 - nu n

    (Epperly, Tropp, Webber 2024, Section 3, for the unlifted form).
    """
    n, k = int(Omega.shape[0]), int(Omega.shape[1])
    e = eps(xp, Y.dtype)
    nu = e * to_scalar(xp.linalg.vector_norm(Y)) / n**0.5
    Y_nu = Y + nu * Omega
    Q, R = xp.linalg.qr(Y_nu)
    H = Omega.T @ Y_nu
    H = 0.5 * (H + H.T)
    lam, V = xp.linalg.eigh(H)
    floor = e * max(to_scalar(xp.max(lam)), 0.0)
    if floor == 0.0:  # A Omega = 0: the zero matrix (on the sketch)
        floor = 1.0
    lifted = xp.where(lam > floor, lam, xp.full_like(lam, floor))
    inv_lam = 1.0 / lifted
    V2 = V * V
    not_interpolated = xp.sum(V2 * (lam * (1.0 - lam * inv_lam))[None, :], axis=1)
    B = R @ (V * xp.sqrt(inv_lam)[None, :])
    trace_nys = xp.sum(B * B)
    G = (B * xp.sqrt(inv_lam)[None, :]) @ V.T  # R H~^{-1}: Y_nu H~^{-1} in Q
    d = xp.sum(V2 * inv_lam[None, :], axis=1)  # diag(H~^{-1}) > 0
    S = G / xp.sqrt(d)[None, :]
    W = Q.T @ Omega
    c = _diag_prod(xp, S, W)
    residual = c * c
    if improved:
        # the residual form vanishes on range(Omega without column i): the
        # projector of the rescaling is the one of Omega's own QR
        Q_om, R_om = xp.linalg.qr(Omega)
        S_om = loo_directions(xp, R_om)
        W_om = Q_om.T @ Omega
        residual = residual * improved_scale(xp, Omega, W_om, S_om)
    single = trace_nys - _diag_prod(xp, S, S) + not_interpolated + residual - nu * n
    if not leave_two_out:
        return single
    # Leave two out (i, j): by the Schur complement the Nystrom approximation
    # without both loses Q S_2 F_2^{-1} S_2^T Q^T, S_2 = [s_i, s_j] and F_2 the
    # 2 x 2 block of the correlation matrix of H~^{-1}; the held-out vector
    # omega_i sees (S_2^T w_i)^T F_2^{-1} (S_2^T w_i) of it.
    Fc = (V * inv_lam[None, :]) @ V.T  # H~^{-1}
    Fc = Fc / xp.sqrt(d)[:, None] / xp.sqrt(d)[None, :]
    M = S.T @ S
    C = S.T @ W
    g1, g2, det = _pair_solve(Fc, C)
    dM = xp.linalg.diagonal(M)
    removed = (dM[:, None] + dM[None, :] - 2.0 * Fc * M) / det
    pair_res = g1 * xp.linalg.diagonal(C)[:, None] + g2 * C.T
    if improved:
        o1, o2, _ = _pair_solve(S_om.T @ S_om, S_om.T @ W_om)
        v2 = o1 * o1 + 2.0 * (S_om.T @ S_om) * o1 * o2 + o2 * o2
        tiny = eps(xp, Omega.dtype) * float(n)
        v2 = xp.where(v2 > tiny, v2, xp.full_like(v2, tiny))
        pair_res = pair_res * ((n - k + 2) / v2)
    pairs = trace_nys - removed + not_interpolated[:, None] + pair_res - nu * n
    return single, pairs


def _pair_solve(G: Any, C: Any) -> tuple[Any, Any, Any]:
    """Per pair ``(i, j)``: coefficients of ``w_i`` on ``span(s_i, s_j)``.

    ``G = S^T S`` (unit diagonal), ``C = S^T W``. Returns ``(g1, g2, det)``
    with ``v_ij = g1[i, j] s_i + g2[i, j] s_j`` the orthogonal projection of
    ``w_i`` onto ``span(s_i, s_j)`` and ``det = 1 - G_ij^2`` (floored).
    """
    xp = array_namespace(G)
    c1 = xp.linalg.diagonal(C)[:, None]  # s_i^T w_i
    c2 = C.T  # [i, j] = s_j^T w_i
    det = 1.0 - G * G
    floor = 4.0 * eps(xp, G.dtype)
    det = xp.where(det > floor, det, xp.full_like(det, floor))
    return (c1 - G * c2) / det, (c2 - G * c1) / det, det


def xtrace_leave_two_out(sketch: XTraceSketch, S: Any = None) -> Any:
    """The ``k`` XTrace estimates with one test vector left out entirely.

    Entry ``j`` is the XTrace estimate from the ``k - 1`` test vectors other
    than ``omega_j`` (its own basis ``range(Y without column j)`` and its own
    leave-one-out estimates): ``(1/(k-1)) sum_{i != j} t_ij`` with ``t_ij``
    the estimate that projects onto ``range(Y without columns i, j)`` and
    probes the residual with ``omega_i``. In ``Q`` coordinates the removed
    plane is ``span(s_i, s_j)`` (``S`` of :func:`loo_directions`: ``s_a`` is
    orthogonal to every column of ``R`` but the a-th), so with ``v`` the
    projection of ``w_i = Q^T omega_i`` onto it and ``U`` an orthonormal
    basis of it::

        t_ij = tr(H) - tr(U^T H U) + a_i + e_i^T v + v^T H v,
        a_i = w_i^T H w_i - t_i^T w_i,   e_i = (t_i - H^T w_i) + (r_i - H w_i)

    (``t_i = Z^T omega_i``; the single-direction case is
    :meth:`XTraceSketch.estimates`), all ``k^2`` pairs from four ``k x k``
    products: ``O(k^3)`` work, no product with ``A``.
    """
    xp = sketch.xp
    Q, Z, R, Omega = sketch.Q, sketch.Z, sketch.R, sketch.Omega
    n, k = int(Omega.shape[0]), int(Omega.shape[1])
    H = Q.T @ Z
    W = Q.T @ Omega
    T = Z.T @ Omega
    S = loo_directions(xp, R) if S is None else S
    HW = H @ W
    a = _diag_prod(xp, W, HW) - _diag_prod(xp, T, W)
    E = (T - H.T @ W) + (R - HW)
    G = S.T @ S
    C = S.T @ W
    D = S.T @ E
    K = S.T @ H @ S
    g1, g2, det = _pair_solve(G, C)
    dK = xp.linalg.diagonal(K)
    Ksym = K + K.T
    low_rank = xp.sum(xp.linalg.diagonal(H)) - (dK[:, None] + dK[None, :] - G * Ksym) / det
    residual = (a[:, None] + g1 * xp.linalg.diagonal(D)[:, None] + g2 * D.T
                + g1 * g1 * dK[:, None] + g1 * g2 * Ksym + g2 * g2 * dK[None, :])
    if sketch.improved:
        v2 = g1 * g1 + 2.0 * G * g1 * g2 + g2 * g2
        left = (_diag_prod(xp, Omega, Omega) - _diag_prod(xp, W, W))[:, None] + v2
        tiny = eps(xp, Omega.dtype) * float(n)
        left = xp.where(left > tiny, left, xp.full_like(left, tiny))
        residual = residual * ((n - k + 2) / left)
    return low_rank + residual  # [i, j]; the diagonal i == j is not an estimate


def exchangeable_std_error(xp: Any, single: Any, pairs: Any) -> tuple[float, float]:
    """Calibrated standard error of an exchangeable estimate ``mean(t_i)``.

    ``single[i] = t_i`` are the ``k`` leave-one-out estimates, ``pairs[i, j] =
    t_ij`` the estimates that also leave ``omega_j`` out of the low-rank part
    (same probe ``omega_i``). Each ``t_i`` is unbiased given the other test
    vectors, and writing ``t_i = t_ij + d_ij`` shows (condition on the other
    ``k - 2`` vectors; every cross term has a factor with conditional mean
    zero) that ``Cov(t_i, t_j) = E[d_ij d_ji]``. With ``s^2`` the sample
    variance of the ``t_i`` (``E s^2 = Var t_1 - Cov(t_1, t_2)``)::

        Var(mean t_i) = E[s^2] / k + Cov(t_1, t_2)
        std_error^2   = s^2 / k + max(0, mean_{i != j} d_ij d_ji)
                        + (2 eps mean|t_i|)^2

    The first two terms are an unbiased estimate of the variance except for the
    clamp; the plain exchangeable estimate ``s^2 / k`` of Epperly, Tropp and
    Webber (2024, Section 2.3) misses the covariance, which is positive on
    decaying spectra (the ``t_i`` share ``k - 2`` of their basis vectors);
    the last term is a rounding floor (a few ulp of the estimate).

    Degrees of freedom (Welch-Satterthwaite moment matching): ``k std_error^2``
    (without the floor) is the mean of ``k`` per-vector contributions ``u_i =
    k/(k-1) ((t_i - mean)^2 + sum_{j != i} d_ij d_ji)``; matching
    ``std_error^2 ~ Var chi^2_nu / nu`` gives ``nu = 2 k mean(u)^2 / var(u)``,
    clipped to ``[1, k - 1]`` (``k - 1`` for Gaussian ``t_i``). It is small when
    a few test vectors dominate the estimate, as at the phase transition where
    ``k`` is close to the rank of a step spectrum; there ``k - 1`` degrees of
    freedom undercover (0.89 instead of 0.95 on the XTrace suite).
    Returns ``(std_error, dof)``.
    """
    k = int(single.shape[0])
    mean = xp.mean(single)
    s2 = to_scalar(xp.sum((single - mean) ** 2)) / (k - 1)
    d = single[:, None] - pairs
    eye = xp.eye(k, dtype=d.dtype, device=device_of(d))
    cross = xp.sum(d * d.T * (1.0 - eye), axis=1)
    cov = to_scalar(xp.sum(cross)) / (k * (k - 1))
    floor = 2.0 * eps(xp, single.dtype) * to_scalar(xp.mean(xp.abs(single)))
    var = max(s2 / k + max(cov, 0.0), 0.0)
    u = (single - mean) ** 2 + (cross if cov > 0 else 0.0 * cross)
    u_mean = to_scalar(xp.mean(u))
    u_var = to_scalar(xp.sum((u - u_mean) ** 2)) / (k - 1) if k > 1 else 0.0
    dof = float(k - 1)
    if u_var > 0:
        dof = min(dof, max(1.0, 2.0 * k * u_mean * u_mean / u_var))
    return (var + floor * floor) ** 0.5, dof
