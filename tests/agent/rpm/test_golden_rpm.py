"""Golden files: the pure dnf/yum/zypper/tdnf/rpm parsers against output per distro and version.

Real output, made here with Debian 12's dnf 4.14, zypper 1.14.42 and rpm 4.18 against the rpm lab
(``python -m tests.agent.rpm.capture``): ``*-lab-debian-12.*`` and ``rpm-lab.*``.
Faithful samples, written in each tool's format as it prints it on that system (identifiers and
versions illustrative; provenance in ``docs/agent-rpm.md``): RHEL 7 / CentOS 7 (yum 3),
RHEL 8/9, Rocky 9, AlmaLinux 9, Oracle Linux 8 (dnf 4), Fedora 41 (dnf 5), SLES 12 SP5 / 15 SP5
(zypper), Azure Linux 3 / CBL-Mariner 2 (tdnf, which does not run on Debian).

Each input has an ``.expected.json``; regenerate after a deliberate parser change with
``python -m tests.agent.rpm.test_golden_rpm`` and review the diff.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from guestpatch_agent.pkgmgr import dnf_output as dnf
from guestpatch_agent.pkgmgr import rpm
from guestpatch_agent.pkgmgr import updateinfo as ui
from guestpatch_agent.pkgmgr import zypper_output as zy

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
PREFIXES = ("dnf-", "yum-", "zypper-", "tdnf-", "rpm-")


def _evr(evr: rpm.Evr) -> str:
    return str(evr)


def _date(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _candidates(items: list[dnf.Candidate]) -> Any:
    return [{"name": c.name, "arch": c.arch, "version": _evr(c.evr), "repository": c.repository} for c in items]


def _advisories(items: list[ui.Advisory]) -> Any:
    return [
        {
            "id": a.id,
            "kind": a.kind,
            "severity": a.severity,
            "issued": _date(a.issued),
            "reboot_suggested": a.reboot_suggested,
            "packages": [f"{p.name}-{p.evr}.{p.arch}" if p.arch else f"{p.name}-{p.evr}" for p in a.packages],
        }
        for a in items
    ]


def _transaction(parsed: dnf.ParsedTransaction) -> Any:
    return {
        "changes": [
            {"name": r.name, "arch": r.arch, "version": _evr(r.evr), "repository": r.repository, "section": r.section}
            for r in parsed.changes
        ],
        "removals": parsed.removals,
    }


def _dnf_transaction(text: str) -> Any:
    return {**_transaction(dnf.parse_transaction(text)), "saved_transaction": dnf.saved_transaction(text)}


def _rpm_query(text: str) -> Any:
    packages = rpm.parse_rpm_query(text)
    return {
        "packages": [[p.name, _evr(p.evr), p.arch, installed] for p, installed in packages],
        "highest": {name: _evr(evr) for name, evr in sorted(rpm.highest_by_name(p for p, _ in packages).items())},
    }


def _zypper_updates(text: str) -> Any:
    return [
        {
            "name": u.name,
            "arch": u.arch,
            "version": _evr(u.evr),
            "installed": _evr(u.installed) if u.installed else None,
            "repository": u.repository,
        }
        for u in zy.parse_zypper_list_updates_xml(text)
    ]


def _zypper_patches(text: str) -> Any:
    return [
        {
            "name": p.name,
            "kind": p.kind,
            "severity": p.severity,
            "status": p.status,
            "repository": p.repository,
            "reboot_suggested": p.reboot_suggested,
            "issued": _date(p.issued),
        }
        for p in zy.parse_zypper_patches_xml(text)
    ]


def _zypper_info(text: str) -> Any:
    return {
        name: [f"{p.name}.{p.arch} < {p.evr}" if p.arch else f"{p.name} < {p.evr}" for p in packages]
        for name, packages in zy.parse_zypper_patch_info(text).items()
    }


def _failed(text: str) -> Any:
    return {"failed": dnf.parse_failed_repositories(text), "lock_wait": dnf.mentions_lock_wait(text)}


PARSERS: dict[str, Callable[[str], Any]] = {
    "dnf-check-update.stdout": lambda t: _candidates(dnf.parse_check_update(t)),
    "yum-check-update.stdout": lambda t: _candidates(dnf.parse_check_update(t)),
    "dnf5-check-upgrade.stdout": lambda t: _candidates(dnf.parse_check_update(t)),
    "tdnf-list-updates.stdout": lambda t: _candidates(dnf.parse_check_update(t)),
    "dnf-repoquery-upgrades.stdout": lambda t: _candidates(dnf.parse_repoquery(t)),
    "dnf-updateinfo-list.stdout": lambda t: _advisories(dnf.parse_updateinfo_list(t)),
    "dnf-updateinfo-list-all-verbose.stdout": lambda t: _advisories(dnf.parse_updateinfo_list(t)),
    "yum-updateinfo-list.stdout": lambda t: _advisories(dnf.parse_updateinfo_list(t)),
    "dnf5-advisory-list.stdout": lambda t: _advisories(dnf.parse_updateinfo_list(t)),
    "tdnf-updateinfo-list.stdout": lambda t: _advisories(dnf.parse_updateinfo_list(t)),
    "dnf-install-assumeno.stdout": _dnf_transaction,
    "yum-install-assumeno.stdout": _dnf_transaction,
    "dnf5-upgrade-assumeno.stdout": _dnf_transaction,
    "tdnf-install-assumeno.stdout": _dnf_transaction,
    "dnf-makecache-unreachable.stderr": _failed,
    "yum-makecache-unreachable.stderr": _failed,
    "tdnf-makecache-unreachable.stderr": _failed,
    "tdnf-install-assumeno.stderr": _failed,
    "rpm-qa-qf.stdout": _rpm_query,
    "updateinfo-xml.stdout": lambda t: _advisories(ui.parse_updateinfo_xml(t)),
    "repomd-xml.stdout": ui.parse_repomd_xml,
    "zypper-xmlout-list-updates.stdout": _zypper_updates,
    "zypper-xmlout-list-patches-all.stdout": _zypper_patches,
    "zypper-info-patch.stdout": _zypper_info,
    "zypper-xmlout-install-dry-run.stdout": lambda t: _transaction(zy.parse_zypper_install_summary_xml(t)),
    "zypper-xmlout-repos.stdout": lambda t: [r._asdict() for r in zy.parse_zypper_repos_xml(t)],
    "zypper-refresh-unreachable.stdout": zy.parse_zypper_failed_repositories,
    "zypper-refresh-unreachable.stderr": zy.parse_zypper_failed_repositories,
}


def _ours(path: Path) -> bool:
    return path.name.startswith(PREFIXES) and not path.name.endswith((".expected.json", ".md"))


def cases() -> list[tuple[Path, Callable[[str], Any]]]:
    found = []
    for path in sorted(p for p in GOLDEN.iterdir() if _ours(p)):
        for suffix, parser in PARSERS.items():
            if path.name.endswith("." + suffix):
                found.append((path, parser))
    return found


@pytest.mark.parametrize(("path", "parser"), cases(), ids=lambda v: v.name if isinstance(v, Path) else "")
def test_golden(path: Path, parser: Callable[[str], Any]) -> None:
    """The parser's reading of a real (or faithfully sampled) output equals the reviewed expectation."""
    expected = json.loads(path.with_name(path.name + ".expected.json").read_text())
    assert parser(path.read_text()) == expected


def test_every_rpm_family_golden_input_is_parsed_and_expected() -> None:
    """No dnf/yum/zypper/tdnf/rpm input sits unchecked: each has a parser and an ``.expected.json``."""
    parsed = {p for p, _ in cases()}
    inputs = {p for p in GOLDEN.iterdir() if _ours(p)}
    assert inputs - parsed == set()
    for path in parsed:
        assert path.with_name(path.name + ".expected.json").exists(), path.name


if __name__ == "__main__":  # regenerate the expectations (review the diff!)
    for path, parser in cases():
        out = path.with_name(path.name + ".expected.json")
        out.write_text(json.dumps(parser(path.read_text()), indent=1) + "\n")
        print("wrote", out.name, file=sys.stderr)
