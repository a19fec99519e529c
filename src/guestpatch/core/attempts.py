"""Machines' attempts: starting installations, timers, and the agents' reports.

Called only through ``core.rollout.step``. An attempt runs Installing -> (Rebooting ->) Verifying ->
Succeeded, or ends Failed / Pending / Skipped; ``docs/orchestrator.md`` has the table. Timers
(one per machine, kept in ``state.due``) stand for: a parked machine's window opening, a retry's next
window, a powered-off machine's next assessment, an agent's report deadline, the end of a stability
period. The report deadline after a start is the maximum duration plus ``reportTimeout``; after a
reboot, ``reportTimeout``.
"""

from __future__ import annotations

import heapq
from datetime import datetime

from guestpatch.core import progress
from guestpatch.core.cadence import next_assessment
from guestpatch.core.records import AgentReport, AttemptRecord
from guestpatch.core.records import MachineStatus as M
from guestpatch.core.records import PhaseStatus as P
from guestpatch.core.records import ReportKind as K
from guestpatch.core.records import RolloutStatus as R
from guestpatch.core.runtime import (
    FLIGHT,
    NONE,
    QUEUED,
    STARTED,
    STATUSES,
    WAITING,
    RolloutState,
    dt,
)
from guestpatch.core.selection import add_votes, decide, pins
from guestpatch.core.windows import WindowCalendar

STARTED_, PARKED_, BLOCKED_ = 0, 1, 2


def tick(state: RolloutState, now: datetime) -> None:
    rec, t = state.record, now.timestamp()
    if rec.status == R.FREEZING and rec.phase_due is not None and now >= rec.phase_due:
        progress.finish_freeze(state, now)
    timers = state.timers
    while timers and timers[0][0] <= t:
        due, i = heapq.heappop(timers)
        if state.due[i] == due:
            state.due[i] = NONE
            state.dirty.add(i)
            _fire(state, i, t, now)
    if rec.status in (R.RUNNING, R.HALTED) and now >= rec.deadline:
        progress.expire(state, now)
    settle(state, now)


def settle(state: RolloutState, now: datetime) -> None:
    """Start what may start and move waves and phases on, until nothing changes."""
    t = now.timestamp()
    for _ in range(10_000):
        while state.dirty_regions:
            r = min(state.dirty_regions)
            state.dirty_regions.discard(r)
            dispatch_region(state, r, t, now)
        before = (state.record.phase, state.record.phase_status, state.record.status)
        progress.check_phase(state, now)
        if not state.dirty_regions and before == (state.record.phase, state.record.phase_status,
                                                  state.record.status):
            return
    raise AssertionError("settle did not converge")  # pragma: no cover


def next_wake(state: RolloutState) -> datetime | None:
    """The earliest moment something can change without a report (``None``: nothing pending)."""
    rec = state.record
    if rec.status in (R.COMPLETED, R.CANCELLED) and not state.occupancy.total:
        return None
    candidates = []
    timers = state.timers
    while timers and state.due[timers[0][1]] != timers[0][0]:
        heapq.heappop(timers)
    if timers:
        candidates.append(timers[0][0])
    if rec.phase_due is not None and rec.status in (R.FREEZING, R.RUNNING):
        candidates.append(rec.phase_due.timestamp())
    if rec.status in (R.RUNNING, R.HALTED):
        candidates.append(rec.deadline.timestamp())
    return dt(min(candidates)) if candidates else None


