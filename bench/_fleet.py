"""A benchmark fleet built through the real API: enrolled machines, their ETags, queued operations.

Machines are enrolled exactly as agents do (an operator creates an enrollment token with ``POST
/v1/enrollmentTokens``, each machine calls ``POST /agent/v1/enroll``), then each reads its goal state
once (``200`` with its ``ETag``). Operations are created through the ARM ``assessPatches`` action.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bench._procs import Server

SUBSCRIPTION = "bench"
RESOURCE_GROUP = "fleet"
API_VERSION = "2024-03-01"
OS = {"family": "Linux", "distro": "debian", "version": "12", "prettyName": "Debian GNU/Linux 12 (bookworm)",
      "kernel": "6.1.0-27-amd64", "architecture": "x86_64"}
PARALLEL = 16

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Machine:
    name: str
    credential: str
    etag: str


@dataclass(frozen=True)
class Fleet:
    machines: list[Machine]
    enroll_rate: float  # enrollments per second while building it (16 clients in parallel)

    def write_checkin_file(self, path: Path) -> Path:
        path.write_text("".join(f"{m.credential} {m.etag}\n" for m in self.machines))
        return path


def _parallel(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(fn, items))


def enroll(server: Server, count: int) -> Fleet:
    """Enroll ``count`` machines through ``/agent/v1/enroll`` and read each one's goal state once."""
    with server.client() as admin:
        answer = admin.post("/v1/enrollmentTokens", json={
            "subscription": SUBSCRIPTION, "resourceGroup": RESOURCE_GROUP, "expiresIn": "PT12H", "uses": count,
        })
        answer.raise_for_status()
        token = answer.json()["token"]
    with server.client(token=token) as client:

        def one(i: int) -> tuple[str, str]:
            name = f"vm-{i:06d}"
            body = {"name": name, "location": "westeurope", "zone": str(i % 3 + 1), "agentVersion": "0.1.0",
                    "os": OS, "hostname": f"{name}.bench.internal"}
            enrolled = client.post("/agent/v1/enroll", json=body)
            if enrolled.status_code != 201:
                raise RuntimeError(f"enrolling {name}: {enrolled.status_code} {enrolled.text}")
            return name, enrolled.json()["credential"]

        started = time.perf_counter()
        enrolled = _parallel(one, range(count))
        rate = count / (time.perf_counter() - started)

        def goal(item: tuple[str, str]) -> Machine:
            name, credential = item
            answer = client.get("/agent/v1/goalstate", headers={"Authorization": f"Bearer {credential}"})
            if answer.status_code != 200 or "etag" not in answer.headers:
                raise RuntimeError(f"goal state of {name}: {answer.status_code} {answer.text}")
            return Machine(name=name, credential=credential, etag=answer.headers["etag"])

        machines = _parallel(goal, enrolled)
    return Fleet(machines=machines, enroll_rate=rate)


def refresh_etags(server: Server, machines: list[Machine]) -> list[Machine]:
    """Read each machine's goal state again (after operations were queued, their ETags moved)."""
    with server.client() as client:

        def goal(machine: Machine) -> Machine:
            answer = client.get("/agent/v1/goalstate", headers={"Authorization": f"Bearer {machine.credential}"})
            answer.raise_for_status()
            return Machine(name=machine.name, credential=machine.credential, etag=answer.headers["etag"])

        return _parallel(goal, machines)


def queue_assessments(server: Server, machines: list[Machine]) -> list[tuple[Machine, str]]:
    """``POST …/assessPatches`` on each machine's VM; (machine, operation id) pairs."""
    with server.client() as admin:

        def one(machine: Machine) -> tuple[Machine, str]:
            path = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/"
                    f"Microsoft.Compute/virtualMachines/{machine.name}/assessPatches")
            answer = admin.post(path, params={"api-version": API_VERSION})
            if answer.status_code != 202:
                raise RuntimeError(f"assessPatches on {machine.name}: {answer.status_code} {answer.text}")
            operation = answer.headers["azure-asyncoperation"].split("?")[0].rsplit("/", 1)[-1]
            return machine, operation

        return _parallel(one, machines)


def write_operations_file(path: Path, operations: list[tuple[Machine, str]]) -> Path:
    path.write_text("".join(f"{m.credential} {op}\n" for m, op in operations))
    return path
