"""`guestpatch vm assess-patches` / `install-patches` against a real server, the test playing the agent.

The command runs as a subprocess (the real program: entry point, streams, exit status) and waits on the
ARM long-running operation while the test picks the operation up through the agent protocol and
reports the result it wants the command to see.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

from tests.cli.agent_player import PlayedAgent, assessment, installation
from tests.cli.conftest import (
    command_env,
    enrollment_token,
    outcome_of,
    run_cli,
    run_command,
    spawn_command,
)
from tests.server_fixtures import LiveServer

INSTALL = ("--maximum-duration", "PT2H", "--reboot-setting", "IfRequired")


def machine(server: LiveServer, resource_group: str, name: str) -> PlayedAgent:
    """A VM whose agent the test plays, enrolled with a token from the CLI."""
    return PlayedAgent.enroll(server, enrollment_token(server, resource_group), name=name)


def history(server: LiveServer, resource_group: str, name: str) -> list[dict[str, Any]]:
    outcome = run_cli(server, "vm", "patch-history", "-g", resource_group, "-n", name)
    assert outcome.exit_code == 0, outcome.stderr
    return list(outcome.json())


def test_assess_waits_for_the_agent_and_prints_its_result(live_server: LiveServer) -> None:
    """assess-patches waits while the agent works, prints the assessment as JSON and exits 0."""
    agent = machine(live_server, "rg-assess", "web1")
    process = spawn_command(live_server, "vm", "assess-patches", "-g", "rg-assess", "-n", "web1")
    operation = agent.next_operation(kind="assessPatches")
    agent.finish(operation["id"], assessment())
    outcome = outcome_of(process)
    assert outcome.exit_code == 0, outcome.stderr
    result = json.loads(outcome.stdout)
    assert result["status"] == "Succeeded"
    assert result["criticalAndSecurityPatchCount"] == 1
    assert [p["name"] for p in result["availablePatches"]] == ["openssl", "tzdata"]


def test_no_progress_line_when_stderr_is_not_a_terminal(live_server: LiveServer) -> None:
    """Piped stderr gets no spinner: a successful assessment leaves stderr empty."""
    agent = machine(live_server, "rg-quiet", "web1")
    process = spawn_command(live_server, "vm", "assess-patches", "-g", "rg-quiet", "-n", "web1")
    agent.finish(agent.next_operation(kind="assessPatches")["id"], assessment())
    outcome = outcome_of(process)
    assert (outcome.exit_code, outcome.stderr) == (0, "")


def test_progress_line_on_a_terminal_names_the_operation_and_its_state(live_server: LiveServer) -> None:
    """With stderr on a terminal, a spinner line `assessPatches on web1: InProgress (…)` is drawn there."""
    agent = machine(live_server, "rg-tty", "web1")
    main, secondary = pty.openpty()
    env = command_env(live_server, {"TERM": "xterm-256color", "COLUMNS": "120"})
    process = subprocess.Popen(
        [sys.executable, "-m", "guestpatch", "vm", "assess-patches", "-g", "rg-tty", "-n", "web1"],
        stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL, env=env, text=True,
    )
    os.close(secondary)
    drawn = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                return
            if not chunk:
                return
            drawn.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    operation = agent.next_operation(kind="assessPatches")
    agent.report(operation["id"], sequence=1, status="InProgress")
    time.sleep(2.5)  # let the command poll while the operation is InProgress
    agent.report(operation["id"], sequence=2, status="Succeeded", result=assessment())
    stdout, _ = process.communicate(timeout=60)
    reader.join(timeout=10)
    os.close(main)
    assert process.returncode == 0
    assert json.loads(stdout)["status"] == "Succeeded"
    assert "assessPatches on web1: InProgress" in drawn.decode(errors="replace")


def test_assess_table_shows_the_summary_and_one_row_per_available_patch(live_server: LiveServer) -> None:
    """`-o table`: a summary line with the counts, then the patches with version and classification."""
    agent = machine(live_server, "rg-atable", "web1")
    process = spawn_command(live_server, "vm", "assess-patches", "-g", "rg-atable", "-n", "web1", "-o", "table")
    agent.finish(agent.next_operation(kind="assessPatches")["id"], assessment())
    outcome = outcome_of(process)
    assert outcome.exit_code == 0, outcome.stderr
    lines = outcome.stdout.splitlines()
    assert lines[0] == "Succeeded: 1 critical/security and 1 other patches available; reboot pending: no."
    assert lines[1].split() == ["Name", "Version", "Classifications", "RebootBehavior", "PublishedDate"]
    assert lines[2].split()[:3] == ["openssl", "3.0.15-1~deb12u1", "Security"]
    assert lines[3].split()[:3] == ["tzdata", "2026a-0+deb12u1", "Other"]


def test_install_with_a_failed_result_exits_non_zero_with_one_line(live_server: LiveServer) -> None:
    """A result with status Failed: exit 1, the result on stdout, one stderr line with the result's error code."""
    agent = machine(live_server, "rg-ifail", "web1")
    process = spawn_command(live_server, "vm", "install-patches", "-g", "rg-ifail", "-n", "web1", *INSTALL,
                            "--classifications-to-include-linux", "Critical", "Security")
    operation = agent.next_operation(kind="installPatches")
    error = {"code": "PackageManagerFailed", "message": "1 error/s reported. apt-get install openssl\nexited 100"}
    agent.finish(operation["id"], installation("Failed", error=error))
    outcome = outcome_of(process)
    assert outcome.exit_code == 1
    assert json.loads(outcome.stdout)["patches"][0]["installationState"] == "Failed"
    assert outcome.error_lines == [
        "error: (PackageManagerFailed) installPatches ended with status Failed (1 patch failed): "
        "1 error/s reported. apt-get install openssl exited 100"
    ]


