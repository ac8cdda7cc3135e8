"""randla.apps.fwi keeps a sorted __all__ equal to its public names; the demo runs."""

import inspect

import randla.apps.fwi as fwi


def test_all_sorted_and_complete():
    public = {name for name, value in vars(fwi).items()
              if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"}
    assert list(fwi.__all__) == sorted(fwi.__all__)
    assert set(fwi.__all__) == public
    for name in fwi.__all__:
        assert getattr(fwi, name) is not None


def test_demo_entry_point_registered():
    from importlib.metadata import entry_points

    names = {ep.name: ep.value for ep in entry_points(group="randla.demos")}
    assert names.get("fwi") == "randla.apps.fwi.demo:run"


def test_demo_quick_writes_png(tmp_path, capsys):
    from randla.apps.fwi.demo import run

    run(out=str(tmp_path), quick=True)
    text = capsys.readouterr().out
    assert "probed data_qr, r=64" in text and "full storage" in text
    assert (tmp_path / "fwi_gradients.png").stat().st_size > 1000
