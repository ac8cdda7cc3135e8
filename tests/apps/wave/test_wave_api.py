"""randla.apps.wave: the library never imports Devito (the shared API checks: tests/test_public_api.py)."""

import randla.apps.wave as wave


def test_library_does_not_import_devito():
    """Devito is a benchmark-only peer: no module of the package imports it."""
    import pathlib

    folder = pathlib.Path(wave.__file__).parent
    source = "".join(p.read_text() for p in folder.rglob("*.py"))
    assert "import devito" not in source and "from devito" not in source