def test_install_completed_with_warnings_exits_0_with_a_warning_line(live_server: LiveServer) -> None:
    """CompletedWithWarnings counts as done: exit 0, and its error code is shown as a warning."""
    agent = machine(live_server, "rg-iwarn", "web1")
    process = spawn_command(live_server, "vm", "install-patches", "-g", "rg-iwarn", "-n", "web1", *INSTALL,
                            "--classifications-to-include-linux", "Security")
    error = {"code": "RepositoryUnreachable", "message": "1 error/s reported. one repository was unreachable"}
    agent.finish(agent.next_operation(kind="installPatches")["id"],
                 installation("CompletedWithWarnings", error=error))
    outcome = outcome_of(process)
    assert outcome.exit_code == 0
    assert outcome.error_lines == [
        "warning: (RepositoryUnreachable) installPatches completed with warnings: "
        "1 error/s reported. one repository was unreachable"
    ]


def test_install_table_shows_each_patch_with_its_installation_state(live_server: LiveServer) -> None:
    """`-o table` for install-patches: the counts, then each patch with its installationState."""
    agent = machine(live_server, "rg-itable", "web1")
    process = spawn_command(live_server, "vm", "install-patches", "-g", "rg-itable", "-n", "web1", *INSTALL,
                            "--classifications-to-include-linux", "Security", "-o", "table")
    agent.finish(agent.next_operation(kind="installPatches")["id"], installation())
    outcome = outcome_of(process)
    assert outcome.exit_code == 0, outcome.stderr
    lines = outcome.stdout.splitlines()
    assert lines[0] == (
        "Succeeded: 1 installed, 0 failed, 0 pending, 0 excluded, 1 not selected; reboot: NotNeeded."
    )
    assert lines[1].split() == ["Name", "Version", "Classifications", "InstallationState"]
    assert {line.split()[0]: line.split()[-1] for line in lines[2:]} == {
        "openssl": "Installed", "tzdata": "NotSelected",
    }


def test_install_flags_reach_the_agent_as_linux_parameters(live_server: LiveServer) -> None:
    """Classifications (any case), include and exclude masks arrive in the operation the agent receives."""
    agent = machine(live_server, "rg-iflags", "web1")
    outcome = run_cli(
        live_server, "vm", "install-patches", "-g", "rg-iflags", "-n", "web1", "--maximum-duration", "PT90M",
        "--reboot-setting", "never", "--classifications-to-include-linux", "critical", "Security",
        "--include-packages", "openssl", "libssl*", "--exclude-packages", "tzdata", "--no-wait",
    )
    assert outcome.exit_code == 0, outcome.stderr
    assert agent.next_operation(kind="installPatches")["parameters"] == {
        "maximumDuration": "PT1H30M",
        "rebootSetting": "Never",
        "linuxParameters": {
            "classificationsToInclude": ["Critical", "Security"],
            "packageNameMasksToInclude": ["openssl", "libssl*"],
            "packageNameMasksToExclude": ["tzdata"],
        },
    }


