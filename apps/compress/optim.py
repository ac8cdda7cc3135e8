"""First-order optimisers on lists of arrays: Adam and LAMB, and the step-decay schedule.

Both are functional: ``params = opt.step(params, grads)`` returns new arrays
(no in-place writes, so any array-API namespace works). The learning rate is
the attribute ``learning_rate``; :func:`step_decay` gives the paper's schedule
(``1e-3``, halved every 5 epochs; Wittmer et al. 2023, Table 2).

References
----------
D. P. Kingma and J. Ba, "Adam: a method for stochastic optimization", ICLR 2015.

Y. You, J. Li, S. Reddi et al., "Large batch optimization for deep learning:
training BERT in 76 minutes", ICLR 2020 (arXiv:1904.00962, 2019): LAMB.
"""

from __future__ import annotations

import math
from typing import Any

from randla.backend import namespace

__all__ = ["LAMB", "Adam", "step_decay"]


def step_decay(epoch: int, /, *, learning_rate: float = 1e-3, factor: float = 0.5, every: int = 5) -> float:
    """Learning rate at ``epoch`` (0-based): ``learning_rate * factor ** (epoch // every)``.

    Examples
    --------
    >>> from randla.apps.compress import step_decay
    >>> [step_decay(e) for e in (0, 4, 5, 19)]
    [0.001, 0.001, 0.0005, 0.000125]
    """
    if int(epoch) != epoch or epoch < 0:
        raise ValueError(f"epoch must be a non-negative integer, got {epoch!r}")
    if int(every) != every or every < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    return float(learning_rate) * float(factor) ** (int(epoch) // int(every))


class Adam:
    """Adam with bias correction.

    Parameters
    ----------
    learning_rate : float
        Step size (default ``1e-3``).
    beta1, beta2, eps : float
        Moment decay rates and the denominator guard.

    References
    ----------
    D. P. Kingma and J. Ba, ICLR 2015.

    Examples
    --------
    Minimise ``|x - 3|^2``:

    >>> import numpy as np
    >>> from randla.apps.compress import Adam
    >>> opt, x = Adam(learning_rate=0.1), [np.zeros(2)]
    >>> for _ in range(300):
    ...     x = opt.step(x, [2 * (x[0] - 3.0)])
    >>> bool(np.allclose(x[0], 3.0, atol=1e-2))
    True
    """

    def __init__(self, *, learning_rate: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        for name, value in (("learning_rate", learning_rate), ("eps", eps)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive and finite, got {value!r}")
        for name, value in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        self.learning_rate = float(learning_rate)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.num_steps = 0
        self._m: list | None = None
        self._v: list | None = None

    def _moments(self, params: list, grads: list) -> tuple[Any, list]:
        if len(params) != len(grads):
            raise ValueError(f"got {len(grads)} gradients for {len(params)} parameters")
        xp = namespace(**{f"p{i}": p for i, p in enumerate(params)})
        if self._m is None:
            self._m = [xp.zeros_like(p) for p in params]
            self._v = [xp.zeros_like(p) for p in params]
        self.num_steps += 1
        b1, b2 = self.beta1, self.beta2
        c1 = 1.0 - b1 ** self.num_steps
        c2 = 1.0 - b2 ** self.num_steps
        updates = []
        for i, g in enumerate(grads):
            self._m[i] = b1 * self._m[i] + (1.0 - b1) * g
            self._v[i] = b2 * self._v[i] + (1.0 - b2) * (g * g)
            updates.append((self._m[i] / c1) / (xp.sqrt(self._v[i] / c2) + self.eps))
        return xp, updates

    def step(self, params: list, grads: list, /) -> list:
        """One update; returns the new parameter list."""
        _, updates = self._moments(params, grads)
        return [p - self.learning_rate * u for p, u in zip(params, updates)]


class LAMB(Adam):
    """LAMB: Adam's direction scaled per tensor by the trust ratio ``|w| / |r|``.

    ``r = m_hat / (sqrt(v_hat) + eps) + weight_decay * w`` and
    ``w <- w - lr * (|w| / |r|) r`` (ratio 1 when either norm is zero), which
    keeps large-batch training stable (the paper's optimiser, Table 2).

    Parameters
    ----------
    learning_rate, beta1, beta2, eps : float
        As :class:`Adam` (LAMB's customary ``eps = 1e-6``).
    weight_decay : float
        Decoupled weight decay ``lambda`` (default 0).

    References
    ----------
    Y. You et al., ICLR 2020 (arXiv:1904.00962), Algorithm 2.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import LAMB
    >>> opt, x = LAMB(learning_rate=0.05), [np.ones(2)]
    >>> for _ in range(400):
    ...     x = opt.step(x, [2 * (x[0] - 3.0)])
    >>> bool(np.allclose(x[0], 3.0, atol=5e-2))
    True
    """

    def __init__(self, *, learning_rate: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-6, weight_decay: float = 0.0) -> None:
        super().__init__(learning_rate=learning_rate, beta1=beta1, beta2=beta2, eps=eps)
        if not (math.isfinite(weight_decay) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be non-negative, got {weight_decay!r}")
        self.weight_decay = float(weight_decay)

    def step(self, params: list, grads: list, /) -> list:
        xp, updates = self._moments(params, grads)
        out = []
        for p, r in zip(params, updates):
            if self.weight_decay:
                r = r + self.weight_decay * p
            w_norm = float(xp.linalg.vector_norm(p))
            r_norm = float(xp.linalg.vector_norm(r))
            trust = w_norm / r_norm if w_norm > 0 and r_norm > 0 else 1.0
            out.append(p - (self.learning_rate * trust) * r)
        return out
