"""The daemon's poll loop against a scripted HTTPS server: ETags, long-polls, jitter, backoff, whose fault.

The daemon is the real one (outbox, worker, patch modes on a temporary root, pulse thread); only its
``wait`` is a recorder, which stops the loop after a given number of waits.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from guestpatch_agent import __version__
from guestpatch_agent.autoupdate import AutoUpdateControl
from guestpatch_agent.clock import SystemClock
from guestpatch_agent.daemon import CONFIRM_REVOKED, Daemon, Stopped, backoff, older_than
from guestpatch_agent.errors import AgentError
from guestpatch_agent.model import Distro
from guestpatch_agent.outbox import Outbox
from guestpatch_agent.patchmode import PatchModes
from guestpatch_agent.pkgmgr.base import Backend, Root
from guestpatch_agent.pulse import Pulse, jittered
from guestpatch_agent.runner import Runner
from guestpatch_agent.settings import AgentSettings
from guestpatch_agent.work import Machine, Worker
from tests.agent.daemon.conftest import plane_for
from tests.agent.daemon.stub import GOAL, Scripted, StubControlPlane


def no_backend() -> Backend:
    raise AgentError("no package manager in this test")


def daemon_for(stub: StubControlPlane, tmp_path: Path, stop_after: int) -> tuple[Daemon, list[float]]:
    """The real daemon serving an empty root against ``stub``; it stops at its ``stop_after``-th wait."""
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) >= stop_after:
            raise Stopped(0)

    clock, rng = SystemClock(), random.Random(4)
    root, state = Root(str(tmp_path)), str(tmp_path / "state")
    plane = plane_for(stub, "gpm_test")
    machine = Machine(root=root, distro=Distro("debian", "12"), state_dir=state, clock=clock,
                      settings=AgentSettings(), rebooter=None, backend=no_backend)  # fmt: skip
    outbox = Outbox(state, plane, clock)
    worker = Worker(machine, outbox, threaded=False)
    modes = PatchModes(state, AutoUpdateControl(Runner(), root, state), clock)
    body: Callable[[Any], dict[str, Any]] = lambda health: {  # noqa: E731
        "agentVersion": __version__, "os": {"family": "Linux", "distro": "debian"},
        "configuration": modes.current(), "health": health}  # fmt: skip
    pulse = Pulse(plane=plane, body=body, keepalive=worker.keepalive, busy=worker.busy, clock=clock, rng=rng,
                  interval=60)  # fmt: skip
    return Daemon(plane=plane, worker=worker, outbox=outbox, modes=modes, pulse=pulse, rng=rng, wait=wait), waits


def goal(etag: str, **changes: Any) -> Scripted:
    return Scripted(200, {**GOAL, "etag": etag, **changes}, {"ETag": etag})


def test_server_errors_are_retried_with_growing_jittered_backoff(stub: StubControlPlane, tmp_path: Path) -> None:
    """Three 503s: waits of 1-2, 2-4 and 4-8 s; then a goal state is served and the loop goes on."""
    stub.goal.extend([Scripted(503), Scripted(503), Scripted(503), goal('"5"')])
    daemon, waits = daemon_for(stub, tmp_path, stop_after=4)
    assert daemon.run() == 0
    assert [lo <= w <= hi for w, (lo, hi) in zip(waits[:3], [(1, 2), (2, 4), (4, 8)], strict=True)] == [True] * 3
    assert len(stub.requests("/agent/v1/goalstate")) == 4


def test_after_a_goal_state_the_next_poll_carries_its_etag_and_waits(stub: StubControlPlane, tmp_path: Path) -> None:
    """The second poll sends If-None-Match with the ETag received and ?wait=longPollSeconds."""
    stub.goal.append(goal('"5"', longPollSeconds=40))
    daemon, _ = daemon_for(stub, tmp_path, stop_after=2)
    daemon.run()
    first, second = stub.requests("/agent/v1/goalstate")[:2]
    assert "if-none-match" not in first.headers
    assert first.path == "/agent/v1/goalstate"
    assert second.headers["if-none-match"] == '"5"'
    assert second.path == "/agent/v1/goalstate?wait=40"


def test_not_modified_waits_the_jittered_poll_interval(stub: StubControlPlane, tmp_path: Path) -> None:
    """After a 304 the next poll starts pollIntervalSeconds ± 20 % after the previous one started."""
    stub.goal.append(goal('"5"', pollIntervalSeconds=10, longPollSeconds=0))
    daemon, waits = daemon_for(stub, tmp_path, stop_after=3)
    daemon.run()
    assert waits[0] <= 1  # after a change: at once (at least 1 s after the last poll started)
    assert 6 <= waits[1] <= 12  # after the 304: 8-12 s from its start, minus the poll's own time


def test_a_4xx_on_the_goal_state_ends_the_daemon_without_retrying(stub: StubControlPlane, tmp_path: Path) -> None:
    """400 on the poll: we erred; exit 1 after one request."""
    stub.goal.append(Scripted(400, {"error": {"code": "InvalidParameter", "message": "'wait' is bad"}}))
    daemon, waits = daemon_for(stub, tmp_path, stop_after=99)
    assert daemon.run() == 1
    assert len(stub.requests("/agent/v1/goalstate")) == 1
    assert waits == []


def test_a_refused_credential_is_asked_once_more_then_ends_with_3(stub: StubControlPlane, tmp_path: Path) -> None:
    """Two 401s in a row: one confirmation after CONFIRM_REVOKED s, then exit 3 (enroll again)."""
    stub.goal.extend([Scripted(401), Scripted(401)])
    daemon, waits = daemon_for(stub, tmp_path, stop_after=99)
    assert daemon.run() == 3
    assert waits == [CONFIRM_REVOKED]


def test_a_single_401_then_an_answer_keeps_serving(stub: StubControlPlane, tmp_path: Path) -> None:
    """A 401 that the confirmation does not repeat (a replica catching up) is not fatal."""
    stub.goal.extend([Scripted(401), goal('"2"')])
    daemon, waits = daemon_for(stub, tmp_path, stop_after=2)
    assert daemon.run() == 0
    assert waits[0] == CONFIRM_REVOKED


def test_once_applies_the_modes_and_ends_with_a_heartbeat_saying_so(stub: StubControlPlane, tmp_path: Path) -> None:
    """run --once: one poll without wait, the patch mode applied, a last heartbeat with the configuration."""
    stub.goal.append(goal('"3"'))
    daemon, _ = daemon_for(stub, tmp_path, stop_after=99)
    assert daemon.run(once=True) == 0
    assert [s.path for s in stub.requests("/agent/v1/goalstate")] == ["/agent/v1/goalstate"]
    configuration = stub.requests("/agent/v1/heartbeat")[-1].body["configuration"]
    assert (configuration["patchMode"], configuration["status"], configuration["error"]) == (
        "ImageDefault", "Succeeded", None)  # fmt: skip


def test_an_operation_that_cannot_run_here_is_reported_failed(stub: StubControlPlane, tmp_path: Path) -> None:
    """No usable package manager: the assessment's final report is Failed and says why."""
    operation = {"id": "op-1", "kind": "assessPatches", "origin": "User", "requestedAt": "2026-11-26T09:00:00Z",
                 "parameters": {}}  # fmt: skip
    stub.goal.append(goal('"4"', operations=[operation]))
    daemon, _ = daemon_for(stub, tmp_path, stop_after=99)
    assert daemon.run(once=True) == 0
    final = stub.requests("/agent/v1/operations/op-1")[-1].body
    assert (final["status"], final["result"]["status"]) == ("Failed", "Failed")
    assert "no package manager in this test" in final["result"]["error"]["message"]