def test_operation_no_agent_picks_up_fails_with_the_communication_error(start_server) -> None:  # type: ignore[no-untyped-def]
    """No agent on the VM: after the pickup timeout the operation fails; exit 1, one line with the ARM code."""
    server = start_server(env={"GUESTPATCH_AGENT_PICKUP_TIMEOUT": "2"})
    created = run_cli(server, "vm", "create", "-g", "rg-silent", "-n", "lonely", "--image", "Ubuntu2204",
                      "-l", "westeurope", "-o", "none")
    assert created.exit_code == 0, created.stderr
    outcome = run_command(server, "vm", "assess-patches", "-g", "rg-silent", "-n", "lonely")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert len(outcome.error_lines) == 1
    assert outcome.error_lines[0].startswith("error: (VMAgentStatusCommunicationError) ")
    assert "did not start the operation within 2 s" in outcome.error_lines[0]


def test_maximum_duration_the_server_refuses_is_its_400_on_one_line(live_server: LiveServer) -> None:
    """`--maximum-duration 5h` (not ISO 8601) is judged by the server: exit 1, its InvalidParameter line."""
    machine(live_server, "rg-dur", "web1")
    outcome = run_command(live_server, "vm", "install-patches", "-g", "rg-dur", "-n", "web1",
                          "--maximum-duration", "5h", "--reboot-setting", "IfRequired",
                          "--classifications-to-include-linux", "Critical")
    assert outcome.exit_code == 1
    assert len(outcome.error_lines) == 1
    assert outcome.error_lines[0].startswith(
        "error: (InvalidParameter) The value '5h' of parameter 'maximumDuration' is not a valid ISO 8601 duration"
    )
    assert history(live_server, "rg-dur", "web1") == []


def test_maximum_duration_out_of_range_is_the_servers_400(live_server: LiveServer) -> None:
    """`--maximum-duration PT5H` (beyond PT4H): the server's out-of-range message, one line, exit 1."""
    machine(live_server, "rg-dur5", "web1")
    outcome = run_cli(live_server, "vm", "install-patches", "-g", "rg-dur5", "-n", "web1",
                      "--maximum-duration", "PT5H", "--reboot-setting", "IfRequired",
                      "--classifications-to-include-linux", "Critical")
    assert outcome.exit_code == 1
    assert outcome.error_lines == [outcome.error_lines[0]]
    assert "'maximumDuration' is out of range" in outcome.error_lines[0]


def test_unknown_classification_is_a_usage_error_and_nothing_is_sent(live_server: LiveServer) -> None:
    """`--classifications-to-include-linux Urgent`: exit 2 naming the flag and the allowed values; no operation."""
    machine(live_server, "rg-cls", "web1")
    outcome = run_cli(live_server, "vm", "install-patches", "-g", "rg-cls", "-n", "web1", *INSTALL,
                      "--classifications-to-include-linux", "Critical", "Urgent")
    assert outcome.exit_code == 2
    assert "--classifications-to-include-linux" in outcome.usage_error
    assert "'Urgent' is not one of Critical, Security, Other" in outcome.usage_error
    assert history(live_server, "rg-cls", "web1") == []


def test_linux_and_windows_flags_together_are_a_usage_error(live_server: LiveServer) -> None:
    """Linux classifications with Windows KB numbers in one request: exit 2 naming the Windows flag."""
    outcome = run_cli(live_server, "vm", "install-patches", "-g", "rg-mix", "-n", "web1", *INSTALL,
                      "--classifications-to-include-linux", "Critical", "--kb-numbers-to-include", "KB5034441")
    assert outcome.exit_code == 2
    assert "--kb-numbers-to-include" in outcome.usage_error
    assert "flags of one OS" in outcome.usage_error


def test_nothing_to_include_is_a_usage_error(live_server: LiveServer) -> None:
    """Only --exclude-packages: nothing would be installed; exit 2 naming the inclusion flags."""
    outcome = run_cli(live_server, "vm", "install-patches", "-g", "rg-none", "-n", "web1", *INSTALL,
                      "--exclude-packages", "tzdata")
    assert outcome.exit_code == 2
    assert "nothing to install" in outcome.usage_error
    assert "--classifications-to-include-linux" in outcome.usage_error


