"""Parsers of yum 3, dnf 4, dnf 5 and tdnf output. Pure functions of the text; golden files pin them.

Where the tool has a machine-readable query the backend uses it (``repoquery --qf``, ``rpm -q --qf``);
these parsers read the rest: ``check-update`` tables, advisory lists, ``--assumeno`` transactions and
error messages. Each is built for the drifts seen in the field: rows wrapped across lines (yum and
dnf 4 wrap at 80 columns without a terminal), ``Obsoleting Packages`` (never installed from there),
``replacing`` rows, ``Installing dependencies:`` / ``Installing for dependencies:``, dnf 5's
two-word sizes and tdnf's unindented rows.
"""

import re
from typing import Dict, List, NamedTuple, Optional, Tuple

from guestpatch_agent.errors import PackageManagerError
from guestpatch_agent.pkgmgr.rpm import KNOWN_ARCHES, Evr, parse_evr, parse_nevra, split_name_arch
from guestpatch_agent.pkgmgr.updateinfo import (
    Advisory,
    AdvisoryPackage,
    normalize_kind,
    normalize_severity,
    parse_advisory_date,
)

#: The ``--queryformat`` the backends give ``dnf repoquery`` (dnf 5 needs the explicit newline).
REPOQUERY_FORMAT = "%{name}\t%{epoch}\t%{version}\t%{release}\t%{arch}\t%{repoid}\n"


class Candidate(NamedTuple):
    """One available package version as listed by the tool."""

    name: str
    arch: str
    evr: Evr
    repository: str


class TransactionRow(NamedTuple):
    name: str
    arch: str
    evr: Evr
    repository: str
    section: str  # lower case, without the colon: "upgrading", "installing dependencies", ...


class ParsedTransaction(NamedTuple):
    changes: List[TransactionRow]  # packages installed, upgraded, downgraded or reinstalled
    removals: List[str]  # names removed (Removing sections, or obsoleted by another name)


def _looks_like_evr(token: str) -> bool:
    return any(c.isdigit() for c in token) and not token.startswith("-")


