"""Shot scheduling helpers."""

import pytest

from randla.apps.fwi import ShotExecutor, have_dask, shot_map, shot_seeds


def test_serial_executor_and_seeds():
    with ShotExecutor("serial") as ex:
        assert ex.mode == "serial"
        assert ex.map(pow, [(3,), (4,)], shared=(2,)) == [8, 16]
        assert shot_map(pow, [(2, 3)], parallel=ex) == [8]
    assert shot_seeds(5, 4) == shot_seeds(5, 4)
    assert shot_seeds(5, 4)[:2] == shot_seeds(5, 2)
    assert len(set(shot_seeds(5, 16))) == 16
    assert all(0 <= s < 2**63 for s in shot_seeds(None, 3))
    with pytest.raises(ValueError):
        shot_seeds(0, -1)
    with pytest.raises(TypeError, match="parallel"):
        ShotExecutor(object())
    assert isinstance(have_dask(), bool)


def test_dask_executor_borrowed_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        ex = ShotExecutor(client)
        assert ex.mode == "dask"
        assert ex.map(pow, [(3,), (4,), (5,)], shared=(2,), progress=True) == [8, 16, 32]
        ex.close()  # borrowed: the client stays usable
        assert client.submit(pow, 2, 2).result() == 4
