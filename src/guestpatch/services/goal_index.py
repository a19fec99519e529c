"""In-memory index for the agent check-in path: credential → VM, VM → goal-state ETag.

A goal-state poll whose ETag is current is answered from this index without touching the database.
The index is a cache of the store, kept current three ways:

- in-process: code that changes a goal state calls :meth:`GoalIndex.changed` after committing; on
  PostgreSQL that also sends ``NOTIFY guestpatch_goal`` to every other process following the store;
- catch-up: :meth:`GoalIndex.catch_up` reads every VM whose ``goal_seq`` moved past the last position
  seen (one query), run every second (:meth:`GoalIndex.follow`, or the server's background loop) and,
  on PostgreSQL, as soon as a ``NOTIFY`` arrives — so a change made by another worker process or
  replica wakes long-polls here at once on PostgreSQL, and within a second on SQLite;
- misses: an unknown credential is looked up in the store, so a machine enrolled through another
  worker or replica is served at once (unknown credentials are remembered briefly, lookups are capped).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Iterable

from sqlalchemy import select, text

from guestpatch.store import agents as agent_store
from guestpatch.store.db import Database
from guestpatch.store.tables import machine_credentials, virtual_machines

log = logging.getLogger(__name__)

#: PostgreSQL channel on which goal-state changes are announced.
CHANNEL = "guestpatch_goal"
#: Store lookups of unknown credentials running at once (per index); more wait for a slot.
MISS_LOOKUPS = 4
#: Unknown credentials remembered at most (the memory is cleared when full).
MAX_UNKNOWN = 100_000


class GoalIndex:
    def __init__(self, db: Database, *, negative_ttl: float = 1.0) -> None:
        self.db = db
        self._negative_ttl = negative_ttl
        self._lock = threading.Lock()
        self._miss_slots = threading.BoundedSemaphore(MISS_LOOKUPS)
        self._unknown: dict[str, float] = {}  # sha256(credential) -> monotonic time until which it is unknown
        self._vm_of: dict[str, int] = {}  # sha256(credential) -> VM row
        self._hashes_of: dict[int, set[str]] = {}  # VM row -> its credential hashes
        self._seq: dict[int, int] = {}  # VM row -> goal_seq
        self._position = 0
        self._waiters: dict[int, list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]] = {}
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None

    # ------------------------------------------------------------------ loading
    def load(self) -> None:
        """Read every credential and goal position (start-up)."""
        with self.db.connect() as conn:
            creds = agent_store.active_credentials(conn)
            t = virtual_machines.c
            seqs = {int(vm): int(seq) for vm, seq in conn.execute(select(t.id, t.goal_seq))}
            position = agent_store.current_goal_seq(conn)
        hashes_of: dict[int, set[str]] = {}
        for secret_hash, vm in creds.items():
            hashes_of.setdefault(vm, set()).add(secret_hash)
        with self._lock:
            self._vm_of = creds
            self._hashes_of = hashes_of
            self._seq = seqs
            self._position = position

    def catch_up(self) -> list[int]:
        """Apply goal changes committed since the last position seen (by any replica)."""
        with self._lock:
            after = self._position
        with self.db.connect() as conn:
            changes = agent_store.goal_seqs_since(conn, after)
            vms = [vm for vm, _ in changes]
            creds: dict[int, list[str]] = {vm: [] for vm in vms}
            if vms:
                c = machine_credentials.c
                rows = conn.execute(
                    select(c.secret_hash, c.vm).where(c.vm.in_(vms), c.revoked_at.is_(None))
                )
                for secret_hash, vm in rows:
                    creds[int(vm)].append(str(secret_hash))
        if not changes:
            return []
        with self._lock:
            for vm, seq in changes:
                self._seq[vm] = max(seq, self._seq.get(vm, 0))
                self._position = max(self._position, seq)
            for vm, hashes in creds.items():
                self._set_credentials(vm, hashes)
        self._wake(vms)
        return vms

    def changed(self, vms: Iterable[int]) -> None:
        """Called after a commit that moved these VMs' goal states: refresh them now, and on PostgreSQL
        tell the other processes following the store."""
        if not list(vms):
            return
        self.catch_up()
        if self.db.is_postgres:
            try:
                with self.db.connect() as conn:
                    conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
                    conn.commit()
            except Exception:  # the others still catch up within their interval
                log.warning("could not announce a goal-state change", exc_info=True)

    # ------------------------------------------------------------------ following the store
    def follow(self, *, interval: float = 1.0) -> None:
        """Keep this index current from a background thread: :meth:`catch_up` every ``interval``
        seconds and, on PostgreSQL, whenever another process announces a change."""
        if self._follower is not None:
            return
        self._stop.clear()
        target = self._follow_postgres if self.db.is_postgres else self._follow_polling
        self._follower = threading.Thread(target=target, args=(interval,), name="guestpatch-goal-index", daemon=True)
        self._follower.start()

    def stop(self) -> None:
        self._stop.set()
        if self._follower is not None:
            self._follower.join(timeout=10)
            self._follower = None

    def _follow_polling(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self._safe_catch_up()

    def _follow_postgres(self, interval: float) -> None:
        import psycopg

        from guestpatch.store.db import libpq_url

        while not self._stop.is_set():
            try:
                with psycopg.connect(libpq_url(self.db.url), autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._safe_catch_up()  # whatever changed while not listening
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=interval, stop_after=1):
                            pass
                        self._safe_catch_up()  # on a notification, and every interval without one
            except psycopg.Error:
                log.warning("listening for goal-state changes failed; retrying", exc_info=True)
                if self._stop.wait(interval):
                    return
                self._safe_catch_up()

    def _safe_catch_up(self) -> None:
        try:
            self.catch_up()
        except Exception:  # keep following; the next round retries
            log.exception("goal index catch-up failed")

    def forget(self, vm: int) -> None:
        with self._lock:
            self._seq.pop(vm, None)
            self._set_credentials(vm, [])
        self._wake([vm])

    def _set_credentials(self, vm: int, hashes: Iterable[str]) -> None:
        """Replace ``vm``'s credential hashes (caller holds the lock)."""
        for old in self._hashes_of.pop(vm, set()):
            self._vm_of.pop(old, None)
        new = set(hashes)
        if new:
            self._hashes_of[vm] = new
            for secret_hash in new:
                self._vm_of[secret_hash] = vm

    # ------------------------------------------------------------------ lookups (hot path)
    def known(self, credential: str) -> int | None:
        """The VM row of a machine credential this index holds, or None (memory only, never blocks)."""
        return self._vm_of.get(_digest(credential))

    def machine(self, credential: str) -> int | None:
        """The VM row of a machine credential, or None when the store does not know it either.

        A credential this index does not hold yet (issued by another worker or replica moments ago)
        is looked up in the store, so a valid credential is never refused. Blocks on a miss: call it
        from a worker thread. Unknown credentials are remembered for ``negative_ttl`` seconds and at
        most ``MISS_LOOKUPS`` store lookups run at once, so a flood of bad credentials costs little.
        """
        digest = _digest(credential)
        vm = self._vm_of.get(digest)
        if vm is not None:
            return vm
        now = time.monotonic()
        if self._unknown.get(digest, 0.0) > now:
            return None
        with self._miss_slots:
            vm = self._vm_of.get(digest)  # found meanwhile (catch-up or another lookup)
            if vm is not None:
                return vm
            with self.db.connect() as conn:
                c = machine_credentials.c
                found = conn.execute(
                    select(c.vm).where(c.secret_hash == digest, c.revoked_at.is_(None))
                ).scalar()
        with self._lock:
            if found is None:
                if len(self._unknown) >= MAX_UNKNOWN:
                    self._unknown.clear()
                self._unknown[digest] = time.monotonic() + self._negative_ttl
                return None
            self._vm_of[digest] = int(found)
            self._hashes_of.setdefault(int(found), set()).add(digest)
        return int(found)

    def etag(self, vm: int) -> str:
        return f'"{self._seq.get(vm, 0)}"'

    def observe(self, vm: int, etag: str) -> None:
        """Take ``vm``'s goal position from an ETag just read from the store (never moves backwards)."""
        digits = etag.strip('"')
        if digits.isdigit():
            with self._lock:
                self._seq[vm] = max(int(digits), self._seq.get(vm, 0))

    # ------------------------------------------------------------------ long-poll
    async def wait(self, vm: int, etag: str, seconds: float) -> bool:
        """Wait until ``vm``'s ETag differs from ``etag``; False on timeout.

        A wake-up that did not move the ETag (a catch-up that only brought this index up to the
        position the caller already had) goes back to waiting for the rest of the time.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            if self.etag(vm) != etag:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            future: asyncio.Future[None] = loop.create_future()
            with self._lock:
                self._waiters.setdefault(vm, []).append((loop, future))
            try:
                if self.etag(vm) != etag:
                    return True
                await asyncio.wait_for(future, remaining)
            except TimeoutError:
                return self.etag(vm) != etag
            finally:
                with self._lock:
                    waiters = self._waiters.get(vm, [])
                    if (loop, future) in waiters:
                        waiters.remove((loop, future))
                    if not waiters:
                        self._waiters.pop(vm, None)

    def _wake(self, vms: Iterable[int]) -> None:
        with self._lock:
            woken = [w for vm in vms for w in self._waiters.pop(vm, [])]
        for loop, future in woken:
            loop.call_soon_threadsafe(_resolve, future)


def _digest(credential: str) -> str:
    return hashlib.sha256(credential.encode("utf-8")).hexdigest()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
