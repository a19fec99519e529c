"""What the request handlers share: configuration, store, clock, catalogs, services, background work."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from guestpatch.clock import Clock
from guestpatch.config import Config
from guestpatch.services.agents import AgentService
from guestpatch.services.catalogs import Catalogs
from guestpatch.services.goal_index import GoalIndex
from guestpatch.services.instance import InstanceViews
from guestpatch.services.patch_ops import PatchOperations
from guestpatch.services.vms import VmService
from guestpatch.store import tokens as token_store
from guestpatch.store.db import Database
from guestpatch.store.tokens import TokenCache
from guestpatch.store.vms import VmRecord

log = logging.getLogger(__name__)


@dataclass
class AppState:
    config: Config
    db: Database
    clock: Clock
    catalogs: Catalogs
    tokens: TokenCache = field(init=False)
    index: GoalIndex = field(init=False)
    vms: VmService = field(init=False)
    patch_ops: PatchOperations = field(init=False)
    agents: AgentService = field(init=False)
    views: InstanceViews = field(init=False)
    _stop: threading.Event = field(init=False, default_factory=threading.Event)
    _threads: list[threading.Thread] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        def load() -> dict[str, token_store.TokenInfo]:
            with self.db.connect() as conn:
                return token_store.active(conn)

        self.tokens = TokenCache(load)
        self.index = GoalIndex(self.db)
        self.vms = VmService(
            self.db, self.catalogs, self.config, self.clock,
            on_goal_change=self.index.changed, on_forget=self.index.forget,
        )
        self.patch_ops = PatchOperations(self.db, self.config, self.clock, on_goal_change=self.index.changed)
        self.agents = AgentService(self.db, self.config, self.clock, self.vms, self.index)
        self.views = InstanceViews(self.db, self.config, self.clock, self.catalogs)

    def instance_view(self, record: VmRecord) -> dict[str, Any]:
        return self.views.instance_view(record)

    # ------------------------------------------------------------------ background work
    def start_background(self, *, interval: float = 1.0) -> None:
        """Load the goal index and run the catch-up and operation sweeper every ``interval`` seconds."""
        self.index.load()
        self._stop.clear()
        thread = threading.Thread(target=self._loop, args=(interval,), name="guestpatch-background", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop_background(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            for task in (self.index.catch_up, self.patch_ops.sweep):
                try:
                    task()
                except Exception:  # keep the loop alive; the next round retries
                    log.exception("background task %s failed", getattr(task, "__name__", task))


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.guestpatch
    return state
