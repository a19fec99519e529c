"""Virtual machine rows: the resource document plus the columns the engine and queries need.

Functions take an open :class:`sqlalchemy.Connection` so that a caller composes several of them in
one transaction (create a VM and assign its update domain, for instance).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from guestpatch.errors import Conflict, StoreError
from guestpatch.store.tables import availability_sets, virtual_machines


@dataclass(frozen=True)
class VmKey:
    """Where a VM lives in ARM terms; comparisons are case-insensitive."""

    subscription: str
    resource_group: str
    name: str

    @property
    def lowered(self) -> tuple[str, str, str]:
        return (self.subscription.lower(), self.resource_group.lower(), self.name.lower())


@dataclass(frozen=True)
class VmRecord:
    id: int
    vm_id: str
    subscription: str
    resource_group: str
    name: str
    location: str
    os_type: str
    zone: str | None
    availability_set_key: str | None
    update_domain: int | None
    scale_set_key: str | None
    patch_mode: str
    assessment_mode: str
    time_zone: str | None
    power_state: str
    provisioning_state: str
    document: dict[str, Any]
    generation: int
    goal_seq: int
    created_at: datetime
    updated_at: datetime

    @property
    def key(self) -> VmKey:
        return VmKey(self.subscription, self.resource_group, self.name)


@dataclass(frozen=True)
class VmColumns:
    """The interpreted columns written next to the document on create and replace."""

    location: str
    os_type: str
    zone: str | None
    availability_set_key: str | None
    scale_set_key: str | None
    patch_mode: str
    assessment_mode: str
    time_zone: str | None


def _record(row: RowMapping) -> VmRecord:
    return VmRecord(**{f: row[f] for f in VmRecord.__dataclass_fields__})


def _where_key(key: VmKey) -> Any:
    sub, rg, name = key.lowered
    t = virtual_machines.c
    return and_(t.subscription_key == sub, t.resource_group_key == rg, t.name_key == name)


def get(conn: Connection, key: VmKey) -> VmRecord | None:
    row = conn.execute(select(virtual_machines).where(_where_key(key))).mappings().first()
    return _record(row) if row else None


def get_by_row(conn: Connection, row_id: int) -> VmRecord | None:
    row = conn.execute(select(virtual_machines).where(virtual_machines.c.id == row_id)).mappings().first()
    return _record(row) if row else None


def get_by_vm_id(conn: Connection, vm_id: str) -> VmRecord | None:
    row = conn.execute(select(virtual_machines).where(virtual_machines.c.vm_id == vm_id)).mappings().first()
    return _record(row) if row else None


def create(
    conn: Connection,
    key: VmKey,
    *,
    vm_id: str,
    columns: VmColumns,
    update_domain: int | None,
    document: dict[str, Any],
    now: datetime,
) -> VmRecord:
    sub, rg, name = key.lowered
    values = {
        "vm_id": vm_id,
        "subscription": key.subscription,
        "subscription_key": sub,
        "resource_group": key.resource_group,
        "resource_group_key": rg,
        "name": key.name,
        "name_key": name,
        **asdict(columns),
        "update_domain": update_domain,
        "power_state": "unknown",
        "provisioning_state": "Succeeded",
        "document": document,
        "generation": 1,
        "created_at": now,
        "updated_at": now,
    }
    try:
        with conn.begin_nested():
            conn.execute(insert(virtual_machines).values(**values))
    except IntegrityError as exc:
        raise Conflict(
            f"The virtual machine '{key.name}' was created concurrently by another request; retry.",
            target="name",
        ) from exc
    created = get(conn, key)
    if created is None:  # pragma: no cover - just inserted in this transaction
        raise StoreError("a virtual machine vanished inside its own transaction")
    return created


def replace(
    conn: Connection,
    record: VmRecord,
    *,
    columns: VmColumns,
    document: dict[str, Any],
    now: datetime,
) -> VmRecord:
    """Write a new document; fails with Conflict if someone else changed the VM meanwhile."""
    t = virtual_machines.c
    result = conn.execute(
        update(virtual_machines)
        .where(t.id == record.id, t.generation == record.generation)
        .values(**asdict(columns), document=document, generation=record.generation + 1, updated_at=now)
    )
    if result.rowcount != 1:
        raise Conflict(
            f"The virtual machine '{record.name}' was changed concurrently by another request; retry.",
            code="Conflict",
        )
    replaced = get(conn, record.key)
    if replaced is None:  # pragma: no cover
        raise StoreError("a virtual machine vanished inside its own transaction")
    return replaced


def set_power_state(conn: Connection, record: VmRecord, power_state: str, *, now: datetime) -> None:
    t = virtual_machines.c
    conn.execute(
        update(virtual_machines)
        .where(t.id == record.id)
        .values(power_state=power_state, generation=t.generation + 1, updated_at=now)
    )


def remove(conn: Connection, key: VmKey) -> VmRecord | None:
    record = get(conn, key)
    if record is None:
        return None
    conn.execute(delete(virtual_machines).where(virtual_machines.c.id == record.id))
    return record


def list_page(
    conn: Connection,
    *,
    subscription: str,
    resource_group: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[VmRecord]:
    """VMs ordered by (resource group, name), case-insensitively, starting after ``after``."""
    t = virtual_machines.c
    query = select(virtual_machines).where(t.subscription_key == subscription.lower())
    if resource_group is not None:
        query = query.where(t.resource_group_key == resource_group.lower())
    if after is not None:
        rg_key, name_key = after
        query = query.where(
            (t.resource_group_key > rg_key) | and_(t.resource_group_key == rg_key, t.name_key > name_key)
        )
    query = query.order_by(t.resource_group_key, t.name_key).limit(limit)
    return [_record(row) for row in conn.execute(query).mappings()]


def all_records(conn: Connection) -> Iterable[VmRecord]:
    for row in conn.execute(select(virtual_machines).order_by(virtual_machines.c.id)).mappings():
        yield _record(row)


def assign_update_domain(
    conn: Connection,
    *,
    set_id: str,
    subscription: str,
    default_count: int,
    now: datetime,
) -> tuple[str, int]:
    """Register the availability set if new and pick the least-populated update domain.

    With no deletions this is exactly Azure's round-robin (0, 1, 2, 3, 4, 0, ...); after deletions it
    refills the emptier domains first. Returns ``(set_key, update_domain)``.
    """
    key = set_id.lower()
    row = conn.execute(select(availability_sets).where(availability_sets.c.key == key)).mappings().first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(availability_sets).values(
                        key=key, id=set_id, subscription=subscription,
                        update_domain_count=default_count, created_at=now,
                    )
                )
        except IntegrityError:
            pass  # created concurrently: fine, read it below
    # Lock the set's row (PostgreSQL) so that concurrent creations in one set serialise their choice.
    row = (
        conn.execute(select(availability_sets).where(availability_sets.c.key == key).with_for_update())
        .mappings()
        .one()
    )
    count = int(row["update_domain_count"])
    t = virtual_machines.c
    used: dict[int, int] = dict(
        conn.execute(
            select(t.update_domain, func.count())
            .where(t.availability_set_key == key)
            .group_by(t.update_domain)
        ).all()
    )
    domain = min(range(count), key=lambda ud: (used.get(ud, 0), ud))
    return key, domain
