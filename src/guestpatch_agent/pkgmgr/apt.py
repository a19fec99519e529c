"""The apt + dpkg backend (Debian, Ubuntu).

Commands (argv lists through the :class:`~guestpatch_agent.runner.Runner`, names after ``--``):

- refresh: ``apt-get -q update``; repositories that fail are named (``Err:`` lines);
- list updates: ``apt-get -s dist-upgrade``; the classification is read from the origins the
  simulation prints for each candidate (:func:`~guestpatch_agent.pkgmgr.apt_parse.is_security_origin`),
  so the system's package lists are never pointed at a reduced source set (LPE's pitfall);
- simulate / install: ``apt-get [-s] install -- name=version ...`` (install adds ``-y --no-remove``
  and ``-o DPkg::Lock::Timeout=N`` so it waits for the dpkg lock within its deadline);
- installed versions: ``dpkg-query -W`` (only fully installed packages count);
- reboot: ``/var/run/reboot-required`` (or ``/run/reboot-required``) under the root;
- repair: ``dpkg --configure -a`` when a dpkg run was interrupted.

apt has no "Critical": Debian and Ubuntu publish no severity in their archives, so an update is
Security or Other, never Critical (``docs/agent.md``).

An alternate root (``--root DIR``) is served without a chroot: ``APT_CONFIG`` names a file that sets
``Dir "DIR/"`` (so the root's own ``etc/apt`` is read, never the host's) and ``-c`` adds a file that
runs dpkg with ``--root=DIR`` and clears the hook lists (``DPkg::Pre-Invoke`` and friends), which
would otherwise run host commands against the image.
"""

import os
import shutil
import tempfile
import weakref
from typing import Dict, List, Optional, Sequence

from guestpatch_agent.errors import (
    CommandError,
    InvalidPackageName,
    LockTimeout,
    PackageManagerError,
    RepositoryUnreachable,
)
from guestpatch_agent.model import Classification, Distro, Update
from guestpatch_agent.pkgmgr.apt_parse import (
    ARCH_RE,
    DPKG_QUERY_FORMAT,
    NAME_RE,
    VERSION_RE,
    InstalledPackage,
    SimulatedInstall,
    mentions_interrupted_dpkg,
    mentions_lock,
    parse_dpkg_errors,
    parse_dpkg_query,
    parse_simulation,
    parse_update_failures,
)
from guestpatch_agent.pkgmgr.base import Root, Transaction
from guestpatch_agent.runner import CommandResult, Runner

#: Hook lists that run host programs; cleared when serving an alternate root.
HOOK_LISTS = (
    "DPkg::Pre-Invoke",
    "DPkg::Post-Invoke",
    "DPkg::Pre-Install-Pkgs",
    "APT::Update::Pre-Invoke",
    "APT::Update::Post-Invoke",
    "APT::Update::Post-Invoke-Success",
)
REBOOT_FLAGS = ("var/run/reboot-required", "run/reboot-required")
CONFFILE_OPTIONS = ("-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold")


def update_from_simulation(item: SimulatedInstall) -> Update:
    """The :class:`Update` for one ``Inst`` line: Security when any origin of the candidate is a security one."""
    return Update(
        name=item.name,
        arch=item.arch,
        version=item.version,
        installed_version=item.old_version,
        classification=Classification.SECURITY if item.is_security else Classification.OTHER,
        repository=", ".join(str(o) for o in item.origins),
    )


def pin(update: Update, native_arch: str) -> str:
    """``name=version`` (``name:arch=version`` for a foreign architecture), validated strictly."""
    check_name(update.name)
    if not VERSION_RE.match(update.version):
        raise InvalidPackageName("invalid version {!r} for package {}".format(update.version, update.name))
    qualified = update.name
    if update.arch not in ("all", native_arch, ""):
        if not ARCH_RE.match(update.arch):
            raise InvalidPackageName("invalid architecture {!r} for package {}".format(update.arch, update.name))
        qualified = "{}:{}".format(update.name, update.arch)
    return "{}={}".format(qualified, update.version)


