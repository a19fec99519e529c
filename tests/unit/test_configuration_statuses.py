"""instanceView.patchStatus.configurationStatuses: pending, ready, failed, not supported, end of life."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from guestpatch.catalogs import load_image_catalog
from guestpatch.core.settings import configuration_statuses
from guestpatch.core.vm import VmSpec, parse_vm
from guestpatch.errors import GuestpatchError

TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
IMAGES = load_image_catalog()
JAMMY = {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2"}
BIONIC = {"publisher": "Canonical", "offer": "UbuntuServer", "sku": "18.04-LTS"}


def spec(image: dict[str, str] | None = JAMMY, **settings: str) -> VmSpec:
    props: dict[str, Any] = {"osProfile": {"linuxConfiguration": {"patchSettings": settings}}}
    if image is not None:
        props["storageProfile"] = {"imageReference": image}
    return parse_vm({"location": "westeurope", "properties": props}, name="vm1")


def statuses(vm: VmSpec, applied: dict[str, str] | None = None, **kwargs: Any) -> list[dict[str, object]]:
    return configuration_statuses(vm, images=IMAGES, today=kwargs.get("today", TODAY), applied=applied,
                                  now=kwargs.get("now", NOW))


def codes(result: list[dict[str, object]]) -> list[object]:
    return [s["code"] for s in result]


def test_before_the_agent_reports_both_modes_are_pending() -> None:
    """applied None: patch and assessment mode Pending, level Info, stamped now, Azure's displayStatus."""
    result = statuses(spec(patchMode="AutomaticByPlatform"))
    assert result[0] == {
        "code": "PatchModeConfigurationState/Pending",
        "level": "Info",
        "displayStatus": "Status_PatchModeConfigurationState_Pending",
        "message": "The patchMode 'AutomaticByPlatform' is waiting for the VM agent to apply it.",
        "time": "2026-11-26T08:00:00Z",
    }
    assert result[1]["code"] == "AssessmentModeConfigurationState/Pending"
    assert len(result) == 2


def test_a_mode_the_agent_applied_is_ready_at_the_reported_time() -> None:
    """The applied mode (compared case-insensitively) is Ready, with the time of the agent's report."""
    applied = {"patchMode": "automaticbyplatform", "assessmentMode": "ImageDefault", "time": "2026-11-25T22:10:00Z"}
    result = statuses(spec(patchMode="AutomaticByPlatform"), applied)
    assert codes(result) == ["PatchModeConfigurationState/Ready", "AssessmentModeConfigurationState/Ready"]
    assert result[0]["time"] == "2026-11-25T22:10:00Z"
    assert result[0]["level"] == "Info"


def test_a_mode_not_yet_applied_is_pending_while_the_other_is_ready() -> None:
    """A changed patch mode waits for the agent; the unchanged assessment mode stays Ready."""
    applied = {"patchMode": "ImageDefault", "assessmentMode": "ImageDefault"}
    result = statuses(spec(patchMode="AutomaticByPlatform"), applied)
    assert codes(result) == ["PatchModeConfigurationState/Pending", "AssessmentModeConfigurationState/Ready"]


def test_a_failed_attempt_is_failed_with_the_agents_reason() -> None:
    """When the agent reports an error and did not reach the desired mode, the status is Failed (Error)."""
    applied = {"patchMode": "ImageDefault", "assessmentMode": "ImageDefault",
               "error": "unattended-upgrades could not be disabled: dpkg lock held"}
    result = statuses(spec(patchMode="AutomaticByPlatform"), applied)
    assert result[0]["code"] == "PatchModeConfigurationState/Failed"
    assert result[0]["level"] == "Error"
    assert result[0]["message"] == (
        "Applying the patchMode 'AutomaticByPlatform' failed: unattended-upgrades could not be disabled: dpkg lock held"
    )
    assert result[1]["code"] == "AssessmentModeConfigurationState/Ready"


@pytest.mark.parametrize("mode_name", ["patchMode", "assessmentMode"])
def test_platform_mode_on_an_image_outside_the_catalog_is_not_supported(mode_name: str) -> None:
    """AutomaticByPlatform on an image the catalog does not list: NotSupported (Warning) with the reason."""
    vm = spec({"publisher": "Contoso", "offer": "golden", "sku": "v1"}, **{mode_name: "AutomaticByPlatform"})
    result = statuses(vm, {"patchMode": vm.patch_mode, "assessmentMode": vm.assessment_mode})
    status = result[0] if mode_name == "patchMode" else result[1]
    other = result[1] if mode_name == "patchMode" else result[0]
    assert str(status["code"]).endswith("/NotSupported")
    assert status["level"] == "Warning"
    assert "'Contoso:golden:v1'" in str(status["message"])
    assert str(other["code"]).endswith("/Ready")


def test_image_default_on_an_image_outside_the_catalog_is_supported() -> None:
    """Only AutomaticByPlatform depends on the catalog."""
    vm = spec({"publisher": "Contoso", "offer": "golden", "sku": "v1"})
    assert codes(statuses(vm)) == ["PatchModeConfigurationState/Pending", "AssessmentModeConfigurationState/Pending"]


def test_a_custom_image_with_the_platform_mode_is_not_supported() -> None:
    """An image id cannot be matched against the catalog."""
    vm = spec({"id": "/subscriptions/s1/images/golden"}, patchMode="AutomaticByPlatform")
    assert statuses(vm)[0]["code"] == "PatchModeConfigurationState/NotSupported"


def test_an_enrolled_machine_without_image_is_pending_not_unsupported() -> None:
    """No image reference: nothing to judge yet; the agent's report decides."""
    assert statuses(spec(None, patchMode="AutomaticByPlatform"))[0]["code"] == "PatchModeConfigurationState/Pending"


def test_an_image_past_end_of_life_adds_a_warning_and_keeps_patching() -> None:
    """A VM enabled on Ubuntu 18.04 stays Ready and gets an ImageLifecycleState/EndOfLife warning naming the date."""
    vm = spec(BIONIC, patchMode="AutomaticByPlatform")
    result = statuses(vm, {"patchMode": "AutomaticByPlatform", "assessmentMode": "ImageDefault"})
    assert codes(result) == ["PatchModeConfigurationState/Ready", "AssessmentModeConfigurationState/Ready",
                             "ImageLifecycleState/EndOfLife"]
    assert result[2]["level"] == "Warning"
    assert "reached its end of life on 2023-05-31" in str(result[2]["message"])


def test_no_end_of_life_warning_before_the_date() -> None:
    """The same VM before 2023-06-01 has no lifecycle warning."""
    vm = spec(BIONIC, patchMode="AutomaticByPlatform")
    assert len(statuses(vm, today=date(2023, 5, 31))) == 2


def test_the_time_is_written_in_utc_with_a_z() -> None:
    """A now in another offset is converted to UTC."""
    now = datetime(2026, 11, 26, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    assert statuses(spec(), now=now)[0]["time"] == "2026-11-26T08:30:00Z"


def test_a_naive_now_is_a_programming_error() -> None:
    """Time is always timezone-aware in guestpatch; a naive now is refused (500, not a client error)."""
    with pytest.raises(GuestpatchError) as caught:
        statuses(spec(), now=datetime(2026, 11, 26, 8, 0))  # noqa: DTZ001
    assert caught.value.status == 500
