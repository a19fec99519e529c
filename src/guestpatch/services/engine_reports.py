"""Turn what the server observes about orchestrator operations into engine reports (the inbox).

Called inside the transaction that observed it: an agent's final report, the sweeper failing an
operation, a heartbeat saying the application is unhealthy after a rollout's installation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from guestpatch.core import outcomes
from guestpatch.core.records import ReportKind
from guestpatch.store import inbox
from guestpatch.store.operations import Operation
from guestpatch.store.tables import operations
from guestpatch.store.vms import VmRecord

ROLLOUT = "Rollout"
#: How long after a rollout's installation an unhealthy heartbeat still counts against it.
HEALTH_WATCH = timedelta(hours=6)


def machine_name(record: VmRecord) -> str:
    """The orchestrator's name of a VM: ``subscription/resourceGroup/name`` (unique, readable)."""
    return f"{record.subscription}/{record.resource_group}/{record.name}"


def on_result(conn: Connection, op: Operation, record: VmRecord, result: dict[str, Any], now: datetime) -> None:
    """An agent's final result for a rollout operation."""
    if op.origin != ROLLOUT or op.idempotency_key is None:
        return
    machine = machine_name(record)
    if op.kind == "assessPatches":
        inbox.add(conn, inbox.report_for(op.idempotency_key, machine, ReportKind.ASSESSED, now,
                                         offers=outcomes.offers_of(result)))
        return
    pins = tuple(op.parameters.get("linuxParameters", {}).get("packageNameMasksToInclude", ()))
    missing = outcomes.not_offered(pins, result)
    for kind, detail in outcomes.install_outcome(result, pins):
        inbox.add(conn, inbox.report_for(op.idempotency_key, machine, kind, now, detail=detail,
                                         not_offered=missing if kind in {ReportKind.INSTALLED,
                                                                         ReportKind.INSTALLED_REBOOTING} else ()))


def on_failure(conn: Connection, op: Operation, machine: str, *, picked_up: bool, reason: str, now: datetime) -> None:
    """The server ended a rollout operation without a result (the agent never started it, or went quiet)."""
    if op.origin != ROLLOUT or op.idempotency_key is None:
        return
    kind = ReportKind.POWERED_OFF if not picked_up else ReportKind.INSTALL_FAILED
    if op.kind == "assessPatches" and picked_up:
        kind = ReportKind.POWERED_OFF  # an assessment that went quiet: try the machine again later
    inbox.add(conn, inbox.report_for(op.idempotency_key, machine, kind, now, detail=reason))


def on_refused(conn: Connection, key: str, machine: str, kind: ReportKind, reason: str, now: datetime) -> None:
    """The server could not even queue a rollout command (VM gone, deallocated, agent silent, busy)."""
    inbox.add(conn, inbox.report_for(key, machine, kind, now, detail=reason))


def on_health(conn: Connection, record: VmRecord, health: dict[str, Any], now: datetime) -> None:
    """An unhealthy application after a rollout's installation counts against that installation."""
    if health.get("state") != "Unhealthy":
        return
    o = operations.c
    row = conn.execute(
        select(o.idempotency_key)
        .where(o.vm == record.id, o.origin == ROLLOUT, o.kind == "installPatches", o.status == "Succeeded",
               o.ended_at >= now - HEALTH_WATCH)
        .order_by(o.ended_at.desc())
        .limit(1)
    ).scalar()
    if row is not None:
        probe = health.get("probe")
        inbox.add(conn, inbox.report_for(str(row), machine_name(record), ReportKind.UNHEALTHY, now,
                                         detail=f"(probe {probe})" if probe else ""))
