"""The part of the dnf, yum and tdnf backends that does not depend on which of them runs.

A subclass says how to build its command lines (:meth:`RpmMdBackend._tool`, ``_list_argv``, ...);
this class runs them through the Runner with one deadline per method, maps failures to the agent's
errors, and classifies with :mod:`updateinfo` and the repository cache (:mod:`repocache`).
"""

import logging
from typing import Dict, List, Optional, Sequence, Set, Tuple, TypeVar

from guestpatch_agent.errors import (
    CommandError,
    CommandTimeout,
    LockTimeout,
    RepositoryUnreachable,
)
from guestpatch_agent.model import Classification, Distro, RebootBehavior, Update
from guestpatch_agent.pkgmgr import rpm
from guestpatch_agent.pkgmgr.base import Root, Transaction
from guestpatch_agent.pkgmgr.dnf_output import (
    Candidate,
    mentions_lock_wait,
    parse_failed_repositories,
    parse_transaction,
    parse_updateinfo_list,
)
from guestpatch_agent.pkgmgr.repocache import RepoMetadata, cache_bases, read_repo_metadata
from guestpatch_agent.pkgmgr.updateinfo import Advisory, classified_update, covering, merge_details
from guestpatch_agent.runner import CommandResult, Runner

log = logging.getLogger(__name__)

#: Packages whose update needs a reboot to take effect (dnf-plugins-core's needs-restarting list,
#: plus the kernel sub-packages of EL 8+ and Oracle's UEK).
NEED_REBOOT = (
    "kernel", "kernel-core", "kernel-rt", "kernel-rt-core", "kernel-uek", "kernel-uek-core", "glibc",
    "linux-firmware", "systemd", "udev", "dbus", "dbus-broker", "dbus-daemon", "microcode_ctl",
    "openssl-libs", "gnutls",
)  # fmt: skip


