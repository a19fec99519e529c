"""Parsers of zypper output. Pure functions of the text; golden files of SLES 12/15 and openSUSE pin them.

The backend asks for ``--xmlout`` wherever zypper has it (list-updates, list-patches, install
summaries), so the table drifts of the text output (the ``Since`` column of newer list-patches,
wrapped names) do not matter; the XML drifts do (``status-since``, ``issue-date`` missing on old
zypper, messages mixed into the stream). ``info -t patch`` has no XML form: its ``Conflicts`` block
(the packages a patch fixes) is read from text, in both its one-line and ``[N]`` block forms.
"""

import re
from datetime import datetime
from typing import Dict, List, NamedTuple, Optional
from xml.etree import ElementTree

from guestpatch_agent.errors import PackageManagerError
from guestpatch_agent.pkgmgr.dnf_output import ParsedTransaction, TransactionRow
from guestpatch_agent.pkgmgr.rpm import Evr, parse_evr, split_name_arch
from guestpatch_agent.pkgmgr.updateinfo import (
    AdvisoryPackage,
    normalize_kind,
    normalize_severity,
    parse_advisory_date,
)


class ZypperUpdate(NamedTuple):
    name: str
    arch: str
    evr: Evr
    installed: Optional[Evr]
    repository: str  # alias


class ZypperPatch(NamedTuple):
    name: str
    kind: str  # category: security, recommended, optional, feature, document, yast
    severity: Optional[str]
    status: str  # needed, applied, not-needed, unwanted
    repository: str  # alias
    reboot_suggested: bool
    issued: Optional[datetime]  # None when zypper does not say


def _xml(text: str) -> ElementTree.Element:
    start = text.find("<?xml")
    if start < 0:
        start = text.find("<stream")
    if start < 0:
        raise PackageManagerError("zypper printed no XML: " + (text.strip().splitlines() or ["(nothing)"])[-1][:200])
    try:
        return ElementTree.fromstring(text[start:])  # noqa: S314 - zypper's own output
    except ElementTree.ParseError as exc:
        raise PackageManagerError("zypper's XML cannot be parsed: {}".format(exc)) from exc


def _repo(elem: ElementTree.Element) -> str:
    source = elem.find("source")
    return (source.get("alias") or source.get("url") or "") if source is not None else ""


def parse_zypper_list_updates_xml(text: str) -> List[ZypperUpdate]:
    """``zypper --xmlout list-updates``: ``<update kind="package" name edition arch edition-old>``."""
    updates = []
    for elem in _xml(text).iter("update"):
        if elem.get("kind", "package") != "package" or not elem.get("name"):
            continue
        old = elem.get("edition-old")
        updates.append(
            ZypperUpdate(
                name=elem.get("name") or "",
                arch=elem.get("arch") or "",
                evr=parse_evr(elem.get("edition") or ""),
                installed=parse_evr(old) if old else None,
                repository=_repo(elem),
            )
        )
    return updates


def parse_zypper_patches_xml(text: str) -> List[ZypperPatch]:
    """``zypper --xmlout list-patches [--all]``: ``<update kind="patch" name category severity status>``.

    ``restart="true"`` is the patch's ``reboot_suggested`` (zypper shows it as Interactive: reboot);
    ``pkgmanager`` is a package-manager restart and says nothing about rebooting the machine.
    """
    patches = []
    for elem in _xml(text).iter("update"):
        if elem.get("kind") != "patch" or not elem.get("name"):
            continue
        issue = elem.find("issue-date")
        issued = None
        if issue is not None:
            issued = parse_advisory_date(issue.get("time_t") or issue.get("text"))
        patches.append(
            ZypperPatch(
                name=elem.get("name") or "",
                kind=normalize_kind(elem.get("category")),
                severity=normalize_severity(elem.get("severity")),
                status=(elem.get("status") or "").lower(),
                repository=_repo(elem),
                reboot_suggested=(elem.get("restart") or "").lower() == "true",
                issued=issued,
            )
        )
    return patches


_INFO_HEADER = re.compile(r"^Information for patch (.+?):\s*$")
_FIELD = re.compile(r"^([A-Za-z][A-Za-z ]*?)\s*:\s?(.*)$")
_CONFLICT = re.compile(r"^(\S+)\s*<\s*(\S+)$")


