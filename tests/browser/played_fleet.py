"""A demo-like fleet for the browser's rollout tests: machines whose agents threads play over HTTPS.

Sixteen machines in four regions of two geo-pairs (East Asia / Southeast Asia, West Europe / North
Europe), zones in Europe, two tenants. Each machine is enrolled through the agent protocol (time zone
UTC), switched to ``AutomaticByPlatform`` through ARM, and played by a thread that speaks the protocol
like the real agent: a heartbeat, then goal-state long polls with the ETag, and reports for each
operation (assessments offer one Security patch; installations succeed — or fail, for the machines in
:attr:`PlayedFleet.failing`, until the test clears it: "the bad package was fixed").

:func:`demo_policy` opens every machine's window now (UTC hours around the wall clock), removes bake
time and stability period, and makes the canary's first wave two machines that halt the rollout at the
first failure, so that a server with ``--engine-interval 1`` runs the whole story in seconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.scripted_agent import assessment_result, installation_result
from tests.server_fixtures import LiveServer

API = "api-version=2026-04-01"
RESOURCE_GROUP = "rg-shop"
OS = {"family": "Linux", "distro": "ubuntu", "version": "22.04", "prettyName": "Ubuntu 22.04.5 LTS"}
#: name → (tenant, region, zone)
LAYOUT: dict[str, tuple[str, str, str | None]] = {
    **{f"ea-{i}": ("contoso", "eastasia", None) for i in range(1, 5)},
    **{f"sea-{i}": ("fabrikam", "southeastasia", None) for i in range(1, 3)},
    **{f"we-{i}": ("contoso" if i % 2 else "fabrikam", "westeurope", str(1 + (i - 1) % 3)) for i in range(1, 7)},
    **{f"ne-{i}": ("fabrikam", "northeurope", str(1 + (i - 1) % 2)) for i in range(1, 5)},
}
FAILING = "ea-1"


def demo_policy() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "offPeak": {"start": f"{now - timedelta(hours=1):%H:%M}", "end": f"{now + timedelta(hours=6):%H:%M}"},
        "bakeTimeMinutes": 0, "stabilityPeriodMinutes": 0, "canaryRegions": ["eastasia"], "canaryWaveSize": 2,
        "haltMinFailures": 1, "successThreshold": 0.9, "tenantShare": 1.0,
    }


@dataclass
class PlayedMachine:
    server: LiveServer
    name: str
    credential: str
    fleet: PlayedFleet
    errors: list[str] = field(default_factory=list)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"agent-{self.name}")
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.credential}"}
        etag, done = "", set()
        with httpx.Client(base_url=self.server.url, verify=self.server.verify, timeout=30, headers=headers) as http:
            while not self.fleet.stopping.is_set():
                try:
                    http.post("/agent/v1/heartbeat", json={"agentVersion": "0.1.0", "os": OS,
                                                           "health": {"state": "Healthy"}})
                    response = http.get("/agent/v1/goalstate", params={"wait": 2},
                                        headers={"If-None-Match": etag} if etag else {})
                    if response.status_code == 304:
                        continue
                    response.raise_for_status()
                    etag = response.headers["etag"]
                    for operation in response.json()["operations"]:
                        if operation["id"] not in done:
                            self._answer(http, operation)
                            done.add(operation["id"])
                except httpx.HTTPError as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    self.fleet.stopping.wait(0.5)

    def _answer(self, http: httpx.Client, operation: dict[str, Any]) -> None:
        if operation["kind"] == "assessPatches":
            status, result = "Succeeded", assessment_result(critical=1, other=2)
        elif self.name in self.fleet.failing:
            status, result = "Failed", installation_result(installed=0, failed=1, status="Failed")
        else:
            status, result = "Succeeded", installation_result()
        for sequence, body in ((1, {"status": "InProgress"}), (2, {"status": status, "result": result})):
            answer = http.put(f"/agent/v1/operations/{operation['id']}", json={"sequence": sequence, **body})
            if answer.status_code >= 400:
                self.errors.append(f"{operation['id']}: {answer.status_code} {answer.text}")
                return


@dataclass
class PlayedFleet:
    server: LiveServer
    failing: set[str] = field(default_factory=lambda: {FAILING})
    machines: dict[str, PlayedMachine] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)

    def enroll(self) -> PlayedFleet:
        with self.server.client() as http:
            for name, (tenant, region, zone) in LAYOUT.items():
                token = http.post("/v1/enrollmentTokens",
                                  json={"subscription": tenant, "resourceGroup": RESOURCE_GROUP}).json()["token"]
                enrolled = http.post(
                    "/agent/v1/enroll", headers={"Authorization": f"Bearer {token}"},
                    json={"name": name, "location": region, "timeZone": "UTC", "agentVersion": "0.1.0", "os": OS,
                          **({"zone": zone} if zone else {})},
                )
                assert enrolled.status_code == 201, enrolled.text
                patched = http.patch(
                    f"/subscriptions/{tenant}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.Compute"
                    f"/virtualMachines/{name}?{API}",
                    json={"properties": {"osProfile": {"linuxConfiguration": {
                        "patchSettings": {"patchMode": "AutomaticByPlatform"}}}}},
                )
                assert patched.status_code == 200, patched.text
                machine = PlayedMachine(self.server, name, enrolled.json()["credential"], self)
                self.machines[name] = machine
                machine.start()
            deadline = time.monotonic() + 60
            while http.get("/v1/rolloutPlan").json()["machines"] < len(LAYOUT):
                assert time.monotonic() < deadline, "the machines' agents were not all seen within 60 s"
                time.sleep(0.3)
        return self

    def start_rollout(self) -> str:
        with self.server.client() as http:
            started = http.post("/v1/rollouts", json={"release": "2026-11 Patch Tuesday", "policy": demo_policy()})
            assert started.status_code == 201, started.text
            rollout_id: str = started.json()["id"]
            return rollout_id

    def wait_for(self, rollout_id: str, status: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        detail: dict[str, Any] = {}
        with self.server.client() as http:
            while time.monotonic() < deadline:
                detail = http.get(f"/v1/rollouts/{rollout_id}").json()
                if detail["status"] == status:
                    return detail
                time.sleep(0.3)
        errors = {name: m.errors for name, m in self.machines.items() if m.errors}
        raise AssertionError(f"rollout {rollout_id} is {detail.get('status')}, not {status}: {detail}; {errors}")

    def stop(self) -> None:
        self.stopping.set()
        for machine in self.machines.values():
            machine.join()
