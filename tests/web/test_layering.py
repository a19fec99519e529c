"""The dashboard is a client of the services: it never imports the store or the engine."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import guestpatch.web

WEB = Path(guestpatch.web.__file__).parent
FORBIDDEN = ("guestpatch.store", "guestpatch.engine")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_dashboard_module_imports_the_store_or_the_engine() -> None:
    """Every module of guestpatch.web reads through guestpatch.services (rule 2 of the architecture)."""
    modules = sorted(WEB.rglob("*.py"))
    assert len(modules) >= 8
    offenders = {
        str(path.relative_to(WEB)): sorted(n for n in _imports(path) if n.startswith(FORBIDDEN)) for path in modules
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_dashboard_ships_no_script() -> None:
    """Server-rendered pages only: no template or static file contains a script element or handler."""
    files = [*WEB.joinpath("templates").iterdir(), *WEB.joinpath("static").iterdir()]
    assert files
    for path in files:
        text = path.read_text().lower()
        assert "<script" not in text, path.name
        assert not re.search(r"\son[a-z]+=", text), path.name
