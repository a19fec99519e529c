"""Pure parsers of apt and dpkg output, pinned by golden files (``tests/agent/golden/apt-*``, ``dpkg-*``).

Every function here takes text and returns values; nothing runs a command or reads a file. Output is
expected in the C locale (the runner sets ``LC_ALL=C``).

Sample of ``apt-get -s dist-upgrade`` (Debian 12)::

    Inst libssl3 [3.0.19-1~deb12u2] (3.0.22-1~deb12u2 Debian-Security:12/oldstable-security [amd64]) []
    Inst libfoo-new (1.0 Debian:12.15/oldstable [amd64])
    Conf libssl3 (3.0.22-1~deb12u2 Debian-Security:12/oldstable-security [amd64])
    Remv libold [0.9]

``Inst NAME [OLD] (NEW ORIGINS [ARCH])`` with ``[OLD]`` absent for a package newly installed (a new
dependency) and ``ORIGINS`` a comma-separated list of ``Label:Version/Archive`` entries, one per
repository that carries the candidate version.
"""

import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

from guestpatch_agent.errors import PackageManagerError

#: ``dpkg-query -W -f=`` format read by :func:`parse_dpkg_query`.
DPKG_QUERY_FORMAT = "${Package}\\t${Architecture}\\t${Version}\\t${db:Status-Abbrev}\\n"

# Debian Policy 5.6.1 (names) and 5.6.12 (versions); a name never starts with '-' so it is never an option.
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9+.\-]*$")
ARCH_RE = re.compile(r"^[a-z0-9][a-z0-9\-]*$")
VERSION_RE = re.compile(r"^(?:[0-9]+:)?[A-Za-z0-9][A-Za-z0-9.+~\-]*$")

_INST_RE = re.compile(
    r"^Inst (?P<name>\S+)(?: \[(?P<old>[^\]]*)\])? \((?P<version>\S+)(?: (?P<origins>.*?))? \[(?P<arch>[^\]\s]+)\]\)"
    r"(?P<rest>.*)$"
)
_REMV_RE = re.compile(r"^Remv (?P<name>\S+)(?: \[(?P<old>[^\]]*)\])?")
_ORIGIN_RE = re.compile(r"^(?:(?P<label>[^:/]*):)?(?:(?P<version>[^/]*)/)?(?P<archive>.*)$")
_ERR_RE = re.compile(r"^Err:\d+ (?P<uri>\S+) (?P<suite>\S+)(?: (?P<what>.*))?$")
_FETCH_RE = re.compile(r"^[EW]: Failed to fetch (?P<url>\S+)\s+(?P<detail>.*)$")


@dataclass(frozen=True)
class Origin:
    """One repository carrying a candidate version, as apt names it: ``Label:Version/Archive``."""

    label: str
    version: str
    archive: str

    @property
    def is_security(self) -> bool:
        return is_security_origin(self.label, self.archive)

    def __str__(self) -> str:
        head = self.label + ":" if self.label else ""
        return head + (self.version + "/" if self.version else "") + self.archive


@dataclass(frozen=True)
class SimulatedInstall:
    """One ``Inst`` line: ``old_version`` is ``None`` for a package the transaction newly installs."""

    name: str
    arch: str
    version: str
    old_version: Optional[str]
    origins: Tuple[Origin, ...]

    @property
    def is_security(self) -> bool:
        return any(o.is_security for o in self.origins)


@dataclass(frozen=True)
class Simulation:
    installs: Tuple[SimulatedInstall, ...]
    removals: Tuple[str, ...]


@dataclass(frozen=True)
class InstalledPackage:
    name: str
    arch: str
    version: str
    status: str  # dpkg's abbreviation, e.g. "ii ", "iF ", "rc "

    @property
    def is_installed(self) -> bool:
        """Fully installed and configured (``ii``, or ``hi`` for a held package)."""
        return len(self.status) >= 2 and self.status[1] == "i" and self.status[2:3].strip() == ""

    @property
    def needs_configuring(self) -> bool:
        """Left half-way by an interrupted or failed dpkg run (unpacked, half-configured, half-installed)."""
        return len(self.status) >= 2 and self.status[1] in "UFHWt"


@dataclass(frozen=True)
class RepositoryFailure:
    repository: str
    detail: str


def is_security_origin(label: str, archive: str) -> bool:
    """Is a repository a security origin?

    Debian ``*-security`` suites (and label ``Debian-Security``, which also covers the old
    ``buster/updates`` layout), Ubuntu ``*-security`` pockets, ESM (``UbuntuESM``, ``UbuntuESMApps``,
    their ``*-infra-security`` / ``*-apps-security`` pockets) and ``fips-updates``.
    """
    suite = archive.strip().lower()
    if suite == "security" or suite.endswith("-security"):
        return True
    squashed = re.sub(r"[^a-z0-9]", "", label.lower())
    return squashed == "debiansecurity" or "esm" in squashed or "fipsupdates" in squashed


