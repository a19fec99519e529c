"""``guestpatch-agent enroll`` and ``run`` as a user runs them, against the real control plane over HTTPS."""

from __future__ import annotations

import contextlib
import io
import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from guestpatch_agent import cli
from guestpatch_agent.clock import parse_time
from guestpatch_agent.daemon import EXIT_ENROLL
from guestpatch_agent.model import Selection
from guestpatch_agent.state import InstallRequest, InstallState, StateStore
from tests.agent import aptlab
from tests.agent.conftest import SRC, agent_process
from tests.agent.daemon.conftest import API, enrollment_token, operation_status, queue_assessment, vm_path
from tests.server_fixtures import LiveServer, free_port

OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


def machine_root(tmp_path: Path, hostname: str = "web-01.internal") -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text(OS_RELEASE)
    (root / "etc/hostname").write_text(hostname + "\n")
    return root


def enroll(server: LiveServer, root: Path, *extra: str, token: str | None = None,
           ca: bool = True) -> tuple[int, dict[str, Any], str]:  # fmt: skip
    """``guestpatch-agent enroll`` in-process: exit code, printed JSON, stderr."""
    out, argv = io.StringIO(), ["enroll", "--server", server.url, "--token", token or enrollment_token(server),
                                "--root", str(root), "--location", "westeurope", *extra]  # fmt: skip
    if ca:
        argv += ["--ca-file", str(server.ca)]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv, out=out)
        except SystemExit as stopped:
            code = int(stopped.code or 0)
    return code, (json.loads(out.getvalue()) if out.getvalue() else {}), err.getvalue()


def test_enroll_stores_the_credential_privately_and_names_the_machine(live_server: LiveServer, tmp_path: Path) -> None:
    """Credential (0600), CA copy and agent.json in the state folder; the VM takes the root's host name."""
    root = machine_root(tmp_path)
    code, printed, err = enroll(live_server, root)
    assert (code, err) == (0, "")
    state = root / "var/lib/guestpatch-agent"
    assert printed["resourceId"].endswith("/virtualMachines/web-01")
    assert printed["stateDir"] == str(state)
    credential = state / "credential"
    assert stat.S_IMODE(credential.stat().st_mode) == 0o600
    assert credential.read_text().startswith("gpm_")
    assert (state / "ca.pem").read_bytes() == live_server.ca.read_bytes()  # type: ignore[union-attr]
    stored = json.loads((state / "agent.json").read_text())
    assert (stored["server"], stored["vmId"], stored["caFile"]) == (live_server.url, printed["vmId"], "ca.pem")
    with live_server.client() as http:
        view = http.get(f"{vm_path('web-01')}/instanceView?{API}").json()
    assert (view["osName"], view["osVersion"]) == ("Debian GNU/Linux 12 (bookworm)", "12")


def test_a_refused_token_is_one_line_and_exit_1(live_server: LiveServer, tmp_path: Path) -> None:
    """An unknown token: the server's 401 becomes one clear line; nothing is stored."""
    root = machine_root(tmp_path)
    code, printed, err = enroll(live_server, root, token="gpe_unknown")
    assert (code, printed) == (1, {})
    refused = "guestpatch-agent: the server refused the enrollment token (unknown, expired or used up)"
    assert err.splitlines() == [refused]
    assert not (root / "var/lib/guestpatch-agent/credential").exists()


def test_a_used_up_token_cannot_enroll_a_second_machine(live_server: LiveServer, tmp_path: Path) -> None:
    """A one-use token enrolls one machine; the second attempt is refused."""
    token = enrollment_token(live_server, uses=1)
    assert enroll(live_server, machine_root(tmp_path / "a", "one"), token=token)[0] == 0
    assert enroll(live_server, machine_root(tmp_path / "b", "two"), token=token)[0] == 1


def test_an_unreachable_server_is_one_line_and_exit_1(live_server: LiveServer, tmp_path: Path) -> None:
    """Nothing listening: one line naming the server, exit 1."""
    root = machine_root(tmp_path)
    argv = ["enroll", "--server", f"https://127.0.0.1:{free_port()}", "--token", "gpe_x", "--root", str(root)]
    result = agent_process(*argv)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "cannot enroll with https://127.0.0.1:" in result.stderr


def test_a_server_not_signed_by_a_trusted_ca_is_refused(live_server: LiveServer, tmp_path: Path) -> None:
    """Without --ca-file the system store is used: the server's private CA is not trusted; exit 1."""
    code, _, err = enroll(live_server, machine_root(tmp_path), ca=False)
    assert code == 1
    assert "certificate is not trusted" in err


