"""Patch operations (assessPatches / installPatches on one VM) and the latest assessed patches.

An operation is *active* while Queued or InProgress; a partial unique index keeps at most one active
operation per VM, so "one patch operation per VM at a time" holds even between replicas.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from guestpatch.errors import Conflict
from guestpatch.store.tables import operations, virtual_machines, vm_patches

ACTIVE = ("Queued", "InProgress")
FINAL = ("Succeeded", "Failed", "Canceled")


@dataclass(frozen=True)
class Operation:
    id: str
    vm: int
    kind: str
    origin: str
    status: str
    active: bool
    parameters: dict[str, Any]
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    sequence: int
    location: str
    api_version: str | None
    idempotency_key: str | None
    requested_at: datetime
    started_at: datetime | None
    last_report_at: datetime | None
    ended_at: datetime | None
    deadline: datetime


def _op(row: Any) -> Operation:
    return Operation(**{f: row[f] for f in Operation.__dataclass_fields__})


class ActiveOperationExists(Conflict):
    """A patch operation is already running on the VM."""


def create(
    conn: Connection,
    *,
    op_id: str,
    vm: int,
    kind: str,
    origin: str,
    parameters: dict[str, Any],
    location: str,
    api_version: str | None,
    now: datetime,
    deadline: datetime,
    idempotency_key: str | None = None,
) -> Operation:
    try:
        with conn.begin_nested():
            conn.execute(
                insert(operations).values(
                    id=op_id, vm=vm, kind=kind, origin=origin, status="Queued", active=True,
                    parameters=parameters, result=None, error=None, sequence=0, location=location,
                    api_version=api_version, idempotency_key=idempotency_key, requested_at=now,
                    deadline=deadline,
                )
            )
    except IntegrityError as exc:
        if idempotency_key is not None:
            existing = by_idempotency_key(conn, idempotency_key)
            if existing is not None:
                return existing
        running = active_for_vm(conn, vm)
        what = (
            f"{running.kind} {running.id}, requested by {'the platform' if running.origin == 'Platform' else 'a user'}"
            if running else "a patch operation"
        )
        raise ActiveOperationExists(
            f"Another operation ({what}) is in progress on this virtual machine; retry when it has finished.",
            code="Conflict",
        ) from exc
    created = get(conn, op_id)
    assert created is not None
    return created


def get(conn: Connection, op_id: str) -> Operation | None:
    row = conn.execute(select(operations).where(operations.c.id == op_id)).mappings().first()
    return _op(row) if row else None


def by_idempotency_key(conn: Connection, key: str) -> Operation | None:
    row = conn.execute(select(operations).where(operations.c.idempotency_key == key)).mappings().first()
    return _op(row) if row else None


def active_for_vm(conn: Connection, vm: int) -> Operation | None:
    row = conn.execute(select(operations).where(operations.c.vm == vm, operations.c.active)).mappings().first()
    return _op(row) if row else None


def active_ops(conn: Connection) -> list[Operation]:
    return [_op(r) for r in conn.execute(select(operations).where(operations.c.active)).mappings()]


def record_report(
    conn: Connection,
    op_id: str,
    *,
    vm: int | None = None,
    sequence: int,
    status: str,
    result: dict[str, Any] | None,
    error: dict[str, Any] | None,
    started_at: datetime | None,
    now: datetime,
) -> bool:
    """Store an agent report if the operation is still active and ``sequence`` is newer than what we
    have (and, with ``vm``, only if it is that machine's: no read of the operation needed first);
    return whether it was applied."""
    final = status in FINAL
    o = operations.c
    where = [o.id == op_id, o.active, o.sequence < sequence] + ([o.vm == vm] if vm is not None else [])
    result_ = conn.execute(
        update(operations)
        .where(*where)
        .values(
            status=status,
            active=not final,
            result=result,
            error=error,
            sequence=sequence,
            started_at=func.coalesce(o.started_at, started_at or now),
            last_report_at=now,
            ended_at=now if final else None,
        )
    )
    return result_.rowcount == 1


def finish(conn: Connection, op: Operation, *, status: str, error: dict[str, Any] | None, now: datetime) -> bool:
    """End an active operation from the server's side (timeout, cancel). False if it already ended."""
    o = operations.c
    result = conn.execute(
        update(operations)
        .where(o.id == op.id, o.active)
        .values(status=status, active=False, error=error, ended_at=now)
    )
    return result.rowcount == 1


def history(conn: Connection, vm: int, *, kind: str | None = None, limit: int = 50) -> list[Operation]:
    query = select(operations).where(operations.c.vm == vm)
    if kind is not None:
        query = query.where(operations.c.kind == kind)
    query = query.order_by(operations.c.requested_at.desc()).limit(limit)
    return [_op(r) for r in conn.execute(query).mappings()]


def latest_finished(conn: Connection, vm: int, kind: str) -> Operation | None:
    """The newest operation of ``kind`` that produced a result (or failed) on ``vm``."""
    o = operations.c
    row = (
        conn.execute(
            select(operations)
            .where(o.vm == vm, o.kind == kind, o.status != "Queued")
            .order_by(o.requested_at.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return _op(row) if row else None


def last_assessments(conn: Connection) -> dict[int, datetime]:
    """When each VM was last assessed (requested time of its newest assessment that did not fail)."""
    o = operations.c
    rows = conn.execute(
        select(o.vm, func.max(o.requested_at))
        .where(o.kind == "assessPatches", o.status.in_(("Queued", "InProgress", "Succeeded")))
        .group_by(o.vm)
    )
    return {int(vm): when for vm, when in rows}


def busy_vms(conn: Connection) -> set[int]:
    return {int(vm) for vm in conn.execute(select(operations.c.vm).where(operations.c.active)).scalars()}


# ---------------------------------------------------------------- latest assessed patches


@dataclass(frozen=True)
class PatchRow:
    patch_id: str
    name: str
    version: str | None
    classification: str
    reboot_behavior: str | None
    published: datetime | None


def replace_patches(conn: Connection, vm: int, operation: str, patches: list[PatchRow]) -> None:
    conn.execute(delete(vm_patches).where(vm_patches.c.vm == vm))
    if patches:
        conn.execute(
            insert(vm_patches),
            [{"vm": vm, "operation": operation, **p.__dict__} for p in patches],
        )


def patches_of(conn: Connection, vm: int) -> list[PatchRow]:
    p = vm_patches.c
    rows = conn.execute(select(vm_patches).where(p.vm == vm).order_by(p.classification, p.name)).mappings()
    return [PatchRow(r["patch_id"], r["name"], r["version"], r["classification"], r["reboot_behavior"], r["published"])
            for r in rows]


def machines_missing(conn: Connection, name: str, version: str | None = None) -> list[tuple[int, str, str | None]]:
    """(vm row, patch name, version) for every VM whose latest assessment still offers ``name``."""
    p = vm_patches.c
    query = select(p.vm, p.name, p.version).where(p.name == name)
    if version is not None:
        query = query.where(p.version == version)
    return [(int(vm), n, v) for vm, n, v in conn.execute(query.order_by(p.vm))]


def pending_by_region(conn: Connection) -> list[tuple[str, int, int]]:
    """(region, machines with Critical/Security patches pending, how many such patches) per region."""
    p, t = vm_patches.c, virtual_machines.c
    rows = conn.execute(
        select(t.location, func.count(func.distinct(p.vm)), func.count())
        .select_from(vm_patches.join(virtual_machines, virtual_machines.c.id == p.vm))
        .where(p.classification.in_(("Critical", "Security")))
        .group_by(t.location)
        .order_by(t.location)
    )
    return [(loc, int(machines), int(patches)) for loc, machines, patches in rows]