# ---------------------------------------------------------------- starting
def dispatch_region(state: RolloutState, r: int, t: float, now: datetime) -> None:
    rec = state.record
    if rec.status != R.RUNNING:
        return
    p = state.region_phase[r]
    if p < 0 or p > rec.phase or (p == rec.phase and rec.phase_status == P.PENDING):
        return
    occupancy, rules, fleet = state.occupancy, state.rules, state.fleet
    pair = fleet.pair_of[r]
    if rules.pairs_exclusive and pair >= 0 and occupancy.region[pair]:
        progress.advance(state, r, now)
        return
    buckets = state.ready[r]
    pair_turn = pair >= 0 and state.region_phase[pair] == rec.phase != p and rec.phase_status == P.ACTIVE
    if buckets and not pair_turn:  # catch-ups yield to a pair region whose phase is running
        active = [z for z, n in occupancy.region_zone[r].items() if n] if rules.zones_exclusive else []
        zones = sorted(buckets) if not active else [z for z in (-1, active[0]) if z in buckets]
        for z in zones:
            bucket = buckets[z]
            keep = []
            while bucket:
                w, i = heapq.heappop(bucket)
                if state.status[i] != WAITING or not state.pooled[i] or state.due[i] >= 0 or state.key[i]:
                    continue
                full = occupancy.saturated(i)
                if full == 2:
                    keep.append((w, i))
                    keep.extend(heapq.heappop(bucket) for _ in range(len(bucket)))
                    break
                if full or _try_start(state, i, t) == BLOCKED_:
                    keep.append((w, i))
            if keep:
                buckets[z] = keep  # popped in order: already a heap
            else:
                del buckets[z]
    w = state.current_wave[r]
    st = state.stats.get((r, w))
    if st is not None and state.queue[r]:
        queue: list[int] = []
        pending = sorted(state.queue[r])
        for k, i in enumerate(pending):
            if state.status[i] != WAITING or state.pooled[i] or state.due[i] >= 0 or state.key[i]:
                continue
            full = occupancy.saturated(i)
            if full == 2:
                queue.extend(pending[k:])
                break
            if full:
                queue.append(i)
                continue
            outcome = _try_start(state, i, t)
            if outcome == BLOCKED_:
                queue.append(i)
                continue
            st[QUEUED] -= 1
            if outcome == PARKED_:
                st[state.parked_slot(i)] += 1
        state.queue[r] = queue
    progress.advance(state, r, now)


def _park(state: RolloutState, i: int, due: float) -> int:
    state.set_due(i, min(due, state.record.deadline.timestamp() + 86_400))
    return PARKED_


def _try_start(state: RolloutState, i: int, t: float) -> int:
    policy, rec, fleet = state.policy, state.record, state.fleet
    calendar = state.calendars[state.window_class[i]]
    close = calendar.open_at(t)
    if close is None:
        return _park(state, i, calendar.next_open(t))
    left = close - t
    if left < policy.min_window_left.total_seconds():
        return _park(state, i, calendar.following_open(t))
    os_key = fleet.os_keys[fleet.os[i]]
    frozen = rec.frozen.get(os_key)
    if frozen is None:
        if os_key not in rec.freeze_lazy:
            rec.freeze_lazy[os_key] = fleet.names[i]
            state.record_dirty = True
            progress.command(state, i, "assess", t)
        return _park(state, i, t + policy.report_timeout.total_seconds())
    if state.occupancy.blocker(i) is not None:
        return BLOCKED_
    max_s = int(min(policy.max_install_duration.total_seconds(), left - policy.reboot_reserve.total_seconds()))
    state.attempts[i] += 1
    if state.attempts[i] == 1:
        state.stats[(fleet.region[i], state.wave_of[i])][STARTED] += 1
    state.set_status(i, M.INSTALLING, t, event="start")
    state.started[i], state.back[i] = t, NONE
    state.not_offered.pop(i, None)
    state.reason.pop(i, None)
    progress.command(state, i, "install", t, max_s=max_s, pins=pins(frozen))
    state.set_due(i, t + max_s + policy.report_timeout.total_seconds())
    return STARTED_


