"""What agents send is validated field by field: a malformed report is refused, never half-stored."""

from __future__ import annotations

from typing import Any

import pytest

from guestpatch.core.agent_messages import parse_heartbeat, parse_os, parse_report
from guestpatch.errors import InvalidInput

OS = {"family": "Linux", "distro": "debian", "version": "12", "kernel": "6.1.0"}


def test_a_complete_heartbeat_is_read() -> None:
    beat = parse_heartbeat({
        "agentVersion": "0.1.0", "os": OS, "bootTime": "2026-11-26T07:58:12Z",
        "configuration": {"patchMode": "AutomaticByPlatform", "assessmentMode": "ImageDefault",
                          "status": "Succeeded", "error": None, "appliedAt": "2026-11-26T08:00:03+00:00"},
        "health": {"state": "Healthy", "probe": "http://127.0.0.1:8080/h", "checkedAt": "2026-11-26T08:00:00Z"},
    })
    assert beat.agent_version == "0.1.0"
    assert beat.boot_time is not None
    assert beat.boot_time.tzinfo is not None
    assert beat.configuration is not None
    assert beat.configuration["appliedAt"] == "2026-11-26T08:00:03Z"
    assert beat.health == {"state": "Healthy", "probe": "http://127.0.0.1:8080/h", "checkedAt": "2026-11-26T08:00:00Z"}


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"os": OS}, "heartbeat.agentVersion"),
        ({"agentVersion": "1", "os": {"family": "BeOS", "distro": "x"}}, "os.family"),
        ({"agentVersion": "1", "os": OS, "bootTime": "yesterday"}, "bootTime"),
        ({"agentVersion": "1", "os": OS, "bootTime": "2026-11-26T07:58:12"}, "bootTime"),
        ({"agentVersion": "1", "os": OS, "health": {"state": "Great"}}, "health.state"),
        ({"agentVersion": "1", "os": OS, "configuration": {"patchMode": "ImageDefault",
                                                           "assessmentMode": "ImageDefault", "status": "Maybe"}},
         "configuration.status"),
        ({"agentVersion": "1", "os": OS, "configuration": {"status": "Succeeded"}}, "configuration.patchMode"),
        ({"agentVersion": "x" * 100, "os": OS}, "heartbeat.agentVersion"),
    ],
)
def test_heartbeat_refusals_name_the_field(body: dict[str, Any], target: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_heartbeat(body)
    assert caught.value.target == target


def test_os_requires_family_and_distro() -> None:
    assert parse_os({"family": "Linux", "distro": "rhel"}) == {"family": "Linux", "distro": "rhel"}
    with pytest.raises(InvalidInput):
        parse_os({"family": "Linux"})
    with pytest.raises(InvalidInput):
        parse_os("linux")


def test_reports_need_a_growing_sequence_and_a_result_when_final() -> None:
    assert parse_report({"sequence": 1, "status": "InProgress"}, kind="assessPatches").result is None
    for sequence in (0, -1, True, "1", 2**31):
        with pytest.raises(InvalidInput) as caught:
            parse_report({"sequence": sequence, "status": "InProgress"}, kind="assessPatches")
        assert caught.value.target == "sequence"
    with pytest.raises(InvalidInput) as caught:
        parse_report({"sequence": 2, "status": "Succeeded"}, kind="assessPatches")
    assert caught.value.target == "result"


def test_an_assessment_result_is_kept_in_azure_shape() -> None:
    report = parse_report({"sequence": 3, "status": "Succeeded", "result": {
        "status": "Succeeded", "rebootPending": True, "criticalAndSecurityPatchCount": 1, "otherPatchCount": 0,
        "availablePatches": [{"patchId": "p1", "name": "libssl3", "version": "3.0.15", "classifications": ["Security"],
                              "rebootBehavior": "CanRequestReboot", "publishedDate": "2026-11-10T00:00:00Z",
                              "unknownField": "dropped"}],
    }}, kind="assessPatches")
    assert report.result is not None
    assert report.result["rebootPending"] is True
    assert report.result["availablePatches"][0] == {
        "patchId": "p1", "name": "libssl3", "version": "3.0.15", "classifications": ["Security"],
        "rebootBehavior": "CanRequestReboot", "publishedDate": "2026-11-10T00:00:00Z",
    }


@pytest.mark.parametrize(
    ("result", "target"),
    [
        ({"status": "Done"}, "result.status"),
        ({"status": "Succeeded", "installedPatchCount": -1}, "result.installedPatchCount"),
        ({"status": "Succeeded", "maintenanceWindowExceeded": "no"}, "result.maintenanceWindowExceeded"),
        ({"status": "Succeeded", "rebootStatus": "Rebooting"}, "result.rebootStatus"),
        ({"status": "Succeeded", "patches": [{"patchId": "p", "name": "n", "installationState": "Done"}]},
         "result.patches[0].installationState"),
        ({"status": "Succeeded", "patches": [{"name": "n", "installationState": "Installed"}]},
         "result.patches[0].patchId"),
        ({"status": "Succeeded", "patches": "all"}, "result.patches"),
    ],
)
def test_installation_result_refusals_name_the_field(result: dict[str, Any], target: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_report({"sequence": 1, "status": "Succeeded", "result": result}, kind="installPatches")
    assert caught.value.target == target
