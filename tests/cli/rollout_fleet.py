"""A small fleet for the rollout commands' tests: machines whose agents the test plays in threads.

Each machine is enrolled through the agent protocol (in the region and zone the test asks for, in the
time zone UTC), switched to ``patchMode=AutomaticByPlatform``, and played by a :class:`PlayedMachine`
thread speaking the agent protocol (heartbeat, goal-state long-polls, operation reports): assessments
offer one Security patch (the rollout freezes it), installations succeed — or fail, for the machines
named in ``failing`` — as soon as the test lets them (``hold_installs`` keeps them Installing until
:meth:`Fleet.release`). Unlike :class:`tests.scripted_agent.ScriptedAgent`, a machine survives an HTTP
error (a poll timing out on a loaded CI machine) and keeps polling; its errors are kept for the message
of a test that fails.

:func:`open_window_policy` opens every machine's window now (off-peak hours from an hour ago to six hours
ahead, in UTC) and removes the bake time and stability period, so a rollout runs in seconds on the
server's wall clock with ``--engine-interval 1``. :class:`Lab` is such a server with its fleet, and
:func:`start_lab` starts one (the ``lab_factory`` fixture of ``conftest.py`` stops it after the test).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from guestpatch.core.records import IN_FLIGHT
from tests.cli.conftest import Outcome, run_cli
from tests.scripted_agent import assessment_result, installation_result
from tests.server_fixtures import LiveServer, launch

API = "api-version=2026-04-01"
SUBSCRIPTION = "default"
RESOURCE_GROUP = "rg-fleet"
HOLD_LIMIT = 120.0  # seconds an installation is held at most (a stuck test must not hang its agent)
OS = {"family": "Linux", "distro": "debian", "version": "12"}
Answer = Callable[[dict[str, Any]], "tuple[str, dict[str, Any]] | None"]

#: Two regions of one geo-pair (never in one phase) and one more: the plan has two phases.
LAYOUT = (
    ("ne1", "northeurope", "1"),
    ("we1", "westeurope", "1"),
    ("we2", "westeurope", "2"),
    ("ea1", "eastasia", None),
    ("ea2", "eastasia", None),
)


def open_window_policy(**extra: Any) -> dict[str, Any]:
    """A policy under which every machine (time zone UTC) is inside its window for the next hours."""
    now = datetime.now(UTC)
    return {
        "offPeak": {"start": f"{now - timedelta(hours=1):%H:%M}", "end": f"{now + timedelta(hours=6):%H:%M}"},
        "bakeTimeMinutes": 0,
        "stabilityPeriodMinutes": 0,
        **extra,
    }


def machine_id(name: str) -> str:
    """The rollout's name of a fleet machine: ``subscription/resourceGroup/name``."""
    return f"{SUBSCRIPTION}/{RESOURCE_GROUP}/{name}"


