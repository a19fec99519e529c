"""The agent survives its own reboot: the installation resumes after it and is reported once.

The lab's kernel-like package asks for a reboot (``/var/run/reboot-required``). The agent's reboot
command (``power_off.py``) kills the agent process as a reboot would; the test then boots the root
(a new boot id, an empty ``/run``) and starts the agent again, as systemd would at boot.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.agent import aptlab
from tests.e2e.conftest import MachineFactory
from tests.e2e.fleet import INSTALL_SECURITY, Arm, wait_for
from tests.e2e.test_fleet import dpkg_versions

pytestmark = [pytest.mark.root, pytest.mark.slow]

POWER_OFF = Path(__file__).parents[1] / "agent/daemon/power_off.py"


def test_an_installation_interrupted_by_its_reboot_completes_and_is_reported_once(
    machines: MachineFactory, arm: Arm, tmp_path: Path
) -> None:
    """Reboot mid-operation → after the restart: rebootStatus Completed, Succeeded, one final report."""
    agent = machines("apt", "reboot1")
    marker = tmp_path / "reboot-requested"
    reboot = ["--reboot-command", f"{sys.executable} {POWER_OFF} {marker}"]
    agent.enroll(arm.server, arm.enrollment_token())
    agent.start(*reboot)
    url = arm.action("reboot1", "installPatches", INSTALL_SECURITY)
    wait_for(marker.exists, timeout=90, what="the reboot request")
    assert agent.process is not None
    agent.process.wait(timeout=10)  # the power went off
    saved = json.loads((agent.state_dir / "operation.json").read_text())
    assert (saved["step"], saved["rebootStatus"]) == ("RebootPlanned", "Started")
    assert arm.status(url)["status"] == "InProgress"
    agent.apt.reboot()
    agent.start(*reboot)
    done = arm.wait(url, timeout=90)
    output = done["properties"]["output"]
    assert (done["status"], output["status"], output["rebootStatus"]) == ("Succeeded", "Succeeded", "Completed")
    assert output["installedPatchCount"] == len(aptlab.SECURITY)
    assert {n: v for n, v in dpkg_versions(agent.root).items() if n in aptlab.SECURITY} == aptlab.SECURITY
    operation = url.split("/operations/")[1].split("?")[0]
    wait_for(lambda: f"operation {operation} reported" in agent.output(), timeout=10, what="the report logged")
    assert agent.output().count(f"operation {operation} reported") == 1
    assert marker.read_text().count("reboot requested") == 1
