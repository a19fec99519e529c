"""SQLite writers queue on a kernel lock instead of sleeping in SQLite's busy handler.

``Database.begin()`` on SQLite takes an ``flock`` on ``DB-write.lock`` at the transaction's first
statement that may write and releases it after the commit or rollback. Another process sees the lock
with a non-blocking ``flock`` of its own on the same file.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from guestpatch.errors import StoreError
from guestpatch.store.db import Database
from guestpatch.store.tables import counters


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'store.db'}")
    database.migrate()
    with database.begin() as conn:
        conn.execute(insert(counters).values(name="test", value=0))
    yield database
    database.dispose()


def lock_file(db: Database) -> Path:
    return Path(str(db.engine.url.database) + "-write.lock")


def held_by_someone_else(path: Path) -> bool:
    """Whether another open file holds the flock (as another process would see it)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_the_lock_is_taken_at_the_first_write_and_released_after_commit(db: Database) -> None:
    """Reads at the start of a transaction do not hold up other writers; the first write does, until the
    commit."""
    path = lock_file(db)
    with db.begin() as conn:
        conn.execute(select(counters.c.value))
        assert not held_by_someone_else(path)
        conn.execute(update(counters).values(value=counters.c.value + 1))
        assert held_by_someone_else(path)
        conn.execute(select(counters.c.value))
        assert held_by_someone_else(path)
    assert not held_by_someone_else(path)


def test_the_lock_is_released_when_the_transaction_fails(db: Database) -> None:
    """A failed write transaction rolls back and leaves the lock free."""
    path = lock_file(db)

    def failing_transaction() -> None:
        with db.begin() as conn:
            conn.execute(update(counters).values(value=counters.c.value + 1))
            conn.execute(insert(counters).values(name="test", value=1))  # primary key taken

    with pytest.raises(StoreError):
        failing_transaction()
    assert not held_by_someone_else(path)
    with db.connect() as conn:
        assert conn.execute(select(counters.c.value)).scalar() == 0


def test_a_reading_connection_takes_no_lock(db: Database) -> None:
    """``connect()`` (reads) never takes the writers' lock."""
    with db.connect() as conn:
        conn.execute(select(counters.c.value))
        assert not held_by_someone_else(lock_file(db))


def test_writers_in_many_threads_all_commit_and_none_is_lost(db: Database) -> None:
    """Read-modify-write transactions from 8 threads, 50 each, leave the counter at exactly 400."""

    def work() -> None:
        for _ in range(50):
            with db.begin() as conn:
                conn.execute(update(counters).values(value=counters.c.value + 1))
                value = conn.execute(select(counters.c.value)).scalar_one()
                conn.execute(update(counters).values(value=value))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with db.connect() as conn:
        assert conn.execute(select(counters.c.value)).scalar() == 400


CHILD = """
import sys
from sqlalchemy import update
from guestpatch.store.db import Database
from guestpatch.store.tables import counters
with Database(sys.argv[1]).begin() as conn:
    conn.execute(update(counters).values(value=counters.c.value * 10))
with open(sys.argv[2], "a") as handle:
    handle.write("child\\n")
"""


def test_another_process_waits_for_the_lock(db: Database, tmp_path: Path) -> None:
    """Another process's write waits while this process holds the lock, then commits after it."""
    order = tmp_path / "order"
    with db.begin() as conn:
        conn.execute(update(counters).values(value=counters.c.value + 1))
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(db.engine.url), str(order)])
        threading.Event().wait(2.0)  # time for the child to start and block on the lock
        with order.open("a") as handle:
            handle.write("parent\n")
    assert child.wait(timeout=60) == 0
    assert order.read_text().split() == ["parent", "child"]
    with db.connect() as conn:
        assert conn.execute(select(counters.c.value)).scalar() == 10