def parse_zypper_patch_info(text: str) -> Dict[str, List[AdvisoryPackage]]:
    """``zypper info -t patch NAME…`` → patch name → the packages (and versions) it brings.

    A patch *conflicts* with older versions of what it fixes: ``name[.arch] < edition``.
    ``srcpackage:`` entries and other namespaces are skipped; ``python3.11-minimal`` keeps its dots
    (only a known architecture after the last dot is split off).
    """
    result: Dict[str, List[AdvisoryPackage]] = {}
    current: Optional[str] = None
    in_conflicts = False
    for line in text.splitlines():
        header = _INFO_HEADER.match(line)
        if header:
            current = header.group(1).strip()
            result[current] = []
            in_conflicts = False
            continue
        if current is None:
            continue
        field = _FIELD.match(line) if not line.startswith((" ", "\t")) else None
        if field:
            in_conflicts = field.group(1).strip() == "Conflicts"
            value = field.group(2).strip()
            if in_conflicts and value and not value.startswith("["):
                _add_conflict(result[current], value)
            continue
        if in_conflicts and line.startswith((" ", "\t")) and line.strip():
            _add_conflict(result[current], line.strip())
        elif not line.strip():
            in_conflicts = False
    return result


def _add_conflict(packages: List[AdvisoryPackage], entry: str) -> None:
    match = _CONFLICT.match(entry)
    if not match or ":" in match.group(1):
        return  # srcpackage:..., patch:..., or not "name < edition"
    name, arch = split_name_arch(match.group(1))
    packages.append(AdvisoryPackage(name, arch, parse_evr(match.group(2))))


_CHANGE_SECTIONS = ("to-upgrade", "to-install", "to-downgrade", "to-reinstall", "to-upgrade-change-arch",
                    "to-change-arch", "to-change-vendor")  # fmt: skip


def parse_zypper_install_summary_xml(text: str) -> ParsedTransaction:
    """``zypper --xmlout install --dry-run``: the ``<install-summary>`` (no summary: nothing to do)."""
    root = _xml(text)
    summary = root.find("install-summary")
    changes: List[TransactionRow] = []
    removals: List[str] = []
    if summary is None:
        return ParsedTransaction(changes, removals)
    for section in summary:
        for solvable in section.iter("solvable"):
            if solvable.get("type", "package") != "package":
                continue
            name = solvable.get("name") or ""
            if section.tag == "to-remove":
                if name not in removals:
                    removals.append(name)
            elif section.tag in _CHANGE_SECTIONS:
                changes.append(
                    TransactionRow(
                        name, solvable.get("arch") or "", parse_evr(solvable.get("edition") or ""),
                        solvable.get("repository") or "", section.tag,
                    )
                )  # fmt: skip
    return ParsedTransaction(changes, removals)


_REPO_PROBLEMS = (
    re.compile(r"Repository '([^']+)' is invalid"),
    re.compile(r"Problem retrieving files from '([^']+)'"),
    re.compile(r"Skipping repository '([^']+)'"),
    re.compile(r"Repository '([^']+)' is out-of-date"),
    re.compile(r"^\[([^|\]]+)\|[^\]]*\] Valid metadata not found"),
)


def parse_zypper_failed_repositories(text: str) -> List[str]:
    """Repository names or aliases that zypper could not refresh or read, in order of appearance."""
    found: List[str] = []
    for line in text.splitlines():
        for pattern in _REPO_PROBLEMS:
            for name in pattern.findall(line.strip()):
                if name not in found:
                    found.append(name)
    return found


class ZypperRepo(NamedTuple):
    alias: str
    name: str
    enabled: bool


def parse_zypper_repos_xml(text: str) -> List[ZypperRepo]:
    """``zypper --xmlout repos``."""
    return [
        ZypperRepo(r.get("alias") or "", r.get("name") or r.get("alias") or "", r.get("enabled") == "1")
        for r in _xml(text).iter("repo")
    ]


_LOCKED_BY = re.compile(r"locked by (?:the )?application with pid (\d+)(?: \(([^)]*)\))?", re.IGNORECASE)


def parse_zypper_lock_holder(text: str) -> Optional[str]:
    """``pid N (program)`` of the process holding the zypp lock, if zypper said so."""
    match = _LOCKED_BY.search(text)
    if not match:
        return None
    return "pid {}{}".format(match.group(1), " ({})".format(match.group(2)) if match.group(2) else "")
