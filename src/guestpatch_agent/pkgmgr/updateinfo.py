"""Advisories (rpm-md ``updateinfo``) and the classification they give an update. Pure: no I/O.

Rules (docs/agent-rpm.md, "Classification"):

- an update is covered by an advisory that names the same package and architecture at a version
  newer than the installed one and not newer than the candidate (upgrading to the candidate fixes it);
- a covering *security* advisory of severity Critical makes the update **Critical**; any other
  covering security advisory makes it **Security**; covering advisories of other kinds (bugfix,
  enhancement, SUSE's recommended/optional/feature), or none at all when the repository publishes
  updateinfo, make it **Other**;
- an update from a repository that publishes no updateinfo is **Unclassified** (never guessed);
- ``reboot_suggested`` on any covering advisory → ``AlwaysRequiresReboot``; advisory data without it →
  ``CanRequestReboot`` (rpm updates can still need a reboot: ``needs-restarting`` decides afterwards);
  no advisory data → ``Unknown``.
"""

import io
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import IO, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple
from xml.etree import ElementTree

from guestpatch_agent.errors import PackageManagerError
from guestpatch_agent.model import Classification, RebootBehavior, Update
from guestpatch_agent.pkgmgr.rpm import Evr, compare_evr

#: Severities in rising order, as Red Hat, SUSE and Microsoft spell them (case-insensitive on input).
SEVERITIES = ("Low", "Moderate", "Important", "Critical")
_SEVERITY_RANK = {s.lower(): i for i, s in enumerate(SEVERITIES, start=1)}


@dataclass(frozen=True)
class AdvisoryPackage:
    name: str
    arch: str  # "" when the source did not say (then it matches any architecture)
    evr: Evr


@dataclass(frozen=True)
class Advisory:
    """One advisory (RHSA/ALSA/ELSA/FEDORA/SUSE patch…): what it fixes and how urgent it is."""

    id: str
    kind: str  # lower case: security, bugfix, enhancement, newpackage, recommended, optional, ...
    severity: Optional[str]  # one of SEVERITIES, or None
    packages: Tuple[AdvisoryPackage, ...] = ()
    issued: Optional[datetime] = None
    reboot_suggested: bool = False

    @property
    def is_security(self) -> bool:
        return self.kind == "security"


def normalize_severity(text: Optional[str]) -> Optional[str]:
    """``critical``/``Critical`` → ``Critical``; ``None``, ``unspecified``, empty → ``None``."""
    if not text:
        return None
    rank = _SEVERITY_RANK.get(text.strip().lower())
    return SEVERITIES[rank - 1] if rank else None


def normalize_kind(text: Optional[str]) -> str:
    kind = (text or "").strip().lower()
    return {"sec": "security", "securityfix": "security"}.get(kind, kind or "unknown")


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


def parse_advisory_date(text: Optional[str]) -> Optional[datetime]:
    """Dates as repositories write them: ``2026-01-10 00:00:00``, ISO 8601, or epoch seconds (SUSE)."""
    if not text:
        return None
    text = text.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz=timezone.utc)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _true(text: Optional[str]) -> bool:
    return (text or "").strip().lower() in ("true", "1", "yes")


def iter_updateinfo(stream: IO[bytes], names: Optional[Set[str]] = None) -> Iterator[Advisory]:
    """Stream the advisories of an ``updateinfo.xml`` (bounded memory for multi-MB files).

    With ``names``, only advisories naming one of those packages are built.
    """
    try:
        # Repository metadata from a configured (normally GPG-checked) repository; stdlib expat
        # refuses entity-expansion bombs (expat >= 2.4).
        for _event, elem in ElementTree.iterparse(stream, events=("end",)):  # noqa: S314
            if _local(elem.tag) != "update":
                continue
            advisory = _advisory(elem, names)
            elem.clear()
            if advisory is not None:
                yield advisory
    except ElementTree.ParseError as exc:
        raise PackageManagerError("updateinfo.xml cannot be parsed: {}".format(exc)) from exc


