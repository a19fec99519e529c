"""Golden files: the pure apt/dpkg parsers against real output per distro and version.

Real output (made here): ``apt-debian-12.*`` (this host), ``apt-lab-debian-12.*`` and
``dpkg-lab-debian-12.*`` (the apt lab), ``dpkg-debian-12.*`` (this host, first 150 packages).
Faithful samples in the same format: Debian 11, Ubuntu 20.04 (with ESM), 22.04 (multi-arch, new
kernel packages), 24.04. Each input has an ``.expected.json``; regenerate after a deliberate parser
change with ``python -m tests.agent.test_golden`` and review the diff.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from guestpatch_agent.pkgmgr.apt import update_from_simulation
from guestpatch_agent.pkgmgr.apt_parse import (
    parse_dpkg_errors,
    parse_dpkg_query,
    parse_simulation,
    parse_update_failures,
)

GOLDEN = Path(__file__).parent / "golden"


def _simulation(text: str) -> Any:
    simulation = parse_simulation(text)
    return {
        "updates": [
            {k: v for k, v in asdict(update_from_simulation(i)).items() if k in (
                "name", "arch", "version", "installed_version", "classification", "repository")}
            for i in simulation.installs
        ],
        "removals": list(simulation.removals),
    }


def _dpkg(text: str) -> Any:
    return [
        {**asdict(p), "is_installed": p.is_installed, "needs_configuring": p.needs_configuring}
        for p in parse_dpkg_query(text)
    ]


def _update(text: str) -> Any:
    return [asdict(f) for f in parse_update_failures(text)]


def _install(text: str) -> Any:
    return parse_dpkg_errors(text)


PARSERS = {
    "apt-get-s-dist-upgrade.stdout": _simulation,
    "dpkg-query.stdout": _dpkg,
    "apt-get-update-unreachable.stdout": _update,
    "apt-get-install-failing-postinst.stderr": _install,
}


def cases() -> list[tuple[Path, Any]]:
    found = []
    for path in sorted(GOLDEN.iterdir()):
        for suffix, parser in PARSERS.items():
            if path.name.endswith("." + suffix):
                found.append((path, parser))
    return found


@pytest.mark.parametrize(("path", "parser"), cases(), ids=lambda v: v.name if isinstance(v, Path) else "")
def test_golden(path: Path, parser: Any) -> None:
    """The parser's reading of a real (or faithfully sampled) output equals the reviewed expectation."""
    expected = json.loads(path.with_name(path.name + ".expected.json").read_text())
    assert parser(path.read_text()) == expected


def test_every_golden_input_has_an_expectation() -> None:
    """No golden input sits unchecked (a file without ``.expected.json`` would silently test nothing)."""
    ours = [p for p in GOLDEN.iterdir() if p.name.startswith(("apt-", "dpkg-"))]
    inputs = [p for p in ours if not p.name.endswith((".expected.json", ".stderr", ".stdout"))]
    assert inputs == []
    for path, _ in cases():
        assert path.with_name(path.name + ".expected.json").exists(), path.name


if __name__ == "__main__":  # regenerate the expectations (review the diff!)
    for path, parser in cases():
        out = path.with_name(path.name + ".expected.json")
        out.write_text(json.dumps(parser(path.read_text()), indent=1) + "\n")
        print("wrote", out.name, file=sys.stderr)
