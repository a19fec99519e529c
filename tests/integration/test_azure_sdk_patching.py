"""The Azure SDK's long-running operations for assessPatches / installPatches against our server.

`begin_assess_patches(...).result()` and `begin_install_patches(...).result()` must return populated
result models: the SDK's ARM poller follows Azure-AsyncOperation, then reads the Location URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute import models as m

from tests.integration.test_azure_sdk_vms import StaticToken, _linux_vm
from tests.scripted_agent import ScriptedAgent, installation_result
from tests.server_fixtures import LiveServer

SUB = "sub-patching"
RG = "rg-patch"


@pytest.fixture(scope="module")
def compute(live_server: LiveServer) -> Iterator[ComputeManagementClient]:
    client = ComputeManagementClient(
        StaticToken(live_server.token), SUB, base_url=live_server.url,
        connection_verify=str(live_server.ca), polling_interval=1, retry_total=0,
    )
    yield client
    client.close()


def _enrolled_agent(live_server: LiveServer, name: str, **kwargs: Any) -> ScriptedAgent:
    with live_server.client() as client:
        token = client.post("/v1/enrollmentTokens", json={"subscription": SUB, "resourceGroup": RG}).json()["token"]
    agent = ScriptedAgent(live_server.url, live_server.verify, **kwargs)
    agent.enroll(token, name=name, location="westeurope")
    return agent


def test_assess_and_install_with_the_sdk(live_server: LiveServer, compute: ComputeManagementClient) -> None:
    """The SDK gets populated results, and the instance view shows both summaries afterwards."""
    compute.virtual_machines.begin_create_or_update(RG, "sdk1", _linux_vm()).result()
    agent = _enrolled_agent(live_server, "sdk1").start()
    try:
        assessed = compute.virtual_machines.begin_assess_patches(RG, "sdk1").result()
        assert isinstance(assessed, m.VirtualMachineAssessPatchesResult)
        assert assessed.status == "Succeeded"
        assert assessed.critical_and_security_patch_count == 1
        assert assessed.other_patch_count == 1
        assert {p.name for p in assessed.available_patches} == {"libssl0", "tzdata0"}
        installed = compute.virtual_machines.begin_install_patches(
            RG, "sdk1",
            m.VirtualMachineInstallPatchesParameters(
                maximum_duration=timedelta(hours=2), reboot_setting="IfRequired",
                linux_parameters=m.LinuxParameters(classifications_to_include=["Critical", "Security"]),
            ),
        ).result()
        assert installed.status == "Succeeded"
        assert installed.installed_patch_count == 1
        assert installed.patches[0].installation_state == "Installed"
        sent = next(op for op in agent.seen if op["kind"] == "installPatches")["parameters"]
        assert sent["maximumDuration"] == "PT2H"  # the SDK sent PT02H00M00S
        assert sent["linuxParameters"]["classificationsToInclude"] == ["Critical", "Security"]
        view = compute.virtual_machines.instance_view(RG, "sdk1")
        summary = view.patch_status.last_patch_installation_summary
        assert summary.status == "Succeeded"
        assert summary.installed_patch_count == 1
        assert view.vm_agent.statuses[0].display_status == "Ready"
    finally:
        agent.stop()


def test_a_failed_installation_result_comes_back_as_a_result(
    live_server: LiveServer, compute: ComputeManagementClient
) -> None:
    """A patch-level failure is a result (status Failed, counts), not an exception: as on Azure."""
    compute.virtual_machines.begin_create_or_update(RG, "sdk2", _linux_vm()).result()

    def fail_install(op: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "Failed", installation_result(installed=0, failed=1, status="Failed")

    agent = _enrolled_agent(live_server, "sdk2", answer=fail_install).start()
    try:
        result = compute.virtual_machines.begin_install_patches(
            RG, "sdk2",
            m.VirtualMachineInstallPatchesParameters(
                maximum_duration="PT1H", reboot_setting="Never",
                linux_parameters=m.LinuxParameters(classifications_to_include=["Security"]),
            ),
        ).result()
        assert result.status == "Failed"
        assert result.failed_patch_count == 1
    finally:
        agent.stop()


def test_argument_errors_and_conflicts_reach_the_sdk(live_server: LiveServer, compute: ComputeManagementClient) -> None:
    """Out-of-range duration → 400; deallocated VM → 409 OperationNotAllowed; a second operation → 409."""
    compute.virtual_machines.begin_create_or_update(RG, "sdk3", _linux_vm()).result()
    with pytest.raises(HttpResponseError) as caught:
        compute.virtual_machines.begin_install_patches(
            RG, "sdk3", m.VirtualMachineInstallPatchesParameters(maximum_duration=timedelta(hours=9),
                                                                 reboot_setting="IfRequired",
                                                                 linux_parameters=m.LinuxParameters(
                                                                     classifications_to_include=["Security"]))
        )
    assert caught.value.status_code == 400
    assert caught.value.error.target == "maximumDuration"
    with pytest.raises(HttpResponseError) as caught:
        compute.virtual_machines.begin_install_patches(
            RG, "sdk3", m.VirtualMachineInstallPatchesParameters(
                maximum_duration="PT1H", reboot_setting="IfRequired",
                windows_parameters=m.WindowsParameters(classifications_to_include=["Critical"]))
        )
    assert caught.value.error.target == "windowsParameters"
    first = compute.virtual_machines.begin_assess_patches(RG, "sdk3")  # no agent: stays queued
    with pytest.raises(HttpResponseError) as caught:
        compute.virtual_machines.begin_assess_patches(RG, "sdk3")
    assert caught.value.status_code == 409
    assert first.status() == "InProgress"
    compute.virtual_machines.begin_create_or_update(RG, "sdk4", _linux_vm()).result()
    compute.virtual_machines.begin_deallocate(RG, "sdk4").result()
    with pytest.raises(HttpResponseError) as caught:
        compute.virtual_machines.begin_assess_patches(RG, "sdk4")
    assert caught.value.status_code == 409
    assert caught.value.error.code == "OperationNotAllowed"


def test_old_api_versions_cannot_start_patch_operations(live_server: LiveServer) -> None:
    """Azure's docs: on-demand assessment and patching need 2021-03-01 or newer."""
    with live_server.client() as client:
        client.put(f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/old"
                   "?api-version=2020-12-01", json={"location": "westeurope"})
        response = client.post(f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/"
                               "virtualMachines/old/assessPatches?api-version=2020-12-01")
    assert response.status_code == 400
    assert "2021-03-01" in response.json()["error"]["message"]


def test_an_operation_without_an_agent_fails_clearly(start_server: Any) -> None:
    """With no agent to pick it up, the SDK's poller ends with VMAgentStatusCommunicationError."""
    server: LiveServer = start_server(env={"GUESTPATCH_AGENT_PICKUP_TIMEOUT": "2"})
    compute = ComputeManagementClient(StaticToken(server.token), SUB, base_url=server.url,
                                      connection_verify=str(server.ca), polling_interval=1, retry_total=0)
    compute.virtual_machines.begin_create_or_update(RG, "lonely", _linux_vm()).result()
    poller = compute.virtual_machines.begin_assess_patches(RG, "lonely")
    with pytest.raises(HttpResponseError) as caught:
        poller.result(timeout=30)
    assert "VMAgentStatusCommunicationError" in str(caught.value)
    compute.close()
