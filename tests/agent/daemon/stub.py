"""A real HTTPS server that answers the agent protocol from a script and records every request.

For the cases the real control plane does not produce on demand: a 503, an answer that is not JSON,
a 400 on the goal state, a 401 after a valid enrollment. TLS is real (a private CA made with the
server's own ``guestpatch.tls``), so the agent's client runs exactly as in production.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from guestpatch.tls import ensure_self_signed


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Scripted:
    status: int
    body: Any = None  # dict → JSON; bytes → as is; None → empty
    headers: dict[str, str] = field(default_factory=dict)


GOAL = {"vmId": "vm-1", "patchMode": "ImageDefault", "assessmentMode": "ImageDefault", "pollIntervalSeconds": 60,
        "longPollSeconds": 50, "minimumAgentVersion": "0.1.0", "operations": []}  # fmt: skip


class StubControlPlane:
    """``goal`` answers GET /agent/v1/goalstate in order (then 304); heartbeats get 204, reports 200."""

    def __init__(self, tls_dir: Path) -> None:
        files = ensure_self_signed(tls_dir, [])
        assert files.ca is not None
        self.ca = files.ca
        self.goal: deque[Scripted] = deque()
        self.report = Scripted(200, {"accepted": True, "duplicate": False, "status": "InProgress"})
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with stub._lock:
                    stub.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                          json.loads(raw) if raw else None))  # fmt: skip
                    if self.path.startswith("/agent/v1/goalstate"):
                        answer = stub.goal.popleft() if stub.goal else Scripted(304, headers={"ETag": '"1"'})
                    elif self.path.startswith("/agent/v1/heartbeat"):
                        answer = Scripted(204)
                    else:
                        answer = stub.report
                body = answer.body
                payload = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                if answer.status not in (204, 304):
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if answer.status not in (204, 304):
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(files.cert), str(files.key))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def requests(self, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path.startswith(path)]

    def __enter__(self) -> StubControlPlane:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
