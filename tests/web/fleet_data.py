"""Put a small fleet into a real control plane through its own front doors, for dashboard tests.

Machines are created with ARM ``PUT``; agents enroll with an enrollment token from the operator API,
send heartbeats and answer ``assessPatches`` / ``installPatches`` through the agent protocol. The same
helper drives the in-process app (Starlette's TestClient) and a live ``guestpatch serve`` (httpx), since
both are httpx-style clients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from tests.scripted_agent import assessment_result, installation_result

API = "api-version=2026-04-01"
INSTALL_BODY = {"maximumDuration": "PT1H", "rebootSetting": "IfRequired",
                "linuxParameters": {"classificationsToInclude": ["Critical", "Security"]}}
OS = {"family": "Linux", "distro": "ubuntu", "version": "22.04", "prettyName": "Ubuntu 22.04.5 LTS"}


class HttpClient(Protocol):
    def put(self, url: str, **kwargs: Any) -> Any: ...
    def post(self, url: str, **kwargs: Any) -> Any: ...


def vm_path(name: str, rg: str, sub: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}"


def linux_vm(location: str, *, patch_mode: str, assessment_mode: str = "ImageDefault") -> dict[str, Any]:
    """A Linux VM on Ubuntu 22.04 (a supported image) with the given patch settings."""
    return {
        "location": location,
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            "storageProfile": {
                "imageReference": {
                    "publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy",
                    "sku": "22_04-lts-gen2", "version": "latest",
                }
            },
            "osProfile": {
                "computerName": "vm",
                "linuxConfiguration": {
                    "provisionVMAgent": True,
                    "patchSettings": {"patchMode": patch_mode, "assessmentMode": assessment_mode},
                },
            },
        },
    }


def _ok(response: Any, *codes: int) -> Any:
    assert response.status_code in codes, f"{response.status_code}: {response.text}"
    return response


@dataclass
class Machine:
    name: str
    rg: str
    sub: str
    credential: str | None = None


@dataclass
class FleetWriter:
    """Writes machines, agents and patch results through ``client`` (authenticated as admin)."""

    client: HttpClient

    def vm(
        self, name: str, *, rg: str = "rg-web", sub: str = "tenant-a", location: str = "westeurope",
        patch_mode: str = "AutomaticByPlatform", assessment_mode: str = "ImageDefault",
    ) -> Machine:
        body = linux_vm(location, patch_mode=patch_mode, assessment_mode=assessment_mode)
        _ok(self.client.put(f"{vm_path(name, rg, sub)}?{API}", json=body), 200, 201)
        return Machine(name, rg, sub)

    def agent(self, machine: Machine, *, version: str = "0.1.0", location: str = "westeurope") -> Machine:
        """Enroll an agent for ``machine`` and report its first heartbeat (mode applied)."""
        token = _ok(
            self.client.post("/v1/enrollmentTokens", json={"subscription": machine.sub, "resourceGroup": machine.rg}),
            201,
        ).json()["token"]
        enrolled = _ok(
            self.client.post(
                "/agent/v1/enroll", headers={"Authorization": f"Bearer {token}"},
                json={"name": machine.name, "location": location, "agentVersion": version, "os": OS},
            ),
            201,
        ).json()
        machine.credential = enrolled["credential"]
        self.heartbeat(machine, version=version)
        return machine

    def heartbeat(self, machine: Machine, *, version: str = "0.1.0") -> None:
        _ok(
            self.client.post(
                "/agent/v1/heartbeat", headers=self._agent(machine),
                json={"agentVersion": version, "os": OS, "configuration": {
                    "patchMode": "AutomaticByPlatform", "assessmentMode": "ImageDefault", "status": "Succeeded",
                }},
            ),
            204,
        )

    def assess(self, machine: Machine, *, critical: int, other: int) -> str:
        """Run an assessment that finds ``critical`` Security and ``other`` Other patches."""
        op = self._start(machine, "assessPatches", {})
        self._report(machine, op, "Succeeded", assessment_result(critical=critical, other=other))
        return op

    def install(self, machine: Machine, *, installed: int = 1, failed: int = 0, status: str = "Succeeded") -> str:
        op = self.start_only(machine, "installPatches")
        self._report(machine, op, status, installation_result(installed=installed, failed=failed, status=status))
        return op

    def start_only(self, machine: Machine, action: str) -> str:
        """Request ``action`` (assessPatches or installPatches) and leave it to the agent; returns its id."""
        body = {} if action == "assessPatches" else INSTALL_BODY
        return self._start(machine, action, body)

    def _start(self, machine: Machine, action: str, body: dict[str, Any]) -> str:
        response = _ok(self.client.post(f"{vm_path(machine.name, machine.rg, machine.sub)}/{action}?{API}", json=body),
                       202)
        return urlsplit(response.headers["Azure-AsyncOperation"]).path.rsplit("/", 1)[-1]

    def _report(self, machine: Machine, op: str, status: str, result: dict[str, Any]) -> None:
        headers = self._agent(machine)
        _ok(self.client.put(f"/agent/v1/operations/{op}", headers=headers,
                            json={"sequence": 1, "status": "InProgress"}), 200)
        _ok(self.client.put(f"/agent/v1/operations/{op}", headers=headers,
                            json={"sequence": 2, "status": status, "result": result}), 200)

    @staticmethod
    def _agent(machine: Machine) -> dict[str, str]:
        assert machine.credential, f"{machine.name} has no agent"
        return {"Authorization": f"Bearer {machine.credential}"}


def mixed_fleet(w: FleetWriter) -> None:
    """One machine of each patch status, in two regions and two tenants: compliant 1, pending 2 (3 and 2
    Critical/Security patches), never-assessed 1, not-reporting 1, failed 1."""
    compliant = w.agent(w.vm("ok1", sub="tenant-a", location="westeurope"))
    w.assess(compliant, critical=0, other=2)
    pending = w.agent(w.vm("sec1", sub="tenant-a", location="westeurope"))
    w.assess(pending, critical=3, other=1)
    pending2 = w.agent(w.vm("sec2", sub="tenant-b", location="northeurope"))
    w.assess(pending2, critical=2, other=0)
    w.agent(w.vm("new1", sub="tenant-b", location="northeurope"))  # never assessed
    w.vm("bare1", sub="tenant-b", location="northeurope", patch_mode="ImageDefault")  # no agent
    failed = w.agent(w.vm("bad1", sub="tenant-a", location="westeurope"))
    w.install(failed, installed=0, failed=1, status="Failed")
