"""Simulated agents: one per demo machine, speaking the real agent protocol over HTTPS (asyncio).

Each agent enrolls with an enrollment token, long-polls its goal state (ETag), applies the patch
modes it is given (reporting them Ready), sends heartbeats with its application's health, and runs its
operations one at a time:

- ``assessPatches``: after 0.5-2 minutes, the repository's offers that are newer than what is installed;
- ``installPatches``: the pinned ``name=version`` patches (or the requested classifications) after a
  log-normal duration (median 8 minutes); 2 % of installations fail (a maintainer script); a kernel
  needs a reboot (1-3 minutes, a new boot time); a machine that installed the bad version turns
  Unhealthy 1-3 minutes after it is back, and stays so.

Durations are virtual minutes, slept as ``minutes * 60 / speed`` wall seconds. Reports are idempotent:
each operation's reports carry a growing ``sequence``; a report whose answer is lost (no answer, 5xx)
is resent unchanged until the server answers, so it is counted once; 409/404 drop it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from guestpatch.demo.fleet import PROBE, DemoMachine
from guestpatch.demo.knobs import DEFAULT_FAILURE_RATE
from guestpatch.demo.repository import INSTALLED, Package, Repository
from guestpatch_agent import __version__ as AGENT_VERSION

log = logging.getLogger("guestpatch.demo.agents")


@dataclass(frozen=True)
class Behaviour:
    """The simulated machines' behaviour, in virtual minutes (see the module docstring)."""

    install_median_minutes: float = 8.0
    install_sigma: float = 0.4
    failure_share: float = DEFAULT_FAILURE_RATE
    reboot_minutes: tuple[float, float] = (1.0, 3.0)
    assess_minutes: tuple[float, float] = (0.5, 2.0)
    unhealthy_after_minutes: tuple[float, float] = (1.0, 3.0)


