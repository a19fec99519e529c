"""The engine's ports: everything it needs from the outside world, as small Protocols.

In-memory implementations ship in :mod:`guestpatch.testing` (``InMemoryRolloutRepository``,
``InMemoryAgentGateway``, ``StaticFleetSource``); the store implements :class:`RolloutRepository` on
SQLAlchemy and runs ``tests/contract/test_rollout_repository.py`` against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from guestpatch.core.fleet import Fleet
from guestpatch.core.records import AgentReport, AttemptRecord, Command, MachineRecord, RolloutRecord


@dataclass
class UnitOfWork:
    """One engine step: written all or nothing (one database transaction).

    ``rollout.version`` must equal ``expected_version + 1``; the repository refuses the unit with
    :class:`guestpatch.errors.Conflict` when the stored version is not ``expected_version`` (another
    engine wrote in between), so a deposed leader cannot overwrite its successor.
    """

    rollout: RolloutRecord
    expected_version: int
    machines: list[MachineRecord] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    attempts: list[AttemptRecord] = field(default_factory=list)
    consumed_reports: list[str] = field(default_factory=list)


class RolloutRepository(Protocol):
    """Durable rollout state, the command outbox, and the set of applied report ids."""

    def create(self, rollout: RolloutRecord, machines: Sequence[MachineRecord], commands: Sequence[Command]) -> None:
        """Store a new rollout (version as given), its machines (order kept) and first commands; one unit.

        Raises :class:`guestpatch.errors.Conflict` if a rollout with that id exists.
        """
        ...

    def load(self, rollout_id: str) -> tuple[RolloutRecord, list[MachineRecord]]:
        """The rollout and its machines in creation order; :class:`guestpatch.errors.NotFound` if absent."""
        ...

    def list_rollouts(self) -> list[RolloutRecord]:
        """Every rollout, oldest first."""
        ...

    def commit(self, unit: UnitOfWork) -> None:
        """Apply a :class:`UnitOfWork` atomically: replace the rollout record, upsert the machine
        records (by machine name), append attempts, add commands to the outbox (a command whose key
        is already there is ignored) and remember the consumed report ids."""
        ...

    def outbox(self, limit: int = 10_000) -> list[Command]:
        """Commands not yet marked dispatched, in the order they were committed."""
        ...

    def mark_dispatched(self, keys: Sequence[str]) -> None:
        """Mark commands as handed to the gateway (unknown keys are ignored)."""
        ...

    def consumed(self, report_ids: Sequence[str]) -> set[str]:
        """Which of these report ids were already applied by a committed unit."""
        ...

    def attempts(self, rollout_id: str, offset: int = 0) -> list[AttemptRecord]:
        """Finished installation attempts of a rollout in commit order, from position ``offset`` on."""
        ...


class AgentGateway(Protocol):
    """Commands out to agents, reports back. ``send`` is idempotent per ``Command.key``."""

    def send(self, command: Command) -> None:
        """Hand a command to its machine's agent; a key seen before is not executed again."""
        ...

    def reports(self, limit: int = 10_000) -> list[AgentReport]:
        """Reports not yet acknowledged, in arrival order (the same ones again until acknowledged)."""
        ...

    def acknowledge(self, report_ids: Sequence[str]) -> None:
        """Forget these reports; called only after the unit that applied them is committed."""
        ...


class FleetSource(Protocol):
    """The fleet's topology at the moment a rollout is planned."""

    def snapshot(self) -> Fleet:
        ...
