"""Fixtures of the daemon tests: the real control plane (HTTPS), a scripted HTTPS stub, enrolled clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from guestpatch_agent.protocol import ControlPlane, parse_server, tls_context
from tests.agent.daemon.stub import StubControlPlane
from tests.server_fixtures import LiveServer, live_server, start_server  # noqa: F401

SUB = "agent-sub"
RG = "agent-rg"
API = "api-version=2026-04-01"
OS = {"family": "Linux", "distro": "debian", "version": "12", "kernel": "6.1.0", "architecture": "x86_64"}


@pytest.fixture
def stub(tmp_path: Path) -> Iterator[StubControlPlane]:
    with StubControlPlane(tmp_path / "stub-tls") as running:
        yield running


def plane_for(server: LiveServer | StubControlPlane, credential: str | None = None) -> ControlPlane:
    return ControlPlane(parse_server(server.url), context=tls_context(str(server.ca)), credential=credential)


def enrollment_token(server: LiveServer, uses: int = 1) -> str:
    with server.client() as http:
        answer = http.post("/v1/enrollmentTokens", json={"subscription": SUB, "resourceGroup": RG, "uses": uses})
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["token"])


def enroll(server: LiveServer, name: str) -> str:
    """Enroll a machine ``name`` (its VM resource is created); its machine credential."""
    answer = plane_for(server).enroll(enrollment_token(server), {
        "name": name, "location": "westeurope", "agentVersion": "0.1.0", "os": OS})  # fmt: skip
    return str(answer["credential"])


def enrolled(server: LiveServer, name: str) -> ControlPlane:
    """A client holding the credential of a freshly enrolled machine ``name``."""
    return plane_for(server, enroll(server, name))


def operation_status(server: LiveServer, operation: str) -> dict:
    with server.client() as http:
        answer = http.get(f"/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westeurope/operations/"
                          f"{operation}?{API}")  # fmt: skip
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def vm_path(name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/{name}"


def queue_assessment(server: LiveServer, name: str) -> str:
    """POST …/assessPatches; the operation id."""
    with server.client() as http:
        answer = http.post(f"{vm_path(name)}/assessPatches?{API}")
    assert answer.status_code == 202, answer.text
    return str(answer.headers["Azure-AsyncOperation"]).split("/operations/")[1].split("?")[0]
