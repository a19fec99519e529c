"""``guestpatch serve`` with several worker processes, over real HTTPS, on SQLite and PostgreSQL.

Each worker keeps its own goal index; one background process runs the sweeper and the orchestrator.
A change made through any worker must reach the agents polling any other, long-polls included.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server_fixtures import LiveServer

SUB, RG = "sub", "rg"
API = "api-version=2024-03-01"
OS = {"family": "Linux", "distro": "debian", "version": "12"}
PATIENCE = 30.0  # seconds a test waits for something that must happen (never asserted as a speed)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, start_server: Callable[..., LiveServer]) -> LiveServer:
    """A server with two workers; agents' pickup timeout 2 s so the sweeper has work to show."""
    args = ["--workers", "2", "--agent-pickup-timeout", "2"]
    if request.param == "postgres":
        args += ["--database-url", request.getfixturevalue("postgres_url")]
    return start_server(*args)


def enroll(server: LiveServer, name: str) -> str:
    with server.client() as admin:
        token = admin.post("/v1/enrollmentTokens", json={"subscription": SUB, "resourceGroup": RG}).json()["token"]
        answer = admin.post("/agent/v1/enroll", headers={"Authorization": f"Bearer {token}"},
                            json={"name": name, "location": "westeurope", "agentVersion": "0.1.0", "os": OS})
    assert answer.status_code == 201, answer.text
    credential: str = answer.json()["credential"]
    return credential


def assess(server: LiveServer, name: str) -> str:
    """Queue assessPatches through the ARM action; the operation id."""
    path = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/{name}"
    with server.client() as admin:
        answer = admin.post(f"{path}/assessPatches?{API}")
    assert answer.status_code == 202, answer.text
    return answer.headers["azure-asyncoperation"].split("?")[0].rsplit("/", 1)[-1]


def poll(server: LiveServer, credential: str, etag: str | None = None, wait: float | None = None) -> httpx.Response:
    """One goal-state poll on a new connection (so that successive polls land on any worker)."""
    headers = {"Authorization": f"Bearer {credential}"} | ({"If-None-Match": etag} if etag else {})
    params: dict[str, Any] = {"wait": wait} if wait is not None else {}
    with httpx.Client(base_url=server.url, verify=server.verify, timeout=PATIENCE + 30) as client:
        return client.get("/agent/v1/goalstate", headers=headers, params=params)


def eventually(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def test_two_workers_and_one_background_process_run_and_all_stop_on_sigterm(server: LiveServer) -> None:
    """The server process has three children (two workers, the background process); SIGTERM ends all."""
    assert eventually(lambda: len(children(server.process.pid)) == 3)
    started = children(server.process.pid)
    server.stop()
    assert server.process.returncode is not None
    assert eventually(lambda: not any(Path(f"/proc/{pid}").exists() for pid in started))


def test_a_goal_change_reaches_the_agents_on_every_worker(server: LiveServer) -> None:
    """After an operation is queued, every poll with the old ETag gets the new goal state, whichever
    worker answers it."""
    credential = enroll(server, "host1")
    etag = poll(server, credential).headers["etag"]
    assert all(poll(server, credential, etag).status_code == 304 for _ in range(10))
    op_id = assess(server, "host1")

    def every_worker_knows() -> bool:
        answers = [poll(server, credential, etag) for _ in range(10)]
        return all(a.status_code == 200 and a.json()["operations"][0]["id"] == op_id for a in answers)

    assert eventually(every_worker_knows)


def test_a_long_poll_is_answered_when_an_operation_is_queued(server: LiveServer) -> None:
    """An agent holding a long-poll (on whichever worker) receives the new goal state within its wait."""
    credential = enroll(server, "host1")
    etag = poll(server, credential).headers["etag"]
    answers: list[httpx.Response] = []
    holder = threading.Thread(target=lambda: answers.append(poll(server, credential, etag, wait=PATIENCE)))
    holder.start()
    time.sleep(1.0)  # the poll is being held
    assert not answers
    op_id = assess(server, "host1")
    holder.join(timeout=PATIENCE + 30)
    assert len(answers) == 1
    assert answers[0].status_code == 200
    assert answers[0].json()["operations"][0]["id"] == op_id


def test_the_background_process_fails_operations_nobody_picks_up(server: LiveServer) -> None:
    """The sweeper runs (in the background process): an operation no agent starts fails with the
    agent-silent error once the pickup timeout has passed."""
    enroll(server, "host1")
    op_id = assess(server, "host1")
    status_url = f"/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westeurope/operations/{op_id}?{API}"
    with server.client() as admin:
        assert eventually(lambda: admin.get(status_url).json()["status"] == "Failed")
        assert admin.get(status_url).json()["error"]["code"] == "VMAgentStatusCommunicationError"
