"""The official Azure SDK for Python patches a real machine: a dnf root served by a real agent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute import models as m

from tests.agent.rpm import lab
from tests.e2e.conftest import MachineFactory
from tests.e2e.fleet import RG, SUB, Arm
from tests.e2e.test_fleet import rpm_versions
from tests.integration.test_azure_sdk_vms import StaticToken

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture
def compute(arm: Arm) -> Iterator[ComputeManagementClient]:
    client = ComputeManagementClient(
        StaticToken(arm.server.token), SUB, base_url=arm.server.url,
        connection_verify=str(arm.server.ca), polling_interval=1, retry_total=0,
    )  # fmt: skip
    yield client
    client.close()


def test_sdk_assesses_and_installs_security_patches_on_a_dnf_machine(
    machines: MachineFactory, arm: Arm, compute: ComputeManagementClient
) -> None:
    """begin_assess_patches / begin_install_patches (.result()) and instance_view see the agent's work."""
    agent = machines("dnf", "sdk-rhel")
    agent.enroll(arm.server, arm.enrollment_token())
    agent.start()
    before = rpm_versions(agent)
    assessed = compute.virtual_machines.begin_assess_patches(RG, "sdk-rhel").result()
    assert assessed.status == "Succeeded"
    assert assessed.critical_and_security_patch_count == len(lab.SECURITY_NAMES)
    found = {p.name: p.classifications[0] for p in assessed.available_patches}
    assert found == {name: classification for name, (_, classification) in lab.EXPECTED.items()}
    installed = compute.virtual_machines.begin_install_patches(
        RG, "sdk-rhel",
        m.VirtualMachineInstallPatchesParameters(
            maximum_duration=timedelta(hours=2), reboot_setting="Never",
            linux_parameters=m.LinuxParameters(classifications_to_include=["Critical", "Security"]),
        ),
    ).result()  # fmt: skip
    assert installed.installed_patch_count == len(lab.SECURITY_NAMES)
    assert {p.name for p in installed.patches if p.installation_state == "Installed"} == set(lab.SECURITY_NAMES)
    changed = {name for name, version in rpm_versions(agent).items() if before.get(name) != version}
    assert changed == set(lab.SECURITY_NAMES)
    summary = compute.virtual_machines.instance_view(RG, "sdk-rhel").patch_status.last_patch_installation_summary
    assert summary.installed_patch_count == len(lab.SECURITY_NAMES)
    assert summary.failed_patch_count == 0
