"""Start the control plane: data dir, store and migrations, admin token, TLS, the HTTPS server.

The ``guestpatch serve`` command itself (flags generated from the Config declarations) is in
:mod:`guestpatch.serve_command`, which imports this module only when the command runs.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from pathlib import Path

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
    catalogs = Catalogs(operator_images_file=config.image_catalog_file)
    state = AppState(config=config, db=db, clock=clock, catalogs=catalogs)
    return Prepared(config=config, state=state, token_path=token_path, tls=tls)


def serve(config: Config) -> None:
    import uvicorn

    logging.basicConfig(level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    prepared = prepare(config)
    scheme = "http" if config.insecure_http else "https"
    host = f"[{config.host}]" if ":" in config.host else config.host
    print(f"guestpatch {scheme}://{host}:{config.port}", flush=True)
    print(f"  admin token: {prepared.token_path}", flush=True)
    if prepared.tls and prepared.tls.ca:
        print(f"  CA to trust: {prepared.tls.ca}", flush=True)
    print(f"  store:       {_redact(config.store_url)}", flush=True)
    if config.insecure_http:
        banner = "!" * 78
        print(
            f"{banner}\n! --insecure-http: plain HTTP, tokens travel in clear text. For local development only.\n"
            f"{banner}",
            file=sys.stderr,
            flush=True,
        )
    app = create_app(prepared.state, background=True)
    uv = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        ssl_certfile=str(prepared.tls.cert) if prepared.tls else None,
        ssl_keyfile=str(prepared.tls.key) if prepared.tls else None,
        log_level=config.log_level,
        access_log=config.log_level == "debug",
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=3,  # idle keep-alive and long-poll connections must not hold a shutdown
    )
    uvicorn.Server(uv).run()


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
