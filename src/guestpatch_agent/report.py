"""Azure's JSON result shapes, rendered from the agent's values. Nothing else builds these dicts.

- :func:`assessment_result` -> ``VirtualMachineAssessPatchesResult``
- :func:`installation_result` -> ``VirtualMachineInstallPatchesResult``
- :func:`api_error` -> ``ApiError`` (``null`` when there is nothing to report)

Field names, enum spellings and nesting follow ``azure-compute-api.md`` §3-4 exactly; timestamps are
ISO 8601 UTC with a ``Z``.
"""

from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence, Tuple

from guestpatch_agent.clock import format_time
from guestpatch_agent.model import Classification, Distro, InstallationState, Patch, Update

ErrorItem = Tuple[str, str]  # (code, message)

#: ``details`` of an ApiError are capped, as LPE caps them; the message says how many there were.
MAX_DETAILS = 20

_STATE_ORDER = (
    InstallationState.FAILED,
    InstallationState.INSTALLED,
    InstallationState.PENDING,
    InstallationState.EXCLUDED,
    InstallationState.NOT_SELECTED,
)


def api_error(errors: Sequence[ErrorItem], *, failed: bool) -> Optional[Dict[str, Any]]:
    """``ApiError`` for the gathered errors and warnings, or ``None`` when there are none."""
    if not errors:
        return None
    details = [{"code": code, "message": message} for code, message in errors[:MAX_DETAILS]]
    code = errors[0][0] if len(errors) == 1 else ("OperationFailed" if failed else "OperationCompletedWithWarnings")
    count = len(errors)
    message = "{} error/s reported.".format(count)
    if count == 1:
        message += " " + errors[0][1]
    elif count > MAX_DETAILS:
        message += " The first {} are shared in detail.".format(MAX_DETAILS)
    return {"code": code, "message": message, "details": details}


def _class_rank(classification: str) -> int:
    order = Classification.ORDER
    return order.index(classification) if classification in order else len(order)


def _patch_common(update: Update, distro: Distro) -> Dict[str, Any]:
    return {
        "patchId": distro.patch_id(update.name, update.version),
        "name": update.name,
        "version": update.version,
        "classifications": [update.classification],
    }


def assessment_result(
    *,
    activity_id: str,
    status: str,
    started: datetime,
    finished: datetime,
    reboot_pending: bool,
    updates: Sequence[Update],
    distro: Distro,
    errors: Sequence[ErrorItem] = (),
    failed: bool = False,
) -> Dict[str, Any]:
    """``VirtualMachineAssessPatchesResult``; new packages (dependencies) are not patches."""
    patches = sorted((u for u in updates if not u.is_new), key=lambda u: (_class_rank(u.classification), u.name))
    available: List[Dict[str, Any]] = []
    for update in patches:
        item = _patch_common(update, distro)
        item.update(
            {
                "rebootBehavior": update.reboot_behavior,
                "activityId": activity_id,
                "publishedDate": format_time(update.published) if update.published else None,
                "lastModifiedDateTime": format_time(finished),
                "assessmentState": "Available",
            }
        )
        available.append(item)
    critical_and_security = sum(
        1 for u in patches if u.classification in (Classification.CRITICAL, Classification.SECURITY)
    )
    return {
        "status": status,
        "assessmentActivityId": activity_id,
        "rebootPending": reboot_pending,
        "criticalAndSecurityPatchCount": critical_and_security,
        "otherPatchCount": len(patches) - critical_and_security,
        "startDateTime": format_time(started),
        "availablePatches": available,
        "error": api_error(errors, failed=failed),
    }


def installation_result(
    *,
    activity_id: str,
    status: str,
    started: datetime,
    reboot_status: str,
    window_exceeded: bool,
    patches: Sequence[Patch],
    distro: Distro,
    errors: Sequence[ErrorItem] = (),
    failed: bool = False,
) -> Dict[str, Any]:
    """``VirtualMachineInstallPatchesResult``; each patch ends in one of Azure's five states."""

    def count(state: str) -> int:
        return sum(1 for p in patches if p.state == state)

    ordered = sorted(
        patches,
        key=lambda p: (
            _class_rank(p.update.classification),
            _STATE_ORDER.index(p.state) if p.state in _STATE_ORDER else len(_STATE_ORDER),
            p.name,
        ),
    )
    rendered = []
    for patch in ordered:
        item = _patch_common(patch.update, distro)
        item["installationState"] = patch.state
        rendered.append(item)
    return {
        "status": status,
        "installationActivityId": activity_id,
        "rebootStatus": reboot_status,
        "maintenanceWindowExceeded": window_exceeded,
        "excludedPatchCount": count(InstallationState.EXCLUDED),
        "notSelectedPatchCount": count(InstallationState.NOT_SELECTED),
        "pendingPatchCount": count(InstallationState.PENDING),
        "installedPatchCount": count(InstallationState.INSTALLED),
        "failedPatchCount": count(InstallationState.FAILED),
        "patches": rendered,
        "startDateTime": format_time(started),
        "error": api_error(errors, failed=failed),
    }
