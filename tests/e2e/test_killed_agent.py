"""An agent killed in the middle of an installation: the operation fails clearly, it does not hang.

The lab's ``agt-slow`` 1.1 has a maintainer script that waits for a file, so the test holds dpkg in
the middle of the transaction, SIGKILLs the agent there, and watches the ARM operation. The server
runs with a short ``operation_progress_timeout`` (its sweeper fails operations whose agent is silent
that long).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import MachineFactory, serve
from tests.e2e.fleet import AgentProcess, Arm, wait_for
from tests.e2e.test_fleet import dpkg_versions

pytestmark = [pytest.mark.root, pytest.mark.slow]

SILENCE = 6  # seconds of silence after which the server fails the operation
INSTALL_SLOW = {"maximumDuration": "PT1H", "rebootSetting": "Never",
                "linuxParameters": {"packageNameMasksToInclude": ["agt-slow"]}}  # fmt: skip


@pytest.fixture
def arm(tmp_path: Path) -> Iterator[Arm]:
    server = serve(tmp_path / "server", GUESTPATCH_OPERATION_PROGRESS_TIMEOUT=str(SILENCE))
    try:
        yield Arm(server)
    finally:
        server.stop()


def children_of_root(root: Path) -> list[int]:
    """Processes left running against ``root`` (the killed agent's apt and dpkg)."""
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if str(root).encode() in cmdline and b"guestpatch_agent" not in cmdline:
            found.append(int(pid))
    return found


def start_slow_install(agent: AgentProcess, arm: Arm) -> str:
    """agt-slow 1.0 installed; enroll, run, ask for agt-slow 1.1 and wait until dpkg sits in its postinst."""
    agent.apt.add_suite("bookworm-slow")
    agent.apt.apt_get("-qq", "update")
    agent.apt.apt_get("-qq", "-y", "install", "agt-slow=1.0")
    agent.enroll(arm.server, arm.enrollment_token())
    agent.start()
    url = arm.action(agent.name, "installPatches", INSTALL_SLOW)
    wait_for((agent.root / "tmp/agt-slow-started").exists, timeout=60, what="dpkg inside agt-slow's postinst")
    return url


def release_dpkg(agent: AgentProcess) -> None:
    """Let the orphaned transaction finish, as it would on a machine whose agent died."""
    (agent.root / "tmp/agt-slow-go").touch()
    wait_for(lambda: not children_of_root(agent.root), timeout=60, what="the orphaned apt-get to finish")


def test_a_killed_agent_fails_its_operation_with_a_clear_error(machines: MachineFactory, arm: Arm) -> None:
    """SIGKILL during dpkg → after the silence timeout the ARM operation is Failed, naming the silent agent."""
    agent = machines("apt", "victim1")
    url = start_slow_install(agent, arm)
    try:
        assert arm.status(url)["status"] == "InProgress"
        agent.kill()
        done = arm.wait(url, timeout=SILENCE + 30)
    finally:
        release_dpkg(agent)
    assert done["status"] == "Failed"
    assert done["error"]["code"] == "VMAgentStatusCommunicationError"
    assert "stopped reporting" in done["error"]["message"]


def test_a_restarted_agent_finishes_locally_and_its_late_report_is_dropped(
    machines: MachineFactory, arm: Arm
) -> None:
    """After the failure, the restarted agent resumes the installation; the server keeps it Failed."""
    agent = machines("apt", "victim2")
    url = start_slow_install(agent, arm)
    agent.kill()
    try:
        assert arm.wait(url, timeout=SILENCE + 30)["status"] == "Failed"
    finally:
        release_dpkg(agent)
    agent.start()
    record = agent.state_dir / "reports" / (url.split("/operations/")[1].split("?")[0] + ".json")
    wait_for(lambda: json.loads(record.read_text())["final"] is not None, timeout=60, what="the installation's end")
    assert json.loads(record.read_text())["delivered"] == "dropped"  # 409 OperationAlreadyFinished
    assert not (agent.state_dir / "operation.json").exists()  # finished and archived
    assert dpkg_versions(agent.root)["agt-slow"] == "1.1"
    assert arm.status(url)["status"] == "Failed"
    assert agent.process is not None
    assert agent.process.poll() is None


def test_a_live_agent_keeps_a_long_installation_alive(machines: MachineFactory, arm: Arm) -> None:
    """dpkg held twice as long as the silence timeout: the agent's keepalives keep it InProgress, it Succeeds."""
    agent = machines("apt", "patient1")
    url = start_slow_install(agent, arm)
    time.sleep(2 * SILENCE)  # the scenario needs the time to pass; nothing is timed
    try:
        assert arm.status(url)["status"] == "InProgress"
    finally:
        release_dpkg(agent)
    done = arm.wait(url, timeout=60)
    assert done["status"] == "Succeeded"
    assert done["properties"]["output"]["installedPatchCount"] == 1
