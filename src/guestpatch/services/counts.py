"""Counts for the dashboard's lists and the Prometheus scrape: cheap GROUP BY queries, no documents parsed.

- :meth:`Counts.operations` — assessments and installations by kind and state (every operation the store
  keeps, finished ones included); a finished operation's state is its result's status (``Succeeded``,
  ``CompletedWithWarnings``, ``Failed``), as the dashboard's history shows it, else the operation's own
  (``Queued``, ``InProgress``, ``Canceled``, or ``Failed`` when the agent never answered);
- :meth:`Counts.rollout_machines` — the machines of each rollout by their status in that rollout
  (``Waiting``, ``Installing``, ..., ``Succeeded``), from the ``status`` column the engine keeps beside
  each machine's record, so a 100,000-machine rollout is counted without loading it;
- :meth:`Counts.rollouts` — every rollout's record with the number of times it was halted (``halt``
  events in its history, which only grows: a counter);
- :meth:`Counts.rollouts_with` — the rollouts a machine is part of (for the machine page).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select

from guestpatch.core.records import RolloutRecord
from guestpatch.store.db import Database
from guestpatch.store.rollouts import SqlRolloutRepository
from guestpatch.store.tables import operations, rollout_machines, rollouts


@dataclass(frozen=True)
class RolloutCounts:
    """One rollout as the lists and the scrape need it."""

    record: RolloutRecord
    halts: int  # how many times it has been halted (by a gate or an operator), ever

    @property
    def halted(self) -> bool:
        return self.record.halt is not None


@dataclass(frozen=True)
class Counts:
    db: Database

    def operations(self) -> dict[tuple[str, str], int]:
        """``{(kind, state): count}`` over every operation in the store."""
        o = operations.c
        state = func.coalesce(o.result["status"].as_string(), o.status)
        with self.db.connect() as conn:
            rows = conn.execute(select(o.kind, state, func.count()).group_by(o.kind, state)).all()
        return {(kind, status): int(count) for kind, status, count in rows}  # one row per group

    def rollout_machines(self) -> dict[str, Counter[str]]:
        """``{rollout id: Counter(status → machines)}`` for every rollout."""
        m = rollout_machines.c
        with self.db.connect() as conn:
            rows = conn.execute(select(m.rollout, m.status, func.count()).group_by(m.rollout, m.status)).all()
        out: dict[str, Counter[str]] = {}
        for rollout, status, count in rows:
            out.setdefault(rollout, Counter())[status] = int(count)
        return out

    def rollouts(self) -> list[RolloutCounts]:
        """Every rollout, oldest first, with its halt count."""
        return [
            RolloutCounts(record, sum(1 for event in record.history if event.get("event") == "halt"))
            for record in SqlRolloutRepository(self.db).list_rollouts()
        ]

    def rollouts_with(self, machine: str) -> list[str]:
        """Ids of the rollouts that include ``machine`` (``subscription/resourceGroup/name``), oldest first."""
        m, r = rollout_machines.c, rollouts.c
        with self.db.connect() as conn:
            found = conn.execute(
                select(m.rollout).join(rollouts, r.id == m.rollout).where(m.name == machine)
                .order_by(r.created_at, r.id)
            ).scalars().all()
        return list(found)
