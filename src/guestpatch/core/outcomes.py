"""How an agent's Azure-shaped result becomes the orchestrator's reports (pure).

The engine speaks in :class:`~guestpatch.core.records.ReportKind`; agents answer with
``VirtualMachineInstallPatchesResult`` / ``VirtualMachineAssessPatchesResult``. This module is the
one place that translates, so the simulator's semantics and the real system's agree:

- an installation whose reboot completed: ``InstalledRebooting`` then ``Back`` (the agent reports
  its final result only after the reboot, so both happen at the report's time);
- finished without reboot (``NotNeeded``, or ``Required`` with rebootSetting Never): ``Installed``;
- the maximum duration ran out: ``WindowExceeded`` (retried in the next window);
- anything else that failed (a patch failed, the reboot failed): ``InstallFailed`` with the reason;
- frozen pins the machine was offered under another version: ``not_offered`` on the success report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from guestpatch.core.durations import format_duration
from guestpatch.core.records import ReportKind

Offer = tuple[str, str, str]

_RANK = {"Critical": 0, "Security": 1, "Other": 2, "Unclassified": 3}


def classification_of(patch: Mapping[str, Any]) -> str:
    """The strongest classification a patch carries (Critical > Security > Other)."""
    classes = [c for c in patch.get("classifications") or () if isinstance(c, str)]
    if not classes:
        return "Other"
    return min(classes, key=lambda c: _RANK.get(c, 9))


def offers_of(result: Mapping[str, Any]) -> tuple[Offer, ...]:
    """``(name, version, classification)`` of every available patch of an assessment result."""
    out: dict[str, Offer] = {}
    for patch in result.get("availablePatches") or ():
        name, version = patch.get("name"), patch.get("version")
        if isinstance(name, str) and isinstance(version, str):
            out[name] = (name, version, classification_of(patch))
    return tuple(sorted(out.values()))


def not_offered(pins: Sequence[str], result: Mapping[str, Any]) -> tuple[str, ...]:
    """Pins ``name=version`` whose package the result lists under another version only."""
    listed: dict[str, set[str]] = {}
    for patch in result.get("patches") or ():
        name, version = patch.get("name"), patch.get("version")
        if isinstance(name, str) and isinstance(version, str):
            listed.setdefault(name, set()).add(version)
    out = []
    for pin in pins:
        name, _, version = pin.partition("=")
        if name in listed and version not in listed[name]:
            out.append(pin)
    return tuple(out)


def install_outcome(result: Mapping[str, Any], pins: Sequence[str] = ()) -> list[tuple[ReportKind, str]]:
    """The reports an installation result stands for, in order, each with a detail text."""
    status = result.get("status")
    reboot = result.get("rebootStatus") or "Unknown"
    if result.get("maintenanceWindowExceeded"):
        return [(ReportKind.WINDOW_EXCEEDED, "the maximum duration ran out")]
    if status == "Failed" or reboot == "Failed":
        return [(ReportKind.INSTALL_FAILED, _failure_detail(result))]
    if status not in {"Succeeded", "CompletedWithWarnings"}:
        return [(ReportKind.INSTALL_FAILED, f"installation ended with status {status}")]
    if reboot == "Completed":
        return [(ReportKind.INSTALLED_REBOOTING, ""), (ReportKind.BACK, "")]
    return [(ReportKind.INSTALLED, "")]


def _failure_detail(result: Mapping[str, Any]) -> str:
    failed = [p.get("name") for p in result.get("patches") or () if p.get("installationState") == "Failed"]
    error = result.get("error") or {}
    parts = []
    if failed:
        parts.append("failed: " + ", ".join(str(n) for n in failed[:5]) + (" …" if len(failed) > 5 else ""))
    if isinstance(error, Mapping) and error.get("message"):
        parts.append(str(error["message"]))
    if result.get("rebootStatus") == "Failed":
        parts.append("the reboot failed")
    return "; ".join(parts) or "the installation failed"


def install_parameters(*, max_duration_s: int, reboot_setting: str, pins: Iterable[str]) -> dict[str, Any]:
    """The installPatches parameters for an orchestrator command.

    Without pins: the release's Critical and Security patches. With pins (the frozen patch set): exactly
    those ``name=version`` masks and nothing else.
    """
    minutes = max(5, min(max_duration_s // 60, 235))
    pinned = list(pins)
    return {
        "maximumDuration": format_duration(timedelta(minutes=minutes)),
        "rebootSetting": reboot_setting,
        "linuxParameters": {
            "classificationsToInclude": [] if pinned else ["Critical", "Security"],
            "packageNameMasksToInclude": pinned,
            "packageNameMasksToExclude": [],
        },
    }
