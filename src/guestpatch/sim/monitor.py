"""The simulator's own watch on the rules, live, as installations start and finish.

Counted at each start (machines that are powered off do not count: nothing is installed): the same
rules as :mod:`guestpatch.sim.checker` (zones, update domains, geo-pairs, tenant share, window,
after a halt), but from the simulator's side of the run instead of the written timeline.
"""

from __future__ import annotations

from datetime import datetime

from guestpatch.core.planner import tenant_cap
from guestpatch.core.records import AttemptRecord, Command, RolloutStatus
from guestpatch.core.runtime import RolloutState
from guestpatch.sim.agents import SimulatedAgents
from guestpatch.sim.checker import RULES


class LiveMonitor:
    def __init__(self, state: RolloutState, agents: SimulatedAgents) -> None:
        self.state = state
        self.agents = agents
        self.counts = dict.fromkeys(RULES, 0)
        fleet = state.fleet
        self.flying: set[int] = set()
        self.region = [0] * len(fleet.regions)
        self.zone: dict[int, dict[int, int]] = {}
        self.sets: dict[int, dict[int, int]] = {}
        self.tenant: dict[tuple[int, int], int] = {}
        counts: dict[tuple[int, int], int] = {}
        for i in range(state.n):
            key = (fleet.tenant[i], fleet.region[i])
            counts[key] = counts.get(key, 0) + 1
        share = float(state.policy.tenant_share)
        self.cap = {k: tenant_cap(share, n) for k, n in counts.items()}
        self.seen = 0
        for names in state.record.phases:
            idx = [fleet.region_index[n] for n in names]
            self.counts["pairPhases"] += sum(1 for r in idx if fleet.pair_of[r] in idx and r < fleet.pair_of[r])

    def started(self, commands: list[Command], now: datetime) -> None:
        state, fleet, t = self.state, self.state.fleet, now.timestamp()
        for c in commands:
            if c.kind != "install":
                continue
            i = fleet.index_of(c.machine)
            if not self.agents.powered_on(i, t):
                continue
            r, z, a = fleet.region[i], fleet.zone[i], fleet.avset[i]
            if z >= 0 and any(n for zz, n in self.zone.get(r, {}).items() if zz != z):
                self.counts["zones"] += 1
            if a >= 0 and any(n for u, n in self.sets.get(a, {}).items() if u != fleet.ud[i]):
                self.counts["updateDomains"] += 1
            p = fleet.pair_of[r]
            if p >= 0 and self.region[p]:
                self.counts["pairs"] += 1
            key = (fleet.tenant[i], r)
            if self.tenant.get(key, 0) + 1 > self.cap[key]:
                self.counts["tenantShare"] += 1
            if state.calendars[state.window_class[i]].open_at(t) is None:
                self.counts["window"] += 1
            if state.record.status is not RolloutStatus.RUNNING:
                self.counts["afterHalt"] += 1
            self._add(i, 1)

    def finished(self, attempts: list[AttemptRecord]) -> None:
        """Take the attempts finished since the last call (the repository's new ones)."""
        fleet = self.state.fleet
        for a in attempts:
            i = fleet.index_of(a.machine)
            if i in self.flying:
                self._add(i, -1)
        self.seen += len(attempts)

    def _add(self, i: int, d: int) -> None:
        fleet = self.state.fleet
        if d > 0:
            self.flying.add(i)
        else:
            self.flying.discard(i)
        r = fleet.region[i]
        self.region[r] += d
        if fleet.zone[i] >= 0:
            zones = self.zone.setdefault(r, {})
            zones[fleet.zone[i]] = zones.get(fleet.zone[i], 0) + d
        if fleet.avset[i] >= 0:
            uds = self.sets.setdefault(fleet.avset[i], {})
            uds[fleet.ud[i]] = uds.get(fleet.ud[i], 0) + d
        k3 = (fleet.tenant[i], r)
        self.tenant[k3] = self.tenant.get(k3, 0) + d
