"""The pulse thread: heartbeats carry the probed health, and a change of health is reported at once."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest

from guestpatch_agent.clock import SystemClock
from guestpatch_agent.health import parse_probe
from guestpatch_agent.pulse import Pulse
from tests.agent.daemon.conftest import plane_for
from tests.agent.daemon.stub import StubControlPlane


class Application:
    """A local application whose /health answers ``status``."""

    def __init__(self) -> None:
        self.status = 200
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(app.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def target(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/health"


@pytest.fixture
def application() -> Iterator[Application]:
    app = Application()
    yield app
    app.server.shutdown()


def health_beats(stub: StubControlPlane) -> list[str | None]:
    return [(s.body.get("health") or {}).get("state") for s in stub.requests("/agent/v1/heartbeat")]


def wait_until(check: Any, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_a_change_of_health_is_reported_at_once(stub: StubControlPlane, application: Application) -> None:
    """Heartbeats every 300 s, the probe every second: the application failing brings an Unhealthy
    heartbeat long before the next regular one."""
    pulse = Pulse(plane=plane_for(stub, "gpm_x"), body=lambda health: {"health": health},
                  keepalive=lambda: None, busy=lambda: None, clock=SystemClock(), rng=random.Random(1),
                  interval=300)  # fmt: skip
    pulse.configure(300, parse_probe({"kind": "http", "target": application.target, "intervalSeconds": 1}))
    pulse.start()
    try:
        wait_until(lambda: "Healthy" in health_beats(stub))
        application.status = 503
        wait_until(lambda: "Unhealthy" in health_beats(stub))
    finally:
        pulse.stop(final_beat=False)
    beats = [s.body["health"] for s in stub.requests("/agent/v1/heartbeat") if s.body.get("health")]
    assert beats[-1]["probe"] == application.target
    assert beats[-1]["checkedAt"].endswith("Z")


def test_a_running_operation_gets_keepalives(stub: StubControlPlane) -> None:
    """While an operation runs, the pulse asks for an InProgress report every interval."""
    kept: list[float] = []
    pulse = Pulse(plane=plane_for(stub, "gpm_x"), body=lambda health: {}, keepalive=lambda: kept.append(1.0),
                  busy=lambda: "op-1", clock=SystemClock(), rng=random.Random(1), interval=1)  # fmt: skip
    pulse.start()
    try:
        wait_until(lambda: len(kept) >= 3)
    finally:
        pulse.stop(final_beat=False)
    assert stub.requests("/agent/v1/heartbeat")  # and heartbeats went out meanwhile
