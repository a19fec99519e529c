"""How a rollout moves: timers, agent reports, starts, wave and phase gates, halt, resume, cancel.

Called only through ``core.rollout.step``. Rules of progress (see ``docs/orchestrator.md``):

- In each region of the active phase one wave is open at a time. Its machines start when their
  window is open (with at least ``minWindowLeft`` to go) and :class:`~guestpatch.core.dispatch.Occupancy`
  allows; a machine whose window is closed is parked until it opens.
- A wave is done when none of its machines is queued or in flight and either none is parked or the
  wave has started at least one machine (parked machines then become catch-ups, patched in their own
  window under the same rules). A wave never "completes" without having patched anything merely
  because the night ended.
- Catch-ups and retries (Failed and Pending machines, from the next window on) start under the same
  rules, before the open wave's machines.
- Nothing starts while the rollout is Freezing, Halted, Cancelled or Completed; in-flight machines
  always run to their verdict.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from guestpatch.core import gates
from guestpatch.core.records import Command
from guestpatch.core.records import MachineStatus as M
from guestpatch.core.records import PhaseStatus as P
from guestpatch.core.records import RolloutStatus as R
from guestpatch.core.runtime import (
    FAILED,
    INFLIGHT,
    NONE,
    OWN,
    PARKED,
    QUEUED,
    STARTED,
    STATUSES,
    WAITING,
    RolloutState,
    dt,
)
from guestpatch.core.selection import decide


def _ts(now: datetime) -> float:
    return now.timestamp()


def command(state: RolloutState, i: int, kind: str, t: float, *, max_s: int = 0,
             pins: tuple[str, ...] = ()) -> str:
    state.seq[i] += 1
    name = state.fleet.names[i]
    key = f"{state.id}/{name}/{state.seq[i]}"
    state.key[i] = key
    state.dirty.add(i)
    issued = dt(t)
    assert issued is not None
    state.commands.append(Command(key=key, rollout=state.id, kind=kind, machine=name,
                                  attempt=state.attempts[i], issued=issued, max_duration_s=max_s, pins=pins))
    return key


# ---------------------------------------------------------------- freeze
#: Machines per OS key of the canary phase asked to assess for the freeze (the first ones by row).
FREEZE_SAMPLE = 50


def begin_freeze(state: RolloutState, now: datetime) -> None:
    rec, t, fleet = state.record, _ts(now), state.fleet
    waiting = []
    asked: dict[int, int] = {}
    for i in range(state.n):
        if state.phase_of[i] == 0 and state.status[i] == WAITING and asked.get(fleet.os[i], 0) < FREEZE_SAMPLE:
            asked[fleet.os[i]] = asked.get(fleet.os[i], 0) + 1
            command(state, i, "assess", t)
            waiting.append(fleet.names[i])
    rec.freeze_waiting = waiting
    rec.phase_due = now + state.policy.report_timeout
    state.record_dirty = True


def finish_freeze(state: RolloutState, now: datetime) -> None:
    from guestpatch.core.rollout import rollout_transition

    rec = state.record
    for name in rec.freeze_waiting:
        i = state.name_index[name]
        state.key[i] = None
        state.dirty.add(i)
    rec.freeze_waiting = []
    outcome = decide(rec.freeze_votes)
    rec.frozen.update(outcome.frozen)
    rollout_transition(state, "frozen", now, notes=outcome.notes, keys=sorted(outcome.frozen))
    _open_phase(state, 0, now)


# ---------------------------------------------------------------- phases and waves
def _open_phase(state: RolloutState, p: int, now: datetime) -> None:
    from guestpatch.core.rollout import phase_transition

    rec = state.record
    rec.phase, rec.phase_status, rec.phase_due = p, P.PENDING, None
    phase_transition(state, "open", now)
    for name in rec.phases[p]:
        _open_wave(state, state.fleet.region_index[name], 0)
    state.dirty_regions.update(range(len(state.fleet.regions)))  # catch-ups that yielded to this phase


def _wave_count(state: RolloutState, r: int) -> int:
    return state.record.wave_count.get(state.fleet.regions[r].name, 0)


def _open_wave(state: RolloutState, r: int, w: int) -> None:
    state.current_wave[r] = w
    state.record.region_wave[state.fleet.regions[r].name] = w
    state.record_dirty = True
    state.dirty_regions.add(r)
    st = state.stats.get((r, w))
    if st is None:
        state.queue[r] = []
        return
    queue = []
    for i in state.members[(r, w)]:
        if state.status[i] == WAITING and not state.pooled[i]:
            if state.due[i] >= 0:
                st[state.parked_slot(i)] += 1
            elif state.key[i] is None:
                queue.append(i)
    st[QUEUED] = len(queue)
    state.queue[r] = queue


def _wave_done(st: list[int], settle: float) -> bool:
    """Nothing queued, nothing waiting for the region's own night, enough verdicts in, and machines
    waiting for windows of their own only if the wave patched something."""
    if st[QUEUED] or st[PARKED] or (st[OWN] and not st[STARTED]):
        return False
    return st[INFLIGHT] <= (1.0 - settle) * st[STARTED] + 1e-9


def advance(state: RolloutState, r: int, now: datetime) -> None:
    rec = state.record
    while rec.status == R.RUNNING:
        w = state.current_wave[r]
        if w < 0 or w >= _wave_count(state, r):
            return
        st = state.stats.get((r, w))
        if st is not None:
            settle = 1.0 if state.region_phase[r] == 0 else state.policy.wave_settle_share
            if not _wave_done(st, settle):
                return
            if _wave_halts(state, r, w, now):
                return
            if st[OWN]:
                for i in state.members[(r, w)]:
                    if state.status[i] == WAITING and not state.pooled[i]:
                        state.pooled[i] = 1
                        state.dirty.add(i)
                st[OWN] = 0
        _open_wave(state, r, w + 1)


def check_phase(state: RolloutState, now: datetime) -> None:
    from guestpatch.core.rollout import phase_transition, rollout_transition

    rec = state.record
    if rec.status != R.RUNNING:
        return
    p = rec.phase
    if rec.phase_status in (P.ACTIVE, P.BAKING):
        regions = [state.fleet.region_index[name] for name in rec.phases[p]]
        waves_done = all(state.current_wave[r] >= _wave_count(state, r) for r in regions)
        in_flight = sum(state.occupancy.region[r] for r in regions)
        failed = 0 if f"phase:{p}" in rec.overrides else state.phase_bad[p]
        verdict = gates.phase_verdict(
            waves_done=waves_done, in_flight=in_flight, succeeded=state.phase_good[p], failed=failed,
            success_threshold=state.policy.success_threshold, min_failures=state.policy.halt_min_failures,
        ) if state.rules.phase_gates else (
            gates.Verdict.PROCEED if waves_done and not in_flight else gates.Verdict.WAIT
        )
        if verdict is gates.Verdict.HALT:
            share = gates.success_share(state.phase_good[p], state.phase_bad[p])
            halt(state, now, by="gate", reason=f"phase {p} gate: success share {share:.1%} is below "
                 f"{state.policy.success_threshold:.0%}", cause=f"phase:{p}")
            return
        if rec.phase_status == P.ACTIVE and verdict is gates.Verdict.PROCEED:
            phase_transition(state, "gate_passed", now)
            bake = state.policy.bake_time if state.rules.phase_gates else timedelta(0)
            rec.phase_due = now + bake
        if rec.phase_status == P.BAKING and rec.phase_due is not None and now >= rec.phase_due:
            phase_transition(state, "baked", now)
            if p + 1 < len(rec.phases):
                _open_phase(state, p + 1, now)
    if rec.phase == len(rec.phases) - 1 and rec.phase_status == P.PASSED and state.open_count == 0:
        rollout_transition(state, "complete", now)


# ---------------------------------------------------------------- gates and operator actions
def _wave_halts(state: RolloutState, r: int, w: int, now: datetime) -> bool:
    rec, rules = state.record, state.rules
    region = state.fleet.regions[r].name
    cause = f"wave:{region}:{w}"
    st = state.stats.get((r, w))
    if not rules.wave_gates or st is None or cause in rec.overrides:
        return False
    if gates.wave_should_halt(failed=st[FAILED], started=st[STARTED],
                              success_threshold=state.policy.success_threshold,
                              min_failures=state.policy.halt_min_failures):
        failed = [state.fleet.names[i] for i in state.members[(r, w)] if state.failures[i]]
        halt(state, now, by="gate", reason=f"wave {w} of {region}: {st[FAILED]} of {st[STARTED]} "
             "started machines failed", cause=cause, region=region, wave=w, machines=failed)
        return True
    return False


def check_halt(state: RolloutState, i: int, now: datetime) -> None:
    rec, rules = state.record, state.rules
    if rec.status != R.RUNNING:
        return
    r = state.fleet.region[i]
    if _wave_halts(state, r, state.wave_of[i], now):
        return
    tokens = rec.overrides
    if gates.errors_exceeded(state.failed_total, rules.max_errors) and "errors" not in tokens:
        halt(state, now, by="gate", reason=f"{state.failed_total} failures exceed the error threshold "
             f"{rules.max_errors}", cause="errors")
        return
    zkey = (r, state.fleet.zone[i])
    cap = state.occupancy.zone_cap.get(zkey)
    if cap is not None and state.zone_failed.get(zkey, 0) > cap and f"zone:{zkey}" not in tokens:
        halt(state, now, by="gate", reason=f"failures in zone {state.fleet.zone_name(i)} of "
             f"{state.fleet.regions[r].name} exceed its disruption budget {cap}", cause=f"zone:{zkey}")
        return
    if state.phase_of[i] == rec.phase:
        check_phase(state, now)


def halt(state: RolloutState, now: datetime, *, by: str, reason: str, cause: str | None = None,
         region: str | None = None, wave: int | None = None, machines: list[str] | None = None) -> None:
    from guestpatch.core.rollout import rollout_transition

    rollout_transition(state, "halt", now, by=by, reason=reason)
    waiting = sum(1 for i in range(state.n) if STATUSES[state.status[i]] in
                  (M.WAITING, M.FAILED, M.PENDING, M.SKIPPED))
    state.record.halt = {"at": now.isoformat(), "by": by, "reason": reason, "cause": cause,
                         "region": region, "wave": wave, "machines": machines or [], "waiting": waiting}


def resume(state: RolloutState, now: datetime) -> None:
    rec = state.record
    if rec.halt and rec.halt.get("cause"):
        rec.overrides.append(rec.halt["cause"])
    rec.halt = None
    state.dirty_regions.update(range(len(state.fleet.regions)))


def cancel(state: RolloutState, now: datetime, *, by: str) -> None:
    from guestpatch.core.rollout import rollout_transition

    rollout_transition(state, "cancel", now, by=by)
    t = _ts(now)
    for i in range(state.n):
        if STATUSES[state.status[i]] in (M.WAITING, M.FAILED, M.PENDING, M.SKIPPED):
            state.set_status(i, M.CANCELLED, t, event="cancel")
            state.reason[i] = f"rollout cancelled by {by}"
            state.due[i] = NONE


def expire(state: RolloutState, now: datetime) -> None:
    from guestpatch.core.rollout import rollout_transition

    t = _ts(now)
    for i in range(state.n):
        s = STATUSES[state.status[i]]
        if s in (M.WAITING, M.FAILED, M.PENDING, M.SKIPPED):
            state.reason[i] = _expiry_reason(state, i, s)
            state.set_status(i, M.EXPIRED, t, event="deadline")
            state.due[i] = NONE
    rollout_transition(state, "deadline", now)


def _expiry_reason(state: RolloutState, i: int, s: M) -> str:
    days = state.policy.compliance_days
    if s is M.SKIPPED:
        return f"powered off in its windows until the {days}-day deadline"
    if s in (M.FAILED, M.PENDING):
        return f"last attempt {s}; no attempt left before the {days}-day deadline ({state.reason.get(i, '')})"
    if state.record.halt:
        return f"rollout halted ({state.record.halt['reason']}) until the {days}-day deadline"
    return f"not reached before the {days}-day deadline"
