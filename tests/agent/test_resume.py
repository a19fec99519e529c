"""Resumption: the install step machine interrupted between every pair of steps, by a crash or a reboot.

In-process runs use the real apt on a lab root, a FakeClock, and a store that "loses power" after
its k-th save; a new operation built on the same state folder then finishes the job. Process-level
runs kill the real agent process (after it asked for a reboot; in the middle of dpkg) and restart it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from guestpatch_agent.installation import InstallOperation
from guestpatch_agent.model import Selection
from guestpatch_agent.osrelease import read_distro
from guestpatch_agent.pkgmgr.apt import AptBackend
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.reboot import read_boot_id
from guestpatch_agent.runner import Runner
from guestpatch_agent.state import InstallRequest, InstallState, StateStore
from guestpatch_agent.testing import FakeClock, PowerOff, RecordingRebooter
from tests.agent import aptlab
from tests.agent.agentrun import patches_by_name
from tests.agent.conftest import AptLab, agent_process

pytestmark = [pytest.mark.root, pytest.mark.slow]


class CrashingStore(StateStore):
    """A real store whose machine loses power right after the k-th save (counted over every boot)."""

    def __init__(self, folder: str, crash_after: int | None, counter: list[int]) -> None:
        super().__init__(folder)
        self.counter = counter
        self.crash_after = crash_after

    def save(self, state: InstallState) -> None:
        super().save(state)
        self.counter[0] += 1
        if self.counter[0] == self.crash_after:
            raise PowerOff(f"crash after save {self.counter[0]}")


def drive(root: aptlab.AptRoot, crash_after: int | None) -> tuple[dict[str, Any], int, int]:
    """Run one installation to the end through a crash (after save ``crash_after``) and its reboots.

    Returns the final result, the number of saves over all boots, and the reboots requested.
    """
    folder = str(root.path / "var/lib/guestpatch-agent")
    clock = FakeClock()
    request = InstallRequest(timedelta(hours=2), "IfRequired", Selection(("Critical", "Security")), clock.now())
    rebooter = RecordingRebooter(power_off=True)
    agent_root = Root(str(root.path))
    counter = [0]
    state = InstallState("activity-1", request)
    StateStore(folder).save(state)  # what the command does before the operation runs
    resumed = False
    for _ in range(10):
        operation = InstallOperation(
            backend=AptBackend(Runner(), agent_root, read_distro(agent_root)),
            distro=read_distro(agent_root),
            store=CrashingStore(folder, crash_after, counter),
            clock=clock,
            rebooter=rebooter,
            boot_id=lambda: read_boot_id(agent_root),
        )
        try:
            final = operation.run(state, resumed=resumed)
            assert final.result is not None
            return final.result, counter[0], len(rebooter.requests)
        except PowerOff as stop:
            if str(stop).startswith("guestpatch"):  # the rebooter: the machine restarts
                root.reboot()
            clock.advance(60)
            loaded = StateStore(folder).load()
            assert loaded is not None
            state, resumed = loaded, True
    raise AssertionError("the operation never finished")


@pytest.fixture(scope="module")
def reference(apt_lab: AptLab, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], int]:
    """The uninterrupted run (one reboot, requested by agt-kernel): its result and its number of saves."""
    root = apt_lab.new_root(tmp_path_factory.mktemp("reference"))
    try:
        result, saves, reboots = drive(root, None)
        assert reboots == 1
        return result, saves
    finally:
        root.unmount()


def test_uninterrupted_run_reboots_once_and_completes(reference: tuple[dict[str, Any], int]) -> None:
    """The reference: security patches Installed, rebootStatus Completed after the one reboot."""
    result, _ = reference
    assert (result["status"], result["rebootStatus"], result["installedPatchCount"]) == ("Succeeded", "Completed", 6)


@pytest.mark.parametrize("crash_after", range(1, 8))
def test_crash_after_any_save_resumes_to_the_same_result(
    apt_lab: AptLab, tmp_path: Path, reference: tuple[dict[str, Any], int], crash_after: int
) -> None:
    """A crash right after the k-th saved transition, then a restart, ends with the reference result,
    and the packages in the root are the same: nothing is done twice, nothing is lost."""
    expected, saves = reference
    if crash_after > saves:
        pytest.skip(f"the reference run saves only {saves} times")
    assert saves >= 7  # assessed, installing, a batch, installed, reboot planned, after restart, done
    root = apt_lab.new_root(tmp_path)
    try:
        result, _, _ = drive(root, crash_after)
        assert result == expected
        assert {n: root.installed()[n] for n in aptlab.SECURITY} == aptlab.SECURITY
    finally:
        root.unmount()


# ---------------------------------------------------------------------- real processes
def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path("/proc", entry, "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for child in children.get(current, []):
            found.append(child)
            todo.append(child)
    return found


def power_off(process: subprocess.Popen[str]) -> None:
    """Kill the agent and everything it started, at once, as a power loss would."""
    for pid in [process.pid, *_descendants(process.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=30)


def start_agent(*args: str) -> subprocess.Popen[str]:
    from tests.agent.conftest import REPO_ROOT, SRC

    env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTPATCH_")}
    env["PYTHONPATH"] = str(SRC)
    return subprocess.Popen([str(REPO_ROOT / ".venv/bin/python"), "-m", "guestpatch_agent", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError("the agent ended early: " + process.stderr.read() if process.stderr else "")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)


def test_reboot_of_a_real_process_is_completed_after_restart(apt_root: aptlab.AptRoot, tmp_path: Path) -> None:
    """The agent asks for the reboot through --reboot-command, is killed by the "reboot", and the
    restarted agent (resume) reports the same operation once, with rebootStatus Completed."""
    requested = tmp_path / "reboot-requested"
    command = f"{sys.executable} -c \"open('{requested}', 'w').write('reboot')\""
    process = start_agent("install", "--root", str(apt_root.path), "--maximum-duration", "PT2H",
                          "--reboot-setting", "IfRequired", "--classifications", "Security",
                          "--activity-id", "real-reboot", "--reboot-command", command)
    wait_for(requested, process)
    power_off(process)
    assert process.stdout is not None
    assert process.stdout.read() == ""  # nothing reported before the reboot
    apt_root.reboot()
    resumed = agent_process("resume", "--root", str(apt_root.path))
    assert resumed.returncode == 0, resumed.stderr
    import json

    result = json.loads(resumed.stdout)
    assert (result["installationActivityId"], result["rebootStatus"], result["status"]) == (
        "real-reboot", "Completed", "Succeeded")
    assert result["installedPatchCount"] == 6
    again = agent_process("resume", "--root", str(apt_root.path))
    assert (again.returncode, again.stdout) == (0, "")
    assert "nothing to resume" in again.stderr


def test_power_loss_in_the_middle_of_dpkg_is_repaired_on_restart(apt_root: aptlab.AptRoot) -> None:
    """Killing the agent and dpkg while a maintainer script runs leaves dpkg interrupted; the restarted
    agent repairs it with dpkg --configure -a, says so, and verifies the package installed."""
    apt_root.add_suite("bookworm-slow")
    apt_root.apt_get("-qq", "update")
    apt_root.apt_get("-qq", "-y", "install", "agt-slow=1.0")
    process = start_agent("install", "--root", str(apt_root.path), "--maximum-duration", "PT2H",
                          "--reboot-setting", "Never", "--include", "agt-slow")
    wait_for(apt_root.path / "tmp/agt-slow-started", process)
    power_off(process)
    assert apt_root.dpkg_status()["agt-slow"][1] != "ii"
    (apt_root.path / "tmp/agt-slow-go").write_text("")
    resumed = agent_process("resume", "--root", str(apt_root.path))
    import json

    result = json.loads(resumed.stdout)
    assert patches_by_name(result)["agt-slow"]["installationState"] == "Installed"
    assert apt_root.installed()["agt-slow"] == "1.1"
    codes = [d["code"] for d in result["error"]["details"]]
    assert "PackageManagerRepaired" in codes
