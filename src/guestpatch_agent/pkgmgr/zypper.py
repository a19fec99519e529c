"""zypper backend (SLES, openSUSE, SLE Micro's transactional systems excepted).

Commands (``--root ROOT`` and ``ZYPP_LOGFILE=ROOT/var/log/zypper.log`` when serving an alternate root;
``ZYPP_LOCK_TIMEOUT`` on every call):

==================  ================================================================================
refresh             ``zypper --non-interactive refresh`` (``refresh --services`` when no repository)
list updates        ``zypper --xmlout --no-refresh list-updates``
patches             ``zypper --xmlout --no-refresh list-patches --all`` and, for the needed ones,
                    ``zypper --no-refresh info -t patch -- NAME…`` (which packages each patch fixes)
simulate            ``zypper --xmlout --no-refresh install --dry-run -- name.arch=version…``
install             ``zypper install --auto-agree-with-licenses -- name.arch=version…``
reboot hint         ``zypper needs-rebooting`` (exit 102 = reboot), and exit 102 of an install
==================  ================================================================================

Exit codes: 0 done; 100/101 patches available; 102 reboot needed (remembered); 103 zypper updated
itself (the command is run again once); 106 a repository was skipped (fine when refresh already
reported it, else :class:`RepositoryUnreachable`); 107 a scriptlet failed after the install; 7 locked
(:class:`LockTimeout` after ``ZYPP_LOCK_TIMEOUT``); 4 retried twice with back-off; 8 (commit error,
usually file conflicts) retried once with ``--replacefiles``; anything else is :class:`CommandError`.
"""

import logging
import time
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Set, Tuple

from guestpatch_agent.errors import CommandError, CommandTimeout, LockTimeout, RepositoryUnreachable
from guestpatch_agent.model import Classification, Distro, RebootBehavior, Update
from guestpatch_agent.pkgmgr import rpm
from guestpatch_agent.pkgmgr.base import Root, Transaction
from guestpatch_agent.pkgmgr.repocache import cache_bases, read_repo_metadata
from guestpatch_agent.pkgmgr.updateinfo import Advisory, classified_update, covering
from guestpatch_agent.pkgmgr.zypper_output import (
    ZypperUpdate,
    parse_zypper_failed_repositories,
    parse_zypper_install_summary_xml,
    parse_zypper_list_updates_xml,
    parse_zypper_lock_holder,
    parse_zypper_patch_info,
    parse_zypper_patches_xml,
    parse_zypper_repos_xml,
)
from guestpatch_agent.runner import CommandResult, Runner

log = logging.getLogger(__name__)

#: libzypp's /etc/zypp/needreboot defaults plus the SUSE kernel flavours (reboot hint of last resort).
NEED_REBOOT = (
    "kernel-default", "kernel-azure", "kernel-rt", "kernel-64kb", "kernel-default-base", "glibc", "systemd",
    "udev", "dbus-1", "dbus-broker", "libopenssl1_1", "libopenssl3", "ucode-intel", "ucode-amd",
    "kernel-firmware",
)  # fmt: skip

#: Patch states that mean "applies here and is not installed yet" (``optional``: zypper >= 1.14).
APPLICABLE = ("needed", "optional")

EXIT_LOCKED = 7
EXIT_COMMIT = 8
EXIT_REBOOT = 102
EXIT_RESTART = 103
EXIT_REPOS_SKIPPED = 106
EXIT_SCRIPT_FAILED = 107
_ANY = tuple(range(256))


def zypper_spec(update: Update) -> str:
    """``name.arch=[epoch:]version-release``, validated (never read as an option: it follows ``--``)."""
    rpm.validate_name(update.name)
    rpm.validate_evr(update.version)
    arch = "." + rpm.validate_arch(update.arch) if update.arch else ""
    return "{}{}={}".format(update.name, arch, update.version)