def test_a_new_vm_needs_a_location(live_server: LiveServer, tmp_path: Path) -> None:
    """The server's 400 (target location) comes back as one line, exit 1."""
    root = machine_root(tmp_path, "nowhere-1")
    argv = ["enroll", "--server", live_server.url, "--token", enrollment_token(live_server), "--ca-file",
            str(live_server.ca), "--root", str(root)]  # fmt: skip
    result = agent_process(*argv)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "'location' is required" in result.stderr


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--server", "http://127.0.0.1:1", "--token", "gpe_x"], "must be an https:// URL"),
        (["--server", "https://127.0.0.1:1"], "--token"),
        (["--server", "https://127.0.0.1:1", "--token", "gpe x"], "--token must be the enrollment token"),
        (["--server", "https://127.0.0.1:1", "--token", "gpe_x", "--ca-file", "/nonexistent.pem"], "no such file"),
        (["--server", "https://127.0.0.1:1", "--token", "gpe_x", "--name", " "], "--name must not be empty"),
    ],
)
def test_bad_enroll_flags_are_one_line_and_exit_2(flags: list[str], words: str, tmp_path: Path) -> None:
    """Each mistake is named on one stderr line before anything is sent."""
    result = agent_process("enroll", "--root", str(machine_root(tmp_path)), *flags)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert words in result.stderr


def test_run_without_enrollment_says_so_and_exits_3(tmp_path: Path) -> None:
    """Not enrolled: one line naming the missing file and what to do; exit 3 (systemd does not restart)."""
    result = agent_process("run", "--once", "--root", str(machine_root(tmp_path)))
    assert result.returncode == 3
    assert "not enrolled" in result.stderr
    assert "guestpatch-agent enroll" in result.stderr


def test_run_with_a_revoked_credential_says_so_and_exits_3(live_server: LiveServer, tmp_path: Path) -> None:
    """The same VM enrolled again from elsewhere revokes the first credential: its daemon exits 3."""
    first = machine_root(tmp_path / "first", "twin")
    assert enroll(live_server, first)[0] == 0
    assert enroll(live_server, machine_root(tmp_path / "second", "twin"))[0] == 0
    result = agent_process("run", "--once", "--root", str(first))
    assert result.returncode == 3
    assert "refused this machine's credential" in result.stderr


def test_run_once_with_the_server_down_exits_1(live_server: LiveServer, tmp_path: Path) -> None:
    """The stored server does not answer: --once says so and exits 1 (the daemon would back off)."""
    root = machine_root(tmp_path)
    assert enroll(live_server, root)[0] == 0
    stored = root / "var/lib/guestpatch-agent/agent.json"
    record = json.loads(stored.read_text())
    record["server"] = f"https://127.0.0.1:{free_port()}"
    stored.write_text(json.dumps(record))
    result = agent_process("run", "--once", "--root", str(root))
    assert result.returncode == 1
    assert "cannot read the goal state" in result.stderr


@pytest.mark.root
def test_run_once_performs_a_queued_assessment(live_server: LiveServer, apt_root: aptlab.AptRoot) -> None:
    """POST assessPatches, then run --once on a real apt root: the operation Succeeded with the lab's counts."""
    assert enroll(live_server, apt_root.path, "--name", "once-1")[0] == 0
    operation = queue_assessment(live_server, "once-1")
    result = agent_process("run", "--once", "--root", str(apt_root.path))
    assert result.returncode == 0, result.stderr
    done = operation_status(live_server, operation)
    assert done["status"] == "Succeeded"
    output = done["properties"]["output"]
    assert output["assessmentActivityId"] == operation
    assert (output["criticalAndSecurityPatchCount"], output["otherPatchCount"]) == (
        len(aptlab.SECURITY), len(aptlab.OTHER))  # fmt: skip


def test_resume_leaves_a_daemon_installation_to_the_daemon(tmp_path: Path) -> None:
    """resume does not print (and archive) an installation the daemon must report to the server."""
    root = machine_root(tmp_path)
    state = root / "var/lib/guestpatch-agent"
    request = InstallRequest(maximum_duration=timedelta(hours=1), reboot_setting="Never",
                             selection=Selection(("Security",)), start=parse_time("2026-11-26T09:00:00Z"))
    StateStore(str(state)).save(InstallState("op-7", request, step="Installing"))
    (state / "reports").mkdir()
    (state / "reports/op-7.json").write_text(json.dumps({"operationId": "op-7", "sequence": 2, "final": None}))
    result = agent_process("resume", "--root", str(root))
    assert (result.returncode, result.stdout) == (0, "")
    assert "belongs to guestpatch-agent run" in result.stderr
    assert (state / "operation.json").exists()


def test_the_systemd_unit_runs_the_daemon_and_does_not_restart_on_enroll_again() -> None:
    """The shipped unit starts `run`, restarts on failure, but not on exit 3 (only an operator can help)."""
    unit = (SRC / "guestpatch_agent/packaging/guestpatch-agent.service").read_text()
    settings = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#"))
    assert settings["ExecStart"].split()[-1] == "run"
    assert settings["Type"] == "simple"
    assert settings["Restart"] == "on-failure"
    assert settings["RestartPreventExitStatus"] == str(EXIT_ENROLL)