# ---------------------------------------------------------------- timers
def _fire(state: RolloutState, i: int, t: float, now: datetime) -> None:
    s = STATUSES[state.status[i]]
    r = state.fleet.region[i]
    state.dirty_regions.add(r)
    if s is M.WAITING:
        if state.key[i] is not None:  # a freeze assessment went unanswered
            os_key = state.fleet.os_keys[state.fleet.os[i]]
            if state.record.freeze_lazy.get(os_key) == state.fleet.names[i]:
                del state.record.freeze_lazy[os_key]
                state.record_dirty = True
            state.key[i] = None
        _requeue(state, i)
    elif s in (M.INSTALLING, M.REBOOTING):
        what = "after its reboot" if s is M.REBOOTING else "within its maximum duration"
        state.reason[i] = f"agent did not report {what} (+{state.policy.report_timeout})"
        _fail(state, i, t, now, event="timeout")
    elif s is M.VERIFYING:
        offered = state.not_offered.get(i)
        state.set_status(i, M.NOT_OFFERED if offered else M.SUCCEEDED, t,
                         event="stable_not_offered" if offered else "stable")
        if offered:
            state.reason[i] = "frozen versions no longer offered: " + ", ".join(offered)
        _finished(state, i, t, "Succeeded")
    elif s in (M.FAILED, M.PENDING):
        state.set_status(i, M.WAITING, t, event="retry")
        state.key[i] = None
        _requeue(state, i, pooled=True)
    elif s is M.SKIPPED:
        progress.command(state, i, "assess", t)
        state.set_due(i, _next_assessment(state, i, t))


def _requeue(state: RolloutState, i: int, *, pooled: bool = False) -> None:
    r, w = state.fleet.region[i], state.wave_of[i]
    if pooled or state.pooled[i] or w != state.current_wave[r]:
        state.pooled[i] = 1
        state.push_ready(i)
    else:
        st = state.stats[(r, w)]
        st[state.parked_slot(i)] -= 1
        st[QUEUED] += 1
        state.queue[r].append(i)
    state.dirty.add(i)


def _next_assessment(state: RolloutState, i: int, t: float) -> float:
    policy = state.policy
    interval = policy.daily_assessment_interval if state.fleet.assess_daily[i] else policy.assessment_interval
    return next_assessment(state.calendars[state.window_class[i]], t, interval.total_seconds())


def _finished(state: RolloutState, i: int, t: float, outcome: str) -> None:
    start, end = dt(state.started[i]), dt(t)
    assert start is not None
    assert end is not None
    state.finished.append(AttemptRecord(
        rollout=state.id, machine=state.fleet.names[i], attempt=state.attempts[i], phase=state.phase_of[i],
        wave=state.wave_of[i], start=start, end=end, outcome=outcome, back=dt(state.back[i]),
    ))


def _fail(state: RolloutState, i: int, t: float, now: datetime, *, event: str, pending: bool = False) -> None:
    was_success = state.status[i] not in FLIGHT
    state.set_status(i, M.PENDING if pending else M.FAILED, t, event=event)
    if not was_success:
        _finished(state, i, t, "Pending" if pending else "Failed")
    if not pending:
        state.add_failure(i)
    rec = state.record
    if rec.status == R.CANCELLED:
        state.set_status(i, M.CANCELLED, t, event="cancel")
    elif rec.status == R.COMPLETED:
        state.set_status(i, M.EXPIRED, t, event="deadline")
    elif state.attempts[i] >= state.policy.max_attempts:
        state.reason[i] = f"{state.attempts[i]} attempts used ({state.reason.get(i, event)})"
        state.set_status(i, M.EXHAUSTED, t, event="give_up")
    else:
        calendar = state.calendars[state.window_class[i]]
        state.set_due(i, _first_open(calendar, t + state.policy.retry_delay.total_seconds()))
    if not pending:
        progress.check_halt(state, i, now)


def _first_open(calendar: WindowCalendar, t: float) -> float:
    """The start of the first window that opens at or after ``t`` (``t`` itself for all hours)."""
    if calendar.all_hours:
        return t
    return calendar.next_open(t - 1e-6)


