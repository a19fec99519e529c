"""dnf (4 and 5: RHEL/Alma/Rocky/Oracle/CentOS Stream 8+, Fedora) and yum 3 (EL 7) backends.

Commands (``ROOT`` options only when serving an alternate root):

==================  ====================================================================================
refresh             ``dnf makecache --refresh --setopt=skip_if_unavailable=True`` (yum: ``makecache fast``)
list updates        ``dnf -C -q repoquery --upgrades --latest-limit=1 --qf …`` (yum: ``check-update``)
advisories          ``dnf -q updateinfo list --available`` (dnf 5: ``advisory list``; yum: ``updateinfo list
                    available``), completed from the cached ``updateinfo.xml`` (issued date, reboot hint)
simulate            ``dnf -C install --assumeno -- name-[epoch:]version-release.arch …``
install             ``dnf install -y -- name-[epoch:]version-release.arch …``
reboot hint         ``dnf needs-restarting -r`` (exit 1 = reboot; yum: ``needs-restarting -r``)
==================  ====================================================================================

Queries run from the cache (``-C``): only ``refresh`` and ``install`` read the network, so an
assessment with ``--no-refresh`` writes nothing. Under an alternate root: ``--installroot=ROOT``,
``--setopt=reposdir=ROOT/etc/yum.repos.d``, the root's ``dnf.conf`` and plugin configuration, and
``--releasever`` from the root's os-release.
"""

import os
import shutil
from typing import List, Optional

from guestpatch_agent.errors import CommandError
from guestpatch_agent.model import Distro
from guestpatch_agent.pkgmgr import rpm
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.pkgmgr.dnf_output import (
    REPOQUERY_FORMAT,
    Candidate,
    parse_check_update,
    parse_repoquery,
    saved_transaction,
)
from guestpatch_agent.pkgmgr.rpmmd import RpmMdBackend
from guestpatch_agent.runner import Runner

#: Distributions whose ``$releasever`` is the whole VERSION_ID (the others use the major version).
_FULL_RELEASEVER = ("fedora", "amzn", "azurelinux", "mariner", "photon")


def releasever(root: Root, distro: Distro) -> Optional[str]:
    """``--releasever`` for an alternate root (None on the host, or when the root sets it itself)."""
    if root.is_host or not distro.version_id:
        return None
    for var in ("etc/dnf/vars/releasever", "etc/yum/vars/releasever"):
        if os.path.isfile(root.resolve(var)):
            return None
    if distro.id in _FULL_RELEASEVER:
        return distro.version_id
    return distro.version_id.split(".")[0]


def is_dnf5(program: str) -> bool:
    """Is ``program`` dnf 5 (``dnf5``, or Fedora 41+'s ``dnf`` symlink to it)?"""
    path = shutil.which(program)
    target = os.path.basename(os.path.realpath(path)) if path else program
    return target.startswith("dnf5") or os.path.basename(program).startswith("dnf5")


class DnfBackend(RpmMdBackend):
    """dnf 4 and dnf 5."""

    name = "dnf"

    def __init__(self, runner: Runner, root: Root, distro: Distro, *, program: str = "dnf") -> None:
        super().__init__(runner, root, distro)
        self.program = program
        self.dnf5 = is_dnf5(program)
        self._no_plugin = False
        if self.dnf5:
            self.name = "dnf5"

    def _tool(self) -> List[str]:
        argv = [self.program]
        if not self.root.is_host:
            argv += ["--installroot=" + self.root.path, "--setopt=reposdir=" + self.root.join("etc/yum.repos.d")]
            conf = self.root.resolve("etc/dnf/dnf.conf")
            if os.path.isfile(conf):
                argv.append("--config=" + conf)
            argv.append("--setopt=pluginconfpath=" + self.root.join("etc/dnf/plugins"))
            version = releasever(self.root, self.distro)
            if version:
                argv.append("--releasever=" + version)
        argv += ["--setopt={}.enabled=0".format(repo) for repo in self.unreachable]
        return argv

    def _refresh_argv(self) -> List[str]:
        return [*self._tool(), "makecache", "--refresh", "--setopt=skip_if_unavailable=True"]

    def _list_candidates(self, deadline: rpm.Deadline) -> List[Candidate]:
        fmt = REPOQUERY_FORMAT if self.dnf5 else REPOQUERY_FORMAT.rstrip("\n")
        argv = [*self._tool(), "-C", "-q", "repoquery", "--upgrades", "--latest-limit=1", "--queryformat", fmt]
        return parse_repoquery(self._run(argv, deadline).stdout)

    def _advisories_argv(self) -> List[str]:
        if self.dnf5:
            return [*self._tool(), "-C", "-q", "advisory", "list", "--available"]
        return [*self._tool(), "-C", "-q", "updateinfo", "list", "--available"]

    def _needs_restarting(self, deadline: rpm.Deadline) -> Optional[bool]:
        if self._no_plugin:
            return None
        argv = [*self._tool(), "-C", "-q", "needs-restarting", "-r"]
        try:
            result = self._run(argv, deadline, ok_codes=(0, 1))
        except CommandError:
            return None
        if result.returncode == 0:
            return False
        text = result.stdout + result.stderr
        if "No such command" in text or "Unknown argument" in text:
            self._no_plugin = True  # dnf-plugins-core is not installed: do not ask again
            return None
        return True if "Reboot is required" in text else None  # otherwise install times decide


class YumBackend(RpmMdBackend):
    """yum 3 (RHEL/CentOS/Oracle Linux 7)."""

    name = "yum"

    def __init__(self, runner: Runner, root: Root, distro: Distro, *, program: str = "yum") -> None:
        super().__init__(runner, root, distro)
        self.program = program

    def _tool(self) -> List[str]:
        argv = [self.program, "--color=never"]
        if not self.root.is_host:
            argv += ["--installroot=" + self.root.path, "--setopt=reposdir=" + self.root.join("etc/yum.repos.d")]
            conf = self.root.resolve("etc/yum.conf")
            if os.path.isfile(conf):
                argv.append("--config=" + conf)
            version = releasever(self.root, self.distro)
            if version:
                argv.append("--releasever=" + version)
        argv += ["--disablerepo=" + repo for repo in self.unreachable]
        return argv

    def _refresh_argv(self) -> List[str]:
        return [*self._tool(), "makecache", "fast", "--setopt=skip_if_unavailable=1"]

    def _list_candidates(self, deadline: rpm.Deadline) -> List[Candidate]:
        argv = [*self._tool(), "-C", "-q", "check-update"]
        result = self._run(argv, deadline, ok_codes=(0, 100))
        candidates = parse_check_update(result.stdout)
        if result.returncode == 100 and not candidates:
            raise CommandError(argv, 100, result.stdout, result.stderr, message="updates announced but none parsed")
        return candidates

    def _advisories_argv(self) -> List[str]:
        return [*self._tool(), "-C", "-q", "updateinfo", "list", "available"]

    def _forget_saved_transaction(self, output: str) -> None:
        path = saved_transaction(output)
        if path and os.path.basename(path).startswith("yum_save_tx"):
            try:
                os.remove(path)
            except OSError:
                pass

    def _needs_restarting(self, deadline: rpm.Deadline) -> Optional[bool]:
        if not self.root.is_host:
            return None  # yum-utils' needs-restarting has no alternate-root option
        try:
            result = self._run(["needs-restarting", "-r"], deadline, ok_codes=(0, 1))
        except CommandError:
            return None
        if result.returncode == 0:
            return False
        return True if "Reboot is required" in result.stdout + result.stderr else None
