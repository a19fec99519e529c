"""The orchestrator shell: load -> core -> persist -> dispatch, one tick at a time.

``Engine.tick`` reads the agents' reports, applies those not yet applied to each active rollout
(``core.rollout.step``), lets time pass (``Tick``), writes everything that changed as one
:class:`~guestpatch.engine.ports.UnitOfWork` per rollout, acknowledges the reports, and only then
sends the outbox's commands. Killing the process at any point therefore loses nothing (reports are
acknowledged after the commit that applied them; commands are sent after the commit that created
them) and does nothing twice (applied report ids are remembered in the same commit; commands carry
idempotency keys and are re-sent, never re-created). The engine reads time only from its
:class:`~guestpatch.clock.Clock`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from guestpatch.clock import Clock
from guestpatch.core import explain, rollout, strategies
from guestpatch.core.attempts import next_wake
from guestpatch.core.cadence import ReleaseSchedule
from guestpatch.core.policy import Policy
from guestpatch.core.records import AgentReport, RolloutRecord, RolloutStatus
from guestpatch.core.runtime import RolloutState
from guestpatch.engine.ports import AgentGateway, FleetSource, RolloutRepository, UnitOfWork
from guestpatch.errors import Conflict, InvalidInput

_DONE = (RolloutStatus.COMPLETED, RolloutStatus.CANCELLED)


@dataclass(frozen=True)
class TickResult:
    """What one tick did, and when the next tick is useful without new reports."""

    reports: int
    commands: int
    next_wake: datetime | None


class Engine:
    """Drives every active rollout. One engine per store drives at a time (the leader)."""

    def __init__(
        self, *, repository: RolloutRepository, gateway: AgentGateway, clock: Clock,
        fleet_source: FleetSource | None = None,
    ) -> None:
        self.repository = repository
        self.gateway = gateway
        self.clock = clock
        self.fleet_source = fleet_source
        self._states: dict[str, RolloutState] = {}

    # ------------------------------------------------------------------ rollouts
    def start_rollout(
        self, *, release: str, policy: Policy | None = None, strategy: str = "availability-first",
        rollout_id: str | None = None, bad_release: bool = False,
    ) -> str:
        """Plan a release over the fleet's current topology, store it, and ask the canary to assess."""
        if self.fleet_source is None:
            raise InvalidInput("this engine has no fleet source to plan from", target="fleet")
        rollout_id = rollout_id or uuid.uuid4().hex
        if "/" in rollout_id:
            raise InvalidInput("a rollout id cannot contain '/'", target="rolloutId")
        now = self.clock.now()
        policy = policy or Policy()
        fleet = self.fleet_source.snapshot()
        plan = strategies.plan(strategy, fleet, policy, now)
        record, machines = rollout.new_rollout(
            rollout_id=rollout_id, release=release, fleet=fleet, plan=plan, policy=policy, now=now,
            bad_release=bad_release,
        )
        state, commands = rollout.start(record, machines, now)
        record.version = 1
        self.repository.create(record, state.machine_records(range(state.n)), commands)
        state.take_changes()
        state.record_dirty = False
        self._states[rollout_id] = state
        self._dispatch()
        return rollout_id

    def start_due_release(self, schedule: ReleaseSchedule, *, policy: Policy | None = None) -> str | None:
        """Start this month's release if its date has come and no rollout carries it yet (returns its id).

        The release is named ``YYYY-MM`` after its scheduled date, which is also the rollout id, so two
        engines (or a restart) cannot start it twice: the second ``create`` is a Conflict.
        """
        now = self.clock.now()
        start = schedule.release_of(now)
        release = f"{start:%Y-%m}"
        if any(r.release == release for r in self.repository.list_rollouts()):
            return None
        try:
            return self.start_rollout(release=release, policy=policy, rollout_id=f"release-{release}")
        except Conflict:
            return None

    def preview(self, *, policy: Policy | None = None, strategy: str = "availability-first") -> dict[str, Any]:
        """The phases and waves the next rollout would have over the current fleet (``rollout plan``)."""
        if self.fleet_source is None:
            raise InvalidInput("this engine has no fleet source to plan from", target="fleet")
        fleet = self.fleet_source.snapshot()
        plan = strategies.plan(strategy, fleet, policy or Policy(), self.clock.now())
        return explain.describe_plan(plan, fleet)

    def state(self, rollout_id: str) -> RolloutState:
        """The rollout's state, loaded from the repository when this engine has not seen it."""
        found = self._states.get(rollout_id)
        if found is None:
            record, machines = self.repository.load(rollout_id)
            found = self._states[rollout_id] = rollout.load(record, machines)
        return found

    def halt(self, rollout_id: str, *, by: str, reason: str) -> None:
        self._act(rollout_id, rollout.Halt(by=by, reason=reason))

    def resume(self, rollout_id: str, *, by: str) -> None:
        self._act(rollout_id, rollout.Resume(by=by))

    def cancel(self, rollout_id: str, *, by: str) -> None:
        self._act(rollout_id, rollout.Cancel(by=by))

    def explain(self, rollout_id: str, machine: str) -> explain.Explanation:
        """Why ``machine`` is not patched yet (or what happened to it)."""
        state = self.state(rollout_id)
        return explain.why(state, state.fleet.index_of(machine), self.clock.now())

    def _act(self, rollout_id: str, event: rollout.Event) -> None:
        state = self.state(rollout_id)
        self._step(state, event, self.clock.now())
        self._commit(state, [])
        self._dispatch()

    # ------------------------------------------------------------------ the loop
    def tick(self, now: datetime | None = None) -> TickResult:
        """One pass: reports in, time passes, one unit per rollout, then commands out."""
        now = now or self.clock.now()
        reports = self.gateway.reports()
        seen = self.repository.consumed([r.id for r in reports])
        by_rollout: dict[str, list[AgentReport]] = {}
        for report in reports:
            if report.id not in seen:
                by_rollout.setdefault(report.key.split("/", 1)[0], []).append(report)
        stored = self.repository.list_rollouts()
        ids = {r.id for r in stored if r.status not in _DONE} | ({r.id for r in stored} & set(by_rollout))
        wakes: list[datetime] = []
        for rollout_id in sorted(ids):
            state = self.state(rollout_id)
            applied = by_rollout.get(rollout_id, [])
            for report in applied:
                self._step(state, rollout.Report(report), now)
            self._step(state, rollout.Tick(), now)
            self._commit(state, [r.id for r in applied])
            wake = next_wake(state)
            if wake is not None:
                wakes.append(wake)
        self.gateway.acknowledge([r.id for r in reports])
        sent = self._dispatch()
        return TickResult(reports=len(reports), commands=sent, next_wake=min(wakes) if wakes else None)

    def _step(self, state: RolloutState, event: rollout.Event, now: datetime) -> None:
        rollout.step(state, event, now)

    def _commit(self, state: RolloutState, consumed: list[str]) -> None:
        machines, commands, attempts = state.take_changes()
        if not (machines or commands or attempts or consumed or state.record_dirty):
            return
        expected = state.record.version
        state.record.version = expected + 1
        unit = UnitOfWork(rollout=state.record, expected_version=expected, machines=machines,
                          commands=commands, attempts=attempts, consumed_reports=consumed)
        try:
            self.repository.commit(unit)
        except Conflict:
            self._states.pop(state.id, None)  # someone else wrote: forget our copy, reload next time
            raise
        except BaseException:
            self._states.pop(state.id, None)
            raise
        state.record_dirty = False

    def _dispatch(self) -> int:
        sent = 0
        while True:
            batch = self.repository.outbox()
            if not batch:
                return sent
            for command in batch:
                self.gateway.send(command)
            self.repository.mark_dispatched([c.key for c in batch])
            sent += len(batch)

    def rollouts(self) -> list[RolloutRecord]:
        return self.repository.list_rollouts()
