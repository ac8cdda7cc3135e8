"""The core demo prints real errors and writes a PNG (quick mode)."""

from __future__ import annotations

import numpy as np
import pytest

from randla.demo import (
    SPECTRA,
    demo_config,
    matrix_with_spectrum,
    mean_relative_error,
    run_core_demo,
    spectrum,
)


def _parse_table(text):
    rows = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and all(_is_float(p) for p in parts[1:]):
            rows[parts[0]] = [float(p) for p in parts[1:]]
    return rows


def _is_float(s):
    try:
        float(s)
    except ValueError:
        return False
    return True


def test_core_demo_quick(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "figs"  # does not exist yet: the demo creates it
    run_core_demo(out=str(out), quick=True)
    text = capsys.readouterr().out
    png = out / "core_trace_errors.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000

    cfg = demo_config(quick=True)
    rows = _parse_table(text)
    expected = {"hutchinson", "hutchpp", "na_hutchpp", "xtrace", "xnystrace", "auto",
                "diagonal_hutchinson", "xdiag"}
    assert set(rows) == expected
    assert all(len(v) == len(cfg["spectra"]) for v in rows.values())
    values = np.array(list(rows.values()))
    assert np.all(np.isfinite(values)) and np.all(values >= 0)

    # the numbers are real errors: recompute two entries from the same seeds
    n, m = cfg["n"], cfg["table_budget"]
    for method, name in (("xtrace", "fastexp"), ("hutchinson", "flat")):
        j = cfg["spectra"].index(name)
        lam = spectrum(name, n)
        A = matrix_with_spectrum(lam, rng=cfg["matrix_seed"] + j)
        err = mean_relative_error(A, float(lam.sum()), method, m, reps=cfg["reps"],
                                  seed=cfg["seed"])
        assert rows[method][j] == pytest.approx(err, rel=1e-2)  # printed with 3 digits
    # and they behave as the theory says: on the fast exponential decay XTrace
    # is orders of magnitude better than Hutchinson
    j = cfg["spectra"].index("fastexp")
    assert rows["xtrace"][j] < 1e-2 * rows["hutchinson"][j]


def test_spectra():
    n = 100
    for name in SPECTRA:
        lam = spectrum(name, n)
        assert lam.shape == (n,) and np.all(lam > 0)
    assert spectrum("flat", n).min() == 1.0 and spectrum("flat", n).max() == 3.0
    assert np.sum(spectrum("step", n) == 1.0) == 5
    with pytest.raises(ValueError, match="name must be one of"):
        spectrum("cliff", n)
    lam = spectrum("poly", 20)
    A = matrix_with_spectrum(lam, rng=0)
    np.testing.assert_allclose(np.linalg.eigvalsh(A)[::-1], lam, atol=1e-14)


def test_cli_entry_point(tmp_path):
    pytest.importorskip("matplotlib")
    from randla.__main__ import main

    assert main(["demo", "core", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "core_trace_errors.png").exists()
