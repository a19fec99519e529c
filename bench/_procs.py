"""Processes the benchmarks start: ``guestpatch serve`` on a data dir, PostgreSQL databases, ports."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("GUESTPATCH_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path
    admin_token: str
    verify: ssl.SSLContext | bool
    log: Path

    def client(self, *, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, verify=self.verify, timeout=60,
            headers={"Authorization": f"Bearer {token or self.admin_token}"},
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
        )


@contextmanager
def serve(data_dir: Path, *, database_url: str | None, tls: bool, extra: list[str] | None = None) -> Iterator[Server]:
    """``python -m guestpatch serve`` as a real process, until /healthz answers; stopped on exit."""
    port = free_port()
    argv = [sys.executable, "-m", "guestpatch", "serve", "--data-dir", str(data_dir), "--port", str(port),
            "--log-level", "warning", *(extra or [])]
    if database_url:
        argv += ["--database-url", database_url]
    if not tls:
        argv.append("--insecure-http")
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"serve-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTPATCH_")}
    env["PYTHONPATH"] = str(REPO / "src")
    with log.open("w") as handle:
        process = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        ca = data_dir / "tls" / "ca.pem"
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"guestpatch serve exited with {process.returncode}:\n{log.read_text()}")
            verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(ca)) if tls and ca.exists() else True
            try:
                ready = not tls or ca.exists()
                if ready and httpx.get(f"{url}/healthz", verify=verify, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"guestpatch serve did not answer within 120 s:\n{log.read_text()}")
            time.sleep(0.1)
        token = (data_dir / "admin.token").read_text().strip()
        yield Server(url=url, data_dir=data_dir, admin_token=token, verify=verify, log=log)
    finally:
        stop(process)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the benchmark server; dropped afterwards."""
    import psycopg

    admin_dsn = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"gp_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
