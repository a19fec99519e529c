"""Real control-plane servers for tests: ``guestpatch serve`` as a subprocess over HTTPS.

``live_server`` (module scope) starts one on SQLite in a temporary data dir; ``start_server`` starts
more, e.g. on PostgreSQL or with other flags. Each yields a :class:`LiveServer` with the URL, the admin
token and the CA certificate to trust.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    token: str
    ca: Path | None
    process: subprocess.Popen[str]
    log: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What an httpx client needs to trust this server."""
        return ssl.create_default_context(cafile=str(self.ca)) if self.ca else True

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.token}"},
            verify=self.verify,
            timeout=30,
            **kwargs,  # type: ignore[arg-type]
        )

    def cli_env(self) -> dict[str, str]:
        """Environment for running the ``guestpatch`` CLI against this server."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTPATCH_")}
        env.update(GUESTPATCH_SERVER=self.url, GUESTPATCH_DATA_DIR=str(self.data_dir))
        return env

    def kill(self) -> None:
        """SIGKILL the whole server (main process and workers), as if the machine died."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def launch(data_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> LiveServer:
    """Start ``guestpatch serve`` and wait until /healthz answers."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "server.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTPATCH_")}
    full_env.update(env or {})
    handle = log.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "guestpatch", "serve", "--data-dir", str(data_dir), "--port", str(port), *args],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=full_env,
        text=True,
        start_new_session=True,  # its own process group: kill() takes its workers down with it
    )
    insecure = "--insecure-http" in args
    url = f"{'http' if insecure else 'https'}://127.0.0.1:{port}"
    ca = None if insecure else data_dir / "tls" / "ca.pem"
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"guestpatch serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            verify = ssl.create_default_context(cafile=str(ca)) if ca and ca.exists() else True
            if (ca is None or ca.exists()) and httpx.get(f"{url}/healthz", verify=verify, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"guestpatch serve did not answer within {timeout} s:\n{log.read_text()}")
        time.sleep(0.1)
    token = (data_dir / "admin.token").read_text().strip()
    return LiveServer(url=url, data_dir=data_dir, token=token, ca=ca, process=process, log=log, extra_env=env or {})


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = launch(tmp_path_factory.mktemp("server"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    started: list[LiveServer] = []

    def start(*args: str, data_dir: Path | None = None, env: dict[str, str] | None = None) -> LiveServer:
        server = launch(data_dir or tmp_path / f"server{len(started)}", *args, env=env)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
