"""Reboots: the Rebooter port, its production adapters, the boot id, and the reboot policy.

Detection of a pending reboot belongs to each backend (apt: ``/var/run/reboot-required`` under the
root). This module decides *whether* to reboot (:func:`decide`, pure) and performs it through an
injected :class:`Rebooter`: ``systemctl reboot`` (falling back to ``shutdown -r now``) on the host,
any command given with ``--reboot-command``, and in tests a real object that records the request.

rebootStatus moves NotNeeded → Required → Started → Completed | Failed. ``Started`` is saved, with
the boot id and an incremented reboot counter, *before* the reboot is requested; after the restart a
different boot id turns it into ``Completed``. The counter is the loop guard: never more than
:data:`MAX_REBOOTS` reboots for one operation, and ``Always`` reboots once.
"""

import os
from dataclasses import dataclass
from typing import Optional, Protocol, Sequence

from guestpatch_agent.errors import AgentError, CommandError
from guestpatch_agent.model import RebootSetting
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.runner import Runner

MAX_REBOOTS = 3
BOOT_ID = "proc/sys/kernel/random/boot_id"


class Rebooter(Protocol):
    def request_reboot(self, message: str) -> None:
        """Ask the machine to restart; returns once asked (the restart itself ends this process)."""
        ...


class CommandRebooter:
    """Reboots by running one argv (``--reboot-command``), with fallbacks tried in order."""

    def __init__(self, runner: Runner, commands: Sequence[Sequence[str]], timeout: float = 120.0) -> None:
        if not commands:
            raise ValueError("at least one reboot command is needed")
        self._runner = runner
        self._commands = [list(c) for c in commands]
        self._timeout = timeout

    def request_reboot(self, message: str) -> None:
        failures = []
        for argv in self._commands:
            try:
                self._runner.run(argv, timeout=self._timeout)
                return
            except CommandError as exc:
                failures.append(str(exc))
        raise AgentError("the reboot could not be requested: " + "; ".join(failures))


def system_rebooter(runner: Runner) -> CommandRebooter:
    """The host's reboot: ``systemctl reboot``, else ``shutdown -r now`` (osconfig's order)."""
    return CommandRebooter(runner, [["systemctl", "reboot"], ["shutdown", "-r", "now", "guestpatch: patching"]])


def read_boot_id(root: Root) -> Optional[str]:
    """This boot's id (``/proc/sys/kernel/random/boot_id`` under the root), ``None`` where there is none.

    An offline image has an empty ``/proc``: its boot id is unknown, and a restart of the agent is
    then taken as the reboot having happened (LPE's rule).
    """
    try:
        with open(root.resolve(BOOT_ID), encoding="ascii", errors="replace") as handle:
            value = handle.read().strip()
    except OSError:
        return None
    return value or None


@dataclass(frozen=True)
class RebootDecision:
    reboot: bool
    status: str
    warning: Optional[str] = None


def decide(setting: str, *, pending: bool, reboots_done: int, can_reboot: bool, time_left: bool) -> RebootDecision:
    """Whether to reboot now, after the installation, and the rebootStatus to record if not.

    ``can_reboot`` is False when no rebooter exists (an alternate root without ``--reboot-command``);
    ``time_left`` is False when the window has no room for the 15-minute reboot buffer.
    """
    if setting == RebootSetting.NEVER:
        if pending:
            return RebootDecision(
                False,
                "Required",
                "the machine needs a reboot, but the reboot setting Never does not allow one",
            )
        return RebootDecision(False, "NotNeeded")
    wants = (setting == RebootSetting.ALWAYS and reboots_done == 0) or (
        setting == RebootSetting.IF_REQUIRED and pending
    )
    if not wants:
        return RebootDecision(False, "Required" if pending else ("Completed" if reboots_done else "NotNeeded"))
    if reboots_done >= MAX_REBOOTS:
        return RebootDecision(
            False, "Failed", "the reboot limit of {} for one operation was reached".format(MAX_REBOOTS)
        )
    if not can_reboot:
        return RebootDecision(
            False,
            "Required",
            "a reboot is needed but none can be performed here (alternate root without --reboot-command)",
        )
    if not time_left:
        return RebootDecision(False, "Required", "insufficient time left in the maintenance window to reboot")
    return RebootDecision(True, "Started")


def boot_changed(recorded: Optional[str], current: Optional[str]) -> bool:
    """Has the machine restarted since ``recorded``? Unknown ids count as restarted (see :func:`read_boot_id`)."""
    if recorded is None or current is None:
        return True
    return recorded != current


def is_host_root(root: Root) -> bool:
    return root.is_host or os.path.realpath(root.path) == "/"
