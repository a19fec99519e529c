"""In-memory index for the agent check-in path: credential → VM, VM → goal-state ETag.

A goal-state poll whose ETag is current is answered from this index without touching the database.
The index is a cache of the store, kept current three ways:

- in-process: code that changes a goal state calls :meth:`GoalIndex.changed` after committing;
- catch-up: :meth:`GoalIndex.catch_up` reads every VM whose ``goal_seq`` moved past the last position
  seen (one indexed query), run every second by the server and on PostgreSQL ``NOTIFY``;
- misses: an unknown credential is looked up in the store (rate-limited), so a machine enrolled through
  another replica is served at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Iterable

from sqlalchemy import select

from guestpatch.store import agents as agent_store
from guestpatch.store.db import Database
from guestpatch.store.tables import machine_credentials, virtual_machines


class GoalIndex:
    def __init__(self, db: Database, *, miss_interval: float = 0.2) -> None:
        self.db = db
        self._miss_interval = miss_interval
        self._lock = threading.Lock()
        self._vm_of: dict[str, int] = {}  # sha256(credential) -> VM row
        self._hashes_of: dict[int, set[str]] = {}  # VM row -> its credential hashes
        self._seq: dict[int, int] = {}  # VM row -> goal_seq
        self._position = 0
        self._last_miss = float("-inf")
        self._waiters: dict[int, list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]] = {}

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
        """Called after a commit that moved these VMs' goal states: refresh them now."""
        if list(vms):
            self.catch_up()

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
    def machine(self, credential: str) -> int | None:
        """The VM row of a machine credential, or None."""
        digest = hashlib.sha256(credential.encode("utf-8")).hexdigest()
        vm = self._vm_of.get(digest)
        if vm is not None:
            return vm
        now = time.monotonic()
        with self._lock:
            if now - self._last_miss < self._miss_interval:
                return None
            self._last_miss = now
        with self.db.connect() as conn:
            c = machine_credentials.c
            found = conn.execute(
                select(c.vm).where(c.secret_hash == digest, c.revoked_at.is_(None))
            ).scalar()
        if found is None:
            return None
        with self._lock:
            self._vm_of[digest] = int(found)
            self._hashes_of.setdefault(int(found), set()).add(digest)
        return int(found)

    def etag(self, vm: int) -> str:
        return f'"{self._seq.get(vm, 0)}"'

    # ------------------------------------------------------------------ long-poll
    async def wait(self, vm: int, etag: str, seconds: float) -> bool:
        """Wait until ``vm``'s ETag differs from ``etag``; False on timeout."""
        if self.etag(vm) != etag:
            return True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._waiters.setdefault(vm, []).append((loop, future))
        try:
            if self.etag(vm) != etag:
                return True
            await asyncio.wait_for(future, seconds)
            return True
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


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
