"""Every patch-settings rule of Azure's feature, over HTTP: status, ARM code and target.

Each case is a sequence of requests; all but the last must succeed, the last must give the expected
answer. The pure rules have their own unit tests (tests/unit/test_patch_settings.py); these check that
the API answers with them.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guestpatch.testing import FakeClock
from tests.integration.conftest import Api, linux_vm, windows_vm

PLATFORM = {"patchMode": "AutomaticByPlatform"}


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node = out
    keys = path.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return out


def _image(body: dict[str, Any], publisher: str, offer: str, sku: str) -> dict[str, Any]:
    return _with(body, "properties.storageProfile.imageReference",
                 {"publisher": publisher, "offer": offer, "sku": sku, "version": "latest"})


LINUX_WIN_MODE = linux_vm(patchSettings={"patchMode": "AutomaticByOS"})
WIN_LINUX_MODE = windows_vm(enableAutomaticUpdates=True, patchSettings={"patchMode": "ImageDefault"})
BY_OS_NO_AU = windows_vm(enableAutomaticUpdates=False, patchSettings={"patchMode": "AutomaticByOS"})
MANUAL_AU = windows_vm(enableAutomaticUpdates=True, patchSettings={"patchMode": "Manual"})
WIN_BY_OS = windows_vm(enableAutomaticUpdates=True, patchSettings={"patchMode": "AutomaticByOS"})
WIN_MANUAL = windows_vm(enableAutomaticUpdates=False, patchSettings={"patchMode": "Manual"})
WIN_PLATFORM_AU = windows_vm(enableAutomaticUpdates=True, patchSettings=PLATFORM)
WIN_PLATFORM_NO_AU = windows_vm(enableAutomaticUpdates=False, patchSettings=PLATFORM)
LINUX_PLATFORM = linux_vm(patchSettings=PLATFORM)

# (id, [bodies: (method, body)], status, code, target)
FAILURES: list[tuple[str, list[tuple[str, Any]], int, str, str | None]] = [
    ("linux-mode-of-windows", [("PUT", LINUX_WIN_MODE)], 400, "InvalidParameter",
     "linuxConfiguration.patchSettings.patchMode"),
    ("windows-mode-of-linux", [("PUT", WIN_LINUX_MODE)], 400, "InvalidParameter",
     "windowsConfiguration.patchSettings.patchMode"),
    ("by-os-needs-auto-updates", [("PUT", BY_OS_NO_AU)], 400, "InvalidParameter",
     "windowsConfiguration.patchSettings.patchMode"),
    ("manual-needs-no-auto-updates", [("PUT", MANUAL_AU)], 400, "InvalidParameter",
     "windowsConfiguration.patchSettings.patchMode"),
    ("auto-updates-create-only",
     [("PUT", WIN_BY_OS), ("PATCH", {"properties": {"osProfile": {"windowsConfiguration": {
         "enableAutomaticUpdates": False, "patchSettings": {"patchMode": "Manual"}}}}})],
     409, "PropertyChangeNotAllowed", "windowsConfiguration.enableAutomaticUpdates"),
    ("by-os-to-manual-refused",
     [("PUT", WIN_BY_OS), ("PATCH", {"properties": {"osProfile": {"windowsConfiguration": {
         "patchSettings": {"patchMode": "Manual"}}}}})],
     409, "PropertyChangeNotAllowed", "windowsConfiguration.patchSettings.patchMode"),
    ("manual-to-by-os-refused",
     [("PUT", WIN_MANUAL), ("PATCH", {"properties": {"osProfile": {"windowsConfiguration": {
         "patchSettings": {"patchMode": "AutomaticByOS"}}}}})],
     409, "PropertyChangeNotAllowed", "windowsConfiguration.patchSettings.patchMode"),
    ("platform-needs-agent-linux",
     [("PUT", linux_vm(provisionVMAgent=False, patchSettings=PLATFORM))], 400, "InvalidParameter",
     "linuxConfiguration.patchSettings.patchMode"),
    ("assessment-platform-needs-agent",
     [("PUT", linux_vm(provisionVMAgent=False, patchSettings={"assessmentMode": "AutomaticByPlatform"}))],
     400, "InvalidParameter", "linuxConfiguration.patchSettings.assessmentMode"),
    ("platform-needs-agent-windows",
     [("PUT", windows_vm(provisionVMAgent=False, enableAutomaticUpdates=True, patchSettings=PLATFORM))],
     400, "InvalidParameter", "windowsConfiguration.patchSettings.patchMode"),
    ("platform-settings-need-platform-mode",
     [("PUT", linux_vm(patchSettings={"patchMode": "ImageDefault",
                                      "automaticByPlatformSettings": {"rebootSetting": "Never"}}))],
     400, "InvalidParameter", "linuxConfiguration.patchSettings.automaticByPlatformSettings"),
    ("hotpatch-needs-platform-mode",
     [("PUT", windows_vm(sku="2022-datacenter-azure-edition", enableAutomaticUpdates=True,
                         patchSettings={"patchMode": "AutomaticByOS", "enableHotpatching": True}))],
     400, "InvalidParameter", "windowsConfiguration.patchSettings.enableHotpatching"),
    ("hotpatch-needs-safety-checks",
     [("PUT", windows_vm(sku="2022-datacenter-azure-edition", enableAutomaticUpdates=True,
                         patchSettings={"patchMode": "AutomaticByPlatform", "enableHotpatching": True,
                                        "automaticByPlatformSettings": {
                                            "bypassPlatformSafetyChecksOnUserSchedule": True}}))],
     400, "InvalidParameter",
     "windowsConfiguration.patchSettings.automaticByPlatformSettings.bypassPlatformSafetyChecksOnUserSchedule"),
    ("platform-on-unsupported-image",
     [("PUT", _image(LINUX_PLATFORM, "Contoso", "custom", "1"))], 400, "InvalidParameter",
     "linuxConfiguration.patchSettings.patchMode"),
    ("platform-on-end-of-life-image",
     [("PUT", _image(LINUX_PLATFORM, "Canonical", "UbuntuServer", "18.04-LTS"))], 400, "InvalidParameter",
     "linuxConfiguration.patchSettings.patchMode"),
    ("unknown-location", [("PUT", linux_vm(location="moonbase"))], 400, "LocationNotAvailableForResourceType",
     "location"),
    ("enum-value", [("PUT", linux_vm(patchSettings={"patchMode": "Sometimes"}))], 400, "InvalidParameter",
     "linuxConfiguration.patchSettings.patchMode"),
    ("reboot-setting-enum",
     [("PUT", linux_vm(patchSettings={"patchMode": "AutomaticByPlatform",
                                      "automaticByPlatformSettings": {"rebootSetting": "Sometimes"}}))],
     400, "InvalidParameter", "linuxConfiguration.patchSettings.automaticByPlatformSettings.rebootSetting"),
    ("wrong-type", [("PUT", linux_vm(provisionVMAgent="yes"))], 400, "BadRequest",
     "linuxConfiguration.provisionVMAgent"),
    ("zone-create-only", [("PUT", linux_vm()), ("PUT", _with(linux_vm(), "zones", ["3"]))], 409,
     "PropertyChangeNotAllowed", "zones"),
    ("location-required", [("PUT", {"properties": {}})], 400, "LocationRequired", "location"),
]

SUCCESSES: list[tuple[str, list[tuple[str, Any]]]] = [
    ("linux-platform", [("PUT", LINUX_PLATFORM)]),
    ("linux-platform-then-image-default",
     [("PUT", LINUX_PLATFORM), ("PATCH", {"properties": {"osProfile": {"linuxConfiguration": {
         "patchSettings": {"patchMode": "ImageDefault"}}}}})]),
    ("windows-platform-to-manual", [("PUT", WIN_PLATFORM_NO_AU), ("PATCH", {"properties": {"osProfile": {
        "windowsConfiguration": {"patchSettings": {"patchMode": "Manual"}}}}})]),
    ("windows-manual-to-platform", [("PUT", WIN_MANUAL), ("PATCH", {"properties": {"osProfile": {
        "windowsConfiguration": {"patchSettings": {"patchMode": "AutomaticByPlatform"}}}}})]),
    ("windows-platform-to-by-os", [("PUT", WIN_PLATFORM_AU), ("PATCH", {"properties": {"osProfile": {
        "windowsConfiguration": {"patchSettings": {"patchMode": "AutomaticByOS"}}}}})]),
    ("windows-by-os-to-platform", [("PUT", WIN_BY_OS), ("PATCH", {"properties": {"osProfile": {
        "windowsConfiguration": {"patchSettings": {"patchMode": "AutomaticByPlatform"}}}}})]),
    ("windows-default-mode", [("PUT", windows_vm())]),
    ("no-image-reference", [("PUT", {"location": "eastus", "properties": {"osProfile": {
        "linuxConfiguration": {"patchSettings": PLATFORM}}}})]),
    ("case-insensitive-enum", [("PUT", linux_vm(patchSettings={"patchMode": "automaticbyplatform"}))]),
    ("platform-settings-with-platform",
     [("PUT", linux_vm(patchSettings={"patchMode": "AutomaticByPlatform",
                                      "automaticByPlatformSettings": {"rebootSetting": "Never"}}))]),
]


def _send(api: Api, method: str, body: Any) -> Any:
    return api.put("vm1", body) if method == "PUT" else api.patch("vm1", body)


@pytest.mark.parametrize(("steps", "status", "code", "target"), [c[1:] for c in FAILURES], ids=[c[0] for c in FAILURES])
def test_rule_violation_answers_with_its_arm_error(
    api: Api, steps: list[tuple[str, Any]], status: int, code: str, target: str | None
) -> None:
    for method, body in steps[:-1]:
        setup = _send(api, method, body)
        assert setup.status_code in {200, 201}, setup.text
    method, body = steps[-1]
    response = _send(api, method, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error.get("target") == target
    assert error["message"]


@pytest.mark.parametrize("steps", [c[1] for c in SUCCESSES], ids=[c[0] for c in SUCCESSES])
def test_allowed_settings_are_accepted(api: Api, steps: list[tuple[str, Any]]) -> None:
    for method, body in steps:
        response = _send(api, method, body)
        assert response.status_code in {200, 201}, response.text


def test_image_past_end_of_life_keeps_an_enabled_vm_but_refuses_new_ones(api_factory: Any) -> None:
    """Enabled before its image's end of life: updates keep working and the instance view warns.
    After the end of life, enabling it on a new VM is refused."""
    ubuntu_20 = _image(LINUX_PLATFORM, "Canonical", "0001-com-ubuntu-server-focal", "20_04-lts-gen2")
    api: Api = api_factory(clock=FakeClock(datetime(2025, 1, 10, tzinfo=UTC)))
    assert api.put("old", ubuntu_20).status_code == 201
    api.clock.advance(timedelta(days=700))
    update = api.patch("old", {"tags": {"still": "patched"}})
    assert update.status_code == 200, update.text
    view = api.client.get("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/providers/"
                          "Microsoft.Compute/virtualMachines/old/instanceView?api-version=2026-04-01").json()
    codes = [s["code"] for s in view["patchStatus"]["configurationStatuses"]]
    assert "ImageLifecycleState/EndOfLife" in codes
    refused = api.put("new", ubuntu_20)
    assert refused.status_code == 400
    assert "end of life" in refused.json()["error"]["message"].lower()