class RpmMdBackend:
    """Shared implementation of :class:`~guestpatch_agent.pkgmgr.base.Backend` for rpm-md tools."""

    name = "rpm-md"
    #: Exit codes of a transaction dry run that still printed a transaction (``--assumeno``).
    _DRY_RUN_CODES: Tuple[int, ...] = (0, 1)

    def __init__(self, runner: Runner, root: Root, distro: Distro) -> None:
        self.runner = runner
        self.root = root
        self.distro = distro
        #: Repositories that failed at the last refresh: disabled for the rest of the operation.
        self.unreachable: List[str] = []
        self._last_updates: Dict[Tuple[str, str], Update] = {}
        self._reboot_suggested: List[Update] = []

    # ------------------------------------------------------------------ what subclasses provide
    def _tool(self) -> List[str]:
        """The program and the options every call gets (root, configuration, disabled repos)."""
        raise NotImplementedError

    def _refresh_argv(self) -> List[str]:
        raise NotImplementedError

    def _list_candidates(self, deadline: rpm.Deadline) -> List[Candidate]:
        raise NotImplementedError

    def _advisories_argv(self) -> List[str]:
        raise NotImplementedError

    def _install_verb(self) -> List[str]:
        return ["install"]

    def _needs_restarting(self, deadline: rpm.Deadline) -> Optional[bool]:
        """The tool's own reboot hint, or None when it has none (then install times decide)."""
        return None

    # ------------------------------------------------------------------ running
    def _run(self, argv: Sequence[str], deadline: rpm.Deadline, ok_codes: Sequence[int] = (0,)) -> CommandResult:
        """Run, mapping lock waits, unreachable repositories and timeouts to the agent's errors."""
        try:
            return self.runner.run(argv, timeout=deadline.left(argv), ok_codes=ok_codes)
        except CommandTimeout as exc:
            if mentions_lock_wait(exc.stdout + exc.stderr):
                raise LockTimeout(
                    "{}: the package database stayed locked by another process for {:.0f} s".format(
                        self.name, exc.timeout
                    )
                ) from exc
            raise
        except CommandError as exc:
            failed = parse_failed_repositories(exc.stderr + "\n" + exc.stdout)
            if failed:
                raise RepositoryUnreachable(failed[0], _detail(exc, failed[0])) from exc
            raise

    # ------------------------------------------------------------------ Backend
    def refresh(self, *, timeout: float) -> List[str]:
        """Refresh metadata. Unreachable repositories are warnings while others work; if none works,
        :class:`RepositoryUnreachable` names the first."""
        deadline = rpm.Deadline(timeout, self.name + " refresh")
        self.unreachable = []
        result = self._run(self._refresh_argv(), deadline)
        failed = parse_failed_repositories(result.stderr + "\n" + result.stdout)
        if not failed:
            return []
        enabled = self._enabled_repositories(deadline)
        if enabled and set(enabled) <= set(failed):
            raise RepositoryUnreachable(failed[0], "no enabled repository could be read")
        # Some tools name a failed repository by its label in one message and its id in another:
        # only ids can be disabled, and warnings name each repository once, by id when known.
        ids = [name for name in failed if name in enabled]
        self.unreachable = ids
        return ["repository {} cannot be reached; its updates are not assessed".format(r) for r in ids or failed]

    def _enabled_repositories(self, deadline: rpm.Deadline) -> List[str]:
        result = self._run([*self._tool(), "-q", "repolist", "--enabled"], deadline)
        ids = []
        for line in result.stdout.splitlines():
            fields = line.split()
            if fields and fields[0] not in ("repo", "Loaded", "repolist:"):
                ids.append(fields[0].lstrip("!*"))
        return ids

    def list_updates(self, *, timeout: float) -> List[Update]:
        deadline = rpm.Deadline(timeout, self.name + " list-updates")
        candidates = self._list_candidates(deadline)
        if not candidates:
            self._last_updates = {}
            return []
        installed: Dict[Tuple[str, str], rpm.Evr] = {}
        by_name: Dict[str, rpm.Evr] = {}
        for pkg, _ in rpm.query_installed(self.runner, self.root, timeout=deadline.left()):
            _keep_highest(installed, (pkg.name, pkg.arch), pkg.evr)
            _keep_highest(by_name, pkg.name, pkg.evr)
        names = {c.name for c in candidates}
        listed = [a for a in self._list_advisories(deadline) if any(p.name in names for p in a.packages)]
        metadata = self._repo_metadata(candidates, names)
        merged = {repo: merge_details(listed, meta.advisories) for repo, meta in metadata.items()}
        updates = []
        for cand in candidates:
            current = installed.get((cand.name, cand.arch), by_name.get(cand.name))
            meta = metadata[cand.repository]
            advisories = covering(merged[cand.repository], cand.name, cand.arch, current, cand.evr)
            updates.append(
                classified_update(
                    name=cand.name,
                    arch=cand.arch,
                    version=cand.evr,
                    installed=current,
                    repository=cand.repository,
                    advisories=advisories,
                    has_updateinfo=bool(meta.has_updateinfo) or bool(advisories),
                )
            )
        self._last_updates = {(u.name, u.arch): u for u in updates}
        return updates

    def _list_advisories(self, deadline: rpm.Deadline) -> List[Advisory]:
        argv = self._advisories_argv()
        result = self._run(argv, deadline)
        return parse_updateinfo_list(result.stdout)

    def _repo_metadata(self, candidates: Sequence[Candidate], names: Set[str]) -> Dict[str, RepoMetadata]:
        bases = cache_bases(self.root)
        metadata = {}
        for repo in sorted({c.repository for c in candidates}):
            meta = read_repo_metadata(bases, repo, names)
            if meta.problem:
                log.info("%s: advisory details of %s are not available: %s", self.name, repo, meta.problem)
            metadata[repo] = meta
        return metadata

    def simulate(self, updates: Sequence[Update], *, timeout: float) -> Transaction:
        deadline = rpm.Deadline(timeout, self.name + " simulate")
        if not updates:
            return Transaction(updates=[])
        argv = [*self._tool(), "-C", *self._install_verb(), "--assumeno", "--", *_specs(updates)]
        result = self._run(argv, deadline, ok_codes=self._DRY_RUN_CODES)
        parsed = parse_transaction(result.stdout)
        output = result.stdout + result.stderr
        if result.returncode != 0 and not parsed.changes and not parsed.removals and "Nothing to do" not in output:
            raise CommandError(argv, result.returncode, result.stdout, result.stderr)
        wanted = {(u.name, u.arch): u for u in updates}
        new_names = {row.name for row in parsed.changes if (row.name, row.arch) not in wanted}
        current = rpm.highest_by_name(
            p for p, _ in rpm.query_installed(self.runner, self.root, timeout=deadline.left()) if p.name in new_names
        )
        changes: List[Update] = []
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
        self._forget_saved_transaction(output)
        return Transaction(updates=changes, removals=parsed.removals)

    def _forget_saved_transaction(self, output: str) -> None:
        """Only yum 3 saves aborted transactions (see YumBackend)."""

    def install(self, updates: Sequence[Update], *, timeout: float) -> None:
        deadline = rpm.Deadline(timeout, self.name + " install")
        if not updates:
            return
        argv = [*self._tool(), *self._install_verb(), "-y", "--", *_specs(updates)]
        self._reboot_suggested.extend(u for u in updates if u.reboot_behavior == RebootBehavior.ALWAYS)
        self._run(argv, deadline)

    def installed_versions(self, names: Sequence[str], *, timeout: float) -> Dict[str, str]:
        return rpm.installed_versions(self.runner, self.root, names, timeout=timeout)

    def reboot_required(self, *, timeout: float) -> bool:
        """True when an installed update's advisory suggested a reboot, or the tool's reboot hint
        (``needs-restarting -r``) says so, or (without such a tool) a core package (:data:`NEED_REBOOT`)
        was installed after the last boot."""
        deadline = rpm.Deadline(timeout, self.name + " reboot-required")
        if self._reboot_suggested:
            now = rpm.installed_versions(
                self.runner, self.root, [u.name for u in self._reboot_suggested], timeout=deadline.left()
            )
            if any(
                u.name in now and rpm.compare_evr(rpm.parse_evr(now[u.name]), rpm.parse_evr(u.version)) >= 0
                for u in self._reboot_suggested
            ):
                return True
        hint = self._needs_restarting(deadline)
        if hint is not None:
            return hint
        return rpm.core_updated_since_boot(self.runner, self.root, NEED_REBOOT, timeout=deadline.left())

    def repair(self, *, timeout: float) -> Optional[str]:
        return rpm.repair_database(self.runner, self.root, timeout=timeout)


K = TypeVar("K")


def _keep_highest(table: Dict[K, rpm.Evr], key: K, evr: rpm.Evr) -> None:
    current = table.get(key)
    if current is None or rpm.compare_evr(evr, current) > 0:
        table[key] = evr


def _specs(updates: Sequence[Update]) -> List[str]:
    return [rpm.pinned_spec(u.name, u.version, u.arch) for u in updates]


def _detail(exc: CommandError, repository: str) -> str:
    for line in (exc.stderr + "\n" + exc.stdout).splitlines():
        if repository in line and ("rror" in line or "ailed" in line):
            return line.strip()[:300]
    return str(exc)
