"""Command line: ``python -m randla demo [NAME ...] [--out DIR] [--quick]``.

Demos are registered under the ``randla.demos`` entry-point group, so the core
never imports an application: each application adds its own demo to the list
in pyproject.toml.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points


def _demos() -> dict:
    return {ep.name: ep for ep in entry_points(group="randla.demos")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m randla", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the demos (all registered ones by default)")
    demo.add_argument("names", nargs="*", help="demo names (default: all)")
    demo.add_argument("--out", default="randla_demo_out", help="folder for the PNG figures")
    demo.add_argument("--quick", action="store_true", help="smaller problems (for CI)")
    demo.add_argument("--list", action="store_true", help="list the demos and exit")
    args = parser.parse_args(argv)

    demos = _demos()
    if args.list:
        for name in sorted(demos):
            print(name)
        return 0
    names = args.names or sorted(demos, key=lambda n: (n != "core", n))
    unknown = [n for n in names if n not in demos]
    if unknown:
        parser.error(f"unknown demo(s) {unknown}; available: {sorted(demos)}")
    for name in names:
        demos[name].load()(out=args.out, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
