"""Exactly one engine drives: leader election between control-plane processes sharing a store.

- PostgreSQL: a session advisory lock held on a dedicated connection. When the leader dies its
  connection closes, PostgreSQL releases the lock, and the next replica to try takes over (every
  replica tries every ``engine_interval`` seconds).
- SQLite (one host): a lease row renewed on every pass and taken over when it has expired.

Even a deposed leader that has not noticed yet cannot do harm: every engine commit is guarded by the
rollout's version (see :class:`guestpatch.store.rollouts.SqlRolloutRepository`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, insert, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from guestpatch.clock import Clock, agent_seconds
from guestpatch.store.db import Database
from guestpatch.store.tables import engine_leases

log = logging.getLogger(__name__)

ENGINE_LOCK_KEY = 0x67706E67  # "gpng"
LEASE = "engine"


class LeaderElection:
    def __init__(self, db: Database, clock: Clock, *, lease_seconds: float = 15.0) -> None:
        self.db = db
        self.clock = clock
        self.lease = agent_seconds(clock, lease_seconds)  # wall seconds: processes die in wall time
        self.identity = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._conn: Connection | None = None
        self._holds = False

    @property
    def is_leader(self) -> bool:
        return self._conn is not None if self.db.is_postgres else self._holds

    def try_lead(self) -> bool:
        """Become or stay the leader if possible; return whether this process leads now."""
        try:
            return self._try_postgres() if self.db.is_postgres else self._try_lease()
        except SQLAlchemyError as exc:
            log.warning("leader election failed: %s", exc)
            self.step_down()
            return False

    def _try_postgres(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except SQLAlchemyError:
                self.step_down()
                return False
        conn = self.db.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ENGINE_LOCK_KEY}).scalar()
        conn.commit()
        if got:
            self._conn = conn
            log.info("this process (%s) now drives the engine", self.identity)
            return True
        conn.close()
        return False

    def _try_lease(self) -> bool:
        now = self.clock.now()
        expires = now + self.lease
        with self.db.begin() as conn:
            lease = engine_leases.c
            moved = conn.execute(
                update(engine_leases)
                .where(lease.name == LEASE, (lease.holder == self.identity) | (lease.expires_at <= now))
                .values(holder=self.identity, expires_at=expires)
            )
            if moved.rowcount == 0:
                exists = conn.execute(select(lease.holder).where(lease.name == LEASE)).scalar()
                if exists is None:
                    try:
                        with conn.begin_nested():
                            conn.execute(insert(engine_leases).values(name=LEASE, holder=self.identity,
                                                                      expires_at=expires))
                    except IntegrityError:
                        self._holds = False
                        return False
                else:
                    if self._holds:
                        log.warning("the engine lease moved to %s; this process stops driving", exists)
                    self._holds = False
                    return False
        if not self._holds:
            log.info("this process (%s) now drives the engine", self.identity)
        self._holds = True
        return True

    def step_down(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ENGINE_LOCK_KEY})
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None
        if self._holds and not self.db.is_postgres:
            try:
                with self.db.begin() as conn:
                    conn.execute(update(engine_leases).where(engine_leases.c.holder == self.identity)
                                 .values(expires_at=self.clock.now()))
            except SQLAlchemyError:
                pass
        self._holds = False


class EngineRunner:
    """Runs ``work`` every ``interval`` seconds of wall time while this process is the leader."""

    def __init__(self, election: LeaderElection, work: Callable[[], Any], *, interval: float) -> None:
        self.election = election
        self.work = work
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="guestpatch-engine", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run a pass now (an operator action or a report arrived)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.election.step_down()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self.election.try_lead():
                try:
                    self.work()
                except Exception:  # the next pass retries; the store keeps everything consistent
                    log.exception("engine pass failed")
            self._wake.wait(self.interval)
            self._wake.clear()
