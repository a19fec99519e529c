"""The orchestrator on the real system: the engine over the store, operator actions, and the views the
operator API and dashboard show (rollout summaries, progress, why-not-yet, the next rollout's plan).

Any replica may serve operator actions (start, halt, resume, cancel): they are engine steps committed
under the rollout's version, retried once when another replica moved it first. Ticking — applying
reports, starting waves, dispatching commands — is done only by the leader (:mod:`guestpatch.services.leader`).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from guestpatch.clock import Clock
from guestpatch.config import Config
from guestpatch.core import explain, periodic
from guestpatch.core.cadence import ReleaseSchedule
from guestpatch.core.policy import Policy
from guestpatch.core.records import MachineRecord, MachineStatus, RolloutRecord
from guestpatch.engine.engine import Engine, TickResult
from guestpatch.errors import Conflict, GuestpatchError, InvalidInput, NotFound
from guestpatch.services import engine_reports
from guestpatch.services.catalogs import Catalogs
from guestpatch.services.engine_gateway import OperationsGateway, StoreFleetSource
from guestpatch.services.instance import agent_silence
from guestpatch.services.patch_ops import ASSESS, PatchOperations
from guestpatch.store import agents as agent_store
from guestpatch.store import operations as op_store
from guestpatch.store import vms as vm_store
from guestpatch.store.db import Database
from guestpatch.store.rollouts import SqlRolloutRepository

STRATEGIES = ("availability-first", "all-at-once", "fixed-concurrency", "zone-by-zone")


@dataclass
class Orchestrator:
    db: Database
    config: Config
    clock: Clock
    catalogs: Catalogs
    patch_ops: PatchOperations
    schedule: ReleaseSchedule = field(default_factory=ReleaseSchedule)
    policy: Policy = field(default_factory=Policy)
    engine: Engine = field(init=False)
    _lock: threading.RLock = field(init=False, default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.repository = SqlRolloutRepository(self.db)
        self.gateway = OperationsGateway(self.db, self.config, self.clock, self.patch_ops)
        self.fleet_source = StoreFleetSource(self.db, self.config, self.catalogs)
        self.engine = Engine(
            repository=self.repository, gateway=self.gateway, clock=self.clock, fleet_source=self.fleet_source
        )

    # ------------------------------------------------------------------ the leader's work
    def tick(self) -> TickResult:
        with self._lock:
            result: TickResult = self._retrying(self.engine.tick)
            return result

    def start_due_release(self) -> str | None:
        """Start this month's release when its day has come (once); None when there is nothing to do.

        A fleet without a single eligible machine has nothing to roll out: the release is tried again on
        later passes, so machines enabled later this month still get it.
        """
        with self._lock:
            try:
                return self.engine.start_due_release(self.schedule, policy=self.policy)
            except InvalidInput:
                return None

    def queue_periodic_assessments(self) -> list[str]:
        """Queue the periodic assessments that are due now (inside each machine's window)."""
        now = self.clock.now()
        fleet = self.fleet_source.snapshot()
        with self.db.connect() as conn:
            records = {engine_reports.machine_name(r): r for r in vm_store.all_records(conn)}
            last_by_row = op_store.last_assessments(conn)
            busy_rows = op_store.busy_vms(conn)
            statuses = agent_store.all_statuses(conn)
        silence = agent_silence(self.config, self.clock)
        skip = {
            name for name, r in records.items()
            if r.id in busy_rows or r.id not in statuses or now - statuses[r.id].last_seen > silence
        }
        last = {name: last_by_row[r.id] for name, r in records.items() if r.id in last_by_row}
        queued = []
        for name in periodic.due_for_assessment(fleet, last, skip=frozenset(skip), now=now, policy=self.policy):
            try:
                self.patch_ops.start(
                    records[name].key, ASSESS, {}, api_version=None, origin="Platform",
                    idempotency_key=f"periodic:{name}:{now:%Y%m%dT%H%M}",
                )
                queued.append(name)
            except GuestpatchError:
                continue  # raced with another operation or a change; next pass decides again
        return queued

    # ------------------------------------------------------------------ operator actions
    def start(self, *, release: str, policy: dict[str, Any] | None = None, strategy: str = "availability-first",
              bad_release: bool = False) -> str:
        if strategy not in STRATEGIES:
            raise InvalidInput(f"Unknown strategy '{strategy}'; use one of {', '.join(STRATEGIES)}.", target="strategy")
        chosen = Policy.from_dict(policy) if policy else self.policy
        with self._lock:
            return self.engine.start_rollout(release=release, policy=chosen, strategy=strategy, bad_release=bad_release)

    def halt(self, rollout_id: str, *, by: str, reason: str) -> None:
        with self._lock:
            self._retrying(lambda: self.engine.halt(rollout_id, by=by, reason=reason))

    def resume(self, rollout_id: str, *, by: str) -> None:
        with self._lock:
            self._retrying(lambda: self.engine.resume(rollout_id, by=by))

    def cancel(self, rollout_id: str, *, by: str) -> None:
        with self._lock:
            self._retrying(lambda: self.engine.cancel(rollout_id, by=by))

    def _retrying(self, action: Any) -> Any:
        """Run an engine action; when another replica moved a rollout first, reload and try once more."""
        try:
            return action()
        except Conflict:
            return action()

    # ------------------------------------------------------------------ views
    def rollouts(self) -> list[dict[str, Any]]:
        return [self.summary(r) for r in self.repository.list_rollouts()]

    def detail(self, rollout_id: str) -> dict[str, Any]:
        with self._lock:
            self.engine._states.pop(rollout_id, None)  # always show what the store holds
            record, machines = self.repository.load(rollout_id)
        body = self.summary(record)
        body["phases"] = _phases(record, machines)
        body["halt"] = record.halt
        body["history"] = record.history[-50:]
        body["frozen"] = record.frozen
        body["policy"] = record.policy
        return body

    def machines(self, rollout_id: str, *, status: str | None = None) -> list[dict[str, Any]]:
        if status is not None and status.lower() not in {s.lower() for s in MachineStatus}:
            raise InvalidInput(
                f"Unknown machine status '{status}'; use one of {', '.join(MachineStatus)}.", target="status"
            )
        _, machines = self.repository.load(rollout_id)
        return [
            _machine_json(m) for m in machines if status is None or str(m.status).lower() == status.lower()
        ]

    def explain(self, rollout_id: str, machine: str) -> dict[str, Any]:
        with self._lock:
            self.engine._states.pop(rollout_id, None)  # fresh from the store
            try:
                return self.engine.explain(rollout_id, machine).to_dict()
            except InvalidInput as exc:  # the fleet's own lookup: not one of the rollout's machines
                raise NotFound(f"The machine '{machine}' is not part of rollout '{rollout_id}'.",
                               target="machine") from exc  # fmt: skip

    def unpatched(self, rollout_id: str) -> list[dict[str, Any]]:
        """Every machine of the rollout not patched (yet), each with its reason: the 30-day report."""
        with self._lock:
            self.engine._states.pop(rollout_id, None)  # fresh from the store
            state = self.engine.state(rollout_id)
            return [e.to_dict() for e in explain.unpatched(state, self.clock.now())]

    def preview(self, *, policy: dict[str, Any] | None = None, strategy: str = "availability-first") -> dict[str, Any]:
        if strategy not in STRATEGIES:
            raise InvalidInput(f"Unknown strategy '{strategy}'; use one of {', '.join(STRATEGIES)}.", target="strategy")
        chosen = Policy.from_dict(policy) if policy else self.policy
        return self.engine.preview(policy=chosen, strategy=strategy)

    def attempts(self, rollout_id: str, *, offset: int = 0) -> list[dict[str, Any]]:
        self.repository.load(rollout_id)  # NotFound for an unknown id
        return [a.to_dict() for a in self.repository.attempts(rollout_id, offset)]

    def summary(self, record: RolloutRecord) -> dict[str, Any]:
        return {
            "id": record.id,
            "release": record.release,
            "strategy": record.strategy,
            "status": str(record.status),
            "phase": record.phase,
            "phaseStatus": str(record.phase_status),
            "phaseDue": _iso(record.phase_due),
            "phases": [{"index": i, "regions": list(p)} for i, p in enumerate(record.phases)],
            "created": _iso(record.created),
            "deadline": _iso(record.deadline),
            "halted": record.halt is not None,
            "badRelease": record.bad_release,
        }


def _iso(when: datetime | None) -> str | None:
    """ISO 8601 UTC with a Z and whole seconds, as everywhere on the wire."""
    return None if when is None else when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _machine_json(m: MachineRecord) -> dict[str, Any]:
    return {
        "machine": m.machine.name,
        "region": m.machine.region,
        "zone": m.machine.zone,
        "availabilitySet": m.machine.availability_set,
        "updateDomain": m.machine.update_domain,
        "tenant": m.machine.tenant,
        "phase": m.phase,
        "wave": m.wave,
        "status": str(m.status),
        "attempts": m.attempts,
        "since": _iso(m.since),
        "due": _iso(m.due),
        "reason": m.reason,
        "notOffered": list(m.not_offered),
    }


def _phases(record: RolloutRecord, machines: list[MachineRecord]) -> list[dict[str, Any]]:
    """Phases → regions → waves with counts of machines per status (the dashboard's timeline)."""
    counts: dict[tuple[int, str, int], Counter[str]] = {}
    for m in machines:
        counts.setdefault((m.phase, m.machine.region, m.wave), Counter())[str(m.status)] += 1
    phases = []
    for index, regions in enumerate(record.phases):
        region_rows = []
        for region in regions:
            waves = sorted((w, c) for (p, r, w), c in counts.items() if p == index and r == region)
            region_rows.append({
                "region": region,
                "currentWave": record.region_wave.get(region),
                "waves": [{"wave": w, "machines": sum(c.values()), "byStatus": dict(c)} for w, c in waves],
                "byStatus": dict(sum((c for _, c in waves), Counter())),
            })
        phases.append({"index": index, "regions": region_rows,
                       "state": "current" if index == record.phase else ("done" if index < record.phase else "next")})
    return phases