@pytest.mark.parametrize("attempt", range(12))
def test_backoff_stays_between_half_and_all_of_its_capped_ceiling(attempt: int) -> None:
    """backoff(n) ∈ [c/2, c] with c = min(300, 2 × 2ⁿ), for many random draws."""
    ceiling = min(300.0, 2.0 * 2**attempt)
    draws = [backoff(attempt, random.Random(seed)) for seed in range(200)]
    assert min(draws) >= ceiling / 2
    assert max(draws) <= ceiling
    assert max(draws) - min(draws) > ceiling / 4  # it does spread


def test_jitter_stays_within_twenty_percent() -> None:
    """jittered(60) ∈ [48, 72] and spreads over that range."""
    draws = [jittered(60, random.Random(seed)) for seed in range(500)]
    assert 48 <= min(draws) < 50
    assert 70 < max(draws) <= 72


@pytest.mark.parametrize(
    ("version", "minimum", "old"),
    [("0.1.0", "0.1.0", False), ("0.1.0", "0.2.0", True), ("1.10.0", "1.9.3", False), ("1.2", "1.2.1", True),
     ("0.1.0-dev", "0.1.0", False), ("weird", "0.1.0", False)],
)  # fmt: skip
def test_version_comparison(version: str, minimum: str, old: bool) -> None:
    """Numeric comparison part by part; what does not parse is never called old."""
    assert older_than(version, minimum) is old
