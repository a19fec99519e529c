"""`vm patch-history`, `vm list-patches` and `compliance missing|pending` against a real server.

A small fleet is built once for the module: operations are started with the CLI (``--no-wait``) and
finished by the test playing each machine's agent.

- alpha (westeurope): assessed (openssl Security, tzdata Other), then installed (Security);
- beta (japaneast): assessed, only tzdata;
- gamma (japaneast): assessed, openssl and a Critical kernel.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.cli.agent_player import OPENSSL, TZDATA, PlayedAgent, assessment, installation
from tests.cli.conftest import Cli, enrollment_token, run_cli
from tests.server_fixtures import LiveServer

RG = "rg-hist"
KERNEL = {"patchId": "linux-image-amd64_6.1.119-1", "name": "linux-image-amd64", "version": "6.1.119-1",
          "classifications": ["Critical"], "rebootBehavior": "AlwaysRequiresReboot", "assessmentState": "Available"}


def _run(server: LiveServer, agent: PlayedAgent, name: str, kind: str, result: dict[str, Any], *flags: str) -> None:
    command = "assess-patches" if kind == "assessPatches" else "install-patches"
    started = run_cli(server, "vm", command, "-g", RG, "-n", name, "--no-wait", *flags)
    assert started.exit_code == 0, started.stderr
    agent.finish(agent.next_operation(kind=kind)["id"], result)


@pytest.fixture(scope="module")
def fleet(live_server: LiveServer) -> LiveServer:
    for name, location, patches in (
        ("alpha", "westeurope", [OPENSSL, TZDATA]),
        ("beta", "japaneast", [TZDATA]),
        ("gamma", "japaneast", [KERNEL, OPENSSL]),
    ):
        agent = PlayedAgent.enroll(live_server, enrollment_token(live_server, RG), name=name, location=location)
        _run(live_server, agent, name, "assessPatches", assessment(patches=patches))
        if name == "alpha":
            _run(live_server, agent, name, "installPatches", installation(), "--maximum-duration", "PT1H",
                 "--reboot-setting", "IfRequired", "--classifications-to-include-linux", "Security")
    return live_server


def test_history_lists_operations_newest_first(fleet: LiveServer, cli: Cli) -> None:
    """alpha's history: the platform's post-install assessment, the installation, the first assessment."""
    operations = cli("vm", "patch-history", "-g", RG, "-n", "alpha").json()
    assert [(op["kind"], op["origin"]) for op in operations] == [
        ("assessPatches", "Platform"), ("installPatches", "User"), ("assessPatches", "User"),
    ]
    times = [op["requestedAt"] for op in operations]
    assert times == sorted(times, reverse=True)


def test_history_kind_filter_keeps_only_installations(fleet: LiveServer, cli: Cli) -> None:
    """`--kind installPatches` (any case): only the installation, with its parameters and result."""
    [operation] = cli("vm", "patch-history", "-g", RG, "-n", "alpha", "--kind", "INSTALLPATCHES").json()
    assert operation["kind"] == "installPatches"
    assert operation["parameters"]["linuxParameters"]["classificationsToInclude"] == ["Security"]
    assert operation["result"]["status"] == "Succeeded"


def test_history_limit_keeps_the_newest(fleet: LiveServer, cli: Cli) -> None:
    """`--limit 1`: only the newest operation."""
    [operation] = cli("vm", "patch-history", "-g", RG, "-n", "alpha", "--limit", "1").json()
    assert operation["origin"] == "Platform"


def test_history_table_has_a_row_per_operation(fleet: LiveServer, cli: Cli) -> None:
    """`-o table`: kind, origin, status and the result's status per row."""
    lines = cli("vm", "patch-history", "-g", RG, "-n", "beta", "-o", "table").stdout.splitlines()
    assert lines[0].split() == [
        "Kind", "Origin", "Status", "ResultStatus", "RequestedAt", "EndedAt", "Error", "Id",
    ]
    assert [line.split()[:4] for line in lines[1:]] == [["assessPatches", "User", "Succeeded", "Succeeded"]]


