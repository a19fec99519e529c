"""Minimal benchmark runner: ``python -m bench NAME [ARGS]`` runs ``bench/NAME.py``'s ``main(args)``.

``python -m bench`` alone lists the benchmarks. (Written by the agent engineer because no runner existed
yet; the owner of the runner may replace it with a registry, keeping ``main(args) -> int`` per module.)
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    names = available()
    if not argv or argv[0] not in names:
        print("usage: python -m bench NAME [ARGS]\nbenchmarks: " + ", ".join(names), file=sys.stderr)
        return 2
    module = importlib.import_module("bench." + argv[0])
    return int(module.main(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
