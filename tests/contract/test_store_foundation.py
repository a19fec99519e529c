"""The store's foundation on SQLite and PostgreSQL: migrations, VMs, update domains, tokens, topology."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from guestpatch.errors import Conflict
from guestpatch.store import tokens, topology
from guestpatch.store import vms as vm_store
from guestpatch.store.db import Database
from guestpatch.store.tables import metadata
from guestpatch.store.vms import VmColumns, VmKey

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def _columns(**overrides: object) -> VmColumns:
    values: dict[str, object] = {
        "location": "westeurope", "os_type": "Linux", "zone": None, "availability_set_key": None,
        "scale_set_key": None, "patch_mode": "ImageDefault", "assessment_mode": "ImageDefault", "time_zone": None,
    }
    values.update(overrides)
    return VmColumns(**values)  # type: ignore[arg-type]


def _create(db: Database, name: str, rg: str = "rg", **overrides: object) -> vm_store.VmRecord:
    with db.begin() as conn:
        return vm_store.create(
            conn, VmKey("sub", rg, name), vm_id=f"00000000-0000-0000-0000-{abs(hash((rg, name))) % 10**12:012d}",
            columns=_columns(**overrides), update_domain=None, document={"location": "westeurope", "k": [1]}, now=NOW,
        )


def test_migrations_create_exactly_the_declared_schema(db: Database) -> None:
    """After migrating, Alembic finds no difference between the database and the declared tables."""
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_migrating_twice_changes_nothing(db: Database) -> None:
    """Start-up migrates every time; a second run is a no-op and keeps the data."""
    _create(db, "vm1")
    db.migrate()
    with db.connect() as conn:
        assert vm_store.get(conn, VmKey("sub", "rg", "vm1")) is not None


def test_vm_lookup_ignores_case_and_keeps_the_given_spelling(db: Database) -> None:
    """ARM names compare case-insensitively; the name is returned as first given."""
    _create(db, "WebServer1", rg="Prod-RG")
    with db.connect() as conn:
        record = vm_store.get(conn, VmKey("SUB", "prod-rg", "webserver1"))
    assert record is not None
    assert (record.name, record.resource_group) == ("WebServer1", "Prod-RG")
    assert record.document == {"location": "westeurope", "k": [1]}
    assert record.created_at.tzinfo is not None


def test_creating_the_same_vm_twice_is_a_conflict(db: Database) -> None:
    """A concurrent second create of one name fails with a 409 Conflict, not a database error."""
    _create(db, "vm1")
    with pytest.raises(Conflict):
        _create(db, "VM1")


def test_replace_bumps_the_generation_and_refuses_a_stale_writer(db: Database) -> None:
    """Optimistic concurrency: a replace based on an old generation fails and changes nothing."""
    record = _create(db, "vm1")
    with db.begin() as conn:
        replaced = vm_store.replace(
            conn, record, columns=_columns(patch_mode="AutomaticByPlatform"), document={"v": 2}, now=NOW
        )
    assert (replaced.generation, replaced.patch_mode, replaced.document) == (2, "AutomaticByPlatform", {"v": 2})
    with pytest.raises(Conflict), db.begin() as conn:
        vm_store.replace(conn, record, columns=_columns(), document={"v": 3}, now=NOW)
    with db.connect() as conn:
        current = vm_store.get(conn, record.key)
    assert current is not None
    assert current.document == {"v": 2}


def test_list_pages_in_name_order_across_resource_groups(db: Database) -> None:
    """Paging by (resource group, name) returns every VM exactly once, in order."""
    names = [("rg-b", "z"), ("rg-a", "b"), ("rg-a", "A0"), ("rg-b", "c"), ("rg-a", "c")]
    for rg, name in names:
        _create(db, name, rg=rg)
    seen: list[tuple[str, str]] = []
    after = None
    with db.connect() as conn:
        while True:
            page = vm_store.list_page(conn, subscription="SUB", resource_group=None, after=after, limit=2)
            seen += [(r.resource_group, r.name) for r in page]
            if len(page) < 2:
                break
            after = (page[-1].resource_group.lower(), page[-1].name.lower())
        in_a = vm_store.list_page(conn, subscription="sub", resource_group="RG-A", after=None, limit=10)
    assert seen == [("rg-a", "A0"), ("rg-a", "b"), ("rg-a", "c"), ("rg-b", "c"), ("rg-b", "z")]
    assert [r.name for r in in_a] == ["A0", "b", "c"]


def test_update_domains_go_round_robin_and_refill_after_a_delete(db: Database) -> None:
    """Five VMs fill update domains 0-4, the sixth gets 0; after deleting the VM in UD 2, UD 2 is next."""
    set_id = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/availabilitySets/AS1"
    domains = []
    for i in range(6):
        with db.begin() as conn:
            key, domain = vm_store.assign_update_domain(
                conn, set_id=set_id, subscription="sub", default_count=5, now=NOW
            )
            vm_store.create(
                conn, VmKey("sub", "rg", f"vm{i}"), vm_id=f"00000000-0000-0000-0000-00000000000{i}",
                columns=_columns(availability_set_key=key), update_domain=domain, document={}, now=NOW,
            )
        domains.append(domain)
    assert domains == [0, 1, 2, 3, 4, 0]
    with db.begin() as conn:
        vm_store.remove(conn, VmKey("sub", "rg", "vm2"))
        _, domain = vm_store.assign_update_domain(
            conn, set_id=set_id.lower(), subscription="sub", default_count=5, now=NOW
        )
    assert domain == 2


def test_tokens_are_stored_hashed_and_revocable(db: Database) -> None:
    """Only the SHA-256 of a token is kept; a revoked token is no longer active."""
    token = tokens.new_token()
    with db.begin() as conn:
        info = tokens.create(conn, name="admin", role="admin", token=token, now=NOW)
    with db.connect() as conn:
        active = tokens.active(conn)
        stored = conn.exec_driver_sql("SELECT token_hash FROM api_tokens").scalars().all()
    assert token not in stored
    assert active[tokens.hash_token(token)] == info
    with db.begin() as conn:
        assert tokens.revoke(conn, info.id, now=NOW)
        assert not tokens.revoke(conn, info.id, now=NOW)
    with db.connect() as conn:
        assert tokens.active(conn) == {}


def test_token_cache_sees_a_new_token_without_waiting_for_its_ttl(db: Database) -> None:
    """A token created after the cache loaded (e.g. on another replica) is accepted on first use."""

    def load() -> dict[str, tokens.TokenInfo]:
        with db.connect() as conn:
            return tokens.active(conn)

    cache = tokens.TokenCache(load, ttl=3600, miss_interval=0)
    assert cache.check("gpt_unknown") is None
    token = tokens.new_token()
    with db.begin() as conn:
        tokens.create(conn, name="ops", role="admin", token=token, now=NOW)
    info = cache.check(token)
    assert info is not None
    assert info.name == "ops"


def test_operator_regions_and_images_round_trip(db: Database) -> None:
    """Operator additions are stored, listed, refused when duplicated, and removable."""
    region = topology.RegionRow("onprem-fra1", "Frankfurt DC 1", "Europe/Berlin", None, "Europe")
    image = topology.ImageRow("Contoso", "golden-ubuntu", "24.04", "Linux", "ubuntu", "24.04", date(2029, 5, 31))
    with db.begin() as conn:
        topology.add_region(conn, region, now=NOW)
        topology.add_image(conn, image, now=NOW + timedelta(seconds=1))
    with pytest.raises(Conflict), db.begin() as conn:
        topology.add_region(conn, region, now=NOW)
    with pytest.raises(Conflict), db.begin() as conn:
        topology.add_image(conn, image, now=NOW)
    with db.connect() as conn:
        assert topology.list_regions(conn) == [region]
        assert topology.list_images(conn) == [image]
    with db.begin() as conn:
        assert topology.remove_image(conn, "CONTOSO", "Golden-Ubuntu", "24.04")
        assert topology.remove_region(conn, "onprem-fra1")
        assert not topology.remove_region(conn, "onprem-fra1")
