"""Several machines, each a real agent on its own root, patched through the ARM API.

Four machines on one server: Debian (apt, agent from the sources), Debian (apt, the shipped zipapp
under Python 3.8), RHEL (dnf) and SLES (zypper). They enroll, are assessed through
``POST …/assessPatches``, then get ``installPatches`` with Critical and Security only: the packages
really change in their roots, and the instance view shows the counts.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.agent import aptlab
from tests.agent.rpm import lab
from tests.e2e.conftest import MachineFactory
from tests.e2e.fleet import INSTALL_SECURITY, AgentProcess, Arm, wait_for

pytestmark = [pytest.mark.root, pytest.mark.slow]

APT_SECURITY = set(aptlab.SECURITY)
APT_OTHER = set(aptlab.OTHER)
RPM_SECURITY = set(lab.SECURITY_NAMES)
RPM_OTHER = set(lab.EXPECTED) - RPM_SECURITY


def dpkg_versions(root: Path) -> dict[str, str]:
    out = subprocess.run(["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f=${Package} ${Version}\\n"],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    return dict(line.split(" ", 1) for line in out.splitlines() if line.strip())


def rpm_versions(agent: AgentProcess) -> dict[str, str]:
    out = subprocess.run(
        ["rpm", "--root", str(agent.root), "-qa", "--qf", "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n"],
        check=True, capture_output=True, text=True, env={"HOME": agent.env["HOME"], "PATH": "/usr/bin:/bin"},
    ).stdout  # fmt: skip
    return dict(line.split(" ", 1) for line in out.splitlines() if line.strip())


def versions(agent: AgentProcess) -> dict[str, str]:
    return dpkg_versions(agent.root) if "HOME" not in agent.env else rpm_versions(agent)


EXPECTED = {  # machine → (security names, other names) of its lab
    "deb1": (APT_SECURITY, APT_OTHER),
    "deb2": (APT_SECURITY, APT_OTHER),
    "rhel1": (RPM_SECURITY, RPM_OTHER),
    "sles1": (RPM_SECURITY, RPM_OTHER),
}


@pytest.fixture
def fleet(machines: MachineFactory, arm: Arm) -> dict[str, AgentProcess]:
    """The four machines, enrolled with one token and running."""
    agents = {
        "deb1": machines("apt", "deb1"),
        "deb2": machines("apt", "deb2", zipapp=True),
        "rhel1": machines("dnf", "rhel1"),
        "sles1": machines("zypper", "sles1"),
    }
    token = arm.enrollment_token(uses=len(agents))
    for agent in agents.values():
        assert agent.enroll(arm.server, token)["created"] is True
        agent.start()
    return agents


def test_assess_then_security_install_changes_exactly_the_security_packages(
    fleet: dict[str, AgentProcess], arm: Arm
) -> None:
    """assessPatches counts each lab's patches; installPatches (Critical, Security) upgrades exactly those."""
    before = {name: versions(agent) for name, agent in fleet.items()}
    assessments = {name: arm.action(name, "assessPatches") for name in fleet}
    for name, url in assessments.items():
        done = arm.wait(url)
        security, other = EXPECTED[name]
        assert done["status"] == "Succeeded", (name, done, fleet[name].output())
        output = done["properties"]["output"]
        assert (output["criticalAndSecurityPatchCount"], output["otherPatchCount"]) == (len(security), len(other))
    installs = {name: arm.action(name, "installPatches", INSTALL_SECURITY) for name in fleet}
    for name, url in installs.items():
        done = arm.wait(url)
        output = done["properties"]["output"]
        assert output["installedPatchCount"] == len(EXPECTED[name][0]), (name, output, fleet[name].output())
        assert output["failedPatchCount"] == 0
        changed = {p for p, v in versions(fleet[name]).items() if before[name].get(p) != v}
        assert changed == EXPECTED[name][0], name
    for name in fleet:
        security, other = EXPECTED[name]

        def settled(name: str = name) -> dict | None:
            status = arm.instance_view(name)["patchStatus"]
            summary = status["availablePatchSummary"]
            done = summary["status"] != "InProgress" and summary["criticalAndSecurityPatchCount"] == 0
            return status if done else None

        status = wait_for(settled, timeout=60, what=f"{name}'s post-installation assessment")
        assert status["availablePatchSummary"]["otherPatchCount"] == len(other)
        assert status["lastPatchInstallationSummary"]["installedPatchCount"] == len(security)
        assert status["lastPatchInstallationSummary"]["failedPatchCount"] == 0
