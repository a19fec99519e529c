"""The machine page's "why not yet" box: from what the control plane knows, why a machine is not patched.

A pure function of :class:`~guestpatch.services.fleet_views.MachineFacts` and ``now``. Reasons come
most-blocking first. When a rollout includes the machine, :func:`in_rollout` turns the rollout's own
answer (``Orchestrator.explain``: its wave, gate, window or retry, from :mod:`guestpatch.core.explain`)
into a reason that the page shows in front of these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from guestpatch.services.fleet_views import MachineFacts
from guestpatch.services.versions import older_than
from guestpatch.web.formatting import ago, when

PLATFORM = "AutomaticByPlatform"
SEVERITIES = ("blocker", "warning", "info", "ok")

_MODE_MEANING = {
    "ImageDefault": "the image's own configuration decides (unattended upgrades, or nothing)",
    "AutomaticByOS": "Windows Update installs patches on its own schedule",
    "Manual": "patches are installed only when someone asks for an installation (installPatches)",
}


@dataclass(frozen=True)
class Reason:
    severity: str  # "blocker": no automatic patching; "warning"; "info"; "ok"
    title: str
    detail: str = ""
    rollout: str | None = None  # the rollout this reason comes from (the page links to it)


#: A machine's status in a rollout → how the box weighs it (the rest are notes).
_ROLLOUT_SEVERITY = {
    "Succeeded": "ok", "NotOffered": "warning", "Failed": "warning", "Pending": "warning", "Exhausted": "warning",
    "Expired": "warning", "Cancelled": "warning", "Skipped": "warning",
}


def in_rollout(rollout_id: str, explained: Mapping[str, Any]) -> Reason:
    """The rollout's own why-not-yet (``Orchestrator.explain``) as a reason of the box.

    The orchestrator's sentences that end on a moment (``outside its window until``) get it appended.
    """
    status, text = str(explained.get("status", "")), str(explained.get("reason", ""))
    until = explained.get("until")
    if until:
        text = f"{text} {when(datetime.fromisoformat(str(until)))}"
    severity = _ROLLOUT_SEVERITY.get(status, "info")
    if text.startswith("rollout halted"):
        severity = "warning"
    return Reason(severity, f"Rollout {rollout_id}: {status}", text, rollout=rollout_id)


def why_not_yet(facts: MachineFacts, *, now: datetime) -> list[Reason]:
    """The reasons, most blocking first; never empty."""
    reasons: list[Reason] = []
    add = reasons.append
    if facts.patch_mode != PLATFORM:
        add(Reason(
            "blocker", f"Patch mode is {facts.patch_mode}, not {PLATFORM}",
            f"The platform does not patch this machine: {_MODE_MEANING.get(facts.patch_mode, 'the OS decides')}. "
            f"Set patchSettings.patchMode to {PLATFORM} to include it in rollouts.",
        ))
    if facts.bypass_platform_safety_checks:
        add(Reason(
            "blocker", "Patched on the customer's own schedule",
            "bypassPlatformSafetyChecksOnUserSchedule is set: the machine is patched by its maintenance "
            "configuration, not by the platform's availability-first rollout.",
        ))
    if facts.agent_version is None:
        add(Reason(
            "blocker", "No guest agent has reported",
            "Install guestpatch-agent on the machine and enroll it with an enrollment token (docs/agent.md).",
        ))
    else:
        if not facts.reporting and facts.last_seen is not None:
            add(Reason(
                "blocker", "The guest agent is not reporting",
                f"Its last report was at {when(facts.last_seen)} ({ago(now - facts.last_seen)} ago). Check that "
                "guestpatch-agent runs and can reach the control plane.",
            ))
        if older_than(facts.agent_version, facts.min_agent_version):
            add(Reason(
                "blocker", f"The guest agent {facts.agent_version} is too old",
                f"The minimum is {facts.min_agent_version}: the agent is given no patch operations until it is "
                "updated.",
            ))
    if facts.power_state in {"deallocated", "stopped"}:
        add(Reason(
            "blocker", f"The machine is {facts.power_state}",
            "Nothing is assessed or installed while it is not running; it is patched in a later window.",
        ))
    for configuration in facts.configuration:
        code = str(configuration.get("code", ""))
        message = str(configuration.get("message", ""))
        if code.endswith("/NotSupported"):
            add(Reason("blocker", "The image is not supported for automatic patching", message))
        elif code.endswith("/Failed"):
            add(Reason("blocker", "The agent could not apply the patch settings", message))
        elif code == "ImageLifecycleState/EndOfLife":
            add(Reason("warning", "The image is past its end of life", message))
    if facts.active_operation is not None:
        kind, status, since = facts.active_operation
        what = "An installation" if kind == "installPatches" else "An assessment"
        add(Reason("info", f"{what} is {'queued' if status == 'Queued' else 'running'}",
                   f"Requested at {when(since)}."))
    if facts.last_installation is not None and facts.last_installation[0] == "Failed":
        error = facts.last_installation[1]
        add(Reason(
            "warning", "The last installation failed",
            (f"{error} " if error else "") + "The patches are tried again in the machine's next window.",
        ))
    if not facts.assessed:
        periodic = facts.assessment_mode == PLATFORM
        add(Reason(
            "info", "Not assessed yet",
            "Which patches are pending is unknown until the first assessment. "
            + ("Periodic assessment is on (AutomaticByPlatform): it runs within a day."
               if periodic else "Assessment mode is ImageDefault: assessments run on request (assessPatches) "
               "and during rollouts only."),
        ))
    if any(r.severity == "blocker" for r in reasons):
        return _ordered(reasons)
    if facts.critical > 0:
        add(Reason(
            "info", f"{facts.critical} Critical/Security patch{'es' if facts.critical != 1 else ''} pending",
            "Nothing blocks this machine: a rollout installs them in its off-peak window, when its region's "
            "phase and its wave come.",
        ))
    elif facts.assessed:
        add(Reason("ok", "Nothing pending",
                   "The latest assessment found no Critical or Security patch, and nothing blocks this machine."))
    return _ordered(reasons)


def _ordered(reasons: list[Reason]) -> list[Reason]:
    """Blockers, then warnings, then notes (stable: the rules' order within each)."""
    return sorted(reasons, key=lambda r: SEVERITIES.index(r.severity))

