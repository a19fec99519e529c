"""On-demand patch operations: ``assessPatches`` / ``installPatches`` as ARM long-running operations.

An operation is created *Queued*, reaches the agent through its goal state, becomes *InProgress* with
the agent's first report and ends *Succeeded* (the agent produced a result, whatever the patch-level
status inside it), *Failed* (no result: the agent did not pick it up, stopped reporting, or failed
before producing one) or *Canceled*. The sweeper fails operations whose agent went quiet.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from guestpatch.clock import Clock, agent_seconds
from guestpatch.config import Config
from guestpatch.core.durations import parse_duration
from guestpatch.core.patch_requests import parse_install_parameters
from guestpatch.errors import Conflict, NotFound
from guestpatch.services import engine_reports
from guestpatch.services.versions import older_than
from guestpatch.store import agents as agent_store
from guestpatch.store import operations as op_store
from guestpatch.store import vms as vm_store
from guestpatch.store.db import Database
from guestpatch.store.operations import Operation
from guestpatch.store.vms import VmKey, VmRecord

log = logging.getLogger(__name__)

ASSESS = "assessPatches"
INSTALL = "installPatches"
AGENT_SILENT = "VMAgentStatusCommunicationError"


@dataclass(frozen=True)
class PatchOperations:
    db: Database
    config: Config
    clock: Clock
    on_goal_change: Callable[[list[int]], None] = lambda _vms: None

    def start(
        self, key: VmKey, kind: str, body: dict[str, Any], *, api_version: str | None, origin: str = "User",
        idempotency_key: str | None = None,
    ) -> Operation:
        """Queue an operation on the VM at ``key`` (ARM action or orchestrator)."""
        now = self.clock.now()
        with self.db.begin() as conn:
            record = vm_store.get(conn, key)
            if record is None:
                raise NotFound(
                    f"The Resource 'Microsoft.Compute/virtualMachines/{key.name}' under resource group "
                    f"'{key.resource_group}' was not found.",
                    target=key.name,
                )
            parameters = self._parameters(record, kind, body)
            self._check_runnable(conn, record, kind)
            if origin in {"User", engine_reports.ROLLOUT}:
                self._supersede_platform_assessment(conn, record, now)
            op = op_store.create(
                conn,
                op_id=str(uuid.uuid4()),
                vm=record.id,
                kind=kind,
                origin=origin,
                parameters=parameters,
                location=record.location,
                api_version=api_version,
                now=now,
                deadline=now + agent_seconds(self.clock, self.config.agent_pickup_timeout),
                idempotency_key=idempotency_key,
            )
            agent_store.bump_goal(conn, [record.id])
        self.on_goal_change([record.id])
        return op

    def _parameters(self, record: VmRecord, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        if kind == ASSESS:
            return {}
        return parse_install_parameters(body, os_type=record.os_type)

    def _check_runnable(self, conn: Connection, record: VmRecord, kind: str) -> None:
        if record.power_state == "deallocated":
            raise Conflict(
                f"Operation '{kind}' is not allowed on VM '{record.name}' since the VM is deallocated.",
                code="OperationNotAllowed",
            )
        status = agent_store.get_status(conn, record.id)
        if status is not None and older_than(status.agent_version, self.config.min_agent_version):
            raise Conflict(
                f"Operation '{kind}' is not allowed on VM '{record.name}': its guest agent {status.agent_version} is "
                f"older than the minimum {self.config.min_agent_version}; update guestpatch-agent.",
                code="OperationNotAllowed",
            )

    def _supersede_platform_assessment(self, conn: Connection, record: VmRecord, now: datetime) -> None:
        """A user's or a rollout's request replaces a platform assessment that no agent has started yet.

        The platform queues an assessment after every installation and on its own schedule; neither an
        operator's request nor a rollout's installation should wait for it.
        """
        active = op_store.active_for_vm(conn, record.id)
        if active is not None and active.origin == "Platform" and active.status == "Queued" and active.kind == ASSESS:
            op_store.finish(
                conn, active, status="Canceled",
                error={"code": "OperationSuperseded", "message": "Superseded by a user's or a rollout's operation."},
                now=now,
            )

    def get(self, op_id: str, *, subscription: str) -> tuple[Operation, VmRecord]:
        """The operation ``op_id`` if it belongs to a VM of ``subscription`` (else 404, like ARM)."""
        with self.db.connect() as conn:
            op = op_store.get(conn, op_id)
            record = vm_store.get_by_row(conn, op.vm) if op else None
        if op is None or record is None or record.subscription.lower() != subscription.lower():
            raise NotFound(f"The operation '{op_id}' was not found.", code="OperationNotFound")
        return op, record

    # ------------------------------------------------------------------ sweeper
    def sweep(self) -> list[str]:
        """Fail active operations whose agent did not pick them up or stopped reporting; return their ids."""
        now = self.clock.now()
        failed: list[str] = []
        changed: list[int] = []
        with self.db.begin() as conn:
            for op in op_store.active_ops(conn):
                reason = self._overdue(op, now)
                if reason is None:
                    continue
                if op_store.finish(conn, op, status="Failed", error={"code": AGENT_SILENT, "message": reason}, now=now):
                    failed.append(op.id)
                    changed.append(op.vm)
                    record = vm_store.get_by_row(conn, op.vm)
                    if record is not None:
                        engine_reports.on_failure(
                            conn, op, engine_reports.machine_name(record), picked_up=op.status != "Queued",
                            reason=reason, now=now,
                        )
                    log.warning("operation %s on VM row %s failed: %s", op.id, op.vm, reason)
            if changed:
                agent_store.bump_goal(conn, changed)
        if changed:
            self.on_goal_change(changed)
        return failed

    def _overdue(self, op: Operation, now: datetime) -> str | None:
        pickup = agent_seconds(self.clock, self.config.agent_pickup_timeout)
        silence = agent_seconds(self.clock, self.config.operation_progress_timeout)
        if op.status == "Queued":
            if now - op.requested_at >= pickup:
                return (
                    f"The VM guest agent did not start the operation within {int(pickup.total_seconds())} s. "
                    "Check that guestpatch-agent is running on the machine and can reach the control plane."
                )
            return None
        last = op.last_report_at or op.started_at or op.requested_at
        if now - last >= silence:
            return (
                f"The VM guest agent stopped reporting during the operation (last report "
                f"{last.isoformat().replace('+00:00', 'Z')}, silent for {int((now - last).total_seconds())} s)."
            )
        if op.kind == INSTALL:
            budget = parse_duration(op.parameters["maximumDuration"])
            if now - op.requested_at >= budget + silence:
                return (
                    f"The installation ran past its maximum duration {op.parameters['maximumDuration']} "
                    "plus the reporting grace time without a final result."
                )
        return None
