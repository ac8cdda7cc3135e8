"""The core demo prints real errors and writes a PNG (quick mode)."""

from __future__ import annotations

import re

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

    # a reader can interpret it: the problem size, a legend line per row, a takeaway
    assert f"{n} x {n}" in text and f"over {cfg['reps']} seeds" in text
    legend = {line.split()[0] for line in text.splitlines() if line.startswith("  ")}
    assert set(rows) <= legend
    assert sum(line.startswith("takeaway:") for line in text.splitlines()) == 1
    _announced(text, out)


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


def _announced(text, folder):
    """Every file in folder is named, with its path, in the printed text."""
    files = sorted(folder.iterdir())
    assert files
    for path in files:
        assert f"wrote {path.resolve()}" in text, path.name
    return files


def test_cli_runs_demos_and_announces_files(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from randla.__main__ import main

    assert main(["demo", "core", "--quick", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert [p.name for p in _announced(text, tmp_path)] == ["core_trace_errors.png"]


def test_fwi_demo_rows_say_what_they_trade(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from randla.__main__ import main

    assert main(["demo", "fwi", "--quick", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert [p.name for p in _announced(text, tmp_path)] == ["fwi_gradients.png"]
    lines = text.splitlines()
    table = [i for i, line in enumerate(lines) if line.endswith("x") is False
             and len(line.split()) > 5 and _is_float(line.split()[-1])
             and _is_float(line.split()[-2])]
    assert len(table) == 6
    for i in table:  # each strategy row is followed by what it trades
        assert lines[i + 1].lstrip().startswith("->")
    full = [line for line in lines if line.startswith("full storage")][0]
    # one memory figure for full storage: the only "... MB" quoted is the table's number
    assert set(re.findall(r"([0-9.]+) MB", text)) == {full.split()[2]}
    assert lines[-2].startswith("takeaway:")
    # the exact strategies are exact, the compressed ones correlate with the gradient
    cosines = [float(lines[i].split()[-2]) for i in table]
    assert cosines[0] == 1.0 and cosines[1] == pytest.approx(1.0, abs=1e-4)
    assert all(0.5 < c <= 1.0 for c in cosines)


def test_help_lists_every_demo_in_plain_text(capsys):
    from importlib.metadata import entry_points

    from randla.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    names = {ep.name for ep in entry_points(group="randla.demos")}
    assert {"core", "fwi"} <= names
    for name in names:
        line = [ln for ln in text.splitlines() if ln.split()[:1] == [name]]
        assert line and len(line[0].split()) > 3, f"{name} has no one-line description"
    for markup in ("``", ":func:", ":mod:", "entry-point", "entry_points"):
        assert markup not in text


def test_no_arguments_prints_help_and_exits_0(capsys):
    from randla.__main__ import main

    assert main([]) == 0
    text = capsys.readouterr()
    assert text.out.startswith("usage: python -m randla") and "core" in text.out
    assert text.err == ""


def test_unknown_demo_is_a_usage_error_naming_the_demos(capsys):
    from randla.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["demo", "nosuchdemo"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "nosuchdemo" in err and "core" in err and "fwi" in err


def test_list_prints_name_and_description(capsys):
    from randla.__main__ import main

    assert main(["demo", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("core ") and len(lines[0].split()) > 3
