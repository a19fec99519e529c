"""Strategies users would otherwise pick, planned for the same engine so they can be compared.

``availability-first``
    Ours (``core.planner``): canary and growing phases, pairs apart, zones one at a time, update
    domains one at a time, tenant share, wave and phase gates with bake time.
``all-at-once``
    Every machine in its first window; no staging, no gate.
``fixed-concurrency``
    AWS Systems Manager's MaxConcurrency / MaxErrors, with the tiers AWS "Patch now" picks by fleet
    size (fewer than 25 machines: 1 at a time, 1 error; 25-100: 5 % and 5 %; 101-1,000: 8 % and 10 %;
    more: 10 % and 10 %). No topology awareness.
``zone-by-zone``
    GCP OS Config's ZONE_BY_ZONE rollout: one region at a time (fewest machines first), one zone at a
    time (fewest first; machines outside zones last) with a disruption budget of 10 % per zone that
    failures also consume; exceeding it stops the rollout. No geo-pair, update-domain or tenant rules.

All of them respect each machine's window: users would run them in maintenance windows too.
"""

from __future__ import annotations

import math
from array import array
from datetime import datetime

from guestpatch.core.fleet import Fleet
from guestpatch.core.planner import Plan, Rules, plan_availability_first, region_rows
from guestpatch.core.policy import Policy
from guestpatch.errors import InvalidInput

STRATEGIES = ("availability-first", "all-at-once", "fixed-concurrency", "zone-by-zone")
ZONE_BUDGET = 0.10


def plan(strategy: str, fleet: Fleet, policy: Policy, now: datetime) -> Plan:
    """The plan of ``strategy`` for ``fleet``; :class:`InvalidInput` for an unknown name."""
    if strategy == "availability-first":
        return plan_availability_first(fleet, policy, now)
    rows = region_rows(fleet)
    present = [r for r, members in enumerate(rows) if members]
    wave_of = array("i", [-1]) * len(fleet)
    wave_count = [0] * len(fleet.regions)
    if strategy in ("all-at-once", "fixed-concurrency"):
        for r in present:
            for i in rows[r]:
                wave_of[i] = 0
            wave_count[r] = 1
        phases = [present] if present else []
        if strategy == "all-at-once":
            rules = _bare()
        else:
            total = sum(len(rows[r]) for r in present)
            concurrency, errors = aws_patch_now_tiers(total)
            rules = Rules(**{**_bare().__dict__, "max_concurrency": concurrency, "max_errors": errors})
    elif strategy == "zone-by-zone":
        order = sorted(present, key=lambda r: (len(rows[r]), fleet.regions[r].name))
        phases = [[r] for r in order]
        for r in order:
            sizes: dict[int, int] = {}
            for i in rows[r]:
                sizes[fleet.zone[i]] = sizes.get(fleet.zone[i], 0) + 1
            zones = sorted(sizes, key=lambda z: (z < 0, sizes[z], fleet.zones[z] if z >= 0 else ""))
            rank = {z: k for k, z in enumerate(zones)}
            for i in rows[r]:
                wave_of[i] = rank[fleet.zone[i]]
            wave_count[r] = len(zones)
        rules = Rules(**{**_bare().__dict__, "zones_exclusive": True, "zone_budget": ZONE_BUDGET})
    else:
        raise InvalidInput(f"unknown strategy {strategy!r}; one of {', '.join(STRATEGIES)}", target="strategy")
    phase_of_region = [-1] * len(fleet.regions)
    for p, regions in enumerate(phases):
        for r in regions:
            phase_of_region[r] = p
    return Plan(strategy, phases, phase_of_region, wave_of, wave_count, rules)


def _bare() -> Rules:
    return Rules(zones_exclusive=False, update_domains_exclusive=False, tenant_share=None,
                 pairs_exclusive=False, wave_gates=False, phase_gates=False)


def aws_patch_now_tiers(machines: int) -> tuple[int, int]:
    """(MaxConcurrency, MaxErrors) as machine counts, by AWS "Patch now"'s fleet-size tiers."""
    if machines < 25:
        return 1, 1
    if machines <= 100:
        share_c, share_e = 0.05, 0.05
    elif machines <= 1000:
        share_c, share_e = 0.08, 0.10
    else:
        share_c, share_e = 0.10, 0.10
    return max(1, math.ceil(share_c * machines)), max(1, math.ceil(share_e * machines))
