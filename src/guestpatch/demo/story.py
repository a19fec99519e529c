"""The demo's script, told through the real API (ARM and operator routes) like any client would.

1. Create the fleet: ``PUT`` every VM (``AutomaticByPlatform``), one enrollment token per tenant and
   resource group; the simulated agents enroll and serve; every machine is assessed once (the
   dashboard shows what is pending).
2. Start the good release (the demo policy: phases westeurope → northeurope + eastus → westus, canary
   waves of 3 first, half of a tenant's machines per wave, 5 minutes of stability, 30 minutes of bake).
3. When it is completed, or has nothing left tonight but retries, publish the bad version and start a
   second release whose canary is the region at night now; it halts in its canary phase.
4. Narrate both until stopped (Ctrl-C), then save what the agents installed (for ``--keep``).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from guestpatch.catalogs import load_region_catalog
from guestpatch.clock import ScaledClock
from guestpatch.core.records import TERMINAL, MachineStatus
from guestpatch.demo import timing
from guestpatch.demo.agents import Behaviour, SimulatedAgent
from guestpatch.demo.fleet import REGIONS, DemoMachine, demo_fleet, host_vm_body, vm_body
from guestpatch.demo.host import LOCATION, RESOURCE_GROUP, SUBSCRIPTION, HostAgent
from guestpatch.demo.narration import Narrator, clock
from guestpatch.demo.repository import Repository
from guestpatch.errors import GuestpatchError

API = {"api-version": "2026-04-01"}
#: The demo's rollout policy (docs/demo.md); the rest are the published defaults (docs/orchestrator.md).
DEMO_POLICY: dict[str, Any] = {
    "phases": [["westeurope"], ["northeurope", "eastus"], ["westus"]], "canaryWaveSize": 3, "tenantShare": 0.5,
    "stabilityPeriodMinutes": 5, "bakeTimeMinutes": 30, "retryDelayMinutes": 60,
}  # fmt: skip
CANARY = DEMO_POLICY["phases"][0][0]
#: The demo regions' time zones, from the built-in region catalog the server uses.
TIME_ZONES = {r.name: r.time_zone for r in load_region_catalog().regions() if r.name in dict(REGIONS)}
#: Nothing more happens to these machines tonight (retries come in a later window).
SETTLED = TERMINAL | {MachineStatus.FAILED, MachineStatus.PENDING, MachineStatus.SKIPPED}
LOOK_EVERY = 0.5  # wall seconds between two looks at the rollouts


class DemoFailed(GuestpatchError):
    """The demo could not set itself up (a refused request is named)."""

    default_code = "DemoFailed"


def expect(answer: httpx.Response, *codes: int) -> httpx.Response:
    if answer.status_code not in codes:
        raise DemoFailed(f"{answer.request.method} {answer.request.url.path} answered {answer.status_code}: "
                         f"{answer.text[:300]}")  # fmt: skip
    return answer


@dataclass
class Story:
    api: httpx.AsyncClient  # the operator's client (admin token)
    agent_client: httpx.AsyncClient  # the agents' client (their own credentials per request)
    clock: ScaledClock
    speed: float
    machines: int
    seed: int
    say: Callable[[str], None]
    state_file: Path
    behaviour: Behaviour = field(default_factory=Behaviour)
    repository: Repository = field(default_factory=Repository)
    agents: list[SimulatedAgent] = field(default_factory=list)
    narrators: dict[str, Narrator] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # rollout id → its short name on the console

    async def get(self, url: str, *, tries: int = 5) -> dict[str, Any]:
        """GET a JSON body (200); a dropped connection is retried (a GET can be asked again)."""
        for attempt in range(tries):
            try:
                body: dict[str, Any] = expect(await self.api.get(url), 200).json()
                return body
            except httpx.TransportError:
                if attempt == tries - 1:
                    raise
                await asyncio.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def line(self, text: str) -> None:
        self.say(f"[{clock(self.clock.now())}] {text}")

    async def run(self) -> None:
        saved = self._load()
        self.repository = Repository(bad_published=bool(saved.get("badPublished")))
        fleet = demo_fleet(self.machines, seed=self.seed)
        await self.create_fleet(fleet)
        tasks = await self.start_agents(fleet, saved.get("installed") or {})
        try:
            existing = (await self.get("/v1/rollouts"))["value"]
            if existing:
                self.clock.release()
                self.line(f"--keep: {len(existing)} rollouts from the last run; watching them")
                await self.watch([r["id"] for r in existing], until=None)
                return
            await self.assess_all(fleet)
            self.clock.release()
            night = timing.night_begins(self.clock.now(), TIME_ZONES[CANARY])
            self.line(f"the clock runs: 1 wall second is {self.speed / 60:g} minutes of fleet time; the night "
                      f"(22:00-06:00 local) of the canary region {CANARY} begins at {clock(night)}")  # fmt: skip
            good = await self.start_rollout(f"{self.clock.now():%Y-%m} monthly release", DEMO_POLICY, label="monthly")
            await self.watch([good], until=self._good_release_done)
            self.repository.publish_bad()
            region = timing.night_region(self.clock.now(), dict(TIME_ZONES))
            self.line(f"a bad libxml2 version is published ({', '.join(self.repository.bad_pins())}); "
                      f"a second release starts, its canary in {region}, where it is night now")  # fmt: skip
            policy = {k: v for k, v in DEMO_POLICY.items() if k != "phases"} | {"canaryRegions": [region]}
            bad = await self.start_rollout(f"{self.clock.now():%Y-%m} libxml2 hotfix", policy, label="hotfix")
            await self.watch([good, bad], until=None)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._save()

    # ------------------------------------------------------------------ the fleet
    async def create_fleet(self, fleet: list[DemoMachine]) -> None:
        limit = asyncio.Semaphore(8)

        async def put(machine: DemoMachine) -> None:
            async with limit:
                expect(await self.api.put(machine.path, params=API, json=vm_body(machine)), 200, 201)

        await asyncio.gather(*(put(m) for m in fleet))
        regions = ", ".join(f"{r} {sum(1 for m in fleet if m.region == r)}" for r, _ in REGIONS)
        tenants = len({m.tenant for m in fleet})
        sets = len({m.availability_set for m in fleet if m.availability_set})
        self.line(f"fleet created through the ARM API: {len(fleet)} machines ({regions}), 2 geo-pairs, 3 zones, "
                  f"{sets} availability sets, {tenants} tenants, {sum(1 for m in fleet if m.time_zone)} machines "
                  "in a time zone of their own")  # fmt: skip

    async def start_agents(self, fleet: list[DemoMachine], installed: dict[str, dict[str, str]]) -> list[Any]:
        tokens: dict[tuple[str, str], str] = {}
        for machine in fleet:
            key = (machine.tenant, machine.resource_group)
            if key not in tokens:
                uses = sum(1 for m in fleet if (m.tenant, m.resource_group) == key)
                body = {"subscription": key[0], "resourceGroup": key[1], "uses": uses, "expiresIn": "P30D"}
                tokens[key] = expect(await self.api.post("/v1/enrollmentTokens", json=body), 201).json()["token"]
        limit = asyncio.Semaphore(10)
        for machine in fleet:
            rng = random.Random(f"demo-agent:{self.seed}:{machine.name}")  # noqa: S311 - simulation draws
            mine = dict(installed.get(machine.name, {}))
            self.agents.append(SimulatedAgent(machine, self.agent_client, self.repository, self.clock.now, self.speed,
                                              rng, self.behaviour, installed=mine))  # fmt: skip

        async def enroll(agent: SimulatedAgent) -> None:
            async with limit:
                await agent.enroll(tokens[(agent.machine.tenant, agent.machine.resource_group)])

        await asyncio.gather(*(enroll(a) for a in self.agents))
        self.line(f"{len(self.agents)} simulated agents enrolled with enrollment tokens; they long-poll their goal "
                  "states over HTTPS")  # fmt: skip
        return [asyncio.create_task(a.serve(), name=f"agent-{a.machine.name}") for a in self.agents]

    async def assess_all(self, fleet: list[DemoMachine]) -> None:
        """Every machine assessed once through ARM (``assessPatches``), so the dashboard shows what is pending."""
        limit = asyncio.Semaphore(60)

        async def assess(machine: DemoMachine) -> None:
            async with limit:
                answer = expect(await self.api.post(f"{machine.path}/assessPatches", params=API), 202)
                await self.lro(answer.headers["Azure-AsyncOperation"], every=2.0)

        await asyncio.gather(*(assess(m) for m in fleet))
        self.line("every machine assessed (assessPatches): Critical and Security patches are pending fleet-wide")

    async def lro(self, url: str, *, every: float = 0.2) -> dict[str, Any]:
        """Poll an ARM long-running operation's Azure-AsyncOperation URL until it ends; its body."""
        while True:
            body = await self.get(url)
            if body.get("status") != "InProgress":
                return body
            await asyncio.sleep(every)

    # ------------------------------------------------------------------ this machine
    async def host(self, agent: HostAgent) -> None:
        """This machine's VM and real agent (assessment-only), and one assessment through ARM."""
        path = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
                f"/providers/Microsoft.Compute/virtualMachines/{agent.name}")  # fmt: skip
        expect(await self.api.put(path, params=API, json=host_vm_body(LOCATION, agent.name)), 200, 201)
        body = {"subscription": SUBSCRIPTION, "resourceGroup": RESOURCE_GROUP, "uses": 1, "expiresIn": "P30D"}
        token = expect(await self.api.post("/v1/enrollmentTokens", json=body), 201).json()["token"]
        await asyncio.to_thread(agent.enroll, token)
        agent.start()
        how = "" if agent.refresh else "; not root: it assesses from the package lists as they are (no refresh)"
        self.line(f"this machine's real agent enrolled as {agent.name}, assessment-only (log: {agent.log}){how}")
        answer = expect(await self.api.post(f"{path}/assessPatches", params=API), 202)
        done = await self.lro(answer.headers["Azure-AsyncOperation"], every=1.0)
        output = (done.get("properties") or {}).get("output") or {}
        if output:
            self.line(f"this machine ({agent.name}) assessed: {output.get('status')}, "
                      f"{output.get('criticalAndSecurityPatchCount', 0)} Critical/Security and "
                      f"{output.get('otherPatchCount', 0)} other patches available — shown in the dashboard; "
                      "nothing is installed on this machine")  # fmt: skip
        else:
            error = (done.get("error") or {}).get("message", "no result")
            self.line(f"this machine's assessment did not finish: {error} (see {agent.log})")

    # ------------------------------------------------------------------ rollouts
    async def start_rollout(self, release: str, policy: dict[str, Any], *, label: str) -> str:
        answer = expect(await self.api.post("/v1/rollouts", json={"release": release, "policy": policy}), 201)
        rollout_id: str = answer.json()["id"]
        self.narrators[rollout_id] = Narrator(dict(TIME_ZONES))
        self.labels[rollout_id] = label
        return rollout_id

    async def watch(self, rollouts: list[str], *, until: Callable[[dict[str, Any], list[dict[str, Any]]], bool] | None
                    ) -> None:  # fmt: skip
        """Narrate ``rollouts`` every LOOK_EVERY seconds; return when ``until`` holds for the first one.
        A rollout that has ended (Completed, Cancelled) is told once and no longer fetched."""
        for rollout_id in rollouts:
            self.narrators.setdefault(rollout_id, Narrator(dict(TIME_ZONES)))
        ended: set[str] = set()
        while True:
            for n, rollout_id in enumerate(rollouts):
                if rollout_id in ended:
                    continue
                detail = await self.get(f"/v1/rollouts/{rollout_id}")
                machines = (await self.get(f"/v1/rollouts/{rollout_id}/machines"))["value"]
                label = self.labels.setdefault(rollout_id, _label(str(detail["release"])))
                for text in self.narrators[rollout_id].look(detail, machines, self.clock.now()):
                    self.line(f"{label} │ {text}")
                if n == 0 and until is not None and until(detail, machines):
                    return
                if detail["status"] in {"Completed", "Cancelled"}:
                    ended.add(rollout_id)
            await asyncio.sleep(LOOK_EVERY)

    @staticmethod
    def _good_release_done(detail: dict[str, Any], machines: list[dict[str, Any]]) -> bool:
        """Completed, stopped, or nothing left tonight but retries in later windows."""
        if detail["status"] in {"Completed", "Halted", "Cancelled"}:
            return True
        last = len(detail["phases"]) - 1
        return detail["phase"] == last and all(m["status"] in SETTLED for m in machines)

    # ------------------------------------------------------------------ --keep
    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self) -> None:
        state = {"clock": self.clock.now().isoformat(), "badPublished": self.repository.bad_published,
                 "installed": {a.machine.name: a.installed for a in self.agents}}  # fmt: skip
        self.state_file.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")


def _label(release: str) -> str:
    """A rollout found by --keep: ``monthly`` or ``hotfix`` as the demo named it, else the release itself."""
    for word in ("monthly", "hotfix"):
        if word in release:
            return word
    return release[:20]
