"""A scripted agent for API-level tests: it speaks the real agent protocol over HTTPS (enroll, goal-state
polls, heartbeats, operation reports) and answers operations with results the test chooses.

It stands in for ``guestpatch-agent`` where a test is about the server's side of the protocol (ARM
long-running operations, the Azure SDK's poller, instance-view summaries); the real agent on real
package managers is exercised end to end in ``tests/e2e``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

Answer = Callable[[dict[str, Any]], tuple[str, dict[str, Any]] | None]


def assessment_result(*, critical: int = 1, other: int = 1, status: str = "Succeeded") -> dict[str, Any]:
    patches = [
        {"patchId": f"libssl3_3.0.{i}_debian_12", "name": f"libssl{i}", "version": f"3.0.{i}",
         "classifications": ["Security"], "rebootBehavior": "CanRequestReboot", "assessmentState": "Available"}
        for i in range(critical)
    ] + [
        {"patchId": f"tzdata_{i}_debian_12", "name": f"tzdata{i}", "version": f"2026{i}",
         "classifications": ["Other"], "assessmentState": "Available"}
        for i in range(other)
    ]
    return {
        "status": status, "assessmentActivityId": "00000000-0000-0000-0000-00000000a55e", "rebootPending": False,
        "criticalAndSecurityPatchCount": critical, "otherPatchCount": other,
        "startDateTime": "2026-11-26T08:00:00Z", "availablePatches": patches, "error": None,
    }


def installation_result(*, installed: int = 1, failed: int = 0, status: str = "Succeeded") -> dict[str, Any]:
    patches = [
        {"patchId": f"p{i}", "name": f"pkg{i}", "version": "1.1", "classifications": ["Security"],
         "installationState": "Installed"} for i in range(installed)
    ] + [
        {"patchId": f"f{i}", "name": f"bad{i}", "version": "1.1", "classifications": ["Security"],
         "installationState": "Failed"} for i in range(failed)
    ]
    return {
        "status": status, "installationActivityId": "00000000-0000-0000-0000-0000000011a1",
        "rebootStatus": "NotNeeded", "maintenanceWindowExceeded": False, "excludedPatchCount": 0,
        "notSelectedPatchCount": 0, "pendingPatchCount": 0, "installedPatchCount": installed,
        "failedPatchCount": failed, "patches": patches, "startDateTime": "2026-11-26T08:00:00Z", "error": None,
    }


def default_answer(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if operation["kind"] == "assessPatches":
        return "Succeeded", assessment_result()
    return "Succeeded", installation_result()


@dataclass
class ScriptedAgent:
    base_url: str
    verify: Any
    credential: str = ""
    answer: Answer = default_answer
    seen: list[dict[str, Any]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def enroll(self, enrollment_token: str, **body: Any) -> dict[str, Any]:
        payload = {
            "agentVersion": "0.1.0", "os": {"family": "Linux", "distro": "debian", "version": "12"}, **body,
        }
        with httpx.Client(base_url=self.base_url, verify=self.verify, timeout=30) as client:
            response = client.post("/agent/v1/enroll", json=payload,
                                   headers={"Authorization": f"Bearer {enrollment_token}"})
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        self.credential = data["credential"]
        return data

    def start(self) -> ScriptedAgent:
        self._thread = threading.Thread(target=self._run, daemon=True, name="scripted-agent")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.credential}"}
        etag = ""
        done: set[str] = set()
        with httpx.Client(base_url=self.base_url, verify=self.verify, timeout=30, headers=headers) as client:
            client.post("/agent/v1/heartbeat", json={
                "agentVersion": "0.1.0", "os": {"family": "Linux", "distro": "debian", "version": "12"},
                "configuration": None,
            })
            while not self._stop.is_set():
                response = client.get("/agent/v1/goalstate", params={"wait": 1},
                                      headers={"If-None-Match": etag} if etag else {})
                if response.status_code == 304:
                    continue
                response.raise_for_status()
                goal = response.json()
                etag = response.headers["etag"]
                for operation in goal["operations"]:
                    if operation["id"] in done:
                        continue
                    self.seen.append(operation)
                    client.put(f"/agent/v1/operations/{operation['id']}", json={"sequence": 1, "status": "InProgress"})
                    outcome = self.answer(operation)
                    if outcome is None:  # stay silent: the server's timeout decides
                        done.add(operation["id"])
                        continue
                    status, result = outcome
                    reply = client.put(f"/agent/v1/operations/{operation['id']}",
                                       json={"sequence": 2, "status": status, "result": result})
                    reply.raise_for_status()
                    done.add(operation["id"])
