"""The availability-first plan: fleet + policy -> phases of regions -> waves of machines.

Phases (across regions)
    Phase 0 is the canary: ``policy.canary_regions``, else the region with the fewest eligible
    machines. Later phases grow by ``policy.phase_growth`` (1, 3, 9, ... regions) and take regions in
    "follow the night" order: the regions whose off-peak hours begin soonest after the previous
    phase's end come first, so a phase that passes its gate in the morning hands over to regions where
    the night is just starting. A last phase smaller than the one before it is folded into the earlier
    phases (the latest without the region's pair) so that a remainder does not cost a night of its
    own. The two regions of a geo-pair never share a phase. Operator-defined phases
    (``policy.phases``) come first and are validated against the pair rule.

Waves (within a region)
    A wave is a set of machines that may patch at the same time. Zonal machines are grouped zone
    by zone (zones never in the same wave); machines of an availability set go one update domain
    per wave; every wave holds at most ``cap = max(1, floor(tenant_share x n))`` of a tenant's ``n``
    machines in the region. Machines that are not zonal (availability sets and machines in neither)
    ride along in the zonal waves wherever their tenant has room. In the canary phase waves are
    further split to grow from ``policy.canary_wave_size`` by ``policy.wave_growth``.

The runtime (``core.rollout``) re-checks every rule at every start, so the plan is an order and a
unit of gating, not the only guard. Everything here is linear in the number of machines plus a sort
of regions; no per-machine objects are built.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from guestpatch.core.fleet import Fleet
from guestpatch.core.policy import Policy
from guestpatch.errors import InvalidInput


@dataclass(frozen=True)
class Rules:
    """What the dispatcher enforces at every start and how gates decide (one value per strategy)."""

    zones_exclusive: bool = True
    update_domains_exclusive: bool = True
    tenant_share: float | None = 0.2
    pairs_exclusive: bool = True
    wave_gates: bool = True
    phase_gates: bool = True
    max_concurrency: int | None = None
    max_errors: int | None = None
    zone_budget: float | None = None


@dataclass
class Plan:
    """Phases of regions and, per machine, its wave within its region (``-1``: not in the rollout)."""

    strategy: str
    phases: list[list[int]]
    phase_of_region: list[int]
    wave_of: array[int]
    wave_count: list[int]
    rules: Rules
    notes: list[str] = field(default_factory=list)

    def machines_in_rollout(self) -> int:
        return sum(1 for w in self.wave_of if w >= 0)


def tenant_cap(share: float, count: int) -> int:
    """At most this many of a tenant's ``count`` machines in one region patch at once (at least one)."""
    return max(1, int(share * count + 1e-9))


def region_rows(fleet: Fleet) -> list[list[int]]:
    """Eligible machine rows per region, in row order."""
    rows: list[list[int]] = [[] for _ in fleet.regions]
    region, eligible = fleet.region, fleet.eligible
    for i in range(len(fleet)):
        if eligible[i]:
            rows[region[i]].append(i)
    return rows


def plan_availability_first(fleet: Fleet, policy: Policy, now: datetime) -> Plan:
    """The default plan. ``now`` fixes the UTC offsets used for the follow-the-night order."""
    rows = region_rows(fleet)
    phases = assign_phases(fleet, policy, [len(r) for r in rows], now)
    phase_of_region = [-1] * len(fleet.regions)
    for p, regions in enumerate(phases):
        for r in regions:
            phase_of_region[r] = p
    wave_of = array("i", [-1]) * len(fleet)
    wave_count = [0] * len(fleet.regions)
    for r, members in enumerate(rows):
        if not members:
            continue
        waves = region_waves(fleet, members, policy.tenant_share)
        if phase_of_region[r] == 0:
            waves = ramp(waves, policy.canary_wave_size, policy.wave_growth)
        for w, wave in enumerate(waves):
            for i in wave:
                wave_of[i] = w
        wave_count[r] = len(waves)
    rules = Rules(tenant_share=policy.tenant_share)
    return Plan("availability-first", phases, phase_of_region, wave_of, wave_count, rules)


