"""What every rpm-based backend shares: version comparison, package specs, ``rpm -q`` under a root.

Pure parts (``rpmvercmp``, ``parse_evr``, ``parse_nevra``, ``parse_rpm_query``, ``validate_*``) do no
I/O. :func:`rpm_argv` and :func:`query_installed` go through the Runner.

The rpm database: the backends never pass ``--dbpath``. On RHEL, SLES, Azure Linux the configured
``%_dbpath`` is right (``/var/lib/rpm``, or ``/usr/lib/sysimage/rpm`` behind a symlink), and dnf and
zypper, which link librpm, cannot be given another one anyway. Debian's rpm keeps its database in
``~/.rpmdb``; tests give the Runner a ``HOME`` whose ``.rpmmacros`` says ``%_dbpath /var/lib/rpm``.
"""

import os
import re
import shutil
import time
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from guestpatch_agent.errors import CommandTimeout, InvalidPackageName, PackageManagerError
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.runner import Runner

#: A package name: what rpm allows in practice (``libstdc++6``, ``python3.11-minimal``, ``389-ds``).
_NAME_RE = re.compile(r"^[A-Za-z0-9_+][A-Za-z0-9._+-]*$")
#: ``[epoch:]version[-release]``; ``~`` and ``^`` are rpm's pre- and post-release markers.
_EVR_RE = re.compile(r"^(?:[0-9]+:)?[A-Za-z0-9._+~^]+(?:-[A-Za-z0-9._+~^]+)?$")
_ARCH_RE = re.compile(r"^[A-Za-z0-9_]+$")

#: ``rpm -q --qf``: one tab-separated line per installed package; ``(none)`` epoch printed as 0.
QUERY_FORMAT = "%{NAME}\\t%|EPOCH?{%{EPOCH}}:{0}|\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{INSTALLTIME}\\n"

#: Architectures that may end a ``name.arch`` token (used to split ``name.arch`` safely).
KNOWN_ARCHES = frozenset(
    (
        "noarch",
        "x86_64",
        "i386",
        "i486",
        "i586",
        "i686",
        "athlon",
        "aarch64",
        "armv7hl",
        "armv7l",
        "armv6hl",
        "ppc",
        "ppc64",
        "ppc64le",
        "ppc64p7",
        "s390",
        "s390x",
        "riscv64",
        "loongarch64",
        "ia64",
        "src",
        "nosrc",
    )
)


class Evr(NamedTuple):
    """An rpm ``epoch:version-release``; ``release`` may be empty (then it compares equal to any)."""

    epoch: int
    version: str
    release: str

    def __str__(self) -> str:
        text = self.version + ("-" + self.release if self.release else "")
        return "{}:{}".format(self.epoch, text) if self.epoch else text


class Nevra(NamedTuple):
    name: str
    evr: Evr
    arch: str


