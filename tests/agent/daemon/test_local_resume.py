"""``run`` keeps the boot-time resume of local installations (``guestpatch-agent install``) working.

A local installation is cut by its reboot (``power_off.py`` kills the agent as a reboot would), the
root boots (new boot id), and ``guestpatch-agent run`` starts, as the systemd unit does at boot: it
finishes the installation and prints its result, enrolled or not. Only installations the daemon
started are reported to the server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent import aptlab
from tests.agent.conftest import SRC, agent_process
from tests.agent.daemon.conftest import enrollment_token
from tests.server_fixtures import LiveServer

pytestmark = [pytest.mark.root, pytest.mark.slow]

POWER_OFF = Path(__file__).with_name("power_off.py")


def install_cut_by_its_reboot(root: aptlab.AptRoot, marker: Path) -> None:
    """``guestpatch-agent install`` (Security, IfRequired) until its reboot powers it off; then boot."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTPATCH_")}
    env["PYTHONPATH"] = str(SRC)
    done = subprocess.run(
        [sys.executable, "-m", "guestpatch_agent", "install", "--root", str(root.path), "--maximum-duration", "PT2H",
         "--reboot-setting", "IfRequired", "--classifications", "Security", "--activity-id", "local-1",
         "--reboot-command", f"{sys.executable} {POWER_OFF} {marker}"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == -9, done.stderr  # SIGKILL: the power went off
    assert marker.exists()
    root.reboot()


def test_run_without_enrollment_finishes_a_local_installation_then_exits_3(
    apt_root: aptlab.AptRoot, tmp_path: Path
) -> None:
    """Not enrolled: the interrupted installation is finished and printed, then exit 3."""
    install_cut_by_its_reboot(apt_root, tmp_path / "rebooted")
    result = agent_process("run", "--root", str(apt_root.path))
    assert result.returncode == 3
    printed = json.loads(result.stdout)
    assert (printed["installationActivityId"], printed["rebootStatus"], printed["status"]) == (
        "local-1", "Completed", "Succeeded")  # fmt: skip
    assert not (apt_root.path / "var/lib/guestpatch-agent/operation.json").exists()


def test_an_enrolled_daemon_finishes_a_local_installation_without_reporting_it(
    apt_root: aptlab.AptRoot, live_server: LiveServer, tmp_path: Path
) -> None:
    """Enrolled: run --once prints the local installation's result; it sends no operation report."""
    install_cut_by_its_reboot(apt_root, tmp_path / "rebooted")
    enrolled = agent_process("enroll", "--server", live_server.url, "--token", enrollment_token(live_server),
                             "--ca-file", str(live_server.ca), "--root", str(apt_root.path), "--name", "local-vm",
                             "--location", "westeurope")  # fmt: skip
    assert enrolled.returncode == 0, enrolled.stderr
    result = agent_process("run", "--once", "--root", str(apt_root.path))
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert (printed["installationActivityId"], printed["rebootStatus"]) == ("local-1", "Completed")
    assert printed["installedPatchCount"] == len(aptlab.SECURITY)
    assert not (apt_root.path / "var/lib/guestpatch-agent/reports").exists()
