"""Command line of randla: ``python -m randla demo [NAME ...] [--out DIR] [--quick]``.

Without arguments (or with ``--help``) it prints the help, which lists every
demo with a one-line description. Demos are registered under the
``randla.demos`` entry-point group of ``pyproject.toml``, so the core never
imports an application; a demo's description is the first line of its
function's docstring, read without running it.

Examples
--------
>>> from randla.__main__ import main
>>> main(["demo", "--list"])  # doctest: +ELLIPSIS
core ...
0
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

__all__ = ["main"]

_DESCRIPTION = "randla: randomized linear algebra on any array-API array."
_EPILOG_HEAD = "demos (run with: python -m randla demo [NAME ...] [--quick] [--out DIR]):"


def _demos() -> dict:
    return {ep.name: ep for ep in entry_points(group="randla.demos")}


def _order(names) -> list[str]:
    return sorted(names, key=lambda n: (n != "core", n))


def _summary(entry) -> str:
    """First docstring line of a demo, or why it cannot be loaded (never raises)."""
    try:
        func = entry.load()
    except Exception as exc:  # noqa: BLE001 - an optional dependency may be missing
        return f"(unavailable here: {type(exc).__name__}: {exc})"
    doc = (getattr(func, "__doc__", None) or "").strip()
    line = doc.splitlines()[0] if doc else ""
    # plain text for a terminal: no RST roles or literals
    return line.replace("``", "").replace(":func:", "").replace("`", "")


def _demo_lines(demos: dict) -> list[str]:
    width = max((len(n) for n in demos), default=0)
    return [f"  {name:<{width}}  {_summary(demos[name])}" for name in _order(demos)]


def _parser(demos: dict) -> argparse.ArgumentParser:
    epilog = "\n".join([_EPILOG_HEAD, *_demo_lines(demos), "",
                        "example: python -m randla demo core --quick"])
    parser = argparse.ArgumentParser(
        prog="python -m randla", description=_DESCRIPTION, epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo", help="run demos (all of them when no NAME is given)", epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("names", nargs="*", metavar="NAME",
                      help=f"demo to run, one of: {', '.join(_order(demos))}")
    demo.add_argument("--out", default="randla_demo_out",
                      help="folder for the PNG figures (default: %(default)s)")
    demo.add_argument("--quick", action="store_true",
                      help="small problems, seconds instead of minutes")
    demo.add_argument("--list", action="store_true",
                      help="list the demos with a description and exit")
    parser.demo_parser = demo  # for errors about demo names
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    demos = _demos()
    parser = _parser(demos)
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.list:
        print("\n".join(line.strip() for line in _demo_lines(demos)))
        return 0
    names = args.names or _order(demos)
    unknown = [n for n in names if n not in demos]
    if unknown:
        parser.demo_parser.error(f"unknown demo(s) {', '.join(unknown)}; available: "
                     f"{', '.join(_order(demos))}")
    for name in names:
        demos[name].load()(out=args.out, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
