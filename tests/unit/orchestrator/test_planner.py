"""The availability-first plan: phases across regions, waves within a region (properties on random fleets)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guestpatch.core.explain import describe_plan
from guestpatch.core.fleet import Fleet, FleetBuilder, Region
from guestpatch.core.planner import plan_availability_first, ramp, tenant_cap
from guestpatch.core.policy import Policy
from guestpatch.core.strategies import STRATEGIES, aws_patch_now_tiers, plan
from guestpatch.errors import InvalidInput

NOW = datetime(2026, 1, 13, tzinfo=UTC)
REGIONS = [
    Region("eastus", "America/New_York", "westus"), Region("westus", "America/Los_Angeles", "eastus"),
    Region("northeurope", "Europe/Dublin", "westeurope"), Region("westeurope", "Europe/Amsterdam", "northeurope"),
    Region("japaneast", "Asia/Tokyo", "japanwest"), Region("japanwest", "Asia/Tokyo", "japaneast"),
    Region("brazilsouth", "America/Sao_Paulo"),
]


@st.composite
def fleets(draw: st.DrawFn) -> Fleet:
    builder = FleetBuilder(REGIONS)
    n = draw(st.integers(1, 300))
    kinds = draw(st.lists(st.sampled_from(["zone", "set", "none"]), min_size=n, max_size=n))
    for k in range(n):
        region = draw(st.sampled_from(REGIONS)).name
        tenant = f"t{draw(st.integers(0, 6))}"
        if kinds[k] == "zone":
            builder.add(f"m{k}", tenant, region, zone=str(draw(st.integers(1, 3))))
        elif kinds[k] == "set":
            builder.add(f"m{k}", f"{tenant}-{region}", region, availability_set=f"as-{tenant}-{region}",
                        update_domain=draw(st.integers(0, 4)))
        else:
            mode = draw(st.sampled_from(["AutomaticByPlatform", "ImageDefault"]))
            builder.add(f"m{k}", tenant, region, patch_mode=mode)
    return builder.build()


def _waves(fleet: Fleet, wave_of: list[int]) -> dict[tuple[int, int], list[int]]:
    out: dict[tuple[int, int], list[int]] = {}
    for i, w in enumerate(wave_of):
        if w >= 0:
            out.setdefault((fleet.region[i], w), []).append(i)
    return out


@settings(max_examples=150, deadline=None)
@given(fleet=fleets(), share=st.sampled_from([0.1, 0.2, 0.5, 1.0]))
def test_every_wave_keeps_the_rules(fleet: Fleet, share: float) -> None:
    """No wave holds two zones, two update domains of one set, or more than its cap of a tenant."""
    p = plan_availability_first(fleet, Policy(tenant_share=share), NOW)
    counts: dict[tuple[int, int], int] = {}
    for i in range(len(fleet)):
        if p.wave_of[i] >= 0:
            counts[(fleet.tenant[i], fleet.region[i])] = counts.get((fleet.tenant[i], fleet.region[i]), 0) + 1
    for (r, _), members in _waves(fleet, list(p.wave_of)).items():
        assert len({fleet.zone[i] for i in members if fleet.zone[i] >= 0}) <= 1
        uds: dict[int, set[int]] = {}
        per_tenant: dict[int, int] = {}
        for i in members:
            if fleet.avset[i] >= 0:
                uds.setdefault(fleet.avset[i], set()).add(fleet.ud[i])
            per_tenant[fleet.tenant[i]] = per_tenant.get(fleet.tenant[i], 0) + 1
        assert all(len(u) == 1 for u in uds.values())
        assert all(c <= tenant_cap(share, counts[(t, r)]) for t, c in per_tenant.items())


@settings(max_examples=150, deadline=None)
@given(fleet=fleets())
def test_every_eligible_machine_is_planned_once_and_pairs_are_apart(fleet: Fleet) -> None:
    """Eligible machines get a wave, others none; no phase holds both regions of a geo-pair."""
    p = plan_availability_first(fleet, Policy(), NOW)
    assert all((p.wave_of[i] >= 0) == bool(fleet.eligible[i]) for i in range(len(fleet)))
    for phase in p.phases:
        assert not any(fleet.pair_of[r] in phase for r in phase)
    assert all(0 <= p.wave_of[i] < p.wave_count[fleet.region[i]] for i in range(len(fleet)) if p.wave_of[i] >= 0)


def test_the_canary_is_the_smallest_region_alone() -> None:
    """Phase 0 holds one region: the one with the fewest eligible machines."""
    builder = FleetBuilder(REGIONS)
    for k in range(30):
        builder.add(f"a{k}", "t", "eastus", zone="1")
    for k in range(5):
        builder.add(f"b{k}", "t", "brazilsouth", zone="1")
    p = plan_availability_first(builder.build(), Policy(), NOW)
    assert p.phases[0] == [REGIONS.index(next(r for r in REGIONS if r.name == "brazilsouth"))]


def test_canary_waves_grow_from_the_first_wave_size() -> None:
    """Splitting 100 machines with first 10 and growth 2 gives 10, 20, 40, 30."""
    assert [len(w) for w in ramp([list(range(100))], 10, 2.0)] == [10, 20, 40, 30]


def test_operator_phases_with_a_geo_pair_are_refused() -> None:
    """An operator phase holding eastus and westus (a pair) is an InvalidInput."""
    builder = FleetBuilder(REGIONS)
    builder.add("a", "t", "eastus")
    builder.add("b", "t", "westus")
    with pytest.raises(InvalidInput, match="geo-pair"):
        plan_availability_first(builder.build(), Policy(phases=(("eastus", "westus"),)), NOW)


def test_operator_phases_come_first() -> None:
    """Regions named in policy.phases form the first phases, in order."""
    builder = FleetBuilder(REGIONS)
    for name in ("eastus", "westus", "japaneast"):
        builder.add(f"m-{name}", "t", name)
    fleet = builder.build()
    p = plan_availability_first(fleet, Policy(phases=(("japaneast",), ("eastus",))), NOW)
    assert [[fleet.regions[r].name for r in ph] for ph in p.phases][:2] == [["japaneast"], ["eastus"]]


def test_tenant_cap_is_at_least_one() -> None:
    """20 % of 3 machines rounds down to 0, so the cap is 1."""
    assert tenant_cap(0.2, 3) == 1
    assert tenant_cap(0.2, 10) == 2


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_plans_every_eligible_machine(strategy: str) -> None:
    """Each comparison strategy puts every eligible machine in some wave."""
    builder = FleetBuilder(REGIONS)
    for k in range(40):
        builder.add(f"m{k}", f"t{k % 3}", REGIONS[k % len(REGIONS)].name, zone=str(k % 3 + 1))
    fleet = builder.build()
    p = plan(strategy, fleet, Policy(), NOW)
    assert all(w >= 0 for w in p.wave_of)


def test_aws_tiers_for_a_large_fleet() -> None:
    """More than 1,000 machines: 10 % concurrency, 10 % errors."""
    assert aws_patch_now_tiers(100_000) == (10_000, 10_000)


def test_preview_lists_phases_regions_and_waves() -> None:
    """describe_plan gives, per phase, the regions and per region the wave sizes that add up."""
    builder = FleetBuilder(REGIONS)
    for k in range(50):
        builder.add(f"m{k}", f"t{k % 5}", REGIONS[k % 4].name, zone=str(k % 3 + 1))
    fleet = builder.build()
    preview = describe_plan(plan_availability_first(fleet, Policy(), NOW), fleet)
    total = sum(w["machines"] for ph in preview["phases"] for r in ph["regions"] for w in r["waves"])
    assert total == preview["machines"] == 50
    assert preview["phases"][0]["canary"] is True
