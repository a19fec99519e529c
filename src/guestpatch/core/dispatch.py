"""Occupancy: who is patching right now, and whether one more machine may start.

Every start is checked here against every machine in flight, whatever the plan said, so the rules
hold for catch-ups and retries too:

- zones: in a region, zonal machines of two different zones are never in flight together;
- update domains: in an availability set, machines of two update domains are never in flight together;
- tenant share: at most ``max(1, floor(share x n))`` of a tenant's ``n`` rollout machines in a region;
- geo-pairs: a region starts nothing while its pair partner has a machine in flight;
- comparison strategies: a global concurrency limit, and a per-zone disruption budget.

"In flight" runs from the installation's start to its verdict (after reboot and stability period).
"""

from __future__ import annotations

from guestpatch.core.fleet import Fleet
from guestpatch.core.gates import zone_budget
from guestpatch.core.planner import Rules, tenant_cap


class Occupancy:
    """In-flight counters with O(1) checks. ``members`` are the rollout's machine rows."""

    def __init__(self, fleet: Fleet, rules: Rules, members: list[int]) -> None:
        self.fleet = fleet
        self.rules = rules
        n_regions = len(fleet.regions)
        self.region = [0] * n_regions
        self.region_zone: list[dict[int, int]] = [{} for _ in range(n_regions)]
        self.set_ud: dict[int, list[int]] = {}
        self.tenant: dict[tuple[int, int], int] = {}
        self.total = 0
        self.cap: dict[tuple[int, int], int] = {}
        self.zone_load: dict[tuple[int, int], int] = {}
        self.zone_cap: dict[tuple[int, int], int] = {}
        counts: dict[tuple[int, int], int] = {}
        zone_sizes: dict[tuple[int, int], int] = {}
        tenant, region, zone = fleet.tenant, fleet.region, fleet.zone
        for i in members:
            key = (tenant[i], region[i])
            counts[key] = counts.get(key, 0) + 1
            zkey = (region[i], zone[i])
            zone_sizes[zkey] = zone_sizes.get(zkey, 0) + 1
        if rules.tenant_share is not None:
            share = rules.tenant_share
            self.cap = {k: tenant_cap(share, n) for k, n in counts.items()}
        if rules.zone_budget is not None:
            self.zone_cap = {k: zone_budget(rules.zone_budget, n) for k, n in zone_sizes.items()}

    def blocker(self, i: int) -> str | None:
        """``None`` if machine ``i`` may start now, else why not (in the operator's words)."""
        fleet, rules = self.fleet, self.rules
        r = fleet.region[i]
        if rules.max_concurrency is not None and self.total >= rules.max_concurrency:
            return f"the concurrency limit ({rules.max_concurrency}) is reached"
        if rules.pairs_exclusive:
            p = fleet.pair_of[r]
            if p >= 0 and self.region[p]:
                return f"its region's geo-pair {fleet.regions[p].name} is patching"
        z = fleet.zone[i]
        if rules.zones_exclusive and z >= 0:
            for other, n in self.region_zone[r].items():
                if n and other != z:
                    return f"zone {fleet.zones[other]} of its region is patching"
        a = fleet.avset[i]
        if rules.update_domains_exclusive and a >= 0:
            busy = self.set_ud.get(a)
            if busy is not None and busy[1] and busy[0] != fleet.ud[i]:
                return f"update domain {busy[0]} of its availability set is patching"
        if self.cap:
            key = (fleet.tenant[i], r)
            if self.tenant.get(key, 0) >= self.cap[key]:
                return f"its tenant already has {self.cap[key]} machine(s) patching in the region"
        if self.zone_cap:
            zkey = (r, z)
            if self.zone_load.get(zkey, 0) >= self.zone_cap[zkey]:
                return "its zone's disruption budget is used"
        return None

    def saturated(self, i: int) -> int:
        """2: nothing at all may start (global limit); 1: nothing in machine ``i``'s zone may start
        (its disruption budget is used); 0: look closer with :meth:`blocker`."""
        limit = self.rules.max_concurrency
        if limit is not None and self.total >= limit:
            return 2
        if self.zone_cap:
            zkey = (self.fleet.region[i], self.fleet.zone[i])
            if self.zone_load.get(zkey, 0) >= self.zone_cap[zkey]:
                return 1
        return 0

    def start(self, i: int) -> None:
        self._add(i, 1)

    def finish(self, i: int) -> None:
        self._add(i, -1)

    def _add(self, i: int, d: int) -> None:
        fleet = self.fleet
        r = fleet.region[i]
        self.total += d
        self.region[r] += d
        z = fleet.zone[i]
        if z >= 0:
            zones = self.region_zone[r]
            zones[z] = zones.get(z, 0) + d
        a = fleet.avset[i]
        if a >= 0:
            busy = self.set_ud.setdefault(a, [fleet.ud[i], 0])
            if busy[1] == 0:
                busy[0] = fleet.ud[i]
            busy[1] += d
        key = (fleet.tenant[i], r)
        self.tenant[key] = self.tenant.get(key, 0) + d
        if self.zone_cap:
            zkey = (r, z)
            self.zone_load[zkey] = self.zone_load.get(zkey, 0) + d
