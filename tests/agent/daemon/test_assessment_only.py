"""``guestpatch-agent run --assessment-only``: a machine that must not be changed (the demo's host).

Assessments run; every installation is refused with a reason; the OS's auto-updaters are left as they
are. Real control plane over HTTPS, real apt on a disposable root.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent import aptlab
from tests.agent.conftest import agent_process
from tests.agent.daemon.conftest import API, operation_status, queue_assessment, vm_path
from tests.agent.daemon.test_commands import enroll, machine_root
from tests.server_fixtures import LiveServer

INSTALL_BODY = {"maximumDuration": "PT1H", "rebootSetting": "Never",
                "linuxParameters": {"classificationsToInclude": ["Critical", "Security", "Other"]}}  # fmt: skip


def queue_installation(server: LiveServer, name: str) -> str:
    with server.client() as http:
        answer = http.post(f"{vm_path(name)}/installPatches?{API}", json=INSTALL_BODY)
    assert answer.status_code == 202, answer.text
    return str(answer.headers["Azure-AsyncOperation"]).split("/operations/")[1].split("?")[0]


def set_patch_mode(server: LiveServer, name: str, mode: str) -> None:
    body = {"properties": {"osProfile": {"linuxConfiguration": {"patchSettings": {"patchMode": mode}}}}}
    with server.client() as http:
        answer = http.patch(f"{vm_path(name)}?{API}", json=body)
    assert answer.status_code == 200, answer.text


@pytest.mark.root
def test_an_installation_is_refused_and_nothing_is_installed(live_server: LiveServer,
                                                            apt_root: aptlab.AptRoot) -> None:  # fmt: skip
    """installPatches ends Failed with InstallationRefused; the root's packages are exactly as before."""
    assert enroll(live_server, apt_root.path, "--name", "host-1")[0] == 0
    before = apt_root.installed()
    operation = queue_installation(live_server, "host-1")
    result = agent_process("run", "--once", "--assessment-only", "--root", str(apt_root.path))
    assert result.returncode == 0, result.stderr
    output = operation_status(live_server, operation)["properties"]["output"]
    assert (output["status"], output["installedPatchCount"]) == ("Failed", 0)
    assert [d["code"] for d in output["error"]["details"]] == ["InstallationRefused"]
    assert "assessment-only" in output["error"]["details"][0]["message"]
    assert apt_root.installed() == before


@pytest.mark.root
def test_an_assessment_still_runs(live_server: LiveServer, apt_root: aptlab.AptRoot) -> None:
    """assessPatches on an assessment-only agent lists the root's available patches as usual."""
    assert enroll(live_server, apt_root.path, "--name", "host-2")[0] == 0
    operation = queue_assessment(live_server, "host-2")
    result = agent_process("run", "--once", "--assessment-only", "--no-refresh", "--root", str(apt_root.path))
    assert result.returncode == 0, result.stderr
    done = operation_status(live_server, operation)
    assert done["status"] == "Succeeded"
    assert done["properties"]["output"]["criticalAndSecurityPatchCount"] == len(aptlab.SECURITY)


def test_the_auto_updaters_are_left_as_they_are(live_server: LiveServer, tmp_path: Path) -> None:
    """Goal AutomaticByPlatform: the apt periodic file is untouched and the configuration is Failed, saying why."""
    root = machine_root(tmp_path, "host-3")
    periodic = root / "etc/apt/apt.conf.d/20auto-upgrades"
    periodic.parent.mkdir(parents=True)
    original = 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n'
    periodic.write_text(original)
    assert enroll(live_server, root)[0] == 0
    set_patch_mode(live_server, "host-3", "AutomaticByPlatform")
    result = agent_process("run", "--once", "--assessment-only", "--root", str(root))
    assert result.returncode == 0, result.stderr
    assert periodic.read_text() == original
    with live_server.client() as http:
        view = http.get(f"{vm_path('host-3')}/instanceView?{API}").json()
    statuses = view["patchStatus"]["configurationStatuses"]
    assert statuses, view["patchStatus"]
    assert any("assessment-only" in str(s) for s in statuses), statuses
