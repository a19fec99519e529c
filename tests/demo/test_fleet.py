"""The demo fleet's layout (pure, seeded) and its ARM bodies, as the server's own VM rules read them."""

from __future__ import annotations

from collections import Counter

import pytest

from guestpatch.core import vm as vmdoc
from guestpatch.core.regions import RegionCatalog
from guestpatch.demo.fleet import IMAGES, demo_fleet, host_vm_body, vm_body
from guestpatch.errors import InvalidInput
from guestpatch.services.catalogs import Catalogs


def test_the_fleet_has_the_documented_topology() -> None:
    """60 machines, 4 regions in 2 geo-pairs, 3 zones, 2 availability sets, 4 tenants, own time zones."""
    fleet = demo_fleet(60, seed=1)
    assert len(fleet) == 60
    assert len({m.name for m in fleet}) == 60
    regions = Counter(m.region for m in fleet)
    assert set(regions) == {"westeurope", "northeurope", "eastus", "westus"}
    catalog: RegionCatalog = Catalogs().builtin_regions
    pairs = {frozenset((r, catalog.get(r).pair)) for r in regions}  # type: ignore[union-attr]
    assert pairs == {frozenset({"westeurope", "northeurope"}), frozenset({"eastus", "westus"})}
    assert {m.zone for m in fleet if m.zone} == {"1", "2", "3"}
    assert len({(m.tenant, m.availability_set) for m in fleet if m.availability_set}) == 2
    assert all(m.zone is None for m in fleet if m.availability_set)
    assert len({m.tenant for m in fleet}) == 4
    assert 2 <= sum(1 for m in fleet if m.time_zone) <= 6
    assert {m.os_key for m in fleet} == set(IMAGES)


def test_the_same_seed_gives_the_same_fleet_and_another_seed_another() -> None:
    """Reproducible layouts: --seed decides."""
    assert demo_fleet(60, seed=1) == demo_fleet(60, seed=1)
    assert demo_fleet(60, seed=1) != demo_fleet(60, seed=2)


def test_the_machine_count_follows_the_flag() -> None:
    """--machines 200: 200 machines, still in every region."""
    fleet = demo_fleet(200, seed=1)
    assert len(fleet) == 200
    assert len({m.region for m in fleet}) == 4


@pytest.mark.parametrize("machines", [5, 19, 401])
def test_a_fleet_size_out_of_range_is_refused_naming_the_flag(machines: int) -> None:
    """Too few to show waves, or more than one process serves comfortably."""
    with pytest.raises(InvalidInput) as caught:
        demo_fleet(machines)
    assert caught.value.target == "--machines"


def test_every_body_is_a_valid_automatic_by_platform_vm() -> None:
    """The server's VM parser accepts each body: AutomaticByPlatform, its zone or availability set, its tags."""
    for machine in demo_fleet(60, seed=1):
        spec = vmdoc.parse_vm(vm_body(machine), name=machine.name)
        assert spec.patch_mode == "AutomaticByPlatform"
        assert spec.image is not None
        assert bool(spec.availability_set_id) == bool(machine.availability_set)


def test_the_host_vm_is_never_patched_by_the_platform() -> None:
    """ImageDefault (not eligible for rollouts) with platform assessments."""
    spec = vmdoc.parse_vm(host_vm_body("westeurope", "this-host"), name="this-host")
    assert (spec.patch_mode, spec.assessment_mode) == ("ImageDefault", "AutomaticByPlatform")
