"""The application health probe: the rules (pure) and real probes of local HTTP, HTTPS and TCP servers."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from guestpatch.tls import ensure_self_signed
from guestpatch_agent.health import check, interpret_http, parse_probe
from tests.server_fixtures import free_port


@pytest.mark.parametrize(
    ("status", "body", "state"),
    [
        (200, b"", "Healthy"),
        (204, b"", "Healthy"),
        (200, b"ok", "Healthy"),
        (200, b'{"status": "up"}', "Healthy"),
        (200, b'{"ApplicationHealthState": "Healthy"}', "Healthy"),
        (200, b'{"ApplicationHealthState": "Unhealthy"}', "Unhealthy"),
        (200, b'{"applicationHealthState": "initializing"}', "Initializing"),
        (200, b'{"ApplicationHealthState": "Unknown"}', "Unknown"),
        (200, b'{"ApplicationHealthState": "Great"}', "Unknown"),
        (200, b'{"ApplicationHealthState": 1}', "Unknown"),
        (200, b"[1, 2]", "Healthy"),
        (301, b"", "Unhealthy"),
        (404, b"", "Unhealthy"),
        (503, b'{"ApplicationHealthState": "Healthy"}', "Unhealthy"),
    ],
)
def test_http_answers_and_their_health_state(status: int, body: bytes, state: str) -> None:
    """2xx is Healthy unless ApplicationHealthState says otherwise; anything else is Unhealthy."""
    assert interpret_http(status, body) == state


@pytest.mark.parametrize(
    "value",
    [
        None,
        {"kind": "udp", "target": "udp://127.0.0.1:53", "intervalSeconds": 15},
        {"kind": "http", "target": "tcp://127.0.0.1:80", "intervalSeconds": 15},
        {"kind": "tcp", "target": "tcp://127.0.0.1", "intervalSeconds": 15},
        {"kind": "http", "target": "http://127.0.0.1/health", "intervalSeconds": 0},
        {"kind": "http", "target": "http://127.0.0.1/health", "intervalSeconds": True},
        {"kind": "http", "target": "http://127.0.0.1:99999/health", "intervalSeconds": 15},
    ],
)
def test_probes_that_cannot_be_used_are_ignored(value: Any) -> None:
    """A missing, unknown, inconsistent or out-of-range healthProbe is no probe at all."""
    assert parse_probe(value) is None


def test_a_probe_keeps_its_path_and_query() -> None:
    """http://host:port/path?q → GET /path?q on host:port."""
    spec = parse_probe({"kind": "http", "target": "http://127.0.0.1:8080/health?deep=1", "intervalSeconds": 5})
    assert spec is not None
    assert (spec.host, spec.port, spec.path, spec.interval) == ("127.0.0.1", 8080, "/health?deep=1", 5.0)


class _App:
    """A local application answering /health with a chosen status and body."""

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        self.status, self.body = 200, b""
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(app.status)
                self.send_header("Content-Length", str(len(app.body)))
                self.end_headers()
                self.wfile.write(app.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])


@pytest.fixture
def app() -> Iterator[_App]:
    running = _App()
    yield running
    running.server.shutdown()


def probe(kind: str, target: str) -> str:
    spec = parse_probe({"kind": kind, "target": target, "intervalSeconds": 5})
    assert spec is not None
    return check(spec)


def test_an_http_probe_follows_the_application(app: _App) -> None:
    """The same endpoint probed three times: 200, then 503, then 200 with Initializing in its JSON."""
    target = f"http://127.0.0.1:{app.port}/health"
    assert probe("http", target) == "Healthy"
    app.status = 503
    assert probe("http", target) == "Unhealthy"
    app.status, app.body = 200, json.dumps({"ApplicationHealthState": "Initializing"}).encode()
    assert probe("http", target) == "Initializing"


def test_an_https_probe_accepts_the_applications_own_certificate(tmp_path: Path) -> None:
    """A self-signed application certificate does not make the application Unhealthy."""
    files = ensure_self_signed(tmp_path / "tls", [])
    app = _App((files.cert, files.key))
    try:
        assert probe("https", f"https://127.0.0.1:{app.port}/healthz") == "Healthy"
    finally:
        app.server.shutdown()


def test_a_probe_of_a_closed_port_is_unhealthy() -> None:
    """No application listening: http and tcp probes both say Unhealthy."""
    port = free_port()
    assert probe("http", f"http://127.0.0.1:{port}/health") == "Unhealthy"
    assert probe("tcp", f"tcp://127.0.0.1:{port}") == "Unhealthy"


def test_a_tcp_probe_of_a_listening_port_is_healthy() -> None:
    """A completed TCP connection is Healthy."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert probe("tcp", f"tcp://127.0.0.1:{listener.getsockname()[1]}") == "Healthy"
