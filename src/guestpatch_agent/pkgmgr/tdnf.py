"""tdnf backend (Azure Linux 2/3, CBL-Mariner, Photon OS).

tdnf is not packaged for Debian, so this backend is pinned by golden files of its output and by
tests that drive it through a recorded stand-in for the ``tdnf`` program (a real process replaying
real-format output), with the real rpm underneath. The command lines follow Azure's
LinuxPatchExtension, which runs tdnf on Azure Linux in production:

==================  ==================================================================================
refresh             ``tdnf --refresh makecache --setopt=skip_if_unavailable=1``
list updates        ``tdnf -C -q list updates`` (``name.arch  [epoch:]version-release  repo``)
advisories          ``tdnf -C -q updateinfo --list`` (id, type, package file; no severity: the severity,
                    issued date and reboot hint come from the cached updateinfo.xml)
simulate            ``tdnf -C install --assumeno -- name-[epoch:]version-release.arch …`` (exit 8)
install             ``tdnf -y install -- name-[epoch:]version-release.arch …``
reboot hint         ``needs-restarting -r`` when installed (dnf-utils), else install times of core
                    packages after boot
==================  ==================================================================================
"""

import os
import shutil
from typing import List, Optional

from guestpatch_agent.errors import CommandError
from guestpatch_agent.model import Distro
from guestpatch_agent.pkgmgr import rpm
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.pkgmgr.dnf_output import Candidate, parse_check_update
from guestpatch_agent.pkgmgr.rpmmd import RpmMdBackend
from guestpatch_agent.runner import Runner

#: tdnf exits 8 after printing the transaction when ``--assumeno`` declines it (``Error(1032)``).
TDNF_DECLINED = 8


class TdnfBackend(RpmMdBackend):
    """:class:`~guestpatch_agent.pkgmgr.base.Backend` for tdnf."""

    name = "tdnf"
    _DRY_RUN_CODES = (0, 1, TDNF_DECLINED)

    def __init__(self, runner: Runner, root: Root, distro: Distro, *, program: str = "tdnf") -> None:
        super().__init__(runner, root, distro)
        self.program = program

    def _tool(self) -> List[str]:
        argv = [self.program]
        if not self.root.is_host:
            argv += ["--installroot=" + self.root.path, "--setopt=reposdir=" + self.root.join("etc/yum.repos.d")]
            conf = self.root.resolve("etc/tdnf/tdnf.conf")
            if os.path.isfile(conf):
                argv += ["-c", conf]
            if self.distro.version_id:
                argv.append("--releasever=" + self.distro.version_id)
        argv += ["--disablerepo=" + repo for repo in self.unreachable]
        return argv

    def _refresh_argv(self) -> List[str]:
        return [*self._tool(), "--refresh", "makecache", "--setopt=skip_if_unavailable=1"]

    def _enabled_repositories(self, deadline: rpm.Deadline) -> List[str]:
        result = self._run([*self._tool(), "-q", "repolist", "enabled"], deadline)
        return [line.split()[0] for line in result.stdout.splitlines()[1:] if line.strip()]

    def _list_candidates(self, deadline: rpm.Deadline) -> List[Candidate]:
        argv = [*self._tool(), "-C", "-q", "list", "updates"]
        result = self._run(argv, deadline)
        return parse_check_update(result.stdout)

    def _advisories_argv(self) -> List[str]:
        return [*self._tool(), "-C", "-q", "updateinfo", "--list"]

    def _needs_restarting(self, deadline: rpm.Deadline) -> Optional[bool]:
        if not self.root.is_host or shutil.which("needs-restarting") is None:
            return None
        try:
            result = self._run(["needs-restarting", "-r"], deadline, ok_codes=(0, 1))
        except CommandError:
            return None
        if result.returncode == 0:
            return False
        return True if "Reboot is required" in result.stdout + result.stderr else None