class ZypperBackend:
    """:class:`~guestpatch_agent.pkgmgr.base.Backend` for zypper."""

    name = "zypper"

    def __init__(self, runner: Runner, root: Root, distro: Distro, *, program: str = "zypper") -> None:
        self.runner = runner
        self.root = root
        self.distro = distro
        self.program = program
        #: Names and aliases of repositories the last refresh could not read.
        self.unreachable: List[str] = []
        #: An install ended with exit 102 (a patch that requires a reboot).
        self.reboot_needed = False
        self._reboot_suggested: List[Update] = []
        self._last_updates: Dict[Tuple[str, str], Update] = {}

    # ------------------------------------------------------------------ running
    def _argv(self, *args: str, xml: bool = False, no_refresh: bool = False) -> List[str]:
        argv = [self.program, "--non-interactive"]
        if xml:
            argv.append("--xmlout")
        if not self.root.is_host:
            argv += ["--root", self.root.path]
        if no_refresh:
            argv.append("--no-refresh")
        return argv + list(args)

    def _run(self, argv: Sequence[str], deadline: rpm.Deadline, ok: Sequence[int] = (0,)) -> CommandResult:
        left = deadline.left(argv)
        # Wait for another zypp user at most half of what is left, so the command itself has time.
        env = {"ZYPP_LOCK_TIMEOUT": str(max(1, int(left / 2)))}
        if not self.root.is_host:
            env["ZYPP_LOGFILE"] = self.root.join("var/log/zypper.log")
        try:
            result = self.runner.run(argv, timeout=left, ok_codes=_ANY, env=env)
        except CommandTimeout as exc:
            if parse_zypper_lock_holder(exc.stdout + exc.stderr):
                raise LockTimeout("zypper: the zypp lock stayed held for {:.0f} s".format(exc.timeout)) from exc
            raise
        code, output = result.returncode, result.stdout + "\n" + result.stderr
        if code == EXIT_LOCKED:
            holder = parse_zypper_lock_holder(output) or "another process"
            raise LockTimeout("zypper: system management is locked by {}".format(holder))
        if code == EXIT_REPOS_SKIPPED and code in ok:
            unknown = [r for r in parse_zypper_failed_repositories(output) if r not in self.unreachable]
            if unknown:
                raise RepositoryUnreachable(unknown[0], "zypper skipped it (exit 106)")
            return result
        if code in ok:
            return result
        failed = parse_zypper_failed_repositories(output)
        if failed:
            raise RepositoryUnreachable(failed[0], "zypper exited with {}".format(code))
        raise CommandError(argv, code, result.stdout, result.stderr)

    # ------------------------------------------------------------------ Backend
    def refresh(self, *, timeout: float) -> List[str]:
        """Refresh every enabled repository; unreachable ones are warnings while one works."""
        deadline = rpm.Deadline(timeout, "zypper refresh")
        self.unreachable = []
        warnings: List[str] = []
        repos = [r for r in self._repos(deadline) if r.enabled]
        if not repos:
            self._run(self._argv("refresh", "--services"), deadline, ok=(0, 6))
            repos = [r for r in self._repos(deadline) if r.enabled]
            if not repos:
                return ["zypper: no repository is enabled; nothing can be assessed"]
        result = self._run(self._argv("refresh"), deadline, ok=(0, 4, EXIT_REPOS_SKIPPED))
        failed = parse_zypper_failed_repositories(result.stdout + "\n" + result.stderr)
        if result.returncode != 0 and not failed:
            raise CommandError(result.argv, result.returncode, result.stdout, result.stderr)
        bad = [r for r in repos if r.alias in failed or r.name in failed]
        for repo in bad:
            self.unreachable += [repo.alias, repo.name]
            warnings.append("repository {} cannot be reached; its updates are not assessed".format(repo.alias))
        if bad and len(bad) == len(repos):
            raise RepositoryUnreachable(bad[0].alias, "no enabled repository could be refreshed")
        return warnings

    def _repos(self, deadline: rpm.Deadline) -> list:  # type: ignore[type-arg]
        result = self._run(self._argv("repos", xml=True), deadline, ok=(0, 6))
        return parse_zypper_repos_xml(result.stdout)

    def list_updates(self, *, timeout: float) -> List[Update]:
        deadline = rpm.Deadline(timeout, "zypper list-updates")
        ok = (0, EXIT_REPOS_SKIPPED)
        listed = parse_zypper_list_updates_xml(
            self._run(self._argv("list-updates", xml=True, no_refresh=True), deadline, ok).stdout
        )
        if not listed:
            self._last_updates = {}
            return []
        if any(item.installed is None for item in listed):  # zypper < 1.14 has no edition-old
            listed = self._with_installed(listed, deadline)
        patches = parse_zypper_patches_xml(
            self._run(self._argv("list-patches", "--all", xml=True, no_refresh=True), deadline, (*ok, 100, 101)).stdout
        )
        needed = [p for p in patches if p.status in APPLICABLE]
        contents: Dict[str, list] = {}  # type: ignore[type-arg]
        if needed:
            names = sorted({p.name for p in needed})
            info = self._run(self._argv("info", "-t", "patch", "--", *names, no_refresh=True), deadline, ok)
            contents = parse_zypper_patch_info(info.stdout)
        issued = self._issued_dates({p.repository for p in needed}, {u.name for u in listed})
        advisories = [
            Advisory(
                p.name,
                p.kind,
                p.severity,
                tuple(contents.get(p.name, ())),
                issued.get(p.name, p.issued),
                p.reboot_suggested,
            )
            for p in needed
        ]
        with_patches = {p.repository for p in patches}
        updates = []
        for item in listed:
            covered = covering(advisories, item.name, item.arch, item.installed, item.evr)
            updates.append(
                classified_update(
                    name=item.name,
                    arch=item.arch,
                    version=item.evr,
                    installed=item.installed,
                    repository=item.repository,
                    advisories=covered,
                    has_updateinfo=item.repository in with_patches or bool(covered),
                )
            )
        self._last_updates = {(u.name, u.arch): u for u in updates}
        return updates

    def _with_installed(self, listed: List[ZypperUpdate], deadline: rpm.Deadline) -> List[ZypperUpdate]:
        exact: Dict[Tuple[str, str], rpm.Evr] = {}
        for pkg, _ in rpm.query_installed(self.runner, self.root, timeout=deadline.left()):
            current = exact.get((pkg.name, pkg.arch))
            if current is None or rpm.compare_evr(pkg.evr, current) > 0:
                exact[(pkg.name, pkg.arch)] = pkg.evr
        by_name = {name: evr for (name, _), evr in exact.items()}
        return [
            item if item.installed is not None
            else item._replace(installed=exact.get((item.name, item.arch), by_name.get(item.name)))
            for item in listed
        ]  # fmt: skip

    def _issued_dates(self, repositories: Set[str], names: Set[str]) -> Dict[str, datetime]:
        """Issued dates from the raw updateinfo zypper cached: zypper itself shows the later of the
        issued and updated dates (libsolv keeps one timestamp per patch)."""
        bases = cache_bases(self.root, extra=("var/cache/zypp/raw",))
        dates: Dict[str, datetime] = {}
        for repo in sorted(repositories):
            meta = read_repo_metadata(bases, repo, names)
            if meta.problem:
                log.info("zypper: issued dates of %s are not available: %s", repo, meta.problem)
            dates.update({a.id: a.issued for a in meta.advisories.values() if a.issued is not None})
        return dates

    def simulate(self, updates: Sequence[Update], *, timeout: float) -> Transaction:
        deadline = rpm.Deadline(timeout, "zypper simulate")
        if not updates:
            return Transaction(updates=[])
        argv = self._argv("install", "--dry-run", "--", *[zypper_spec(u) for u in updates], xml=True, no_refresh=True)
        parsed = parse_zypper_install_summary_xml(self._run(argv, deadline, ok=(0, EXIT_REPOS_SKIPPED)).stdout)
        wanted = {(u.name, u.arch): u for u in updates}
        unknown = {r.name for r in parsed.changes if (r.name, r.arch) not in wanted}
        current = rpm.highest_by_name(
            p for p, _ in rpm.query_installed(self.runner, self.root, timeout=deadline.left()) if p.name in unknown
        )
        changes = []
        for row in parsed.changes:
            known = wanted.get((row.name, row.arch)) or self._last_updates.get((row.name, row.arch))
            if known is not None and known.version == str(row.evr):
                changes.append(known)
                continue
            installed = current.get(row.name)
            changes.append(
                Update(
                    name=row.name,
                    arch=row.arch,
                    version=str(row.evr),
                    installed_version=str(installed) if installed is not None else None,
                    classification=Classification.UNCLASSIFIED,
                    repository=row.repository,
                    reboot_behavior=RebootBehavior.UNKNOWN,
                )
            )
        return Transaction(updates=changes, removals=parsed.removals)

    def install(self, updates: Sequence[Update], *, timeout: float) -> None:
        deadline = rpm.Deadline(timeout, "zypper install")
        if not updates:
            return
        specs = [zypper_spec(u) for u in updates]
        self._reboot_suggested.extend(u for u in updates if u.reboot_behavior == RebootBehavior.ALWAYS)
        options = ["--auto-agree-with-licenses"]
        restarted = replaced = False
        retries = 2
        ok = (0, EXIT_REBOOT, EXIT_RESTART, EXIT_REPOS_SKIPPED, EXIT_SCRIPT_FAILED, 4, EXIT_COMMIT)
        while True:
            result = self._run(self._argv("install", *options, "--", *specs), deadline, ok=ok)
            code = result.returncode
            if code == EXIT_REBOOT:
                self.reboot_needed = True
                return
            if code == EXIT_RESTART and not restarted:
                restarted = True  # zypper updated itself: run the same request with the new zypper
                continue
            if code == EXIT_COMMIT and not replaced:
                replaced = True
                options.append("--replacefiles")
                continue
            if code == 4 and retries > 0:
                pause = 2.0 * (3 - retries)
                retries -= 1
                if deadline.left() > pause + 5:
                    time.sleep(pause)
                    continue
            if code in (0, EXIT_RESTART, EXIT_REPOS_SKIPPED):
                return
            if code == EXIT_SCRIPT_FAILED:
                log.warning("zypper: a package scriptlet failed after installing (exit 107)")
                return
            raise CommandError(result.argv, code, result.stdout, result.stderr)

    def installed_versions(self, names: Sequence[str], *, timeout: float) -> Dict[str, str]:
        return rpm.installed_versions(self.runner, self.root, names, timeout=timeout)

    def reboot_required(self, *, timeout: float) -> bool:
        """Exit 102 of an install, an installed patch that suggested a reboot, ``zypper needs-rebooting``
        (exit 102), or (zypper without that command) a core package installed after the last boot.

        ``zypper ps -s`` is not used: it lists processes that use deleted files, which a service
        restart fixes; on a host it lists long-running daemons after any library update.
        """
        deadline = rpm.Deadline(timeout, "zypper reboot-required")
        if self.reboot_needed:
            return True
        if self._reboot_suggested:
            now = rpm.installed_versions(
                self.runner, self.root, [u.name for u in self._reboot_suggested], timeout=deadline.left()
            )
            for u in self._reboot_suggested:
                if u.name in now and rpm.compare_evr(rpm.parse_evr(now[u.name]), rpm.parse_evr(u.version)) >= 0:
                    return True
        result = self._run(self._argv("needs-rebooting"), deadline, ok=_ANY)
        if result.returncode == EXIT_REBOOT:
            return True
        if result.returncode == 0:
            return False
        return rpm.core_updated_since_boot(self.runner, self.root, NEED_REBOOT, timeout=deadline.left())

    def repair(self, *, timeout: float) -> Optional[str]:
        return rpm.repair_database(self.runner, self.root, timeout=timeout)
