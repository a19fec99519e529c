"""The ARM bodies `vm create` and `vm update` send, built without a server."""

from __future__ import annotations

import pytest

from guestpatch.catalogs import load_image_aliases
from guestpatch.cli import vm, vm_bodies
from guestpatch.core.vm import ImageRef, parse_vm
from guestpatch.errors import InvalidInput

UBUNTU = ImageRef("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2", "latest")
WINDOWS = ImageRef("MicrosoftWindowsServer", "WindowsServer", "2022-datacenter-g2", "latest")


def test_linux_body_has_the_shape_azure_expects() -> None:
    """Every flag lands where Azure's API has it (reference §1: the SDK's PUT body)."""
    body = vm_bodies.create_body(
        name="vm1", image=UBUNTU, location="eastus", zone="1", availability_set="/x/as1",
        patch_mode="AutomaticByPlatform", enable_agent=True, assessment_mode="AutomaticByPlatform",
        reboot_setting="IfRequired", size="Standard_B2s", tags={"env": "test"},
    )
    assert body == {
        "location": "eastus",
        "tags": {"env": "test"},
        "zones": ["1"],
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            "storageProfile": {"imageReference": {
                "publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2",
                "version": "latest",
            }},
            "osProfile": {"computerName": "vm1", "linuxConfiguration": {
                "provisionVMAgent": True,
                "patchSettings": {
                    "patchMode": "AutomaticByPlatform", "assessmentMode": "AutomaticByPlatform",
                    "automaticByPlatformSettings": {"rebootSetting": "IfRequired"},
                },
            }},
            "availabilitySet": {"id": "/x/as1"},
        },
    }


def test_windows_image_gets_windows_configuration() -> None:
    """A Windows publisher's image: windowsConfiguration with enableAutomaticUpdates and timeZone."""
    body = vm_bodies.create_body(
        name="win1", image=WINDOWS, location="eastus", enable_auto_update=False, time_zone="UTC", patch_mode="Manual"
    )
    profile = body["properties"]["osProfile"]
    assert "linuxConfiguration" not in profile
    assert profile["windowsConfiguration"] == {
        "enableAutomaticUpdates": False, "timeZone": "UTC", "patchSettings": {"patchMode": "Manual"},
    }


def test_minimal_body_sends_only_what_was_given() -> None:
    """No flags, no patch settings: Azure's defaults apply on the server."""
    body = vm_bodies.create_body(name="vm1", image=UBUNTU, location="westeurope")
    assert set(body) == {"location", "properties"}
    assert body["properties"]["osProfile"] == {"computerName": "vm1", "linuxConfiguration": {}}


def test_every_alias_builds_a_body_the_server_parses_with_the_same_os() -> None:
    """For each packaged alias, the core's parse_vm accepts the body and sees Windows iff we wrote Windows."""
    for alias, image in load_image_aliases().items():
        body = vm_bodies.create_body(name="vm1", image=image, location="westeurope")
        spec = parse_vm(body, name="vm1")
        written = "Windows" if "windowsConfiguration" in body["properties"]["osProfile"] else "Linux"
        assert spec.os_type == written, alias
        assert (written == "Windows") == alias.startswith("Win"), alias


@pytest.mark.parametrize("flag", ["enable_auto_update", "time_zone"])
def test_windows_only_settings_are_refused_on_linux(flag: str) -> None:
    """enableAutomaticUpdates and timeZone belong to windowsConfiguration: refused for a Linux image."""
    value: object = True if flag == "enable_auto_update" else "UTC"
    with pytest.raises(InvalidInput, match="Windows images only") as caught:
        vm_bodies.create_body(name="vm1", image=UBUNTU, location="westeurope", **{flag: value})  # type: ignore[arg-type]
    assert caught.value.target == "--" + flag.replace("_", "-")


def test_image_urn_and_alias_resolve() -> None:
    """`--image` takes a URN as it is and an alias in any case."""
    aliases = load_image_aliases()
    assert vm_bodies.resolve_image("a:b:c:1", aliases) == ImageRef("a", "b", "c", "1")
    assert vm_bodies.resolve_image("ubuntu2204", aliases) == aliases["Ubuntu2204"]


def test_unknown_image_names_the_image_flag() -> None:
    """Neither alias nor URN: InvalidInput aimed at --image."""
    with pytest.raises(InvalidInput) as caught:
        vm_bodies.resolve_image("Ubuntu9", load_image_aliases())
    assert caught.value.target == "--image"


def test_availability_set_name_becomes_an_id_in_the_group() -> None:
    """A bare name is an availability set of the VM's subscription and resource group; an id stays."""
    assert vm_bodies.availability_set_id("as1", subscription="sub", resource_group="rg") == (
        "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/availabilitySets/as1"
    )
    given_id = "/subscriptions/s/x"
    assert vm_bodies.availability_set_id(given_id, subscription="sub", resource_group="rg") == given_id


def test_tags_parse_as_az_does() -> None:
    """`a=b c d=e=f` → a:b, c:'', d:'e=f'; an empty value means no tags."""
    assert vm_bodies.parse_tags(["a=b", "c", "d=e=f"]) == {"a": "b", "c": "", "d": "e=f"}
    assert vm_bodies.parse_tags([""]) == {}


def test_tag_without_key_is_refused() -> None:
    """`=v` has no key."""
    with pytest.raises(InvalidInput):
        vm_bodies.parse_tags(["=v"])


def test_update_flags_follow_the_vms_own_os() -> None:
    """--patch-mode on a Windows VM edits windowsConfiguration; the PATCH carries only that."""
    current = {"properties": {"osProfile": {"windowsConfiguration": {"patchSettings": {"patchMode": "AutomaticByOS"}}}}}
    edits = vm_bodies.setting_edits(current, patch_mode="AutomaticByPlatform", reboot_setting="Never")
    settings = {"patchMode": "AutomaticByPlatform", "automaticByPlatformSettings": {"rebootSetting": "Never"}}
    assert vm_bodies.update_body(current, edits) == {
        "properties": {"osProfile": {"windowsConfiguration": {"patchSettings": settings}}}
    }


def test_resource_group_is_read_from_the_id() -> None:
    """The table's ResourceGroup column comes from the ARM id, whatever its case."""
    assert vm.resource_group_of({"id": "/subscriptions/s/resourceGroups/RG-1/providers/x/virtualMachines/v"}) == "RG-1"
    assert vm.resource_group_of({"id": "/subscriptions/s/RESOURCEGROUPS/rg2/providers/x"}) == "rg2"
    assert vm.resource_group_of({}) is None