def parse_origins(text: str) -> Tuple[Origin, ...]:
    """``Debian:12.15/oldstable, Debian-Security:12/oldstable-security`` -> two :class:`Origin`."""
    origins = []
    for entry in (e.strip() for e in text.split(", ")):
        if not entry:
            continue
        match = _ORIGIN_RE.match(entry)
        assert match is not None  # the pattern matches every string
        origins.append(Origin(match.group("label") or "", match.group("version") or "", match.group("archive")))
    return tuple(origins)


def parse_simulation(text: str) -> Simulation:
    """Parse ``apt-get -s`` output (upgrade, dist-upgrade or install). Unparseable ``Inst`` lines raise."""
    installs: List[SimulatedInstall] = []
    removals: List[str] = []
    for line in text.splitlines():
        if line.startswith("Inst "):
            match = _INST_RE.match(line.rstrip())
            if match is None:
                raise PackageManagerError("cannot parse apt-get line {!r}".format(line[:200]))
            name, arch = _split_arch(match.group("name"), match.group("arch"))
            installs.append(
                SimulatedInstall(
                    name=name,
                    arch=arch,
                    version=match.group("version"),
                    old_version=match.group("old") or None,
                    origins=parse_origins(match.group("origins") or ""),
                )
            )
        elif line.startswith("Remv "):
            removed = _REMV_RE.match(line)
            if removed is None:
                raise PackageManagerError("cannot parse apt-get line {!r}".format(line[:200]))
            removals.append(removed.group("name"))
    return Simulation(tuple(installs), tuple(removals))


def parse_dpkg_query(text: str) -> List[InstalledPackage]:
    """Parse ``dpkg-query -W -f=`` with :data:`DPKG_QUERY_FORMAT`."""
    packages = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise PackageManagerError("cannot parse dpkg-query line {!r}".format(line[:200]))
        name, arch, version, status = fields
        packages.append(InstalledPackage(name, arch, version, status))
    return packages


def parse_update_failures(text: str) -> List[RepositoryFailure]:
    """Repositories that ``apt-get update`` could not read, one per repository, in order of appearance.

    ``Err:5 http://127.0.0.1:9/debian bookworm InRelease`` followed by an indented detail line is the
    primary form; ``E:``/``W: Failed to fetch URL  detail`` is used when no ``Err:`` line names it.
    """
    failures: List[RepositoryFailure] = []
    seen = set()
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _ERR_RE.match(line.strip())
        if match is None:
            continue
        repository = "{} {}".format(match.group("uri"), match.group("suite"))
        detail = lines[index + 1].strip() if index + 1 < len(lines) and lines[index + 1].startswith(" ") else ""
        if repository not in seen:
            seen.add(repository)
            failures.append(RepositoryFailure(repository, detail or "download failed"))
    if failures:
        return failures
    for line in lines:
        fetch = _FETCH_RE.match(line.strip())
        if fetch is None:
            continue
        url = fetch.group("url")
        repository = url.split("/dists/")[0] + (" " + url.split("/dists/")[1].split("/")[0] if "/dists/" in url else "")
        if repository not in seen:
            seen.add(repository)
            failures.append(RepositoryFailure(repository, fetch.group("detail").strip()))
    return failures


def parse_dpkg_errors(text: str) -> List[str]:
    """dpkg's per-package errors: ``dpkg: error processing package X (--configure):`` plus its reason."""
    lines = text.splitlines()
    errors = []
    for index, line in enumerate(lines):
        if line.startswith("dpkg: error processing"):
            reason = lines[index + 1].strip() if index + 1 < len(lines) and lines[index + 1].startswith(" ") else ""
            errors.append("{}{}".format(line[len("dpkg: ") :].rstrip(":"), ": " + reason if reason else ""))
    return errors


def mentions_lock(text: str) -> bool:
    """Did apt or dpkg give up on a lock held by another process?"""
    return "Could not get lock" in text or "Unable to acquire the dpkg frontend lock" in text


def mentions_interrupted_dpkg(text: str) -> bool:
    return "dpkg was interrupted" in text


def _split_arch(name: str, arch: str) -> Tuple[str, str]:
    """``libc6:i386`` -> (``libc6``, ``i386``); a plain name keeps the bracketed architecture."""
    if ":" in name:
        base, _, qualifier = name.partition(":")
        return base, qualifier
    return name, arch
