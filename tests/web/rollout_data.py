"""Rollouts for the dashboard's tests, made through the real services on the in-process app's fake clock.

Machines enroll through the agent protocol (time zone UTC, so that :data:`OPEN_WINDOW` — 07:00 to 14:00
UTC, around the fake clock's 08:00 — is their window), switch to ``AutomaticByPlatform`` through ARM,
and are then played step by step: each one sends a heartbeat, reads its goal state and answers its
operations (assessments offer one Security patch; installations succeed, or fail for the machines the
test names). The engine ticks as the leader would (``state.orchestrator.tick()``), and the clock moves on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tests.integration.conftest import Api
from tests.scripted_agent import assessment_result, installation_result

SUB = "tenant-r"
RG = "rg-roll"
API = "api-version=2026-04-01"
OS = {"family": "Linux", "distro": "debian", "version": "12"}
OPEN_WINDOW: dict[str, Any] = {
    "offPeak": {"start": "07:00", "end": "14:00"}, "bakeTimeMinutes": 0, "stabilityPeriodMinutes": 0,
}
#: Two regions of one geo-pair (never in the same phase) and a third: westeurope has three zones. The
#: canary (the region with the fewest machines) is eastasia's one machine.
LAYOUT = (
    ("we1", "westeurope", "1"), ("we2", "westeurope", "2"), ("we3", "westeurope", "3"),
    ("ne1", "northeurope", "1"), ("ne2", "northeurope", "2"), ("ea1", "eastasia", None),
)
#: The same with a canary of six machines in eastasia, patched in waves of two: when ``ea1`` fails, its wave
#: halts the rollout, and after a resume the other five carry the phase through its gate.
CANARY_LAYOUT = (*((f"ea{i}", "eastasia", None) for i in range(1, 7)), *LAYOUT[:5])
BAD_CANARY: dict[str, Any] = {
    "canaryRegions": ["eastasia"], "canaryWaveSize": 2, "haltMinFailures": 1, "successThreshold": 0.9,
}


def machine_id(name: str) -> str:
    return f"{SUB}/{RG}/{name}"


@dataclass
class RolloutLab:
    api: Api
    credentials: dict[str, str] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)

    def enroll(self, layout: Iterable[tuple[str, str, str | None]] = LAYOUT) -> RolloutLab:
        client = self.api.client
        for name, location, zone in layout:
            token = client.post("/v1/enrollmentTokens", json={"subscription": SUB, "resourceGroup": RG}).json()["token"]
            enrolled = client.post(
                "/agent/v1/enroll", headers={"Authorization": f"Bearer {token}"},
                json={"name": name, "location": location, "timeZone": "UTC", "agentVersion": "0.1.0", "os": OS,
                      **({"zone": zone} if zone else {})},
            )
            assert enrolled.status_code == 201, enrolled.text
            self.credentials[name] = enrolled.json()["credential"]
            patched = client.patch(
                f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/{name}?{API}",
                json={"properties": {"osProfile": {"linuxConfiguration": {
                    "patchSettings": {"patchMode": "AutomaticByPlatform"}}}}},
            )
            assert patched.status_code == 200, patched.text
        self.play()
        return self

    def start(self, release: str = "2026-11", **policy: Any) -> str:
        response = self.api.client.post("/v1/rollouts", json={"release": release, "policy": {**OPEN_WINDOW, **policy}})
        assert response.status_code == 201, response.text
        rollout_id: str = response.json()["id"]
        return rollout_id

    def play(self) -> None:
        """Every machine: a heartbeat, one goal-state read, and an answer to each of its operations."""
        client = self.api.client
        for name, credential in self.credentials.items():
            headers = {"Authorization": f"Bearer {credential}"}
            client.post("/agent/v1/heartbeat", headers=headers,
                        json={"agentVersion": "0.1.0", "os": OS, "health": {"state": "Healthy"}})
            for op in client.get("/agent/v1/goalstate", headers=headers).json()["operations"]:
                if op["kind"] == "assessPatches":
                    status, result = "Succeeded", assessment_result(critical=1, other=0)
                elif name in self.failing:
                    status, result = "Failed", installation_result(installed=0, failed=1, status="Failed")
                else:
                    status, result = "Succeeded", installation_result()
                for sequence, body in ((1, {"status": "InProgress"}), (2, {"status": status, "result": result})):
                    answer = client.put(f"/agent/v1/operations/{op['id']}", headers=headers,
                                        json={"sequence": sequence, **body})
                    assert answer.status_code == 200, answer.text

    def step(self, minutes: int = 3) -> dict[str, Any]:
        """Machines answer, the engine ticks, the clock moves on; the rollout bodies after the tick.

        ``minutes`` stays below the agents' silence limit (230 s): a machine whose agent went quiet is Skipped.
        """
        self.play()
        self.api.state.orchestrator.tick()
        self.api.clock.advance(timedelta(minutes=minutes))
        return {r["id"]: r for r in self.api.client.get("/v1/rollouts").json()["value"]}

    def run_until(self, rollout_id: str, *statuses: str, steps: int = 60) -> dict[str, Any]:
        """Step until the rollout has one of ``statuses``; its detail."""
        for _ in range(steps):
            if self.step()[rollout_id]["status"] in statuses:
                break
        detail: dict[str, Any] = self.api.client.get(f"/v1/rollouts/{rollout_id}").json()
        assert detail["status"] in statuses, detail
        return detail