def test_history_with_an_unknown_kind_is_a_usage_error(cli: Cli) -> None:
    """`--kind reboot`: exit 2, naming --kind and the two kinds."""
    outcome = cli("vm", "patch-history", "-g", RG, "-n", "alpha", "--kind", "reboot")
    assert outcome.exit_code == 2
    assert "--kind" in outcome.usage_error
    assert "assessPatches, installPatches" in outcome.usage_error


def test_history_of_a_vm_that_does_not_exist_exits_3(cli: Cli) -> None:
    """No such VM: ResourceNotFound on one line, exit 3."""
    outcome = cli("vm", "patch-history", "-g", RG, "-n", "nobody")
    assert outcome.exit_code == 3
    assert outcome.error_lines[0].startswith("error: (ResourceNotFound) ")


def test_list_patches_shows_the_latest_assessment(fleet: LiveServer, cli: Cli) -> None:
    """gamma's patches: the kernel (Critical) and openssl (Security), with versions."""
    patches = cli("vm", "list-patches", "-g", RG, "-n", "gamma").json()
    assert {(p["name"], p["version"], p["classification"]) for p in patches} == {
        ("linux-image-amd64", "6.1.119-1", "Critical"), ("openssl", "3.0.15-1~deb12u1", "Security"),
    }


def test_list_patches_table(fleet: LiveServer, cli: Cli) -> None:
    """`-o table`: name, version, classification per patch."""
    lines = cli("vm", "list-patches", "-g", RG, "-n", "beta", "-o", "table").stdout.splitlines()
    assert lines[0].split() == ["Name", "Version", "Classification", "RebootBehavior", "PublishedDate"]
    assert [line.split()[:3] for line in lines[1:]] == [["tzdata", "2026a-0+deb12u1", "Other"]]


def test_compliance_missing_lists_the_machines_still_offered_the_package(fleet: LiveServer, cli: Cli) -> None:
    """`compliance missing --name openssl`: alpha and gamma (beta was never offered it)."""
    machines = cli("compliance", "missing", "--name", "openssl").json()
    assert sorted((m["name"], m["location"], m["version"]) for m in machines) == [
        ("alpha", "westeurope", "3.0.15-1~deb12u1"), ("gamma", "japaneast", "3.0.15-1~deb12u1"),
    ]


def test_compliance_missing_with_a_version_not_offered_is_empty(fleet: LiveServer, cli: Cli) -> None:
    """`--version` narrows to that version: another version of openssl is missing nowhere."""
    assert cli("compliance", "missing", "--name", "openssl", "--version", "3.0.11-1~deb12u2").json() == []
    exact = cli("compliance", "missing", "-n", "openssl", "--version", "3.0.15-1~deb12u1").json()
    assert sorted(m["name"] for m in exact) == ["alpha", "gamma"]


def test_compliance_missing_table_names_the_resource_group(fleet: LiveServer, cli: Cli) -> None:
    """`-o table`: the machine, its resource group (from its id), location and the patch."""
    lines = cli("compliance", "missing", "--name", "tzdata", "-o", "table").stdout.splitlines()
    assert lines[0].split() == ["Name", "ResourceGroup", "Location", "Patch", "Version"]
    assert sorted(line.split()[:4] for line in lines[1:]) == [
        ["alpha", RG, "westeurope", "tzdata"], ["beta", RG, "japaneast", "tzdata"],
    ]


def test_compliance_missing_needs_a_name(cli: Cli) -> None:
    """Without --name: exit 2 naming it."""
    outcome = cli("compliance", "missing")
    assert outcome.exit_code == 2
    assert "--name" in outcome.usage_error


def test_compliance_pending_counts_critical_and_security_by_region(fleet: LiveServer, cli: Cli) -> None:
    """japaneast: gamma with 2 such patches (beta has only Other); westeurope: alpha with openssl."""
    assert cli("compliance", "pending").json() == [
        {"region": "japaneast", "machines": 1, "patches": 2},
        {"region": "westeurope", "machines": 1, "patches": 1},
    ]


def test_compliance_pending_table(fleet: LiveServer, cli: Cli) -> None:
    """`-o table`: region, machines, patches."""
    lines = cli("compliance", "pending", "-o", "table").stdout.splitlines()
    assert lines[0].split() == ["Region", "Machines", "Patches"]
    assert [line.split() for line in lines[1:]] == [["japaneast", "1", "2"], ["westeurope", "1", "1"]]
