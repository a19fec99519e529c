"""Start the control plane: data dir, store and migrations, admin token, TLS, the HTTPS server.

The ``guestpatch serve`` command itself (flags generated from the Config declarations) is in
:mod:`guestpatch.serve_command`, which imports this module only when the command runs.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from guestpatch.api.app import create_app
from guestpatch.api.state import AppState
from guestpatch.clock import Clock, SystemClock
from guestpatch.config import Config
from guestpatch.services.catalogs import Catalogs
from guestpatch.store import tokens as token_store
from guestpatch.store.db import Database
from guestpatch.tls import TlsFiles, ensure_self_signed

log = logging.getLogger("guestpatch.server")

ADMIN_TOKEN_FILE = "admin.token"  # noqa: S105 - a file name
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def ensure_admin_token(db: Database, data_dir: Path, clock: Clock) -> Path:
    """Make sure ``DATA_DIR/admin.token`` holds a valid admin token; create one on first start."""
    path = data_dir / ADMIN_TOKEN_FILE
    if path.exists():
        existing = path.read_text().strip()
        with db.connect() as conn:
            if token_store.hash_token(existing) in token_store.active(conn):
                return path
    token = token_store.new_token()
    with db.begin() as conn:
        token_store.create(conn, name="admin", role="admin", token=token, now=clock.now())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    os.chmod(path, 0o600)
    return path


@dataclasses.dataclass
class Prepared:
    config: Config
    state: AppState
    token_path: Path
    tls: TlsFiles | None


def prepare(config: Config, *, clock: Clock | None = None) -> Prepared:
    """Everything before listening: data dir, store and migrations, admin token, TLS material."""
    clock = clock or SystemClock()
    data_dir = config.data_path
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    db = Database(config.store_url)
    db.migrate()
    token_path = ensure_admin_token(db, data_dir, clock)
    tls: TlsFiles | None = None
    if not config.insecure_http:
        if config.tls_cert and config.tls_key:
            tls = TlsFiles(cert=config.tls_cert, key=config.tls_key, ca=None)
        else:
            tls = ensure_self_signed(data_dir / "tls", [config.host])
    return Prepared(config=config, state=_state(config, db, clock), token_path=token_path, tls=tls)


def serve(config: Config) -> None:
    """Prepare once, then serve: ``config.workers`` granian worker processes (one per CPU by default)
    answer HTTP, and one background process runs the operation sweeper and the orchestrator.

    Each worker builds its own application (store engine, goal index kept current from the store)
    after the fork, so no connection or thread crosses a process boundary. The sweeper and the
    orchestrator run in their own process so that their passes (a sweep over thousands of active
    operations holds the GIL for tens of milliseconds) never stall a worker's event loop: the
    check-in p99 stays in single milliseconds. TLS is terminated by granian (Rust), not by Python's
    ``ssl`` module. See docs/benchmarks.md for the figures behind these choices.
    """
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    logging.basicConfig(level=config.log_level.upper(), format=LOG_FORMAT)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    prepared = prepare(config)
    prepared.state.db.dispose()  # the workers open their own connections
    scheme = "http" if config.insecure_http else "https"
    host = f"[{config.host}]" if ":" in config.host else config.host
    workers = worker_count(config)
    print(f"guestpatch {scheme}://{host}:{config.port}", flush=True)
    print(f"  admin token: {prepared.token_path}", flush=True)
    if prepared.tls and prepared.tls.ca:
        print(f"  CA to trust: {prepared.tls.ca}", flush=True)
    print(f"  store:       {_redact(config.store_url)}", flush=True)
    print(f"  workers:     {workers}", flush=True)
    if config.insecure_http:
        banner = "!" * 78
        print(
            f"{banner}\n! --insecure-http: plain HTTP, tokens travel in clear text. For local development only.\n"
            f"{banner}",
            file=sys.stderr,
            flush=True,
        )
    tls: dict[str, Any] = {}
    if prepared.tls:
        from granian.constants import SSLProtocols

        tls = {"ssl_cert": prepared.tls.cert, "ssl_key": prepared.tls.key, "ssl_protocol_min": SSLProtocols.tls12}
    background = multiprocessing.get_context("fork").Process(
        target=run_background, args=(config,), name="guestpatch-background", daemon=True
    )
    background.start()  # forked before granian opens its socket or starts threads
    server = Server(
        "guestpatch.server:worker_app",  # shown in the process title; the loader below builds the app
        address=config.host,
        port=config.port,
        interface=Interfaces.ASGI,
        workers=workers,
        http=HTTPModes.http1,
        websockets=False,
        log_level=LogLevels(config.log_level),
        log_access=config.log_level == "debug",
        workers_kill_timeout=3,  # idle keep-alive and long-poll connections must not hold a shutdown
        respawn_failed_workers=True,
        **tls,
    )
    server.on_shutdown(functools.partial(_stop_process, background))
    try:
        server.serve(target_loader=functools.partial(worker_app, config), wrap_loader=False)
    finally:
        _stop_process(background)


def worker_count(config: Config) -> int:
    return config.workers or os.cpu_count() or 1


def worker_app(config: Config) -> FastAPI:
    """The application of one worker process: its own store engine and goal index, kept current."""
    logging.basicConfig(level=config.log_level.upper(), format=LOG_FORMAT)
    return create_app(_state(config), follow=True)


def run_background(config: Config) -> None:
    """The background process: goal-index catch-up, operation sweeper and orchestrator (leader election
    as for several replicas). Stops on SIGTERM or SIGINT, or when the server process is gone."""
    logging.basicConfig(level=config.log_level.upper(), format=LOG_FORMAT)
    parent = os.getppid()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    state = _state(config)
    state.start_background()
    try:
        while not stop.wait(1.0):
            if os.getppid() != parent:
                log.warning("the server process is gone; the background process stops")
                break
    finally:
        state.stop_background()
        state.db.dispose()


def _state(config: Config, db: Database | None = None, clock: Clock | None = None) -> AppState:
    """The services of one process; a new store engine and the system clock unless given."""
    catalogs = Catalogs(operator_images_file=config.image_catalog_file)
    return AppState(config=config, db=db or Database(config.store_url), clock=clock or SystemClock(), catalogs=catalogs)


def _stop_process(process: multiprocessing.process.BaseProcess) -> None:
    if process.is_alive():
        process.terminate()
        process.join(timeout=15)
    if process.is_alive():
        process.kill()
        process.join()


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