def test_windows_flags_reach_a_windows_vm_as_windows_parameters(live_server: LiveServer) -> None:
    """On a Windows VM, --classifications-to-include-win/--kb-numbers-*/--exclude-kbs-requiring-reboot are
    sent as windowsParameters (the server accepts and queues the operation)."""
    created = run_cli(live_server, "vm", "create", "-g", "rg-win", "-n", "win1", "--image", "Win2022Datacenter",
                      "-l", "eastus", "-o", "none")
    assert created.exit_code == 0, created.stderr
    outcome = run_cli(live_server, "vm", "install-patches", "-g", "rg-win", "-n", "win1", *INSTALL,
                      "--classifications-to-include-win", "Critical", "updaterollup", "--kb-numbers-to-include",
                      "KB5034441", "--kb-numbers-to-exclude", "KB5034439", "--exclude-kbs-requiring-reboot",
                      "--no-wait")
    assert outcome.exit_code == 0, outcome.stderr
    [operation] = history(live_server, "rg-win", "win1")
    windows = operation["parameters"]["windowsParameters"]
    assert windows["classificationsToInclude"] == ["Critical", "UpdateRollUp"]
    assert (windows["kbNumbersToInclude"], windows["kbNumbersToExclude"]) == (["KB5034441"], ["KB5034439"])
    assert windows["excludeKbsRequiringReboot"] is True


def test_windows_flags_on_a_linux_vm_are_the_servers_400(live_server: LiveServer) -> None:
    """The CLI cannot know the VM's OS; the server refuses windowsParameters on Linux, on one line."""
    machine(live_server, "rg-winlin", "web1")
    outcome = run_cli(live_server, "vm", "install-patches", "-g", "rg-winlin", "-n", "web1", *INSTALL,
                      "--classifications-to-include-win", "Security")
    assert outcome.exit_code == 1
    assert outcome.error_lines == [outcome.error_lines[0]]
    assert outcome.error_lines[0].startswith("error: (InvalidParameter) The parameter 'windowsParameters'")


def test_no_wait_prints_the_status_url_and_the_operation_goes_on(live_server: LiveServer) -> None:
    """--no-wait: exit 0 at once with the Azure-AsyncOperation URL alone; that URL answers InProgress."""
    machine(live_server, "rg-nowait", "web1")
    outcome = run_command(live_server, "vm", "assess-patches", "-g", "rg-nowait", "-n", "web1", "--no-wait")
    assert outcome.exit_code == 0, outcome.stderr
    [url] = outcome.stdout.splitlines()
    with live_server.client() as http:
        status = http.get(url).json()
    [operation] = history(live_server, "rg-nowait", "web1")
    assert status["status"] == "InProgress"
    assert status["name"] == operation["id"]
    assert url.startswith(live_server.url + "/subscriptions/default/providers/Microsoft.Compute/locations/")


def test_second_operation_while_one_runs_is_the_servers_conflict(live_server: LiveServer) -> None:
    """One patch operation per VM at a time: a second assess-patches gets the server's 409 on one line."""
    machine(live_server, "rg-busy", "web1")
    assert run_cli(live_server, "vm", "assess-patches", "-g", "rg-busy", "-n", "web1", "--no-wait").exit_code == 0
    outcome = run_cli(live_server, "vm", "assess-patches", "-g", "rg-busy", "-n", "web1")
    assert outcome.exit_code == 1
    assert outcome.error_lines == [outcome.error_lines[0]]
    assert outcome.error_lines[0].startswith("error: (Conflict) Another operation (assessPatches ")


def test_interrupting_the_wait_says_the_operation_goes_on(live_server: LiveServer) -> None:
    """Ctrl-C while waiting: exit 130 and one line with the status URL; the operation is still running."""
    agent = machine(live_server, "rg-intr", "web1")
    process = spawn_command(live_server, "vm", "assess-patches", "-g", "rg-intr", "-n", "web1")
    agent.next_operation(kind="assessPatches")
    time.sleep(1.5)  # the command is past its POST and polling
    process.send_signal(signal.SIGINT)
    outcome = outcome_of(process)
    assert outcome.exit_code == 130
    assert len(outcome.error_lines) == 1
    line = outcome.error_lines[0]
    assert line.startswith("error: stopped waiting; the operation goes on on the server (status: https://")
    url = line.rsplit("(status: ", 1)[1].rstrip(").")
    with httpx.Client(verify=live_server.verify, headers={"Authorization": f"Bearer {live_server.token}"}) as http:
        assert http.get(url).json()["status"] == "InProgress"


def test_assess_on_a_vm_that_does_not_exist_exits_3(live_server: LiveServer) -> None:
    """No such VM: the server's ResourceNotFound, exit 3 as az."""
    outcome = run_cli(live_server, "vm", "assess-patches", "-g", "rg-ghost", "-n", "ghost")
    assert outcome.exit_code == 3
    assert outcome.error_lines[0].startswith("error: (ResourceNotFound) ")
