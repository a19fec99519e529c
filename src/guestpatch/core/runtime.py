"""The rollout's in-memory state: compact per-machine columns plus indices, rebuilt from records.

:class:`RolloutState` is built only from persisted records (:meth:`RolloutState.from_records`), both
for a new rollout and after a restart, so a restarted engine decides exactly as the old one would
have. Every status change goes through :meth:`RolloutState.set_status`, which checks the
transition table (``core.rollout.MACHINE_TRANSITIONS``) and keeps the counters in step; changed
machines are collected in ``dirty`` for the next unit of work. Times inside are POSIX seconds.
"""

from __future__ import annotations

import heapq
from array import array
from datetime import UTC, datetime, timedelta

from guestpatch.core.dispatch import Occupancy
from guestpatch.core.fleet import Fleet, FleetBuilder, Region
from guestpatch.core.planner import Rules
from guestpatch.core.policy import Policy
from guestpatch.core.records import (
    IN_FLIGHT,
    TERMINAL,
    AttemptRecord,
    Command,
    MachineRecord,
    MachineStatus,
    RolloutRecord,
)
from guestpatch.core.windows import WindowCalendar, WindowSpec
from guestpatch.errors import Conflict

NONE = -1.0
STATUSES = tuple(MachineStatus)
CODE = {s: k for k, s in enumerate(STATUSES)}
WAITING = CODE[MachineStatus.WAITING]
FLIGHT = frozenset(CODE[s] for s in IN_FLIGHT)
FINAL = frozenset(CODE[s] for s in TERMINAL)
GOOD = frozenset({CODE[MachineStatus.SUCCEEDED], CODE[MachineStatus.NOT_OFFERED]})
BAD = frozenset({CODE[MachineStatus.FAILED], CODE[MachineStatus.EXHAUSTED]})

# wave counters: index names into WaveStats lists. PARKED: waiting for the region's main window;
# OWN: waiting for a window of their own (another time zone, own hours) - these do not hold a wave.
MEMBERS, STARTED, FAILED, INFLIGHT, QUEUED, PARKED, OWN = range(7)


def ts(when: datetime | None) -> float:
    return NONE if when is None else when.timestamp()


def dt(t: float) -> datetime | None:
    return None if t < 0 else datetime.fromtimestamp(t, UTC)