def apt_errors(stderr: str) -> List[str]:
    """apt's ``E:`` lines, each once, in order (the first usually names the cause)."""
    seen: List[str] = []
    for line in stderr.splitlines():
        if line.startswith("E: ") and line[3:].strip() not in seen:
            seen.append(line[3:].strip())
    return seen[:5]


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise InvalidPackageName("invalid Debian package name {!r}".format(name))
    return name


class AptBackend:
    """apt-get and dpkg driven through the runner, on the host or on an alternate root."""

    name = "apt"
    #: LPE's telemetry figure for one package, used by the time budget.
    average_package_seconds = 90.0

    def __init__(self, runner: Runner, root: Root, distro: Distro) -> None:
        self._runner = runner
        self._root = root
        self._distro = distro
        self._env: Dict[str, str] = {}
        self._options: List[str] = []
        self._dpkg_options: List[str] = []
        self._native_arch: Optional[str] = None
        if not root.is_host:
            self._serve_alternate_root(os.path.realpath(root.path))

    # ------------------------------------------------------------------ the Backend port
    def refresh(self, *, timeout: float) -> List[str]:
        result = self._apt_get(["-q", "update"], timeout=timeout, lock_wait=timeout / 2, ok_codes=(0, 100))
        output = result.stdout + "\n" + result.stderr
        failures = parse_update_failures(output)
        if failures:
            raise RepositoryUnreachable(
                "; ".join(f.repository for f in failures), "; ".join(f.detail for f in failures)
            )
        if result.returncode != 0:
            if mentions_lock(output):
                raise LockTimeout("apt-get update: the package lists are locked by another process")
            detail = "; ".join(apt_errors(result.stderr)) or str(
                CommandError(result.argv, result.returncode, result.stdout, result.stderr)
            )
            raise PackageManagerError("apt-get update exited with {}: {}".format(result.returncode, detail))
        return []  # apt's "W:" lines (sandboxing, duplicate sources) are advice, not operation warnings

    def list_updates(self, *, timeout: float) -> List[Update]:
        result = self._apt_get(["-s", "dist-upgrade"], timeout=timeout)
        return [update_from_simulation(item) for item in parse_simulation(result.stdout).installs]

    def simulate(self, updates: Sequence[Update], *, timeout: float) -> Transaction:
        if not updates:
            return Transaction(updates=[])
        pins = self._pins(updates)
        result = self._apt_get(["-s", "install", "--", *pins], timeout=timeout)
        simulation = parse_simulation(result.stdout)
        return Transaction(
            updates=[update_from_simulation(item) for item in simulation.installs], removals=simulation.removals
        )

    def install(self, updates: Sequence[Update], *, timeout: float) -> None:
        if not updates:
            return
        pins = self._pins(updates)
        lock_wait = timeout / 2 if timeout < 600 else timeout - 300
        self._apt_get(
            ["-y", "--no-remove", *CONFFILE_OPTIONS, "install", "--", *pins], timeout=timeout, lock_wait=lock_wait
        )

    def installed_versions(self, names: Sequence[str], *, timeout: float) -> Dict[str, str]:
        native = self.native_arch(timeout=timeout)
        found: Dict[str, str] = {}
        for package in self.installed_packages(timeout=timeout):
            if not package.is_installed:
                continue
            found["{}:{}".format(package.name, package.arch)] = package.version
            if package.arch in ("all", native) or package.name not in found:
                found[package.name] = package.version
        return {name: found[name] for name in names if name in found}

    def reboot_required(self, *, timeout: float) -> bool:
        return any(os.path.exists(self._root.resolve(flag)) for flag in REBOOT_FLAGS)

    def repair(self, *, timeout: float) -> Optional[str]:
        interrupted = self.dpkg_interrupted()
        pending = [p.name for p in self.installed_packages(timeout=timeout) if p.needs_configuring]
        if not interrupted and not pending:
            return None
        argv = ["dpkg", *self._dpkg_options, "--force-confdef", "--force-confold", "--configure", "-a"]
        why = "dpkg was interrupted" if interrupted else "packages were left unconfigured ({})".format(
            ", ".join(sorted(pending)[:10])
        )
        try:
            self._runner.run(argv, timeout=timeout, env=self._env)
        except CommandError as exc:
            return "{}; ran dpkg --configure -a, which failed: {}".format(why, exc)
        return "{}; ran dpkg --configure -a".format(why)

    # ------------------------------------------------------------------ apt specifics
    def dpkg_interrupted(self) -> bool:
        """Did a dpkg run stop half-way? (Its journal in ``var/lib/dpkg/updates`` is not empty.)"""
        updates = self._root.resolve("var/lib/dpkg/updates")
        try:
            return any(entry.isdigit() for entry in os.listdir(updates))
        except FileNotFoundError:
            return False

    def installed_packages(self, *, timeout: float) -> List[InstalledPackage]:
        admindir = self._root.resolve("var/lib/dpkg")
        result = self._runner.run(
            ["dpkg-query", "--admindir=" + admindir, "-W", "-f=" + DPKG_QUERY_FORMAT], timeout=timeout, env=self._env
        )
        return parse_dpkg_query(result.stdout)

    def native_arch(self, *, timeout: float) -> str:
        if self._native_arch is None:
            result = self._runner.run(["dpkg", "--print-architecture"], timeout=timeout, env=self._env)
            self._native_arch = result.stdout.strip()
        return self._native_arch

    def _pins(self, updates: Sequence[Update]) -> List[str]:
        native = self.native_arch(timeout=60)
        return [pin(u, native) for u in updates]

    def _apt_get(
        self,
        args: Sequence[str],
        *,
        timeout: float,
        lock_wait: Optional[float] = None,
        ok_codes: Sequence[int] = (0,),
    ) -> CommandResult:
        argv = ["apt-get", *self._options]
        if lock_wait is not None:
            argv += ["-o", "DPkg::Lock::Timeout={}".format(max(0, int(lock_wait)))]
        argv += list(args)
        try:
            return self._runner.run(argv, timeout=timeout, ok_codes=ok_codes, env=self._env)
        except CommandError as exc:
            output = exc.stdout + "\n" + exc.stderr
            if mentions_lock(output):
                raise LockTimeout("{}: the dpkg lock stayed held past the deadline".format(" ".join(argv[:1]))) from exc
            if mentions_interrupted_dpkg(output):
                raise PackageManagerError("dpkg was interrupted; dpkg --configure -a is needed") from exc
            dpkg_errors = parse_dpkg_errors(output)
            if dpkg_errors:
                raise PackageManagerError("; ".join(dpkg_errors)) from exc
            if apt_errors(exc.stderr):
                raise PackageManagerError(
                    "apt-get exited with {}: {}".format(exc.returncode, "; ".join(apt_errors(exc.stderr)))
                ) from exc
            raise

    def _serve_alternate_root(self, root: str) -> None:
        if any(c in root for c in '"\n;{}'):
            raise PackageManagerError("cannot serve a root whose path contains quotes or braces: {!r}".format(root))
        folder = tempfile.mkdtemp(prefix="guestpatch-apt-")
        weakref.finalize(self, shutil.rmtree, folder, True)
        main = os.path.join(folder, "apt.conf")
        with open(main, "w", encoding="utf-8") as handle:
            handle.write('Dir "{0}/";\nDir::State::status "{0}/var/lib/dpkg/status";\n'.format(root))
        override = os.path.join(folder, "override.conf")
        with open(override, "w", encoding="utf-8") as handle:
            handle.writelines("#clear {};\n".format(hook) for hook in HOOK_LISTS)
            handle.write('DPkg::Options {{ "--root={0}"; "--log={0}/var/log/dpkg.log"; }};\n'.format(root))
            handle.write('Dpkg::Use-Pty "0";\n')
        self._env = {"APT_CONFIG": main}
        self._options = ["-c", override]
        self._dpkg_options = ["--root=" + root, "--log={}/var/log/dpkg.log".format(root)]