def validate_name(name: str) -> str:
    """Return ``name`` if it is a valid rpm package name; raise :class:`InvalidPackageName`."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidPackageName("not a valid rpm package name: {!r}".format(name))
    return name


def validate_evr(text: str) -> str:
    if not isinstance(text, str) or not _EVR_RE.fullmatch(text):
        raise InvalidPackageName("not a valid rpm version: {!r}".format(text))
    return text


def validate_arch(arch: str) -> str:
    if not isinstance(arch, str) or not _ARCH_RE.fullmatch(arch):
        raise InvalidPackageName("not a valid rpm architecture: {!r}".format(arch))
    return arch


def _digit(c: str) -> bool:
    return "0" <= c <= "9"


def _alpha(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _alnum(c: str) -> bool:
    return _digit(c) or _alpha(c)


def rpmvercmp(a: str, b: str) -> int:
    """rpm's version-segment comparison (rpmvercmp.c, rpm >= 4.15): -1, 0 or 1.

    Digits compare as numbers, letters as strings, numbers beat letters; ``~`` sorts before
    anything (even the end), ``^`` after the end but before any other segment.
    """
    if a == b:
        return 0
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        while i < la and not _alnum(a[i]) and a[i] not in "~^":
            i += 1
        while j < lb and not _alnum(b[j]) and b[j] not in "~^":
            j += 1
        ca = a[i] if i < la else ""
        cb = b[j] if j < lb else ""
        if ca == "~" or cb == "~":
            if ca != "~":
                return 1
            if cb != "~":
                return -1
            i, j = i + 1, j + 1
            continue
        if ca == "^" or cb == "^":
            if not ca:
                return -1
            if not cb:
                return 1
            if ca != "^":
                return 1
            if cb != "^":
                return -1
            i, j = i + 1, j + 1
            continue
        if not (ca and cb):
            break
        si, sj = i, j
        numeric = _digit(ca)
        test = _digit if numeric else _alpha
        while i < la and test(a[i]):
            i += 1
        while j < lb and test(b[j]):
            j += 1
        seg_a, seg_b = a[si:i], b[sj:j]
        if not seg_b:
            return 1 if numeric else -1
        if numeric:
            seg_a, seg_b = seg_a.lstrip("0"), seg_b.lstrip("0")
            if len(seg_a) != len(seg_b):
                return 1 if len(seg_a) > len(seg_b) else -1
        if seg_a != seg_b:
            return 1 if seg_a > seg_b else -1
    if i >= la and j >= lb:
        return 0
    return -1 if i >= la else 1


def parse_evr(text: str) -> Evr:
    """``[epoch:]version[-release]`` → :class:`Evr` (a missing epoch is 0)."""
    text = text.strip()
    epoch = 0
    head, sep, rest = text.partition(":")
    if sep and head.isdigit():
        epoch, text = int(head), rest
    version, sep, release = text.rpartition("-")
    if not sep:
        version, release = release, ""
    if not version:
        raise PackageManagerError("not an rpm version: {!r}".format(text))
    return Evr(epoch, version, release)


def compare_evr(a: Evr, b: Evr) -> int:
    if a.epoch != b.epoch:
        return 1 if a.epoch > b.epoch else -1
    result = rpmvercmp(a.version, b.version)
    if result or not (a.release and b.release):
        return result
    return rpmvercmp(a.release, b.release)


def split_name_arch(token: str) -> Tuple[str, str]:
    """``name.arch`` → (name, arch) when the suffix is a known architecture; else (token, "")."""
    name, dot, arch = token.rpartition(".")
    if dot and name and arch in KNOWN_ARCHES:
        return name, arch
    return token, ""


def parse_nevra(text: str) -> Nevra:
    """``name-[epoch:]version-release.arch`` (dnf, tdnf) or ``epoch:name-version-release.arch`` (yum)."""
    text = text.strip()
    if text.endswith(".rpm"):
        text = text[: -len(".rpm")]
    epoch_prefix = ""
    head, sep, rest = text.partition(":")
    if sep and head.isdigit():  # yum's "1:openssl-1.0.2k-19.el7.x86_64"
        epoch_prefix, text = head + ":", rest
    stem, arch = split_name_arch(text)
    if not arch:
        raise PackageManagerError("not a name-version-release.arch: {!r}".format(text))
    name_ver, dash, release = stem.rpartition("-")
    name, dash2, version = name_ver.rpartition("-")
    if not (dash and dash2 and name and version and release):
        raise PackageManagerError("not a name-version-release.arch: {!r}".format(text))
    if ":" in version:
        epoch_text, _, version = version.partition(":")
        epoch_prefix = epoch_text + ":"
    return Nevra(name, parse_evr(epoch_prefix + version + "-" + release), arch)


def pinned_spec(name: str, version: str, arch: str) -> str:
    """``name-[epoch:]version-release.arch``: the exact package for dnf, yum and tdnf, validated."""
    validate_name(name)
    validate_evr(version)
    spec = "{}-{}".format(name, version)
    return spec + "." + validate_arch(arch) if arch else spec


def parse_rpm_query(text: str) -> List[Tuple[Nevra, int]]:
    """Lines printed with :data:`QUERY_FORMAT` → (package, install time in epoch seconds)."""
    packages = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 6 or not fields[0]:
            continue  # "package foo is not installed" and other chatter
        name, epoch, version, release, arch, installed = fields
        epoch_num = int(epoch) if epoch.isdigit() else 0
        packages.append((Nevra(name, Evr(epoch_num, version, release), arch), _int(installed)))
    return packages


def highest_by_name(packages: Iterable[Nevra]) -> Dict[str, Evr]:
    """The highest installed version per name (several for install-only packages such as kernels)."""
    best: Dict[str, Evr] = {}
    for pkg in packages:
        current = best.get(pkg.name)
        if current is None or compare_evr(pkg.evr, current) > 0:
            best[pkg.name] = pkg.evr
    return best


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def rpm_argv(root: Root, *args: str) -> List[str]:
    return ["rpm"] + ([] if root.is_host else ["--root", root.path]) + list(args)


def query_installed(runner: Runner, root: Root, *, timeout: float) -> List[Tuple[Nevra, int]]:
    """Every installed package (one ``rpm -qa``) with its install time."""
    result = runner.run(rpm_argv(root, "-qa", "--qf", QUERY_FORMAT), timeout=timeout)
    return parse_rpm_query(result.stdout)


def installed_versions(runner: Runner, root: Root, names: Sequence[str], *, timeout: float) -> Dict[str, str]:
    wanted = {validate_name(n) for n in names}
    if not wanted:
        return {}
    found = highest_by_name(p for p, _ in query_installed(runner, root, timeout=timeout) if p.name in wanted)
    return {name: str(evr) for name, evr in found.items()}


class Deadline:
    """One method's time budget, shared by the commands it runs."""

    def __init__(self, seconds: float, what: str) -> None:
        self._end = time.monotonic() + seconds
        self._seconds = seconds
        self._what = what

    def left(self, argv: Optional[Sequence[str]] = None) -> float:
        remaining = self._end - time.monotonic()
        if remaining <= 0.5:
            raise CommandTimeout(list(argv or [self._what]), self._seconds)
        return remaining


