"""Exactly one engine drives: leader election in-process, and real processes on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from guestpatch.services.leader import LeaderElection
from guestpatch.store.db import Database
from guestpatch.testing import FakeClock
from tests.server_fixtures import LiveServer


def test_sqlite_lease_has_one_holder_and_moves_when_it_expires(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'lease.db'}")
    db.migrate()
    clock = FakeClock()
    first, second = LeaderElection(db, clock, lease_seconds=15), LeaderElection(db, clock, lease_seconds=15)
    assert first.try_lead()
    assert not second.try_lead()
    clock.advance(timedelta(seconds=10))
    assert first.try_lead()  # renewed
    clock.advance(timedelta(seconds=10))
    assert not second.try_lead()  # still within the renewed lease
    clock.advance(timedelta(seconds=16))  # the first stopped renewing (it died)
    assert second.try_lead()
    assert not first.try_lead()


def test_sqlite_lease_is_released_on_step_down(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'lease.db'}")
    db.migrate()
    clock = FakeClock()
    first, second = LeaderElection(db, clock), LeaderElection(db, clock)
    assert first.try_lead()
    first.step_down()
    assert second.try_lead()


@pytest.mark.postgres
def test_postgres_advisory_lock_has_one_holder_and_is_freed_when_its_connection_dies(postgres_url: str) -> None:
    db_a, db_b = Database(postgres_url), Database(postgres_url)
    db_a.migrate()
    clock = FakeClock()
    first, second = LeaderElection(db_a, clock), LeaderElection(db_b, clock)
    assert first.try_lead()
    assert not second.try_lead()
    assert first.try_lead()  # still holding
    db_a.dispose()  # the leader's process dies: its connections close
    if first._conn is not None:  # the socket died with the process
        first._conn.invalidate()
    assert second.try_lead()
    db_b.dispose()


@pytest.mark.postgres
def test_a_second_control_plane_takes_over_within_30_seconds(
    postgres_url: str, start_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    """Two real `guestpatch serve` processes on one PostgreSQL: one drives; kill it, the other drives."""
    args = ("--database-url", postgres_url, "--engine-interval", "1")
    a = start_server(*args, data_dir=tmp_path / "a")
    b = start_server(*args, data_dir=tmp_path / "b")
    leader, follower = _wait_for_leader([a, b], timeout=20)
    assert "now drives the engine" not in follower.log.read_text()
    leader.kill()
    killed = time.monotonic()
    deadline = killed + 30
    while "now drives the engine" not in follower.log.read_text():
        assert time.monotonic() < deadline, "no replica took over within 30 s:\n" + follower.log.read_text()
        time.sleep(0.5)
    with follower.client() as client:  # and it serves
        assert client.get("/v1/rollouts").status_code == 200
    assert "Traceback" not in follower.log.read_text()


def _wait_for_leader(servers: list[LiveServer], *, timeout: float) -> tuple[LiveServer, LiveServer]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        leading = [s for s in servers if "now drives the engine" in s.log.read_text()]
        if len(leading) == 1:
            return leading[0], next(s for s in servers if s is not leading[0])
        assert len(leading) < 2, "two processes drive the engine at once"
        time.sleep(0.3)
    raise AssertionError("no process became the leader")