class RolloutState:
    """Everything the rollout core decides from. Mutated in place by ``core.rollout.step``."""

    def __init__(self, record: RolloutRecord, machines: list[MachineRecord], regions: list[Region]) -> None:
        self.record = record
        self.id = record.id
        self.policy = Policy.from_dict(record.policy)
        self.rules = Rules(**record.rules)
        builder = FleetBuilder(regions)
        for m in machines:
            builder.add_machine(m.machine)
        self.fleet: Fleet = builder.build()
        self.views = [m.machine for m in machines]
        fleet = self.fleet
        n = len(fleet)
        self.n = n
        self.name_index = {name: i for i, name in enumerate(fleet.names)}
        self.region_phase = [-1] * len(fleet.regions)
        for p, names in enumerate(record.phases):
            for name in names:
                self.region_phase[fleet.region_index[name]] = p
        self.phase_of = array("i", (m.phase for m in machines))
        self.wave_of = array("i", (m.wave for m in machines))
        self.status = bytearray(CODE[m.status] for m in machines)
        self.attempts = array("i", (m.attempts for m in machines))
        self.failures = array("i", (m.failures for m in machines))
        self.seq = array("i", (m.seq for m in machines))
        self.since = [ts(m.since) for m in machines]
        self.due = [ts(m.due) for m in machines]
        self.started = [ts(m.started) for m in machines]
        self.back = [ts(m.back) for m in machines]
        self.key: list[str | None] = [m.key for m in machines]
        self.pooled = bytearray(1 if m.pooled else 0 for m in machines)
        self.reason: dict[int, str] = {i: m.reason for i, m in enumerate(machines) if m.reason}
        self.not_offered: dict[int, tuple[str, ...]] = {
            i: m.not_offered for i, m in enumerate(machines) if m.not_offered
        }
        self._windows(record)
        self.occupancy = Occupancy(fleet, self.rules, list(range(n)))
        self.dirty: set[int] = set()
        self.dirty_regions: set[int] = set()
        self.commands: list[Command] = []
        self.finished: list[AttemptRecord] = []
        self.record_dirty = False
        self._index()

    # ------------------------------------------------------------------ building
    def _windows(self, record: RolloutRecord) -> None:
        fleet, policy = self.fleet, self.policy
        start = record.created - timedelta(days=1)
        end = record.deadline + timedelta(days=2)
        classes: dict[tuple[int, int, int, int], int] = {}
        self.calendars: list[WindowCalendar] = []
        self.window_class = array("i", [0]) * self.n
        region_hours = [policy.off_peak_for_region(r.name) for r in fleet.regions]
        for i in range(self.n):
            key = (fleet.tz[i], fleet.off_peak[i], fleet.region[i] if fleet.off_peak[i] < 0 else -1, fleet.flex[i])
            c = classes.get(key)
            if c is None:
                op = fleet.off_peak[i]
                hours = fleet.off_peaks[op] if op >= 0 else region_hours[fleet.region[i]]
                spec = WindowSpec(fleet.time_zones[fleet.tz[i]], hours, bool(fleet.flex[i]))
                c = classes[key] = len(self.calendars)
                self.calendars.append(WindowCalendar(spec, start, end))
            self.window_class[i] = c
        votes: list[dict[int, int]] = [{} for _ in fleet.regions]
        for i in range(self.n):
            v = votes[fleet.region[i]]
            v[self.window_class[i]] = v.get(self.window_class[i], 0) + 1
        self.main_class = [max(v, key=lambda c: (v[c], -c)) if v else -1 for v in votes]

    def _index(self) -> None:
        """Derive every counter, queue and timer from the per-machine columns."""
        fleet, record = self.fleet, self.record
        n_phases = len(record.phases)
        self.phase_good = [0] * n_phases
        self.phase_bad = [0] * n_phases
        self.failed_total = 0
        self.zone_failed: dict[tuple[int, int], int] = {}
        self.open_count = 0
        self.members: dict[tuple[int, int], list[int]] = {}
        self.stats: dict[tuple[int, int], list[int]] = {}
        self.queue: list[list[int]] = [[] for _ in fleet.regions]
        self.ready: list[dict[int, list[tuple[int, int]]]] = [{} for _ in fleet.regions]
        self.timers: list[tuple[float, int]] = []
        current = {fleet.region_index[name]: w for name, w in record.region_wave.items()}
        self.current_wave = [current.get(r, -1) for r in range(len(fleet.regions))]
        for i in range(self.n):
            r, w, s = fleet.region[i], self.wave_of[i], self.status[i]
            key = (r, w)
            self.members.setdefault(key, []).append(i)
            st = self.stats.setdefault(key, [0, 0, 0, 0, 0, 0, 0])
            st[MEMBERS] += 1
            if self.attempts[i] > 0:
                st[STARTED] += 1
            if self.failures[i] > 0:
                st[FAILED] += 1
                self._count_failure(i, 1)
            if s in FLIGHT:
                st[INFLIGHT] += 1
                self.occupancy.start(i)
            self._count_phase(i, s, 1)
            if s not in FINAL:
                self.open_count += 1
            if self.due[i] >= 0:
                heapq.heappush(self.timers, (self.due[i], i))
            if s == WAITING and self.due[i] < 0 and self.key[i] is None:
                if self.pooled[i]:
                    self.push_ready(i)
                elif w == self.current_wave[r]:
                    self.queue[r].append(i)
            if s == WAITING and not self.pooled[i] and w == self.current_wave[r]:
                if self.due[i] >= 0:
                    st[self.parked_slot(i)] += 1
                elif self.key[i] is None:
                    st[QUEUED] += 1

    def parked_slot(self, i: int) -> int:
        """Which wave counter a parked machine counts in (PARKED or OWN)."""
        return PARKED if self.window_class[i] == self.main_class[self.fleet.region[i]] else OWN

    def push_ready(self, i: int) -> None:
        """Add a catch-up or retry to its region's pool (bucketed by zone; -1: not zonal)."""
        fleet = self.fleet
        bucket = self.ready[fleet.region[i]].setdefault(fleet.zone[i], [])
        heapq.heappush(bucket, (self.wave_of[i], i))

    def _count_failure(self, i: int, d: int) -> None:
        self.failed_total += d
        zkey = (self.fleet.region[i], self.fleet.zone[i])
        self.zone_failed[zkey] = self.zone_failed.get(zkey, 0) + d

    def _count_phase(self, i: int, code: int, d: int) -> None:
        p = self.phase_of[i]
        if code in GOOD:
            self.phase_good[p] += d
        elif code in BAD:
            self.phase_bad[p] += d

    # ------------------------------------------------------------------ changes
    def set_status(self, i: int, new: MachineStatus, now: float, *, event: str) -> None:
        from guestpatch.core.rollout import MACHINE_TRANSITIONS

        old_code = self.status[i]
        old = STATUSES[old_code]
        if MACHINE_TRANSITIONS.get((old, event)) != new:
            raise Conflict(
                f"machine {self.fleet.names[i]}: {event} does not lead from {old} to {new}",
                code="InvalidTransition", target=self.fleet.names[i],
            )
        code = CODE[new]
        st = self.stats[(self.fleet.region[i], self.wave_of[i])]
        if old_code in FLIGHT and code not in FLIGHT:
            st[INFLIGHT] -= 1
            self.occupancy.finish(i)
            self._unblocked(i)
        elif code in FLIGHT and old_code not in FLIGHT:
            st[INFLIGHT] += 1
            self.occupancy.start(i)
        self._count_phase(i, old_code, -1)
        self._count_phase(i, code, 1)
        if old_code not in FINAL and code in FINAL:
            self.open_count -= 1
        self.status[i] = code
        self.since[i] = now
        self.dirty.add(i)
        self.dirty_regions.add(self.fleet.region[i])

    def _unblocked(self, i: int) -> None:
        """A machine left flight: the regions whose starts it may have blocked need another look."""
        fleet = self.fleet
        pair = fleet.pair_of[fleet.region[i]]
        if pair >= 0:
            self.dirty_regions.add(pair)
        if self.rules.max_concurrency is not None:
            self.dirty_regions.update(range(len(fleet.regions)))

    def set_due(self, i: int, due: float) -> None:
        self.due[i] = due
        if due >= 0:
            heapq.heappush(self.timers, (due, i))
        self.dirty.add(i)

    def add_failure(self, i: int) -> None:
        self.failures[i] += 1
        if self.failures[i] == 1:
            self.stats[(self.fleet.region[i], self.wave_of[i])][FAILED] += 1
            self._count_failure(i, 1)

    def machine_records(self, rows: list[int] | set[int] | range) -> list[MachineRecord]:
        views = self.views
        return [
            MachineRecord(
                machine=views[i], phase=self.phase_of[i], wave=self.wave_of[i],
                status=STATUSES[self.status[i]], attempts=self.attempts[i], since=dt(self.since[i]),
                due=dt(self.due[i]), reason=self.reason.get(i), not_offered=self.not_offered.get(i, ()),
                pooled=bool(self.pooled[i]), failures=self.failures[i], seq=self.seq[i], key=self.key[i],
                started=dt(self.started[i]), back=dt(self.back[i]),
            )
            for i in sorted(rows)
        ]

    def take_changes(self) -> tuple[list[MachineRecord], list[Command], list[AttemptRecord]]:
        """The machine records, commands and finished attempts changed since the last call."""
        records = self.machine_records(self.dirty)
        commands, finished = self.commands, self.finished
        self.dirty, self.commands, self.finished = set(), [], []
        return records, commands, finished