#: What rpm prints when its database needs recovery (BDB on EL7/SLES 12, sqlite/ndb later).
_DB_DAMAGE = (
    "DB_RUNRECOVERY",
    "rpmdb open failed",
    "cannot open Packages",
    "database disk image is malformed",
    "error: rpmdb:",
    "Thread died in Berkeley DB",
    "error: db5 error",
    "error: sqlite failure",
)


def repair_database(runner: Runner, root: Root, *, timeout: float) -> Optional[str]:
    """Rebuild the rpm database when rpm reports it damaged; say what was done (None: it was sound).

    ``rpm --rebuilddb`` rebuilds from what it can read; on a malformed database that can be nothing
    at all. So the database is copied first, and the rebuild is kept only if rpm then reads at least
    as many packages as before (and some): otherwise the copy is put back and the error says so.
    """
    deadline = Deadline(timeout, "rpm repair")
    before, damage = _probe(runner, root, deadline)
    if damage is None:
        return None
    dbpath = runner.run(rpm_argv(root, "--eval", "%_dbpath"), timeout=deadline.left()).stdout.strip()
    database = root.resolve(dbpath) if not root.is_host else dbpath
    backup = database.rstrip("/") + ".guestpatch-backup"
    shutil.rmtree(backup, ignore_errors=True)
    shutil.copytree(database, backup, symlinks=True)
    runner.run(rpm_argv(root, "--rebuilddb"), timeout=deadline.left(), ok_codes=range(256))
    after, still = _probe(runner, root, deadline)
    if still is not None or after < max(before, 1):
        shutil.rmtree(database, ignore_errors=True)
        shutil.copytree(backup, database, symlinks=True)
        raise PackageManagerError(
            "the rpm database is damaged ({}) and rpm --rebuilddb could not repair it ({} packages readable "
            "before, {} after); the original was put back, an administrator must repair it".format(
                damage, before, after
            )
        )
    return "rebuilt the rpm database (rpm --rebuilddb) after: {}; {} packages; the damaged copy is in {}".format(
        damage, after, backup
    )


def _probe(runner: Runner, root: Root, deadline: Deadline) -> Tuple[int, Optional[str]]:
    """How many packages rpm can read, and the first damage message (None: no damage)."""
    probe = runner.run(rpm_argv(root, "-qa", "--qf", "%{NAME}\\n"), timeout=deadline.left(), ok_codes=range(256))
    count = sum(1 for line in probe.stdout.splitlines() if line.strip())
    for line in probe.stderr.splitlines():
        if any(marker in line for marker in _DB_DAMAGE):
            return count, line.strip()[:200]
    if probe.returncode != 0:
        return count, "rpm -qa exited with {}".format(probe.returncode)
    return count, None


def boot_time() -> float:
    """When this machine booted, as dnf's needs-restarting reads it (the start of PID 1)."""
    try:
        return os.stat("/proc/1").st_mtime
    except OSError:
        pass
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    raise PackageManagerError("cannot tell when the machine booted (no /proc/1, no btime in /proc/stat)")


def core_updated_since_boot(runner: Runner, root: Root, names: Iterable[str], *, timeout: float) -> bool:
    """Was one of ``names`` (kernel, glibc, systemd, ...) installed after the last boot?

    The reboot hint of last resort, when the tool has none (no dnf needs-restarting plugin, zypper
    older than ``needs-rebooting``, tdnf).
    """
    core = set(names)
    boot = boot_time()
    return any(pkg.name in core and at > boot for pkg, at in query_installed(runner, root, timeout=timeout))