@dataclass
class PlayedMachine:
    """One enrolled machine whose agent a thread plays until :meth:`stop`."""

    server: LiveServer
    name: str
    credential: str
    answer: Answer
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> PlayedMachine:
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"agent-{self.name}")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.credential}"}
        etag, done, greeted = "", set(), False
        with httpx.Client(base_url=self.server.url, verify=self.server.verify, timeout=30, headers=headers) as http:
            while not self._stop.is_set():
                try:
                    if not greeted:
                        http.post("/agent/v1/heartbeat", json={"agentVersion": "0.1.0", "os": OS}).raise_for_status()
                        greeted = True
                    response = http.get("/agent/v1/goalstate", params={"wait": 1},
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
                    self._stop.wait(0.5)

    def _answer(self, http: httpx.Client, operation: dict[str, Any]) -> None:
        """Report the operation InProgress, then its outcome."""
        if not self._report(http, operation, {"sequence": 1, "status": "InProgress"}):
            return
        outcome = self.answer(operation)
        if outcome is not None:  # None: stay silent, the server's timeout decides
            status, result = outcome
            self._report(http, operation, {"sequence": 2, "status": status, "result": result})

    def _report(self, http: httpx.Client, operation: dict[str, Any], body: dict[str, Any]) -> bool:
        """A refused report (4xx: the operation ended meanwhile) is recorded, not retried; a transport
        error or a 5xx raises, and the operation is answered again at the next poll."""
        response = http.put(f"/agent/v1/operations/{operation['id']}", json=body)
        if 400 <= response.status_code < 500:
            self.errors.append(f"{operation['id']}: {response.status_code} {response.text}")
            return False
        response.raise_for_status()
        return True


@dataclass
class Fleet:
    server: LiveServer
    failing: frozenset[str] = frozenset()
    hold_installs: bool = False
    agents: dict[str, PlayedMachine] = field(default_factory=dict)
    _released: threading.Event = field(default_factory=threading.Event)
    _stopping: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(
        cls,
        server: LiveServer,
        layout: Iterable[tuple[str, str, str | None]] = LAYOUT,
        *,
        failing: Iterable[str] = (),
        hold_installs: bool = False,
    ) -> Fleet:
        fleet = cls(server, frozenset(failing), hold_installs)
        layout = list(layout)
        with server.client() as http:
            for name, location, zone in layout:
                token = http.post("/v1/enrollmentTokens", json={
                    "subscription": SUBSCRIPTION, "resourceGroup": RESOURCE_GROUP}).json()["token"]
                enrolled = http.post(
                    "/agent/v1/enroll", headers={"Authorization": f"Bearer {token}"},
                    json={"name": name, "location": location, "timeZone": "UTC", "agentVersion": "0.1.0", "os": OS,
                          **({"zone": zone} if zone else {})},
                )
                assert enrolled.status_code == 201, enrolled.text
                settings = {"patchSettings": {"patchMode": "AutomaticByPlatform"}}
                response = http.patch(
                    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.Compute"
                    f"/virtualMachines/{name}?{API}",
                    json={"properties": {"osProfile": {"linuxConfiguration": settings}}},
                )
                assert response.status_code == 200, response.text
                machine = PlayedMachine(server, name, enrolled.json()["credential"], fleet._answer_for(name))
                fleet.agents[name] = machine.start()
            fleet._wait_until_eligible(http, len(layout))
        return fleet

    def _wait_until_eligible(self, http: Any, count: int, timeout: float = 30) -> None:
        """Every machine's agent has been seen: the plan holds them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if http.get("/v1/rolloutPlan").json()["machines"] == count:
                return
            time.sleep(0.2)
        raise AssertionError(f"the plan did not reach {count} machines within {timeout} s")

    def _answer_for(self, name: str) -> Answer:
        def answer(operation: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
            if operation["kind"] == "assessPatches":
                return "Succeeded", assessment_result()
            if self.hold_installs and not self._wait_for_release():
                return None
            if name in self.failing:
                return "Failed", installation_result(installed=0, failed=1, status="Failed")
            return "Succeeded", installation_result()

        return answer

    def _wait_for_release(self) -> bool:
        deadline = time.monotonic() + HOLD_LIMIT
        while time.monotonic() < deadline and not self._stopping.is_set():
            if self._released.wait(0.2):
                return True
        return False

    def release(self) -> None:
        """Let held installations finish."""
        self._released.set()

    def stop(self) -> None:
        self._stopping.set()
        for agent in self.agents.values():
            agent.stop()


@dataclass
class Lab:
    """A server (engine ticking every second) with a played fleet, and the CLI pointed at it."""

    server: LiveServer
    fleet: Fleet
    policy_file: Path

    def cli(self, *args: str) -> Outcome:
        return run_cli(self.server, *args)

    def start(self, **policy: Any) -> str:
        """Start a rollout with ``rollout start --policy-file`` (the open-window policy plus ``policy``); its id."""
        self.policy_file.write_text(json.dumps(open_window_policy(**policy)))
        started = self.cli("rollout", "start", "--release", "2026-11", "--policy-file", str(self.policy_file))
        rollout_id: str = started.json()["id"]
        return rollout_id

    def wait_for(self, rollout_id: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 120) -> Any:
        """The rollout's body once ``predicate`` holds for it."""
        deadline = time.monotonic() + timeout
        detail: dict[str, Any] = {}
        while time.monotonic() < deadline:
            detail = self.cli("rollout", "show", rollout_id).json()
            if predicate(detail):
                return detail
            time.sleep(0.3)
        progress = [(r["region"], r["byStatus"]) for p in detail.get("phases", []) for r in p["regions"]]
        raise AssertionError(
            f"rollout {rollout_id} did not get there within {timeout} s: {detail.get('status')} "
            f"phase {detail.get('phase')} {detail.get('phaseStatus')}, halt {detail.get('halt')}, {progress}; "
            f"machines: {self.cli('rollout', 'machines', rollout_id).stdout}; agents' errors: "
            f"{ {name: agent.errors for name, agent in self.fleet.agents.items() if agent.errors} }"
        )

    def stop(self) -> None:
        self.fleet.stop()
        self.server.stop()


def start_lab(directory: Path, **fleet_options: Any) -> Lab:
    """A server in ``directory`` with ``--engine-interval 1`` and a :class:`Fleet` (``fleet_options``)."""
    server = launch(directory / "server", "--engine-interval", "1")
    try:
        fleet = Fleet.start(server, **fleet_options)
    except BaseException:
        server.stop()
        raise
    return Lab(server, fleet, directory / "policy.json")


def in_flight(detail: dict[str, Any]) -> bool:
    """Some machine of the rollout is Installing, Rebooting or Verifying."""
    return any(status in IN_FLIGHT
               for phase in detail["phases"] for region in phase["regions"] for status in region["byStatus"])
