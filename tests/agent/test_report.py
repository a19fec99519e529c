"""Azure's result shapes: exact keys, enums, counts and order."""

from __future__ import annotations

from datetime import UTC, datetime

from guestpatch_agent.model import Distro, Patch, Update
from guestpatch_agent.report import api_error, assessment_result, installation_result

T = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
DEBIAN = Distro("debian", "12")


def u(name: str, classification: str, installed: str | None = "1.0") -> Update:
    return Update(name, "all", "1.1", installed, classification, "r")


def test_assessment_result_has_exactly_azures_fields() -> None:
    """VirtualMachineAssessPatchesResult: the documented keys, counts by class, most important first."""
    result = assessment_result(activity_id="a", status="Succeeded", started=T, finished=T, reboot_pending=True,
                               updates=[u("z", "Other"), u("b", "Security"), u("new", "Other", None)], distro=DEBIAN)
    assert list(result) == ["status", "assessmentActivityId", "rebootPending", "criticalAndSecurityPatchCount",
                            "otherPatchCount", "startDateTime", "availablePatches", "error"]
    assert (result["criticalAndSecurityPatchCount"], result["otherPatchCount"]) == (1, 1)
    assert result["startDateTime"] == "2026-11-26T08:00:00Z"
    first = result["availablePatches"][0]
    assert first == {"patchId": "b_1.1_debian_12", "name": "b", "version": "1.1", "classifications": ["Security"],
                     "rebootBehavior": "Unknown", "activityId": "a", "publishedDate": None,
                     "lastModifiedDateTime": "2026-11-26T08:00:00Z", "assessmentState": "Available"}
    assert result["error"] is None


def test_installation_result_counts_each_state() -> None:
    """VirtualMachineInstallPatchesResult: the five counts add up to the patches listed."""
    states = ["Installed", "Failed", "Pending", "NotSelected", "Excluded", "Installed"]
    patches = [Patch(u(f"p{i}", "Other"), s) for i, s in enumerate(states)]
    result = installation_result(activity_id="i", status="Failed", started=T, reboot_status="NotNeeded",
                                 window_exceeded=True, patches=patches, distro=DEBIAN)
    assert list(result) == ["status", "installationActivityId", "rebootStatus", "maintenanceWindowExceeded",
                            "excludedPatchCount", "notSelectedPatchCount", "pendingPatchCount",
                            "installedPatchCount", "failedPatchCount", "patches", "startDateTime", "error"]
    counts = [result[k] for k in ("installedPatchCount", "failedPatchCount", "pendingPatchCount",
                                  "notSelectedPatchCount", "excludedPatchCount")]
    assert counts == [2, 1, 1, 1, 1]
    assert result["patches"][0]["installationState"] == "Failed"
    assert set(result["patches"][0]) == {"patchId", "name", "version", "classifications", "installationState"}


def test_api_error_lists_details_and_counts() -> None:
    """ApiError: one detail per problem, the count in the message, the single code when alone."""
    assert api_error([], failed=False) is None
    one = api_error([("RebootNotPerformed", "no reboot")], failed=False)
    assert one == {"code": "RebootNotPerformed", "message": "1 error/s reported. no reboot",
                   "details": [{"code": "RebootNotPerformed", "message": "no reboot"}]}
    two = api_error([("A", "x"), ("B", "y")], failed=True)
    assert two is not None
    assert two["code"] == "OperationFailed"
    assert len(two["details"]) == 2
