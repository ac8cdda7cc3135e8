"""Matrix-free 2-D parallel-beam Radon transform with its exact adjoint.

Ray-driven: the image (``n0 x n1`` pixels covering ``[-1, 1]^2``) is
interpolated bilinearly at points spaced ``h / samples_per_pixel`` along each
ray ``{x : x . (cos theta, sin theta) = s}`` and summed times the step. The
interpolation weights are recomputed per angle on every application (nothing
of size ``nnz`` is stored); the adjoint scatters with the same weights
(:func:`numpy.bincount`), so the dot test holds to rounding. NumPy only;
:meth:`RadonTransform.to_sparse` assembles the same matrix for repeated solves.

References
----------
F. Natterer, "The Mathematics of Computerized Tomography", SIAM (2001),
Chapter II; P. M. Joseph, "An improved algorithm for reprojecting rays
through pixel images", IEEE TMI 1(3) (1982) (ray-driven projection).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from randla import LinearOperator
from randla.backend import check_positive_int

__all__ = ["RadonTransform", "radon_operator"]


class RadonTransform:
    """Parallel-beam projector ``R`` (``num_angles * num_detectors x n0 * n1``).

    Parameters
    ----------
    image_shape : (int, int)
        Pixels; the image covers ``[-1, 1]^2`` (C order, axis 0 is ``y``).
    angles : sequence of float
        Projection angles in radians.
    num_detectors : int, optional
        Detector bins over ``[-sqrt 2, sqrt 2]`` (default ``ceil(sqrt(2) max(n0, n1))``).
    samples_per_pixel : int, default 1
        Ray samples per pixel width.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import RadonTransform
    >>> R = RadonTransform((16, 16), np.linspace(0, np.pi, 8, endpoint=False))
    >>> sino = R.forward(np.ones((16, 16)))
    >>> sino.shape, round(float(sino[0].max()), 3)  # at angle 0 every chord through the square is 2 long
    ((8, 23), 2.0)
    """

    def __init__(self, image_shape: Sequence[int], angles: Sequence[float], /, *, num_detectors: int | None = None,
                 samples_per_pixel: int = 1) -> None:
        shape = tuple(check_positive_int(s, "image_shape") for s in image_shape)
        if len(shape) != 2:
            raise ValueError(f"image_shape must have two entries, got {image_shape!r}")
        angles = np.asarray(angles, dtype=float).ravel()
        if angles.size == 0 or not np.all(np.isfinite(angles)):
            raise ValueError("angles must be a non-empty sequence of finite floats (radians)")
        self.image_shape = shape
        self.angles = angles
        nmax = max(shape)
        self.num_detectors = (math.ceil(math.sqrt(2) * nmax) if num_detectors is None
                              else check_positive_int(num_detectors, "num_detectors"))
        spp = check_positive_int(samples_per_pixel, "samples_per_pixel")
        self._h = (2.0 / shape[0], 2.0 / shape[1])
        half = math.sqrt(2.0)
        self.detectors = (np.arange(self.num_detectors) + 0.5) * (2 * half / self.num_detectors) - half
        dt = min(self._h) / spp
        nt = int(math.ceil(2 * half / dt))
        self._t = (np.arange(nt) + 0.5) * dt - half
        self._dt = dt
        self.shape = (angles.size * self.num_detectors, shape[0] * shape[1])

    def _weights(self, theta: float) -> tuple[np.ndarray, np.ndarray]:
        """Flat pixel indices and weights (4 per sample) of the rays at one angle."""
        c, s = math.cos(theta), math.sin(theta)
        S, T = np.meshgrid(self.detectors, self._t, indexing="ij")
        x = S * c - T * s
        y = S * s + T * c
        n0, n1 = self.image_shape
        fy = (y + 1.0) / self._h[0] - 0.5  # row coordinate
        fx = (x + 1.0) / self._h[1] - 0.5  # column coordinate
        i0 = np.floor(fy).astype(np.int64)
        j0 = np.floor(fx).astype(np.int64)
        wy = fy - i0
        wx = fx - j0
        idx, wts = [], []
        for di, wyy in ((0, 1.0 - wy), (1, wy)):
            for dj, wxx in ((0, 1.0 - wx), (1, wx)):
                ii, jj = i0 + di, j0 + dj
                ok = (ii >= 0) & (ii < n0) & (jj >= 0) & (jj < n1)
                idx.append(np.where(ok, ii * n1 + jj, 0))
                wts.append(np.where(ok, wyy * wxx * self._dt, 0.0))
        return np.stack(idx, axis=-1), np.stack(wts, axis=-1)  # (nd, nt, 4)

    def forward(self, image: np.ndarray, /) -> np.ndarray:
        """Sinogram ``(num_angles, num_detectors)`` of an image ``image_shape``."""
        f = np.asarray(image).reshape(-1)
        out = np.empty((self.angles.size, self.num_detectors), dtype=f.dtype)
        for a, theta in enumerate(self.angles):
            idx, w = self._weights(theta)
            out[a] = np.einsum("dtk,dtk->d", w, f[idx])
        return out

    def adjoint(self, sinogram: np.ndarray, /) -> np.ndarray:
        """Back-projection ``R^T`` of a sinogram, shape ``image_shape``."""
        p = np.asarray(sinogram).reshape(self.angles.size, self.num_detectors)
        n = self.shape[1]
        out = np.zeros(n, dtype=p.dtype)
        for a, theta in enumerate(self.angles):
            idx, w = self._weights(theta)
            out += np.bincount(idx.ravel(), weights=(w * p[a][:, None, None]).ravel(), minlength=n)
        return out.reshape(self.image_shape)

    def matmat(self, X: np.ndarray) -> np.ndarray:
        return np.stack([self.forward(X[:, j]).ravel() for j in range(X.shape[1])], axis=1)

    def rmatmat(self, Y: np.ndarray) -> np.ndarray:
        return np.stack([self.adjoint(Y[:, j]).ravel() for j in range(Y.shape[1])], axis=1)

    def to_sparse(self) -> Any:
        """The same matrix as ``scipy.sparse.csr_matrix`` (for many repeated products)."""
        import scipy.sparse as sp

        rows, cols, vals = [], [], []
        for a, theta in enumerate(self.angles):
            idx, w = self._weights(theta)
            r = a * self.num_detectors + np.broadcast_to(np.arange(self.num_detectors)[:, None, None], idx.shape)
            keep = w.ravel() != 0
            rows.append(r.ravel()[keep])
            cols.append(idx.ravel()[keep])
            vals.append(w.ravel()[keep])
        return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=self.shape)


def radon_operator(image_shape: Sequence[int], angles: Sequence[float], /, *, num_detectors: int | None = None,
                   samples_per_pixel: int = 1, sparse: bool = False) -> LinearOperator:
    """The Radon transform as a :class:`randla.LinearOperator` on flattened images (NumPy, float64).

    Parameters
    ----------
    image_shape, angles, num_detectors, samples_per_pixel
        See :class:`RadonTransform`.
    sparse : bool, default False
        ``True``: assemble the matrix once (:meth:`RadonTransform.to_sparse`)
        and apply it (faster for many products; same numbers to rounding).

    Returns
    -------
    randla.LinearOperator
        With ``rmatmat`` (the exact adjoint).

    Examples
    --------
    >>> import numpy as np
    >>> from randla import dot_test
    >>> from randla.apps.dias import radon_operator
    >>> R = radon_operator((12, 12), np.linspace(0, np.pi, 5, endpoint=False))
    >>> lhs, rhs = dot_test(R, rng=0)
    >>> abs(lhs - rhs) <= 1e-12 * abs(lhs)
    True
    """
    radon = RadonTransform(image_shape, angles, num_detectors=num_detectors, samples_per_pixel=samples_per_pixel)
    if sparse:
        A = radon.to_sparse()
        AT = A.T.tocsr()
        return LinearOperator(radon.shape, lambda X: A @ X, rmatmat=lambda Y: AT @ Y, dtype=np.float64, xp=np)
    return LinearOperator(radon.shape, radon.matmat, rmatmat=radon.rmatmat, dtype=np.float64, xp=np)