# ---------------------------------------------------------------- reports
def on_report(state: RolloutState, report: AgentReport, now: datetime) -> None:
    i = state.name_index.get(report.machine)
    if i is None or report.key != state.key[i]:
        return  # unknown machine, or an answer to a command that is no longer current
    t, kind, s = now.timestamp(), report.kind, STATUSES[state.status[i]]
    policy = state.policy
    if s not in (M.INSTALLING, M.REBOOTING, M.VERIFYING, M.SUCCEEDED, M.NOT_OFFERED):
        _on_assessment(state, i, report, now)
        return
    if kind is K.INSTALLED and s is M.INSTALLING:
        state.set_status(i, M.VERIFYING, t, event="installed")
        state.back[i] = t
        state.not_offered[i] = report.not_offered
        state.set_due(i, t + policy.stability_period.total_seconds())
    elif kind is K.INSTALLED_REBOOTING and s is M.INSTALLING:
        state.set_status(i, M.REBOOTING, t, event="installed_rebooting")
        state.not_offered[i] = report.not_offered
        state.set_due(i, t + policy.report_timeout.total_seconds())
    elif kind is K.BACK and s is M.REBOOTING:
        state.set_status(i, M.VERIFYING, t, event="back")
        state.back[i] = t
        state.set_due(i, t + policy.stability_period.total_seconds())
    elif kind is K.INSTALL_FAILED and s is M.INSTALLING:
        state.reason[i] = f"installation failed: {report.detail}".rstrip(": ")
        state.due[i] = NONE
        _fail(state, i, t, now, event="install_failed")
    elif kind is K.WINDOW_EXCEEDED and s is M.INSTALLING:
        state.reason[i] = "maximum duration reached before the installation finished"
        state.due[i] = NONE
        _fail(state, i, t, now, event="window_exceeded", pending=True)
    elif kind is K.POWERED_OFF and s is M.INSTALLING:
        state.attempts[i] -= 1
        state.set_status(i, M.SKIPPED, t, event="powered_off")
        _finished(state, i, t, "Skipped")
        state.key[i] = None
        state.reason[i] = "powered off in its window; picked up after its next assessment"
        state.set_due(i, _next_assessment(state, i, t))
    elif kind is K.UNHEALTHY and s in (M.VERIFYING, M.SUCCEEDED):
        state.reason[i] = f"application health probe unhealthy {report.detail}".rstrip()
        state.due[i] = NONE
        _fail(state, i, t, now, event="unhealthy")


def _on_assessment(state: RolloutState, i: int, report: AgentReport, now: datetime) -> None:
    rec, fleet, t = state.record, state.fleet, now.timestamp()
    name, os_key = fleet.names[i], fleet.os_keys[fleet.os[i]]
    running = report.kind is K.ASSESSED
    state.key[i] = None
    state.dirty.add(i)
    if rec.status == R.FREEZING and name in rec.freeze_waiting:
        if running:
            add_votes(rec.freeze_votes, os_key, report.offers)
        rec.freeze_waiting.remove(name)
        state.record_dirty = True
        if not rec.freeze_waiting:
            progress.finish_freeze(state, now)
        return
    if rec.freeze_lazy.get(os_key) == name:
        del rec.freeze_lazy[os_key]
        state.record_dirty = True
        if running:
            votes: dict[str, dict[str, dict[str, int]]] = {}
            add_votes(votes, os_key, report.offers)
            rec.frozen[os_key] = decide(votes).frozen.get(os_key, {})
            rec.history.append({"at": now.isoformat(), "event": "frozen_late", "os": os_key, "by": name})
        if state.status[i] == WAITING and state.due[i] >= 0:
            state.due[i] = NONE
            _requeue(state, i)
        state.dirty_regions.add(fleet.region[i])
        return
    if STATUSES[state.status[i]] is M.SKIPPED and running:
        state.due[i] = NONE
        state.set_status(i, M.WAITING, t, event="assessed_running")
        state.reason.pop(i, None)
        _requeue(state, i, pooled=True)
