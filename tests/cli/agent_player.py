"""A test playing the guest agent's side of ``docs/agent-protocol.md`` with httpx, over real HTTPS.

The CLI tests need an agent that picks up an operation and reports a chosen result (Succeeded, Failed,
…) at a chosen time; the real ``guestpatch-agent`` would need package managers and roots for that. This
speaks the same protocol the real agent does: enroll with a token, poll the goal state (ETag,
``If-None-Match``, ``?wait=`` long-poll), report operations with ``sequence``/``status``/``result``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.server_fixtures import LiveServer

AGENT_VERSION = "0.1.0"
OS = {"family": "Linux", "distro": "debian", "version": "12", "prettyName": "Debian GNU/Linux 12 (bookworm)",
      "kernel": "6.1.0-27-amd64", "architecture": "x86_64"}
STARTED = "2026-11-26T09:00:02Z"


def enroll_request(server: LiveServer, token: str, *, name: str, location: str = "westeurope") -> httpx.Response:
    """``POST /agent/v1/enroll`` with ``token``, as the agent sends it."""
    with httpx.Client(base_url=server.url, verify=server.verify, timeout=30) as http:
        return http.post(
            "/agent/v1/enroll",
            headers={"Authorization": f"Bearer {token}"},
            json={"name": name, "location": location, "agentVersion": AGENT_VERSION, "os": OS, "hostname": name},
        )


@dataclass
class PlayedAgent:
    """One enrolled machine whose agent the test plays."""

    server: LiveServer
    credential: str
    etag: str | None = None

    @classmethod
    def enroll(cls, server: LiveServer, token: str, *, name: str, location: str = "westeurope") -> PlayedAgent:
        response = enroll_request(server, token, name=name, location=location)
        assert response.status_code == 201, response.text
        return cls(server, response.json()["credential"])

    def _http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url, verify=self.server.verify, timeout=60,
            headers={"Authorization": f"Bearer {self.credential}"},
        )

    def next_operation(self, *, kind: str | None = None, timeout: float = 60) -> dict[str, Any]:
        """The first operation (of ``kind``) in the goal state, long-polling until one appears."""
        deadline = time.monotonic() + timeout
        with self._http() as http:
            while time.monotonic() < deadline:
                headers = {"If-None-Match": self.etag} if self.etag else {}
                response = http.get("/agent/v1/goalstate", params={"wait": "5"}, headers=headers)
                if response.status_code == 200:
                    self.etag = response.headers["ETag"]
                    for operation in response.json()["operations"]:
                        if kind is None or operation["kind"] == kind:
                            return dict(operation)
                else:
                    assert response.status_code == 304, response.text
        raise AssertionError(f"no {kind or 'operation'} reached the goal state within {timeout} s")

    def report(self, operation_id: str, *, sequence: int, status: str, result: dict[str, Any] | None = None) -> None:
        body: dict[str, Any] = {"sequence": sequence, "status": status, "startedAt": STARTED}
        if result is not None:
            body["result"] = result
        with self._http() as http:
            response = http.put(f"/agent/v1/operations/{operation_id}", json=body)
        assert response.status_code == 200, response.text

    def finish(self, operation_id: str, result: dict[str, Any]) -> None:
        """Report InProgress, then the final ``result`` (its status as the report's status)."""
        self.report(operation_id, sequence=1, status="InProgress")
        self.report(operation_id, sequence=2, status=result["status"], result=result)


OPENSSL = {"patchId": "openssl_3.0.15-1~deb12u1", "name": "openssl", "version": "3.0.15-1~deb12u1",
           "classifications": ["Security"], "rebootBehavior": "NeverReboots", "assessmentState": "Available",
           "publishedDate": "2026-11-20T00:00:00Z"}
TZDATA = {"patchId": "tzdata_2026a-0+deb12u1", "name": "tzdata", "version": "2026a-0+deb12u1",
          "classifications": ["Other"], "rebootBehavior": "NeverReboots", "assessmentState": "Available"}


def assessment(
    status: str = "Succeeded", *, error: dict[str, Any] | None = None, patches: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A ``VirtualMachineAssessPatchesResult``; by default one Security (openssl) and one Other (tzdata) patch."""
    available = [OPENSSL, TZDATA] if patches is None else patches
    critical = sum(1 for p in available if set(p["classifications"]) & {"Critical", "Security"})
    return {
        "status": status,
        "assessmentActivityId": "a1",
        "rebootPending": False,
        "criticalAndSecurityPatchCount": critical,
        "otherPatchCount": len(available) - critical,
        "startDateTime": STARTED,
        "availablePatches": available,
        "error": error,
    }


def installation(status: str = "Succeeded", *, error: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``VirtualMachineInstallPatchesResult``: openssl installed (or failed, when ``status`` is Failed)."""
    failed = status == "Failed"
    return {
        "status": status,
        "installationActivityId": "i1",
        "rebootStatus": "NotNeeded",
        "maintenanceWindowExceeded": False,
        "installedPatchCount": 0 if failed else 1,
        "failedPatchCount": 1 if failed else 0,
        "excludedPatchCount": 0,
        "notSelectedPatchCount": 1,
        "pendingPatchCount": 0,
        "startDateTime": STARTED,
        "patches": [
            {"patchId": "openssl_3.0.15-1~deb12u1", "name": "openssl", "version": "3.0.15-1~deb12u1",
             "classifications": ["Security"], "installationState": "Failed" if failed else "Installed"},
            {"patchId": "tzdata_2026a-0+deb12u1", "name": "tzdata", "version": "2026a-0+deb12u1",
             "classifications": ["Other"], "installationState": "NotSelected"},
        ],
        "error": error,
    }