def _advisory(elem: ElementTree.Element, names: Optional[Set[str]]) -> Optional[Advisory]:
    packages = []
    reboot = False
    for child in elem.iter():
        tag = _local(child.tag)
        if tag == "package":
            name = child.get("name") or ""
            arch = child.get("arch") or ""
            if not name or arch in ("src", "nosrc"):
                continue
            epoch = child.get("epoch") or "0"
            evr = Evr(int(epoch) if epoch.isdigit() else 0, child.get("version") or "", child.get("release") or "")
            packages.append(AdvisoryPackage(name, arch, evr))
        elif tag == "reboot_suggested" and _true(child.text):
            reboot = True
    if names is not None and not any(p.name in names for p in packages):
        return None
    fields: Dict[str, Optional[str]] = {"id": None, "severity": None, "issued": None}
    for child in elem:
        tag = _local(child.tag)
        if tag == "id":
            fields["id"] = (child.text or "").strip()
        elif tag == "severity":
            fields["severity"] = child.text
        elif tag == "issued":
            fields["issued"] = child.get("date")
    if not fields["id"]:
        return None
    return Advisory(
        id=fields["id"] or "",
        kind=normalize_kind(elem.get("type")),
        severity=normalize_severity(fields["severity"]),
        packages=tuple(packages),
        issued=parse_advisory_date(fields["issued"]),
        reboot_suggested=reboot,
    )


def parse_updateinfo_xml(text: str) -> List[Advisory]:
    """Every advisory of an ``updateinfo.xml`` document."""
    return list(iter_updateinfo(io.BytesIO(text.encode("utf-8"))))


def parse_repomd_xml(text: str) -> Dict[str, str]:
    """``repomd.xml`` → {metadata type: location href} (``updateinfo`` present or not is what matters)."""
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - see iter_updateinfo
    except ElementTree.ParseError as exc:
        raise PackageManagerError("repomd.xml cannot be parsed: {}".format(exc)) from exc
    types: Dict[str, str] = {}
    for data in root:
        if _local(data.tag) != "data":
            continue
        href = ""
        for child in data:
            if _local(child.tag) == "location":
                href = child.get("href") or ""
        types[data.get("type") or ""] = href
    return types


def covering(
    advisories: Iterable[Advisory], name: str, arch: str, installed: Optional[Evr], candidate: Evr
) -> List[Advisory]:
    """Advisories fixed by upgrading ``name.arch`` from ``installed`` (None: not installed) to ``candidate``."""
    found = []
    for advisory in advisories:
        for pkg in advisory.packages:
            if pkg.name != name or (pkg.arch and arch and pkg.arch != arch):
                continue
            if compare_evr(pkg.evr, candidate) > 0:
                continue
            if installed is not None and compare_evr(pkg.evr, installed) <= 0:
                continue
            found.append(advisory)
            break
    return found


def merge_details(listed: Sequence[Advisory], details: Mapping[str, Advisory]) -> List[Advisory]:
    """Advisories as the package manager listed them, completed from the repository's own updateinfo.

    The listing decides which advisories apply and their kind; the updateinfo adds what listings omit
    (severity for tdnf, the issued date and ``reboot_suggested`` for dnf 4 and yum) and its package
    list replaces the listed one (tdnf lists file names, which carry no epoch).
    """
    merged = []
    for advisory in listed:
        extra = details.get(advisory.id)
        if extra is None:
            merged.append(advisory)
            continue
        merged.append(
            replace(
                advisory,
                severity=advisory.severity or extra.severity,
                issued=advisory.issued or extra.issued,
                reboot_suggested=advisory.reboot_suggested or extra.reboot_suggested,
                packages=extra.packages or advisory.packages,
            )
        )
    return merged


def _max_severity(advisories: Iterable[Advisory]) -> Optional[str]:
    ranked = [(_SEVERITY_RANK[a.severity.lower()], a.severity) for a in advisories if a.severity]
    return max(ranked)[1] if ranked else None


def classified_update(
    *,
    name: str,
    arch: str,
    version: Evr,
    installed: Optional[Evr],
    repository: str,
    advisories: Sequence[Advisory],
    has_updateinfo: bool,
) -> Update:
    """The :class:`Update` for one candidate, classified by the advisories that cover it."""
    security = [a for a in advisories if a.is_security]
    if any(a.severity == "Critical" for a in security):
        classification = Classification.CRITICAL
    elif security:
        classification = Classification.SECURITY
    elif advisories or has_updateinfo:
        classification = Classification.OTHER
    else:
        classification = Classification.UNCLASSIFIED
    if any(a.reboot_suggested for a in advisories):
        reboot = RebootBehavior.ALWAYS
    elif advisories or has_updateinfo:
        reboot = RebootBehavior.CAN_REQUEST
    else:
        reboot = RebootBehavior.UNKNOWN
    issued = [a.issued for a in advisories if a.issued is not None]
    return Update(
        name=name,
        arch=arch,
        version=str(version),
        installed_version=str(installed) if installed is not None else None,
        classification=classification,
        repository=repository,
        advisories=tuple(sorted({a.id for a in advisories})),
        severity=_max_severity(security) if security else _max_severity(advisories),
        published=max(issued) if issued else None,
        reboot_behavior=reboot,
    )
