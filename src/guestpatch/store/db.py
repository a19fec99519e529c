"""Opening the store: engines for SQLite (WAL) and PostgreSQL, migrations, and error mapping.

``Database`` is the one object the shell passes around; repositories take it (or a connection) as
an argument. SQLAlchemy errors are mapped to :class:`guestpatch.errors.StoreError` here and in the
repositories, never further out.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from guestpatch.errors import ConfigError, StoreError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Key of the PostgreSQL advisory lock that serialises migrations between replicas starting together.
MIGRATION_LOCK_KEY = 0x67707374  # "gpst"


class Database:
    """An engine plus the dialect facts the repositories need."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ConfigError(f"database URL {url!r} is not a valid SQLAlchemy URL", target="database_url") from exc
        self.url = url
        self.dialect = parsed.get_backend_name()
        if self.dialect not in {"sqlite", "postgresql"}:
            raise ConfigError(
                f"database {self.dialect!r} is not supported: use sqlite:///PATH or postgresql+psycopg://…",
                target="database_url",
            )
        if self.dialect == "postgresql" and parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            if database in {"", ":memory:"}:
                kwargs["poolclass"] = NullPool
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: Engine = create_engine(parsed, **kwargs)
        self._write_lock: WriteLock | None = None
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            if database and database != ":memory:":
                self._write_lock = WriteLock(Path(database + "-write.lock"))
                event.listen(self.engine, "before_cursor_execute", _take_write_lock)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction; SQLAlchemy errors leave as StoreError.

        On SQLite, writers are serialised by :class:`WriteLock` (threads and processes), from the
        transaction's first write statement until it has committed or rolled back.
        """
        try:
            if self._write_lock is None:
                with self.engine.begin() as conn:
                    yield conn
            else:
                with self._write_lock.scope() as scope, self.engine.begin() as conn:
                    conn.info[_WRITE_SCOPE] = scope
                    try:
                        yield conn
                    finally:
                        conn.info.pop(_WRITE_SCOPE, None)
        except SQLAlchemyError as exc:
            raise StoreError(f"the database failed: {_describe(exc)}") from exc

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads (autocommit semantics are the caller's)."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"the database failed: {_describe(exc)}") from exc

    def migrate(self) -> None:
        """Apply every Alembic migration (serialised across replicas on PostgreSQL)."""
        from alembic import command
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as conn:
                if self.is_postgres:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except SQLAlchemyError as exc:
            raise StoreError(f"applying migrations failed: {_describe(exc)}") from exc

    def ping(self) -> None:
        with self.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        if self._write_lock is not None:
            self._write_lock.close()


class WriteLock:
    """Serialises SQLite writers between threads (a mutex) and processes (an ``flock``).

    SQLite allows one writer at a time. Without this lock, a writer that finds the database locked
    sleeps in SQLite's busy handler (1, 2, 5, 10 … ms) while the holder needs well under a
    millisecond, so concurrent writes (agent reports from many threads and worker processes) collapse
    to a few hundred per second. Threads of one process queue on a mutex (woken one at a time); only
    the holder takes the ``flock`` on a file beside the database, which the kernel hands to another
    process at once. :meth:`Database.begin` takes it lazily, at the transaction's first statement
    that is not a read (when SQLite itself would take its write lock), and releases it after the
    commit or rollback, so the reads that usually open a transaction run outside it. Re-entrant
    within a thread.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mutex = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = 0

    def acquire(self) -> None:
        self._mutex.acquire()
        try:
            if self._depth == 0:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._mutex.release()
            raise
        self._depth += 1

    def release(self) -> None:
        try:
            self._depth -= 1
            if self._depth == 0:
                fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._mutex.release()

    @contextmanager
    def scope(self) -> Iterator[WriteScope]:
        """A transaction's claim: taken on its first write (:meth:`WriteScope.take`), released on exit."""
        scope = WriteScope(self)
        try:
            yield scope
        finally:
            if scope.taken:
                scope.taken = False
                self.release()

    def _file(self) -> int:
        """This process's open lock file (a forked child opens its own: flocks belong to open files)."""
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def close(self) -> None:
        with self._mutex:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None


class WriteScope:
    def __init__(self, lock: WriteLock) -> None:
        self.lock = lock
        self.taken = False

    def take(self) -> None:
        if not self.taken:
            self.lock.acquire()
            self.taken = True


_WRITE_SCOPE = "guestpatch_write_scope"
_READS = ("SELECT", "PRAGMA", "EXPLAIN")


def _take_write_lock(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    """``before_cursor_execute``: inside :meth:`Database.begin`, a statement that may write takes the lock."""
    scope: WriteScope | None = conn.info.get(_WRITE_SCOPE)
    if scope is not None and not scope.taken and not statement.lstrip()[:7].upper().startswith(_READS):
        scope.take()


def libpq_url(url: str) -> str:
    """The libpq form (``postgresql://…``) of a SQLAlchemy PostgreSQL URL, for plain psycopg connections."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _describe(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    text_ = str(orig if orig is not None else exc).strip().splitlines()
    return text_[0] if text_ else type(exc).__name__
