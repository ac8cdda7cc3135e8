"""Render saved airspeed-velocity results as RST tables (offline, at docs build time).

``write_benchmarks_page(asv_dir, target)`` reads ``asv_dir/results/<machine>/``
(the newest result file of each machine) and ``results/benchmarks.json`` and
writes one table per benchmark: a row per parameter combination (the peers --
SciPy, scikit-learn, torch, imate, Devito -- are parameters of the same
benchmark, so they stand side by side), the value in its unit. With no saved
results it writes how to produce them, so the page always builds.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

__all__ = ["format_value", "write_benchmarks_page"]

_HOWTO = """\
No saved benchmark results were found in ``asv_bench/results/``. To produce
them (about 30-60 minutes at full size on two cores; ``RANDLA_ASV_QUICK=1``
makes a few-minute smoke run) and rebuild this page::

    pip install -e ".[bench]"
    cd asv_bench && asv machine --yes
    asv run --python=same --set-commit-hash=$(git rev-parse HEAD)
    asv publish   # optional: the interactive asv site in asv_bench/html
"""


#: Parameters that name the library or method compared: drawn as columns.
_PEER_PARAMS = ("library", "method", "peer", "history", "strategy")


def format_value(value, unit: str) -> str:
    """A benchmark value for a table cell (``nan``/``None`` -> "failed or skipped").

    Examples
    --------
    >>> format_value(0.00123, "seconds"), format_value(2.5e6, "bytes"), format_value(None, "x")
    ('1.23 ms', '2.38 MiB', 'n/a')
    """
    if value is None or value != value:
        return "n/a"
    if unit == "seconds":
        for scale, suffix in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")):
            if abs(value) >= scale or suffix == "ns":
                return f"{value / scale:.3g} {suffix}"
    if unit == "bytes":
        for scale, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"), (1, "B")):
            if abs(value) >= scale or suffix == "B":
                return f"{value / scale:.3g} {suffix}"
    text = f"{value:.4g}"
    return text if unit in ("unit", "", None) else f"{text} {unit}"


def _latest(machine_dir: Path) -> Path | None:
    files = [p for p in machine_dir.glob("*.json") if p.name != "machine.json"]
    return max(files, key=lambda p: p.stat().st_mtime) if files else None


def _table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    lines = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return lines + [""]


def _render(result_file: Path, benchmarks: dict) -> list[str]:
    data = json.loads(result_file.read_text())
    columns = data.get("result_columns", ["result", "params"])
    info = data.get("params", {})
    machine = info.get("machine", result_file.parent.name)
    commit = str(data.get("commit_hash", "?"))[:10]
    lines = [f"Machine ``{machine}`` ({info.get('cpu', 'unknown CPU')}, "
             f"{info.get('num_cpu', '?')} cores), commit ``{commit}``.", ""]
    by_module: dict[str, list] = {}
    for name, entry in sorted(data.get("results", {}).items()):
        by_module.setdefault(name.split(".")[0], []).append((name, entry))
    for module, entries in by_module.items():
        lines += [module, "~" * len(module), ""]
        for name, entry in entries:
            record = dict(zip(columns, entry))
            meta = benchmarks.get(name, {})
            unit = meta.get("unit", "")
            values = record.get("result")
            params = record.get("params") or meta.get("params") or []
            values = values if isinstance(values, list) else [values]
            param_names = meta.get("param_names") or [f"p{i}" for i in range(len(params))]
            combos = list(itertools.product(*params)) if params else [()]
            cells = {tuple(str(c).strip("'") for c in combo): format_value(v, unit)
                     for combo, v in zip(combos, values)}
            peer = next((i for i, p in enumerate(param_names) if p in _PEER_PARAMS), None)
            if not params:
                header, rows = ["value"], [[format_value(values[0] if values else None, unit)]]
            elif peer is None:
                header = [*param_names, "value"]
                rows = [[*key, cell] for key, cell in cells.items()]
            else:  # the peers side by side: one column per library / method
                peers = [str(c).strip("'") for c in params[peer]]
                header = [p for i, p in enumerate(param_names) if i != peer] + peers
                keys = []
                for key in cells:
                    rest = key[:peer] + key[peer + 1:]
                    if rest not in keys:
                        keys.append(rest)
                rows = [[*rest, *(cells.get(rest[:peer] + (p,) + rest[peer:], "n/a")
                                  for p in peers)] for rest in keys]
            short = name.split(".", 1)[-1]
            lines += _table(f"``{short}``", header, rows)
    return lines


def write_benchmarks_page(asv_dir: Path, target: Path) -> None:
    """Write the RST body of the Benchmarks page from ``asv_dir/results``."""
    results = Path(asv_dir) / "results"
    benchmarks = {}
    if (results / "benchmarks.json").exists():
        benchmarks = json.loads((results / "benchmarks.json").read_text())
    lines: list[str] = []
    machines = sorted(p for p in results.glob("*") if p.is_dir()) if results.exists() else []
    for machine_dir in machines:
        latest = _latest(machine_dir)
        if latest is not None:
            lines += _render(latest, benchmarks)
    text = "\n".join(lines) if lines else _HOWTO
    target = Path(target)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
