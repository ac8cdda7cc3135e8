"""Print a Quickstart command from README.md (``demo`` or ``test``).

The README marks its two commands with ``<!-- quickstart:NAME -->`` followed by
a fenced block of one line; CI runs exactly that line.
"""

import pathlib
import re
import sys

name = sys.argv[1]
text = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
match = re.search(rf"<!-- quickstart:{name} -->\s*```[a-z]*\n(.+?)\n```", text, re.S)
if not match:
    sys.exit(f"README.md has no quickstart:{name} block")
lines = [ln for ln in match.group(1).splitlines() if ln.strip()]
if len(lines) != 1:
    sys.exit(f"quickstart:{name} must be one command line, found {len(lines)}")
print(lines[0])
