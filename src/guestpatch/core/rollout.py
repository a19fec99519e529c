"""The rollout state machine: ``step(state, event, now) -> (state, commands)``.

The lifecycle of a rollout, its phases, its waves and each machine is written as transition tables
(in the manner of h11's ``_state.py``); the code looks every change up in them and refuses any other,
and ``docs/orchestrator.md`` renders them (a test keeps the page in step). Events are agent reports,
the passing of time (:class:`Tick`) and operator actions (:class:`Halt`, :class:`Resume`,
:class:`Cancel`). The state is changed in place and returned with the commands the engine must send;
changed machine records and finished attempts are collected in the state for the next unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from guestpatch.core import attempts, progress
from guestpatch.core.fleet import Fleet, Region
from guestpatch.core.planner import Plan
from guestpatch.core.policy import Policy
from guestpatch.core.records import (
    AgentReport,
    Command,
    MachineRecord,
    RolloutRecord,
)
from guestpatch.core.records import (
    MachineStatus as M,
)
from guestpatch.core.records import (
    PhaseStatus as P,
)
from guestpatch.core.records import (
    RolloutStatus as R,
)
from guestpatch.core.runtime import RolloutState
from guestpatch.errors import Conflict, InvalidInput

ROLLOUT_TRANSITIONS: dict[tuple[R, str], R] = {
    (R.FREEZING, "frozen"): R.RUNNING,
    (R.FREEZING, "halt"): R.HALTED,
    (R.RUNNING, "halt"): R.HALTED,
    (R.HALTED, "resume"): R.RUNNING,
    (R.FREEZING, "cancel"): R.CANCELLED,
    (R.RUNNING, "cancel"): R.CANCELLED,
    (R.HALTED, "cancel"): R.CANCELLED,
    (R.RUNNING, "complete"): R.COMPLETED,
    (R.RUNNING, "deadline"): R.COMPLETED,
    (R.HALTED, "deadline"): R.COMPLETED,
}

PHASE_TRANSITIONS: dict[tuple[P, str], P] = {
    (P.PENDING, "open"): P.ACTIVE,
    (P.ACTIVE, "gate_passed"): P.BAKING,
    (P.BAKING, "baked"): P.PASSED,
}

WAVE_TRANSITIONS: dict[tuple[str, str], str] = {
    ("Pending", "open"): "Open",
    ("Open", "settled"): "Done",
}

MACHINE_TRANSITIONS: dict[tuple[M, str], M] = {
    (M.WAITING, "start"): M.INSTALLING,
    (M.INSTALLING, "installed"): M.VERIFYING,
    (M.INSTALLING, "installed_rebooting"): M.REBOOTING,
    (M.INSTALLING, "install_failed"): M.FAILED,
    (M.INSTALLING, "window_exceeded"): M.PENDING,
    (M.INSTALLING, "powered_off"): M.SKIPPED,
    (M.INSTALLING, "timeout"): M.FAILED,
    (M.REBOOTING, "back"): M.VERIFYING,
    (M.REBOOTING, "timeout"): M.FAILED,
    (M.VERIFYING, "unhealthy"): M.FAILED,
    (M.VERIFYING, "stable"): M.SUCCEEDED,
    (M.VERIFYING, "stable_not_offered"): M.NOT_OFFERED,
    (M.SUCCEEDED, "unhealthy"): M.FAILED,
    (M.FAILED, "retry"): M.WAITING,
    (M.PENDING, "retry"): M.WAITING,
    (M.SKIPPED, "assessed_running"): M.WAITING,
    (M.FAILED, "give_up"): M.EXHAUSTED,
    (M.PENDING, "give_up"): M.EXHAUSTED,
    **{(s, "cancel"): M.CANCELLED for s in (M.WAITING, M.FAILED, M.PENDING, M.SKIPPED)},
    **{(s, "deadline"): M.EXPIRED for s in (M.WAITING, M.FAILED, M.PENDING, M.SKIPPED)},
}

TABLES: dict[str, dict[Any, Any]] = {
    "rollout": ROLLOUT_TRANSITIONS,
    "phase": PHASE_TRANSITIONS,
    "wave": WAVE_TRANSITIONS,
    "machine": MACHINE_TRANSITIONS,
}


@dataclass(frozen=True)
class Tick:
    """Time has passed: fire due timers, evaluate gates, start what may start."""


@dataclass(frozen=True)
class Report:
    report: AgentReport


@dataclass(frozen=True)
class Halt:
    by: str
    reason: str


@dataclass(frozen=True)
class Resume:
    by: str


@dataclass(frozen=True)
class Cancel:
    by: str


Event = Tick | Report | Halt | Resume | Cancel


def rollout_transition(state: RolloutState, event: str, now: datetime, **details: Any) -> None:
    record = state.record
    new = ROLLOUT_TRANSITIONS.get((record.status, event))
    if new is None:
        raise Conflict(
            f"rollout {record.id} is {record.status}; it cannot take '{event}'", code="InvalidRolloutState",
            target=record.id,
        )
    record.history.append({"at": now.isoformat(), "event": event, "from": str(record.status),
                           "to": str(new), **details})
    record.status = new
    state.record_dirty = True


def phase_transition(state: RolloutState, event: str, now: datetime) -> None:
    record = state.record
    new = PHASE_TRANSITIONS.get((record.phase_status, event))
    if new is None:
        raise Conflict(f"phase {record.phase} is {record.phase_status}; it cannot take '{event}'",
                       code="InvalidPhaseState")
    record.history.append({"at": now.isoformat(), "event": f"phase_{event}", "phase": record.phase,
                           "to": str(new)})
    record.phase_status = new
    state.record_dirty = True


def step(state: RolloutState, event: Event, now: datetime) -> tuple[RolloutState, list[Command]]:
    """Apply one event at ``now``; returns the state (changed in place) and the commands to send."""
    if now.tzinfo is None:
        raise InvalidInput("now must be timezone-aware UTC", target="now")
    before = len(state.commands)
    if isinstance(event, Tick):
        attempts.tick(state, now)
    elif isinstance(event, Report):
        attempts.on_report(state, event.report, now)
    elif isinstance(event, Halt):
        progress.halt(state, now, by=event.by, reason=event.reason, cause="operator")
    elif isinstance(event, Resume):
        rollout_transition(state, "resume", now, by=event.by)
        progress.resume(state, now)
        attempts.settle(state, now)
    else:
        progress.cancel(state, now, by=event.by)
    return state, state.commands[before:]


def new_rollout(
    *, rollout_id: str, release: str, fleet: Fleet, plan: Plan, policy: Policy, now: datetime,
    deadline: datetime | None = None, bad_release: bool = False,
) -> tuple[RolloutRecord, list[MachineRecord]]:
    """The records of a new rollout from a plan (status Freezing; nothing started)."""
    regions = fleet.regions
    record = RolloutRecord(
        id=rollout_id, release=release, strategy=plan.strategy, policy=policy.to_dict(),
        rules=plan.rules.__dict__.copy(), created=now,
        deadline=deadline or now + timedelta(days=policy.compliance_days),
        phases=[[regions[r].name for r in phase] for phase in plan.phases],
        wave_count={regions[r].name: plan.wave_count[r] for r in range(len(regions)) if plan.wave_count[r]},
        bad_release=bad_release,
        regions=[{"name": r.name, "time_zone": r.time_zone, "pair": r.pair} for r in regions],
    )
    machines = [
        MachineRecord(machine=fleet.machine(i), phase=plan.phase_of_region[fleet.region[i]],
                      wave=plan.wave_of[i], since=now)
        for i in range(len(fleet)) if plan.wave_of[i] >= 0
    ]
    if not machines:
        raise InvalidInput("no eligible machine: nothing to roll out", target="fleet")
    return record, machines


def load(record: RolloutRecord, machines: list[MachineRecord]) -> RolloutState:
    """The state of a stored rollout (machines in the order they were created)."""
    return RolloutState(record, machines, [Region(**r) for r in record.regions])


def start(
    record: RolloutRecord, machines: list[MachineRecord], now: datetime,
) -> tuple[RolloutState, list[Command]]:
    """Build the state of a new rollout and ask the canary phase for its assessments (the freeze)."""
    state = load(record, machines)
    progress.begin_freeze(state, now)
    return state, list(state.commands)
