"""The goal state's patch mode reaches the machine: a PATCH on the VM turns its auto-updaters off."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import MachineFactory
from tests.e2e.fleet import Arm, wait_for

pytestmark = [pytest.mark.root, pytest.mark.slow]

AUTO_UPGRADES = 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n'


def mode_statuses(arm: Arm, name: str) -> dict[str, str]:
    """configurationStatuses as {PatchModeConfigurationState: Ready, …} plus the patch mode's message."""
    statuses = arm.instance_view(name)["patchStatus"]["configurationStatuses"]
    found = {s["code"].split("/")[0]: s["code"].split("/")[1] for s in statuses}
    found["message"] = statuses[0]["message"]
    return found


def shows_applied(arm: Arm, name: str, mode: str) -> bool:
    statuses = mode_statuses(arm, name)
    return statuses["PatchModeConfigurationState"] == "Ready" and f"'{mode}' is applied" in statuses["message"]


def test_automatic_by_platform_disables_the_auto_updaters_and_shows_ready(machines: MachineFactory, arm: Arm) -> None:
    """PATCH patchMode AutomaticByPlatform → the agent rewrites APT::Periodic to "0" → Ready in the view."""
    agent = machines("apt", "conf1")
    periodic = agent.root / "etc/apt/apt.conf.d/20auto-upgrades"
    periodic.write_text(AUTO_UPGRADES)
    agent.enroll(arm.server, arm.enrollment_token())
    agent.start()
    wait_for(lambda: shows_applied(arm, "conf1", "ImageDefault"), timeout=30, what="ImageDefault on the new machine")
    arm.patch_vm("conf1", {"properties": {"osProfile": {"linuxConfiguration": {"patchSettings": {
        "patchMode": "AutomaticByPlatform", "assessmentMode": "AutomaticByPlatform"}}}}})  # fmt: skip
    wait_for(lambda: shows_applied(arm, "conf1", "AutomaticByPlatform"), timeout=30, what="AutomaticByPlatform")
    assert mode_statuses(arm, "conf1")["AssessmentModeConfigurationState"] == "Ready"
    assert periodic.read_text() == AUTO_UPGRADES.replace('"1"', '"0"')
    assert (agent.state_dir / "autoupdate-backup.json").exists()


def test_image_default_restores_the_auto_updaters_exactly(machines: MachineFactory, arm: Arm) -> None:
    """Back to ImageDefault → the file is restored byte for byte and the view shows Ready again."""
    agent = machines("apt", "conf2")
    periodic = agent.root / "etc/apt/apt.conf.d/20auto-upgrades"
    periodic.write_text(AUTO_UPGRADES)
    agent.enroll(arm.server, arm.enrollment_token())
    agent.start()
    settings = {"patchMode": "AutomaticByPlatform", "assessmentMode": "ImageDefault"}
    body = {"properties": {"osProfile": {"linuxConfiguration": {"patchSettings": settings}}}}
    arm.patch_vm("conf2", body)
    wait_for(lambda: '"0"' in periodic.read_text(), timeout=30, what="the auto-updaters disabled")
    settings["patchMode"] = "ImageDefault"
    arm.patch_vm("conf2", body)
    wait_for(lambda: periodic.read_text() == AUTO_UPGRADES, timeout=30, what="the auto-updaters restored")
    wait_for(lambda: shows_applied(arm, "conf2", "ImageDefault"), timeout=30, what="ImageDefault shown applied")
    assert not (agent.state_dir / "autoupdate-backup.json").exists()
