"""What the request handlers share: configuration, store, clock, catalogs, services, background work."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request

from guestpatch.clock import Clock
from guestpatch.config import Config, parse_release_day
from guestpatch.core.cadence import ReleaseSchedule
from guestpatch.core.policy import Policy
from guestpatch.errors import ConfigError, InvalidInput
from guestpatch.services.agents import AgentService
from guestpatch.services.catalogs import Catalogs
from guestpatch.services.goal_index import GoalIndex
from guestpatch.services.instance import InstanceViews
from guestpatch.services.leader import EngineRunner, LeaderElection
from guestpatch.services.orchestrator import Orchestrator
from guestpatch.services.patch_ops import PatchOperations
from guestpatch.services.vms import VmService
from guestpatch.store import tokens as token_store
from guestpatch.store.db import Database
from guestpatch.store.tokens import TokenCache
from guestpatch.store.vms import VmRecord

log = logging.getLogger(__name__)

#: Seconds (wall time) between two looks at the fleet for the month's release and due periodic assessments.
PERIODIC_EVERY = 60.0


def load_policy_file(path: Path) -> Policy:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the rollout policy file {path}: {exc}", target="rollout_policy_file") from exc
    try:
        return Policy.from_dict(data)
    except InvalidInput as exc:
        raise ConfigError(
            f"the rollout policy file {path} is invalid at '{exc.target}': {exc.message}", target="rollout_policy_file"
        ) from exc


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
    orchestrator: Orchestrator = field(init=False)
    runner: EngineRunner | None = field(init=False, default=None)
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
        ordinal, weekday, offset = parse_release_day(self.config.release_day)
        policy = Policy()
        if self.config.rollout_policy_file is not None:
            policy = load_policy_file(self.config.rollout_policy_file)
        self.orchestrator = Orchestrator(
            self.db, self.config, self.clock, self.catalogs, self.patch_ops,
            schedule=ReleaseSchedule(weekday=weekday, ordinal=ordinal, offset_days=offset), policy=policy,
        )

    def instance_view(self, record: VmRecord) -> dict[str, Any]:
        return self.views.instance_view(record)

    # ------------------------------------------------------------------ background work
    def start_background(self, *, interval: float = 1.0) -> None:
        """Load the goal index; run the catch-up and the operation sweeper every ``interval`` seconds,
        and the orchestrator (when this process wins the leader election) every ``engine_interval``."""
        self.index.load()
        self._stop.clear()
        thread = threading.Thread(target=self._loop, args=(interval,), name="guestpatch-background", daemon=True)
        thread.start()
        self._threads.append(thread)
        if self.config.engine:
            self.runner = EngineRunner(
                LeaderElection(self.db, self.clock), self.engine_pass, interval=self.config.engine_interval
            )
            self.runner.start()

    def stop_background(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        if self.runner is not None:
            self.runner.stop()
            self.runner = None

    def wake_engine(self) -> None:
        if self.runner is not None:
            self.runner.wake()

    _last_periodic: float = 0.0

    def engine_pass(self) -> None:
        """One pass of the leader: the month's release when due, periodic assessments, then a tick."""
        if time.monotonic() - self._last_periodic >= PERIODIC_EVERY:
            self._last_periodic = time.monotonic()
            if self.config.auto_release:
                self.orchestrator.start_due_release()
            self.orchestrator.queue_periodic_assessments()
        self.orchestrator.tick()

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
