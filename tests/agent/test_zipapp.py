"""The shipped artefact: one zipapp, standard library only, running on Python 3.8 in isolated mode."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from guestpatch_agent.build import build
from tests.agent import aptlab
from tests.agent.conftest import SRC

PACKAGE = SRC / "guestpatch_agent"
PYTHON38 = Path("/root/.pyenv/versions/3.8.18/bin/python3.8")


def imported_top_level_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_agent_imports_nothing_outside_the_standard_library() -> None:
    """Every import in guestpatch_agent is the standard library or the agent itself."""
    allowed = set(sys.stdlib_module_names) | {"guestpatch_agent", "__future__"}
    foreign = {
        str(path.relative_to(SRC)): sorted(imported_top_level_modules(path) - allowed)
        for path in PACKAGE.rglob("*.py")
    }
    assert {k: v for k, v in foreign.items() if v} == {}


@pytest.fixture(scope="module")
def zipapp_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(build(str(tmp_path_factory.mktemp("dist") / "guestpatch-agent.pyz")))


def test_the_zipapp_holds_the_package_and_the_unit_only(zipapp_file: Path) -> None:
    """Sources with their bytecode, the systemd unit and the entry point; no caches, no tests."""
    names = zipfile.ZipFile(zipapp_file).namelist()
    assert "__main__.py" in names
    assert "guestpatch_agent/cli.py" in names
    assert "guestpatch_agent/packaging/guestpatch-agent.service" in names
    assert not [n for n in names if "__pycache__" in n or "tests" in n]
    sources = {n for n in names if n.endswith(".py") and n != "__main__.py"}
    assert {n for n in names if n.endswith(".pyc")} == {n + "c" for n in sources}  # bytecode beside sources
    assert zipapp_file.read_bytes().startswith(b"#!/usr/bin/env python3\n")


def python38() -> str:
    if not PYTHON38.exists():
        pytest.skip(f"Python 3.8 is not installed at {PYTHON38}")
    return str(PYTHON38)


def test_every_module_compiles_under_python_3_8() -> None:
    """No syntax newer than 3.8 anywhere in the package (lazily imported backends included)."""
    files = [str(p) for p in sorted(PACKAGE.rglob("*.py"))]
    check = "import sys\nfor f in sys.argv[1:]:\n    compile(open(f, encoding='utf-8').read(), f, 'exec')\n"
    result = subprocess.run([python38(), "-I", "-c", check, *files], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_assess_help_runs_under_python_3_8_isolated(zipapp_file: Path) -> None:
    """python3.8 -I guestpatch-agent.pyz assess --help works (no site-packages, no PYTHONPATH)."""
    argv = [python38(), "-I", str(zipapp_file), "assess", "--help"]
    result = subprocess.run(argv, check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--no-refresh" in result.stdout


@pytest.mark.root
def test_a_real_assessment_runs_under_python_3_8(zipapp_file: Path, apt_root: aptlab.AptRoot) -> None:
    """The zipapp on Python 3.8 assesses the lab root with the real apt and prints Azure's JSON."""
    result = subprocess.run([python38(), "-I", str(zipapp_file), "assess", "--root", str(apt_root.path)],
                            check=False, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assessment = json.loads(result.stdout)
    assert (assessment["status"], assessment["criticalAndSecurityPatchCount"], assessment["otherPatchCount"]) == (
        "Succeeded", 6, 6)