def parse_check_update(text: str) -> List[Candidate]:
    """``yum/dnf/dnf5/tdnf check-update`` rows ``name.arch  [epoch:]version-release  repo``.

    Stops at ``Obsoleting Packages``: an obsoleting package is not an update of an installed one
    (LinuxPatchExtension installed them and downgraded systems). Rows wrapped over two or three
    lines are joined. Lines that are not rows (banners, ``Security:`` notes) are skipped.
    """
    candidates: List[Candidate] = []
    pending: List[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.lower().rstrip(":") in ("obsoleting", "obsoleting packages"):
            break
        if not stripped:
            pending = []
            continue
        tokens = stripped.split()
        if not pending:
            name, arch = split_name_arch(tokens[0])
            if not arch or tokens[0].endswith(":") or ":" in name:
                continue
        pending.extend(tokens)
        if len(pending) < 3:
            continue
        row, pending = pending, []
        if len(row) != 3 or not _looks_like_evr(row[1]):
            continue
        name, arch = split_name_arch(row[0])
        candidates.append(Candidate(name, arch, parse_evr(row[1]), row[2].lstrip("@")))
    return candidates


def parse_repoquery(text: str) -> List[Candidate]:
    """Rows printed with :data:`REPOQUERY_FORMAT`."""
    candidates = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 6 or not fields[0]:
            continue
        name, epoch, version, release, arch, repo = fields
        evr = Evr(int(epoch) if epoch.isdigit() else 0, version, release)
        candidates.append(Candidate(name, arch, evr, repo))
    return candidates


_SEC_LABEL = re.compile(r"^(\w+)/Sec\.?$", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_updateinfo_list(text: str) -> List[Advisory]:
    """Advisory lists: ``dnf updateinfo list``, ``yum updateinfo list``, ``dnf5 advisory list``,
    ``tdnf updateinfo --list``. One advisory per (id, package); rows of one id are merged.

    - dnf 4 / yum 3: ``RHSA-2026:0001 Critical/Sec.  openssl-libs-1:3.0.7-25.el9_3.x86_64 [date]``
      (``i`` in front with ``--all``; the date with ``-v``, it is the *updated* date)
    - dnf 5: ``FEDORA-2026-1a2b security Important openssl-libs-1:3.2.2-3.fc40.x86_64 2026-01-10 01:02:03``
      (the date is the issued date)
    - tdnf: ``patch:MSS-2026-0001 Security openssl-3.3.0-1.azl3.x86_64.rpm`` (no severity)
    """
    order: List[str] = []
    rows: Dict[str, Advisory] = {}
    for line in text.splitlines():
        tokens = line.split()
        if tokens and tokens[0] == "i" and len(tokens) > 3:
            tokens = tokens[1:]
        if len(tokens) < 3 or tokens[0] in ("Name", "Loaded"):
            continue
        for at in (2, 3):
            if at < len(tokens) and _is_nevra(tokens[at]):
                break
        else:
            continue
        labels, nevra = tokens[1:at], parse_nevra(tokens[at])
        kind, severity = _label(labels)
        when = tokens[at + 1 :]
        issued = parse_advisory_date(" ".join(when)) if when and _DATE.match(when[0]) else None
        package = AdvisoryPackage(nevra.name, nevra.arch, nevra.evr)
        if tokens[0] not in rows:
            order.append(tokens[0])
            rows[tokens[0]] = Advisory(tokens[0], kind, severity, (package,), issued)
        else:
            old = rows[tokens[0]]
            rows[tokens[0]] = Advisory(
                old.id, old.kind, old.severity or severity, (*old.packages, package), old.issued or issued
            )
    return [rows[i] for i in order]


def _is_nevra(token: str) -> bool:
    try:
        parse_nevra(token)
    except PackageManagerError:
        return False
    return True


def _label(labels: List[str]) -> Tuple[str, Optional[str]]:
    if len(labels) == 1:
        sec = _SEC_LABEL.match(labels[0])
        if sec:
            return "security", normalize_severity(sec.group(1))
        return normalize_kind(labels[0]), None
    if len(labels) == 2:
        return normalize_kind(labels[0]), normalize_severity(labels[1])
    return "unknown", None


_INSTALL_SECTIONS = (
    "installing", "upgrading", "updating", "reinstalling", "downgrading", "installing dependencies",
    "installing for dependencies", "updating for dependencies", "upgrading dependencies",
    "installing weak dependencies", "installing group/module packages", "installing group packages",
    "installing module packages", "installing environment packages",
)  # fmt: skip
_REMOVE_SECTIONS = (
    "removing", "erasing", "removing dependent packages", "removing unused dependencies",
    "removing for dependencies", "removing dependencies",
)  # fmt: skip
_SIZE = re.compile(r"^[0-9]+(?:\.[0-9]+)?[kMGT]?(?:i?B)?$")
_END_MARKERS = ("transaction summary", "total download size", "total size", "total installed size")


def parse_transaction(text: str) -> ParsedTransaction:
    """The transaction table of ``dnf/yum/dnf5/tdnf install --assumeno``.

    Row: ``name arch [epoch:]version-release repo size…``; ``replacing`` rows under a row name what
    it obsoletes (a removal when the name differs; dnf 5 also lists the old version of an upgrade
    that way). ``Skipping …`` sections are ignored.
    """
    changes: List[TransactionRow] = []
    removals: List[str] = []
    section: Optional[str] = None
    parent: Optional[str] = None
    pending: List[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        lowered = stripped.lower().rstrip(":")
        if lowered.startswith(_END_MARKERS):
            break
        if stripped.endswith(":") and not line.startswith((" ", "\t")):
            section = lowered if lowered in _INSTALL_SECTIONS + _REMOVE_SECTIONS else None
            parent, pending = None, []
            continue
        if section is None or not stripped or set(stripped) <= set("=-"):
            continue
        tokens = stripped.split()
        if tokens[0] == "replacing":
            replaced = _replaced_name(tokens[1:])
            if replaced and replaced != parent and replaced not in removals:
                removals.append(replaced)
            continue
        if not pending and len(tokens) > 1 and tokens[1] not in KNOWN_ARCHES:
            continue  # a wrapped size ("10 M") or other continuation of a finished row
        tokens = pending + tokens
        if len(tokens) < 4:  # wrapped: name alone, or name arch version, continued below
            pending = [] if len(tokens) == 1 and _SIZE.match(tokens[0]) else tokens
            continue
        pending = []
        if tokens[1] not in KNOWN_ARCHES or not _looks_like_evr(tokens[2]):
            continue
        parent = tokens[0]
        if section in _REMOVE_SECTIONS:
            if parent not in removals:
                removals.append(parent)
        else:
            row = TransactionRow(tokens[0], tokens[1], parse_evr(tokens[2]), tokens[3].lstrip("@"), section)
            changes.append(row)
    return ParsedTransaction(changes, removals)


def _replaced_name(tokens: List[str]) -> Optional[str]:
    if not tokens:
        return None
    name, arch = split_name_arch(tokens[0])
    if arch:
        return name
    return tokens[0]


_REPO_FAILURE_PATTERNS = (
    re.compile(r"[Ff]ailed to download metadata for repo(?:sitory)? '([^']+)'"),
    re.compile(r"[Ee]rrors during downloading metadata for repository '([^']+)'"),
    re.compile(r"Failed to synchronize cache for repo '([^']+)'"),
    re.compile(r"Cannot retrieve repository metadata \(repomd\.xml\) for repository: (\S+?)\. "),
    re.compile(r"failure: repodata/repomd\.xml from ([^:\s]+):"),
    re.compile(r"Failed to download metadata \([^)]*\) for repository \"([^\"]+)\""),
    re.compile(r"Disabling Repo: '([^']+)'"),
    re.compile(r"Cache-only enabled but no cache for '([^']+)'"),
)
_IGNORING = re.compile(r"Ignoring repositories: (.+)")


def parse_failed_repositories(text: str) -> List[str]:
    """Repository ids that dnf, dnf 5, yum or tdnf could not read, in order of appearance."""
    found: List[str] = []
    for line in text.splitlines():
        names = []
        ignoring = _IGNORING.search(line)
        if ignoring:
            names = [n.strip() for n in ignoring.group(1).split(",") if n.strip()]
        for pattern in _REPO_FAILURE_PATTERNS:
            names.extend(pattern.findall(line))
        for name in names:
            if name not in found:
                found.append(name)
    return found


_LOCK_WAIT = re.compile(
    r"Waiting for process with pid|holding the yum lock|waiting for (?:the )?(?:transaction |tdnf )?lock",
    re.IGNORECASE,
)


def mentions_lock_wait(text: str) -> bool:
    """Did the tool say it was waiting for another process's lock?"""
    return bool(_LOCK_WAIT.search(text))


_SAVED_TX = re.compile(r"load-transaction (/\S+\.yumtx)")


def saved_transaction(text: str) -> Optional[str]:
    """yum 3 saves an aborted (``--assumeno``) transaction to a file in /tmp; its path, if any."""
    match = _SAVED_TX.search(text)
    return match.group(1) if match else None
