"""Build the agent into one file: ``python -m guestpatch_agent.build dist/guestpatch-agent.pyz``.

The zipapp holds the ``guestpatch_agent`` package (sources, plus bytecode for the building
interpreter's version stored beside them; no caches, no tests) and runs
``guestpatch_agent.__main__:main`` with ``#!/usr/bin/env python3``; it needs Python >= 3.8 and nothing
outside the standard library. The systemd unit is shipped next to it as package data
(``guestpatch_agent/packaging/guestpatch-agent.service``).
"""

import os
import py_compile
import shutil
import sys
import tempfile
import zipapp
from typing import List, Optional

PACKAGE = os.path.dirname(os.path.abspath(__file__))
INTERPRETER = "/usr/bin/env python3"


def _keep(name: str) -> bool:
    return name.endswith((".py", ".service"))


def _compile(folder: str) -> None:
    """Add ``module.pyc`` beside each ``module.py`` for the building interpreter.

    zipimport reads ``.pyc`` files stored next to the sources (it cannot write a cache inside a zip,
    so without them every start compiles every module). Other Python versions see a foreign magic
    number and fall back to the sources; ``UNCHECKED_HASH`` skips the timestamp check.
    """
    for base, _, names in os.walk(folder):
        for name in names:
            if name.endswith(".py"):
                source = os.path.join(base, name)
                py_compile.compile(
                    source,
                    cfile=source + "c",
                    dfile=os.path.relpath(source, os.path.dirname(folder)),
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )


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
        _compile(copy)
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
