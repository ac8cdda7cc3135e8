"""Per-shot task scheduling: Dask (``dask.distributed``) or a plain serial loop.

Seismic objectives are sums over shots of independent wave simulations, the
textbook embarrassingly parallel workload. :class:`ShotExecutor` runs a
function on every shot either on a Dask cluster (a ``LocalCluster`` it starts
by default, or an existing cluster given by its scheduler address, a
``distributed.Client`` or a cluster object) or serially when Dask is not
installed (or ``parallel="serial"``). Results always come back in shot
order and every random choice is derived from per-shot seeds fixed before
scheduling (:func:`shot_seeds`), so Dask and serial runs return identical
numbers.

References
----------
M. Rocklin, "Dask: parallel computation with blocked algorithms and task
scheduling", Proceedings of the 14th Python in Science Conference, 2015.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import numpy as np

from randla.random import seed_from

__all__ = ["ShotExecutor", "have_dask", "shot_map", "shot_seeds"]


def have_dask() -> bool:
    """Whether ``dask.distributed`` can be imported (else the drivers run serially).

    Examples
    --------
    >>> from randla.apps.fwi import have_dask
    >>> isinstance(have_dask(), bool)
    True
    """
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def shot_seeds(rng: Any, num_shots: int, /) -> list[int]:
    """Independent per-shot seeds derived deterministically from ``rng``.

    One integer is drawn from ``rng`` and expanded with
    :class:`numpy.random.SeedSequence`, so shot ``i`` gets the same seed
    whatever the scheduling order, the number of workers or the backend.

    Parameters
    ----------
    rng : int, numpy.random.Generator or None
    num_shots : int

    Returns
    -------
    list of int

    Examples
    --------
    >>> from randla.apps.fwi import shot_seeds
    >>> shot_seeds(0, 3) == shot_seeds(0, 3), len(set(shot_seeds(0, 3)))
    (True, 3)
    """
    if int(num_shots) != num_shots or num_shots < 0:
        raise ValueError(f"num_shots must be a non-negative integer, got {num_shots!r}")
    base = np.random.SeedSequence(seed_from(rng))
    return [int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)) for child in base.spawn(int(num_shots))]


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is in the apps/test extras
        return None
    return tqdm(total=total, desc=desc, leave=False)


class ShotExecutor:
    """Run per-shot tasks serially or on Dask; results in shot order.

    Parameters
    ----------
    parallel : None, "serial", "dask", str, distributed.Client or cluster
        ``None``: Dask (a new ``LocalCluster``) when ``dask.distributed`` is
        installed, else serial. ``"serial"``: a plain loop. ``"dask"``: a new
        ``LocalCluster``. Any other string: the address of an existing
        scheduler (``"tcp://host:8786"``). A ``Client`` or a cluster object
        (anything with ``scheduler_address``) is used as is and not closed.
    n_workers : int, optional
        Workers of the ``LocalCluster`` (default: number of CPUs, at most 8).
    threads_per_worker : int, default 1
    processes : bool, default True
        ``LocalCluster`` with worker processes (``False``: threads in this
        process, cheaper to start, used by the tests).

    Attributes
    ----------
    mode : {"serial", "dask"}
    client : distributed.Client or None

    Raises
    ------
    ImportError
        If Dask is requested explicitly but not installed.
    TypeError
        For an unsupported ``parallel`` value.

    Examples
    --------
    >>> from randla.apps.fwi import ShotExecutor
    >>> with ShotExecutor("serial") as ex:
    ...     ex.map(pow, [(2, 3), (3, 2)])
    [8, 9]
    """

    def __init__(self, parallel: Any = None, *, n_workers: int | None = None, threads_per_worker: int = 1,
                 processes: bool = True) -> None:
        self.client = None
        self._owned: list = []
        if isinstance(parallel, ShotExecutor):
            raise TypeError("pass the ShotExecutor itself to the drivers, not wrapped in another")
        if parallel is None:
            parallel = "dask" if have_dask() else "serial"
        if isinstance(parallel, str) and parallel == "serial":
            self.mode = "serial"
            return
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ImportError("parallel=%r needs dask.distributed (pip install 'dask[distributed]')"
                              % (parallel,)) from exc
        self.mode = "dask"
        if isinstance(parallel, str) and parallel == "dask":
            workers = n_workers or min(8, os.cpu_count() or 1)
            cluster = LocalCluster(n_workers=workers, threads_per_worker=int(threads_per_worker),
                                   processes=bool(processes), dashboard_address=None)
            self._owned.append(cluster)
            self.client = Client(cluster)
            self._owned.insert(0, self.client)
        elif isinstance(parallel, str):
            self.client = Client(parallel)
            self._owned.append(self.client)
        elif isinstance(parallel, Client):
            self.client = parallel
        elif hasattr(parallel, "scheduler_address"):
            self.client = Client(parallel)
            self._owned.append(self.client)
        else:
            raise TypeError(
                "parallel must be None, 'serial', 'dask', a scheduler address, a distributed.Client "
                f"or a cluster, got {type(parallel).__name__}"
            )

    def map(self, fn: Callable, tasks: Sequence[tuple], /, *, shared: tuple = (), progress: bool = False,
            desc: str = "shots") -> list:
        """``[fn(*shared, *task) for task in tasks]``, in order.

        On Dask every entry of ``shared`` is scattered once to the workers.
        """
        tasks = [tuple(t) for t in tasks]
        bar = _progress(len(tasks), desc, progress)
        try:
            if self.mode == "serial":
                out = []
                for task in tasks:
                    out.append(fn(*shared, *task))
                    if bar is not None:
                        bar.update(1)
                return out
            from distributed import as_completed

            client = self.client
            handles = [client.scatter(obj, broadcast=True, hash=False) for obj in shared]
            futures = [client.submit(fn, *handles, *task, pure=False) for task in tasks]
            if bar is not None:
                for _ in as_completed(futures):
                    bar.update(1)
            return client.gather(futures)
        finally:
            if bar is not None:
                bar.close()

    def close(self) -> None:
        """Close the client and cluster this executor started (not borrowed ones)."""
        for obj in self._owned:
            obj.close()
        self._owned = []

    def __enter__(self) -> "ShotExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ShotExecutor(mode={self.mode!r})"


def shot_map(fn: Callable, tasks: Sequence[tuple], /, *, parallel: Any = None, shared: tuple = (),
             progress: bool = False, desc: str = "shots") -> list:
    """One-off :meth:`ShotExecutor.map` (a :class:`ShotExecutor` passed as
    ``parallel`` is reused and left open; otherwise one is started and closed).

    Examples
    --------
    >>> from randla.apps.fwi import shot_map
    >>> shot_map(divmod, [(7, 2), (9, 4)], parallel="serial")
    [(3, 1), (2, 1)]
    """
    if isinstance(parallel, ShotExecutor):
        return parallel.map(fn, tasks, shared=shared, progress=progress, desc=desc)
    with ShotExecutor(parallel) as ex:
        return ex.map(fn, tasks, shared=shared, progress=progress, desc=desc)
