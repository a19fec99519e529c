"""This machine's agent in the demo: how it is run, and the VM name it gets."""

from __future__ import annotations

from pathlib import Path

from guestpatch.demo.host import HostAgent, host_vm_name


def agent(*, refresh: bool) -> HostAgent:
    return HostAgent("https://127.0.0.1:8443", Path("/d/tls/ca.pem"), Path("/d"), name="h", refresh=refresh)


def test_the_agent_always_runs_assessment_only_in_the_demos_state_folder() -> None:
    """run --assessment-only, on the host's root, with its state inside the demo's data directory."""
    argv = agent(refresh=True).run_command()
    assert argv[2:5] == ["guestpatch_agent", "run", "--assessment-only"]
    assert argv[-4:] == ["--root", "/", "--state-dir", "/d/host-agent"]
    assert "--no-refresh" not in argv


def test_without_root_the_agent_assesses_without_refreshing() -> None:
    """Not root: --no-refresh (apt-get update would fail), so the assessment reads the lists as they are."""
    assert "--no-refresh" in agent(refresh=False).run_command()


def test_a_host_name_becomes_a_valid_vm_name() -> None:
    """The short host name, characters ARM refuses replaced; nothing usable left: this-host."""
    assert host_vm_name("web-01.example.com") == "web-01"
    assert host_vm_name("my host!") == "my-host"
    assert host_vm_name("---") == "this-host"
