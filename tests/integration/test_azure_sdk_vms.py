"""The official Azure SDK for Python (azure-mgmt-compute) as a client of the VM surface, over HTTPS."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute import models as m

from tests.server_fixtures import LiveServer

SUB = "11111111-2222-3333-4444-555555555555"


class StaticToken:
    """A credential that hands out the guestpatch admin token (the SDK only needs get_token)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.fixture(scope="module")
def compute(live_server: LiveServer) -> Iterator[ComputeManagementClient]:
    client = ComputeManagementClient(
        StaticToken(live_server.token), SUB, base_url=live_server.url,
        connection_verify=str(live_server.ca), polling_interval=1, retry_total=0,
    )
    yield client
    client.close()


def _linux_vm(mode: str = "AutomaticByPlatform") -> m.VirtualMachine:
    return m.VirtualMachine(
        location="westeurope",
        tags={"env": "sdk"},
        zones=["1"],
        hardware_profile=m.HardwareProfile(vm_size="Standard_B2s"),
        storage_profile=m.StorageProfile(
            image_reference=m.ImageReference(
                publisher="Canonical", offer="0001-com-ubuntu-server-jammy", sku="22_04-lts-gen2", version="latest"
            )
        ),
        os_profile=m.OSProfile(
            computer_name="sdkvm",
            admin_username="azureuser",
            linux_configuration=m.LinuxConfiguration(
                provision_vm_agent=True,
                patch_settings=m.LinuxPatchSettings(
                    patch_mode=mode,
                    assessment_mode="AutomaticByPlatform",
                    automatic_by_platform_settings=m.LinuxVMGuestPatchAutomaticByPlatformSettings(
                        reboot_setting="IfRequired", bypass_platform_safety_checks_on_user_schedule=False
                    ),
                ),
            ),
        ),
    )


def test_create_get_update_list_delete_with_the_sdk(compute: ComputeManagementClient) -> None:
    """The SDK's begin_create_or_update / get / begin_update / list / begin_delete all work as on Azure."""
    vm = compute.virtual_machines.begin_create_or_update("rg-sdk", "vm1", _linux_vm()).result()
    assert vm.name == "vm1"
    assert vm.provisioning_state == "Succeeded"
    assert vm.vm_id
    settings = vm.os_profile.linux_configuration.patch_settings
    assert settings.patch_mode == "AutomaticByPlatform"
    assert settings.automatic_by_platform_settings.reboot_setting == "IfRequired"
    refused = m.VirtualMachineUpdate(
        os_profile=m.OSProfile(
            linux_configuration=m.LinuxConfiguration(patch_settings=m.LinuxPatchSettings(patch_mode="ImageDefault"))
        )
    )
    with pytest.raises(HttpResponseError) as caught:  # the reboot setting would be left without its mode
        compute.virtual_machines.begin_update("rg-sdk", "vm1", refused).result()
    assert caught.value.error.target == "linuxConfiguration.patchSettings.automaticByPlatformSettings"
    plain = _linux_vm()
    plain.os_profile.linux_configuration.patch_settings.automatic_by_platform_settings = None
    compute.virtual_machines.begin_create_or_update("rg-sdk", "vm1", plain).result()
    got = compute.virtual_machines.get("rg-sdk", "vm1", expand="instanceView")
    assert got.instance_view.patch_status.available_patch_summary.status == "Unknown"
    assert got.instance_view.vm_agent.statuses[0].display_status == "Not Ready"
    updated = compute.virtual_machines.begin_update(
        "rg-sdk", "vm1",
        m.VirtualMachineUpdate(
            tags={"env": "sdk", "updated": "yes"},
            os_profile=m.OSProfile(
                linux_configuration=m.LinuxConfiguration(patch_settings=m.LinuxPatchSettings(patch_mode="ImageDefault"))
            ),
        ),
    ).result()
    assert updated.tags == {"env": "sdk", "updated": "yes"}
    assert updated.os_profile.linux_configuration.patch_settings.patch_mode == "ImageDefault"
    assert updated.hardware_profile.vm_size == "Standard_B2s"
    names = [v.name for v in compute.virtual_machines.list("rg-sdk")]
    assert names == ["vm1"]
    assert "vm1" in [v.name for v in compute.virtual_machines.list_all()]
    view = compute.virtual_machines.instance_view("rg-sdk", "vm1")
    assert view.statuses[0].code == "ProvisioningState/succeeded"
    compute.virtual_machines.begin_delete("rg-sdk", "vm1").result()
    with pytest.raises(ResourceNotFoundError):
        compute.virtual_machines.get("rg-sdk", "vm1")


def test_arm_errors_surface_as_http_response_errors_with_their_code(compute: ComputeManagementClient) -> None:
    """A rule violation reaches the SDK user as HttpResponseError with the ARM code and target."""
    bad = _linux_vm()
    bad.os_profile.linux_configuration.provision_vm_agent = False
    with pytest.raises(HttpResponseError) as caught:
        compute.virtual_machines.begin_create_or_update("rg-sdk", "bad", bad).result()
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidParameter"
    assert caught.value.error.target == "linuxConfiguration.patchSettings.patchMode"
    nowhere = _linux_vm()
    nowhere.location = "atlantis"
    with pytest.raises(HttpResponseError) as caught:
        compute.virtual_machines.begin_create_or_update("rg-sdk", "bad", nowhere).result()
    assert caught.value.error.code == "LocationNotAvailableForResourceType"


def test_windows_transition_rules_reach_the_sdk(compute: ComputeManagementClient) -> None:
    """enableAutomaticUpdates is create-only: changing it is refused with PropertyChangeNotAllowed."""
    win = m.VirtualMachine(
        location="eastus",
        storage_profile=m.StorageProfile(image_reference=m.ImageReference(
            publisher="MicrosoftWindowsServer", offer="WindowsServer", sku="2022-datacenter", version="latest")),
        os_profile=m.OSProfile(
            computer_name="win1",
            windows_configuration=m.WindowsConfiguration(
                provision_vm_agent=True, enable_automatic_updates=True,
                patch_settings=m.PatchSettings(patch_mode="AutomaticByOS"),
            ),
        ),
    )
    created = compute.virtual_machines.begin_create_or_update("rg-sdk", "win1", win).result()
    assert created.os_profile.windows_configuration.patch_settings.patch_mode == "AutomaticByOS"
    with pytest.raises(HttpResponseError) as caught:
        compute.virtual_machines.begin_update(
            "rg-sdk", "win1",
            m.VirtualMachineUpdate(os_profile=m.OSProfile(windows_configuration=m.WindowsConfiguration(
                enable_automatic_updates=False, patch_settings=m.PatchSettings(patch_mode="Manual")))),
        ).result()
    assert caught.value.status_code == 409
    assert caught.value.error.code == "PropertyChangeNotAllowed"