def stamp(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


@dataclass
class SimulatedAgent:
    machine: DemoMachine
    client: httpx.AsyncClient
    repository: Repository
    now: Callable[[], datetime]
    speed: float
    rng: random.Random
    behaviour: Behaviour = field(default_factory=Behaviour)
    credential: str = ""
    health: str = "Healthy"
    installed: dict[str, str] = field(default_factory=dict)
    finished: list[tuple[str, str, str]] = field(default_factory=list)  # (operation id, kind, result status)
    poll_interval: float = 15.0
    long_poll: float = 15.0
    _configuration: dict[str, Any] | None = None
    _boot: datetime | None = None
    _beat: asyncio.Event = field(default_factory=asyncio.Event)
    _queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    _seen: set[str] = field(default_factory=set)
    _later: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not self.installed:
            self.installed = dict(INSTALLED.get(self.machine.os_key, {}))
        if any(self.repository.is_bad(name, version) for name, version in self.installed.items()):
            self.health = "Unhealthy"  # --keep: a machine that had the bad version still has it
        self._boot = self.now()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credential}"}

    # ------------------------------------------------------------------ enroll and serve
    async def enroll(self, token: str) -> dict[str, Any]:
        body = {"name": self.machine.name, "location": self.machine.region, "agentVersion": AGENT_VERSION,
                "os": self.machine.os, "hostname": self.machine.name}  # fmt: skip
        answer = await self.client.post("/agent/v1/enroll", json=body, headers={"Authorization": f"Bearer {token}"})
        answer.raise_for_status()
        data: dict[str, Any] = answer.json()
        self.credential = data["credential"]
        self.poll_interval = float(data.get("pollIntervalSeconds", self.poll_interval))
        self.long_poll = float(data.get("longPollSeconds", self.long_poll))
        return data

    async def serve(self) -> None:
        """Heartbeats, goal-state polls and the worker, until cancelled or the server forgets the machine."""
        tasks = [asyncio.create_task(c) for c in (self._pulse(), self._poll(), self._work())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (*tasks, *self._later):
                task.cancel()
            await asyncio.gather(*tasks, *self._later, return_exceptions=True)

    async def sleep_virtual(self, minutes: float) -> None:
        await asyncio.sleep(minutes * 60 / self.speed)

    # ------------------------------------------------------------------ heartbeats
    def heartbeat_body(self) -> dict[str, Any]:
        now = self.now()
        return {
            "agentVersion": AGENT_VERSION, "os": self.machine.os, "bootTime": stamp(self._boot or now),
            "configuration": self._configuration,
            "health": {"state": self.health, "probe": PROBE, "checkedAt": stamp(now)},
        }  # fmt: skip

    async def heartbeat(self) -> None:
        try:
            answer = await self.client.post("/agent/v1/heartbeat", json=self.heartbeat_body(), headers=self.headers)
            if answer.status_code >= 400:
                log.warning("%s: heartbeat answered %s", self.machine.name, answer.status_code)
        except httpx.TransportError as exc:
            log.debug("%s: heartbeat not delivered: %s", self.machine.name, exc)

    async def _pulse(self) -> None:
        while True:
            self._beat.clear()  # before sending: a change during the request gets its own heartbeat
            await self.heartbeat()
            try:
                await asyncio.wait_for(self._beat.wait(), self.poll_interval * self.rng.uniform(0.8, 1.2))
            except TimeoutError:
                pass

    # ------------------------------------------------------------------ goal state
    async def _poll(self) -> None:
        etag: str | None = None
        failures = 0
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            headers = {**self.headers, **({"If-None-Match": etag} if etag else {})}
            try:
                answer = await self.client.get("/agent/v1/goalstate", params={"wait": int(self.long_poll)},
                                               headers=headers, timeout=self.long_poll + 15)  # fmt: skip
            except httpx.TransportError:
                failures += 1
                await asyncio.sleep(min(30.0, 0.5 * 2**failures) * self.rng.uniform(0.5, 1.0))
                continue
            failures = 0
            if answer.status_code == 200:
                etag = answer.headers.get("etag")
                self.apply(answer.json())
                await asyncio.sleep(max(0.0, started + 0.2 - loop.time()))
            elif answer.status_code == 304:
                await asyncio.sleep(max(0.0, started + self.poll_interval * self.rng.uniform(0.8, 1.2) - loop.time()))
            elif answer.status_code in (401, 404):
                log.warning("%s: the server no longer knows this machine (%s); it stops", self.machine.name,
                            answer.status_code)  # fmt: skip
                return
            else:
                await asyncio.sleep(min(30.0, self.poll_interval))

    def apply(self, goal: dict[str, Any]) -> None:
        """Take a goal state: record the patch modes as applied (Ready) and queue new operations."""
        modes = (goal.get("patchMode"), goal.get("assessmentMode"))
        applied = self._configuration
        if applied is None or (applied["patchMode"], applied["assessmentMode"]) != modes:
            self._configuration = {"patchMode": modes[0], "assessmentMode": modes[1], "status": "Succeeded",
                                   "error": None, "appliedAt": stamp(self.now())}  # fmt: skip
            self._beat.set()
        for operation in goal.get("operations") or ():
            if operation.get("id") not in self._seen:
                self._seen.add(operation["id"])
                self._queue.put_nowait(operation)

    # ------------------------------------------------------------------ operations
    async def _work(self) -> None:
        while True:
            operation = await self._queue.get()
            await self.run_operation(operation)

    async def run_operation(self, operation: dict[str, Any]) -> None:
        op_id, kind = str(operation["id"]), operation.get("kind")
        started = stamp(self.now())
        await self.report(op_id, {"sequence": 1, "status": "InProgress", "startedAt": started})
        if kind == "assessPatches":
            await self.sleep_virtual(self.rng.uniform(*self.behaviour.assess_minutes))
            result = self.assessment(op_id, started)
        else:
            result = await self.install(op_id, operation.get("parameters") or {}, started)
        await self.report(op_id, {"sequence": 2, "status": result["status"], "startedAt": started, "result": result})
        self.finished.append((op_id, str(kind), str(result["status"])))

    def available(self) -> list[Package]:
        return [p for p in self.repository.offers(self.machine.os_key) if self.installed.get(p.name) != p.version]

    def assessment(self, op_id: str, started: str) -> dict[str, Any]:
        available = self.available()
        patches = [self._patch(p) | {"assessmentState": "Available",
                                     "rebootBehavior": "AlwaysRequiresReboot" if p.reboot else "NeverReboots"}
                   for p in available]  # fmt: skip
        critical = sum(1 for p in available if p.classification in {"Critical", "Security"})
        return {"status": "Succeeded", "assessmentActivityId": op_id, "rebootPending": False,
                "criticalAndSecurityPatchCount": critical, "otherPatchCount": len(patches) - critical,
                "startDateTime": started, "availablePatches": patches, "error": None}  # fmt: skip

    def selection(self, parameters: dict[str, Any]) -> tuple[list[Package], list[Package]]:
        """(selected, not selected) of the available patches for installPatches ``parameters``."""
        linux = parameters.get("linuxParameters") or {}
        pins = {str(m) for m in linux.get("packageNameMasksToInclude") or ()}
        classes = set(linux.get("classificationsToInclude") or ())
        available = self.available()
        chosen = [p for p in available if p.pin in pins or p.classification in classes]
        return chosen, [p for p in available if p not in chosen]

    async def install(self, op_id: str, parameters: dict[str, Any], started: str) -> dict[str, Any]:
        chosen, others = self.selection(parameters)
        b = self.behaviour
        await self.sleep_virtual(max(1.0, self.rng.lognormvariate(0.0, b.install_sigma) * b.install_median_minutes))
        states = dict.fromkeys(chosen, "Installed")
        error = None
        if chosen and self.rng.random() < b.failure_share:
            victim = self.rng.choice(chosen)
            states[victim] = "Failed"
            error = {"code": "PackageManagerFailure", "message": (
                f"dpkg: error processing package {victim.name} (--configure): installed {victim.name} package "
                "post-installation script subprocess returned error exit status 1")}  # fmt: skip
        for package, state in states.items():
            if state == "Installed":
                self.installed[package.name] = package.version
        reboot = "NotNeeded"
        if error is None and any(p.reboot for p in chosen) and parameters.get("rebootSetting") != "Never":
            await self.sleep_virtual(self.rng.uniform(*b.reboot_minutes))
            self._boot, reboot = self.now(), "Completed"
            self._beat.set()
        if error is None and any(self.repository.is_bad(p.name, p.version) for p in chosen):
            task = asyncio.create_task(self._turn_unhealthy())
            self._later.add(task)
            task.add_done_callback(self._later.discard)
        patches = [self._patch(p) | {"installationState": s} for p, s in states.items()]
        patches += [self._patch(p) | {"installationState": "NotSelected"} for p in others]
        return {
            "status": "Failed" if error else "Succeeded", "installationActivityId": op_id, "rebootStatus": reboot,
            "maintenanceWindowExceeded": False, "excludedPatchCount": 0, "notSelectedPatchCount": len(others),
            "pendingPatchCount": 0, "installedPatchCount": sum(1 for s in states.values() if s == "Installed"),
            "failedPatchCount": 1 if error else 0, "patches": patches, "startDateTime": started, "error": error,
        }  # fmt: skip

    async def _turn_unhealthy(self) -> None:
        await self.sleep_virtual(self.rng.uniform(*self.behaviour.unhealthy_after_minutes))
        self.health = "Unhealthy"
        self._beat.set()

    def _patch(self, p: Package) -> dict[str, Any]:
        os = self.machine.os
        return {"patchId": f"{p.name}_{p.version}_{os['distro']}_{os['version']}", "name": p.name,
                "version": p.version, "classifications": [p.classification]}  # fmt: skip

    # ------------------------------------------------------------------ reports
    async def report(self, op_id: str, body: dict[str, Any]) -> int:
        """Send one report until the server answers it; the answer's status (resent unchanged if lost)."""
        failures = 0
        while True:
            try:
                answer = await self.client.put(f"/agent/v1/operations/{op_id}", json=body, headers=self.headers)
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.status_code < 500:
                if answer.status_code >= 400 and answer.status_code not in (404, 409):
                    log.warning("%s: report of %s refused: %s", self.machine.name, op_id, answer.text[:200])
                return answer.status_code
            failures += 1
            await asyncio.sleep(min(10.0, 0.2 * 2**failures))