def assign_phases(fleet: Fleet, policy: Policy, sizes: list[int], now: datetime) -> list[list[int]]:
    """Phases of region rows: operator phases first, then the canary, then growing phases."""
    index = fleet.region_index
    pair_of = fleet.pair_of
    present = [r for r, n in enumerate(sizes) if n > 0]
    placed: set[int] = set()
    phases: list[list[int]] = []

    def check_phase(names: tuple[str, ...], what: str) -> list[int]:
        out = []
        for name in names:
            r = index.get(name)
            if r is None:
                raise InvalidInput(f"{what} names unknown region {name!r}", target="phases")
            if r in placed or r in out:
                raise InvalidInput(f"region {name!r} appears in more than one phase", target="phases")
            if pair_of[r] in out:
                raise InvalidInput(
                    f"{what} holds both regions of the geo-pair {fleet.regions[pair_of[r]].name!r} / {name!r}",
                    target="phases",
                )
            out.append(r)
        return [r for r in out if sizes[r] > 0]

    for k, names in enumerate(policy.phases):
        phase = check_phase(names, f"phase {k}")
        placed.update(phase)
        if phase:
            phases.append(phase)
    if not phases:
        if policy.canary_regions:
            canary = check_phase(policy.canary_regions, "the canary phase")
        else:
            left = sorted((r for r in present if r not in placed), key=lambda r: (sizes[r], fleet.regions[r].name))
            canary = left[:1]
        placed.update(canary)
        if canary:
            phases.append(canary)
    rest = [r for r in present if r not in placed]
    if not rest:
        return phases
    anchor_end = _night_end_utc_minutes(fleet, policy, phases[-1], now) if phases else 0.0
    bake = policy.bake_time.total_seconds() / 60

    def delay(r: int) -> float:
        start = _night_start_utc_minutes(fleet, policy, r, now)
        return (start - anchor_end - bake) % (24 * 60)

    rest.sort(key=lambda r: (delay(r), fleet.regions[r].name))
    first_new = len(phases)
    capacity: list[int] = []
    size = float(max(1, len(phases[-1]) if phases else 1))
    for r in rest:
        for k in range(first_new, len(phases) + 1):
            if k == len(phases):
                size *= policy.phase_growth
                phases.append([])
                capacity.append(max(1, round(size)))
            phase = phases[k]
            if len(phase) < capacity[k - first_new] and pair_of[r] not in phase:
                phase.append(r)
                break
    phases = [p for p in phases if p]
    if len(phases) - first_new >= 2 and len(phases[-1]) < len(phases[-2]):
        # a last phase smaller than the one before it is folded into the earlier ones (pair rule kept)
        last = phases[-1]
        homes = [next((k for k in range(len(phases) - 2, first_new - 1, -1) if pair_of[r] not in phases[k]), None)
                 for r in last]
        if all(h is not None for h in homes) and all(
                pair_of[r] not in last or homes[j] != homes[last.index(pair_of[r])] for j, r in enumerate(last)):
            for r, home in zip(last, homes, strict=True):
                assert home is not None
                phases[home].append(r)
            phases.pop()
    return phases


def _offset_minutes(fleet: Fleet, r: int, now: datetime) -> float:
    offset = now.astimezone(ZoneInfo(fleet.regions[r].time_zone)).utcoffset() or timedelta(0)
    return offset.total_seconds() / 60


def _night_start_utc_minutes(fleet: Fleet, policy: Policy, r: int, now: datetime) -> float:
    hours = policy.off_peak_for_region(fleet.regions[r].name)
    return (hours.start - _offset_minutes(fleet, r, now)) % (24 * 60)


def _night_end_utc_minutes(fleet: Fleet, policy: Policy, regions: list[int], now: datetime) -> float:
    ends = []
    for r in regions:
        hours = policy.off_peak_for_region(fleet.regions[r].name)
        start = _night_start_utc_minutes(fleet, policy, r, now)
        ends.append(start + hours.minutes)
    return max(ends) % (24 * 60)


def region_waves(fleet: Fleet, members: list[int], share: float) -> list[list[int]]:
    """Waves of one region's eligible machines (see the module docstring for the rules)."""
    tenant, zone, avset, ud = fleet.tenant, fleet.zone, fleet.avset, fleet.ud
    count: dict[int, int] = {}
    for i in members:
        t = tenant[i]
        count[t] = count.get(t, 0) + 1
    cap = {t: tenant_cap(share, n) for t, n in count.items()}
    zonal: dict[int, list[int]] = {}
    sets: dict[int, list[int]] = {}
    loose: list[int] = []
    for i in members:
        z = zone[i]
        if z >= 0:
            zonal.setdefault(z, []).append(i)
        elif avset[i] >= 0:
            sets.setdefault(avset[i], []).append(i)
        else:
            loose.append(i)
    waves: list[list[int]] = []
    used: dict[tuple[int, int], int] = {}
    for z in sorted(zonal, key=lambda z: fleet.zones[z]):
        base = len(waves)
        seen: dict[int, int] = {}
        for i in zonal[z]:
            t = tenant[i]
            k = seen.get(t, 0)
            seen[t] = k + 1
            w = base + k // cap[t]
            while w >= len(waves):
                waves.append([])
            waves[w].append(i)
            key = (t, w)
            used[key] = used.get(key, 0) + 1

    def place(i: int, lowest: int) -> int:
        t = tenant[i]
        c = cap[t]
        w = lowest
        while used.get((t, w), 0) >= c:
            w += 1
        while w >= len(waves):
            waves.append([])
        waves[w].append(i)
        used[(t, w)] = used.get((t, w), 0) + 1
        return w

    for a in sorted(sets):
        by_ud: dict[int, list[int]] = {}
        for i in sets[a]:
            by_ud.setdefault(ud[i], []).append(i)
        lowest = 0
        for u in sorted(by_ud):
            top = lowest
            for i in by_ud[u]:
                top = max(top, place(i, lowest))
            lowest = top + 1
    for i in loose:
        place(i, 0)
    return [w for w in waves if w]


def ramp(waves: list[list[int]], first: int, growth: float) -> list[list[int]]:
    """Split waves in order so that the j-th wave has at most ``first x growth**j`` machines."""
    out: list[list[int]] = []
    limit = float(first)
    for wave in waves:
        start = 0
        while start < len(wave):
            size = max(1, int(limit))
            out.append(wave[start:start + size])
            start += size
            limit *= growth
    return out
