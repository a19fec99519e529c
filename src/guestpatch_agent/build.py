"""Build the agent into one file: ``python -m guestpatch_agent.build dist/guestpatch-agent.pyz``.

The zipapp holds the ``guestpatch_agent`` package (sources only, no caches, no tests) and runs
``guestpatch_agent.__main__:main`` with ``#!/usr/bin/env python3``; it needs Python >= 3.8 and nothing
outside the standard library. The systemd unit is shipped next to it as package data
(``guestpatch_agent/packaging/guestpatch-agent.service``).
"""

import os
import shutil
import sys
import tempfile
import zipapp
from typing import List, Optional

PACKAGE = os.path.dirname(os.path.abspath(__file__))
INTERPRETER = "/usr/bin/env python3"


def _keep(name: str) -> bool:
    return name.endswith((".py", ".service")) or name == "py.typed"


def build(target: str) -> str:
    """Write the zipapp to ``target`` (folders created); return its path."""
    target = os.path.abspath(target)
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="guestpatch-agent-build-") as staging:
        copy = os.path.join(staging, "guestpatch_agent")
        shutil.copytree(
            PACKAGE,
            copy,
            ignore=lambda folder, names: [
                n for n in names if (not _keep(n) and not os.path.isdir(os.path.join(folder, n))) or n == "__pycache__"
            ],
        )
        zipapp.create_archive(
            staging, target, interpreter=INTERPRETER, main="guestpatch_agent.__main__:run", compressed=True
        )
    return target


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m guestpatch_agent.build TARGET.pyz\n")
        return 2
    print(build(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
