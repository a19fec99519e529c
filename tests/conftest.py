"""Shared fixtures: a clean environment for every test, PostgreSQL discovery, artifact folder."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_URL = os.environ.get(
    "GUESTPATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's GUESTPATCH_* settings (keeps the test's own view explicit)."""
    for name in list(os.environ):
        if name.startswith("GUESTPATCH_") and name != "GUESTPATCH_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _postgres_reason() -> str | None:
    """None when PostgreSQL answers; otherwise the one-line reason to skip."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a runtime dependency
        return "psycopg is not installed"
    dsn = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable ({str(exc).strip().splitlines()[0]})"


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL URL; mandatory in CI (fails), skipped with a reason elsewhere."""
    reason = _postgres_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    admin_dsn = postgres_server_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"gp_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY')
    base, _, _ = postgres_server_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _migrated_postgres(postgres_server_url: str) -> Iterator[str]:
    """One migrated PostgreSQL database for the whole session (see ``postgres_clean_url``)."""
    import psycopg

    from guestpatch.store.db import Database

    admin_dsn = postgres_server_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"gp_session_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY')
    base, _, _ = postgres_server_url.rpartition("/")
    url = f"{base}/{name}"
    db = Database(url)
    db.migrate()
    db.dispose()
    try:
        yield url
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_clean_url(_migrated_postgres: str) -> str:
    """A migrated PostgreSQL database emptied for this test (faster than a new database per test)."""
    from sqlalchemy import create_engine, text

    from guestpatch.store.tables import metadata

    engine = create_engine(_migrated_postgres)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return _migrated_postgres


pytest_plugins = ["tests.server_fixtures"]
