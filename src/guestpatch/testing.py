"""Test doubles shipped with the package, for the test suite and the simulator.

Each is a real implementation of a port that keeps its state in memory; none patches anything.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """A :class:`guestpatch.clock.Clock` that moves only when told (or when slept on)."""

    rate = 1.0

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 13, 0, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=seconds))

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time does not run backwards")
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FakeClock needs timezone-aware times")
        if when < self._now:
            raise ValueError("time does not run backwards")
        self._now = when.astimezone(UTC)


# ---------------------------------------------------------------- orchestrator ports
from collections.abc import Sequence  # noqa: E402

from guestpatch.core.fleet import Fleet  # noqa: E402
from guestpatch.core.records import (  # noqa: E402
    AgentReport,
    AttemptRecord,
    Command,
    MachineRecord,
    RolloutRecord,
)
from guestpatch.errors import Conflict, NotFound  # noqa: E402


class InMemoryRolloutRepository:
    """A :class:`guestpatch.engine.ports.RolloutRepository` in memory.

    Like a database it keeps copies: the rollout record is stored as its JSON document, so later
    changes to the engine's live objects do not leak in. ``commit`` checks before it writes, so a
    unit is applied completely or not at all.
    """

    def __init__(self) -> None:
        self._rollouts: dict[str, dict[str, object]] = {}
        self._machines: dict[str, dict[str, MachineRecord]] = {}
        self._attempts: dict[str, list[AttemptRecord]] = {}
        self._outbox: dict[str, Command] = {}
        self._dispatched: set[str] = set()
        self._consumed: set[str] = set()
        self.commits = 0

    def create(self, rollout: RolloutRecord, machines: Sequence[MachineRecord], commands: Sequence[Command]) -> None:
        if rollout.id in self._rollouts:
            raise Conflict(f"rollout {rollout.id} exists", target=rollout.id)
        self._rollouts[rollout.id] = rollout.to_dict()
        self._machines[rollout.id] = {m.machine.name: m for m in machines}
        self._attempts[rollout.id] = []
        for c in commands:
            self._outbox.setdefault(c.key, c)

    def load(self, rollout_id: str) -> tuple[RolloutRecord, list[MachineRecord]]:
        doc = self._rollouts.get(rollout_id)
        if doc is None:
            raise NotFound(f"rollout {rollout_id} does not exist", target=rollout_id)
        return RolloutRecord.from_dict(dict(doc)), list(self._machines[rollout_id].values())

    def list_rollouts(self) -> list[RolloutRecord]:
        return [RolloutRecord.from_dict(dict(doc)) for doc in self._rollouts.values()]

    def commit(self, unit: object) -> None:
        from guestpatch.engine.ports import UnitOfWork

        assert isinstance(unit, UnitOfWork)
        rollout = unit.rollout
        stored = self._rollouts.get(rollout.id)
        if stored is None:
            raise NotFound(f"rollout {rollout.id} does not exist", target=rollout.id)
        if stored["version"] != unit.expected_version or rollout.version != unit.expected_version + 1:
            raise Conflict(
                f"rollout {rollout.id} is at version {stored['version']}, not {unit.expected_version}",
                target=rollout.id,
            )
        self._rollouts[rollout.id] = rollout.to_dict()
        machines = self._machines[rollout.id]
        for m in unit.machines:
            machines[m.machine.name] = m
        self._attempts[rollout.id].extend(unit.attempts)
        for c in unit.commands:
            self._outbox.setdefault(c.key, c)
        self._consumed.update(unit.consumed_reports)
        self.commits += 1

    def outbox(self, limit: int = 10_000) -> list[Command]:
        out = []
        for key, command in self._outbox.items():
            if key not in self._dispatched:
                out.append(command)
                if len(out) >= limit:
                    break
        return out

    def mark_dispatched(self, keys: Sequence[str]) -> None:
        for key in keys:
            if key in self._outbox:
                self._dispatched.add(key)
        if len(self._dispatched) == len(self._outbox):
            self._outbox.clear()
            self._dispatched.clear()

    def consumed(self, report_ids: Sequence[str]) -> set[str]:
        return {r for r in report_ids if r in self._consumed}

    def attempts(self, rollout_id: str, offset: int = 0) -> list[AttemptRecord]:
        return self._attempts.get(rollout_id, [])[offset:]


class InMemoryAgentGateway:
    """A :class:`guestpatch.engine.ports.AgentGateway` in memory, for tests and the simulator.

    ``send`` drops a key it has seen (idempotency); the agents' side takes new commands with
    :meth:`take_commands` and hands results in with :meth:`deliver`.
    """

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self._new: list[Command] = []
        self._reports: dict[str, AgentReport] = {}
        self.duplicates = 0

    def send(self, command: Command) -> None:
        if command.key in self.seen:
            self.duplicates += 1
            return
        self.seen.add(command.key)
        self._new.append(command)

    def take_commands(self) -> list[Command]:
        out, self._new = self._new, []
        return out

    def deliver(self, report: AgentReport) -> None:
        self._reports.setdefault(report.id, report)

    def reports(self, limit: int = 10_000) -> list[AgentReport]:
        out = []
        for report in self._reports.values():
            out.append(report)
            if len(out) >= limit:
                break
        return out

    def acknowledge(self, report_ids: Sequence[str]) -> None:
        for report_id in report_ids:
            self._reports.pop(report_id, None)


class StaticFleetSource:
    """A :class:`guestpatch.engine.ports.FleetSource` that always answers the same fleet."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet

    def snapshot(self) -> Fleet:
        return self.fleet
