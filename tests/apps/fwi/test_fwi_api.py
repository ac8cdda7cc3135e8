"""randla.apps.fwi: the demo entry point runs (the shared API checks: tests/test_public_api.py)."""

import randla.apps.fwi as fwi


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
