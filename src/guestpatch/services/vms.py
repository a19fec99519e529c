"""Virtual machine use cases: create or replace, update, read, list, delete, power state.

Each use case is one transaction: load what the rules need, let the core decide, write.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from guestpatch.clock import Clock
from guestpatch.config import Config
from guestpatch.core import settings as rules
from guestpatch.core import vm as vmdoc
from guestpatch.errors import Conflict, GuestpatchError, NotFound
from guestpatch.services.catalogs import Catalogs
from guestpatch.store import agents as agent_store
from guestpatch.store import vms as vm_store
from guestpatch.store.db import Database
from guestpatch.store.vms import VmColumns, VmKey, VmRecord

#: Read-only members of a VM resource: never stored from a request, always computed on the way out.
READ_ONLY_TOP = frozenset({"id", "name", "type", "etag", "resources", "managedBy", "systemData"})
READ_ONLY_PROPERTIES = frozenset({"provisioningState", "vmId", "instanceView", "timeCreated"})


class PreconditionFailed(GuestpatchError):
    status = 412
    default_code = "PreconditionFailed"


@dataclass(frozen=True)
class VmService:
    db: Database
    catalogs: Catalogs
    config: Config
    clock: Clock
    on_goal_change: Callable[[list[int]], None] = lambda _vms: None
    on_forget: Callable[[int], None] = lambda _vm: None

    # ------------------------------------------------------------------ writes
    def put(
        self,
        key: VmKey,
        body: dict[str, Any],
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> tuple[VmRecord, bool]:
        """Create (returns ``created=True``) or replace the VM at ``key`` with ``body``."""
        vmdoc.validate_vm_name(key.name)
        document = _writable(body)
        now = self.clock.now()
        with self.db.begin() as conn:
            current = vm_store.get(conn, key)
            _check_preconditions(current, if_match=if_match, if_none_match=if_none_match)
            if current is not None:
                document = vmdoc.carry_create_only(document, current.document)
                record = self._replace(conn, current, document, now)
            else:
                record = self.create_in(conn, key, document, now)
        self.on_goal_change([record.id])
        return record, current is None

    def create_in(self, conn: Connection, key: VmKey, document: dict[str, Any], now: datetime) -> VmRecord:
        """Validate and create a VM inside the caller's transaction (ARM PUT, agent enrollment)."""
        vmdoc.validate_vm_name(key.name)
        spec = vmdoc.parse_vm(document, name=key.name)
        rules.check_vm(
            spec, None, images=self.catalogs.images(conn), regions=self.catalogs.regions(conn), today=now.date()
        )
        stored = vmdoc.normalize_document(document, spec=spec)
        set_key, domain = None, None
        if spec.availability_set_id:
            set_key, domain = vm_store.assign_update_domain(
                conn,
                set_id=spec.availability_set_id,
                subscription=key.subscription,
                default_count=self.config.update_domain_count,
                now=now,
            )
        return vm_store.create(
            conn, key, vm_id=str(uuid.uuid4()), columns=_columns(spec, set_key), update_domain=domain,
            document=stored, now=now,
        )

    def patch(self, key: VmKey, body: dict[str, Any], *, if_match: str | None = None) -> VmRecord:
        """Apply an ARM PATCH (merge) to an existing VM."""
        now = self.clock.now()
        with self.db.begin() as conn:
            current = self._existing(conn, key)
            _check_preconditions(current, if_match=if_match, if_none_match=None)
            merged = vmdoc.merge_patch(current.document, _writable(body))
            record = self._replace(conn, current, merged, now)
        self.on_goal_change([record.id])
        return record

    def _replace(self, conn: Connection, current: VmRecord, document: dict[str, Any], now: datetime) -> VmRecord:
        old_spec = vmdoc.parse_vm(current.document, name=current.name)
        spec = vmdoc.parse_vm(document, name=current.name)
        rules.check_vm(
            spec, old_spec, images=self.catalogs.images(conn), regions=self.catalogs.regions(conn), today=now.date()
        )
        stored = vmdoc.normalize_document(document, spec=spec)
        replaced = vm_store.replace(
            conn, current, columns=_columns(spec, current.availability_set_key), document=stored, now=now
        )
        agent_store.bump_goal(conn, [replaced.id])  # patch mode and reboot setting are in the goal state
        return replaced

    def delete(self, key: VmKey) -> bool:
        with self.db.begin() as conn:
            removed = vm_store.remove(conn, key)
        if removed is not None:
            self.on_forget(removed.id)
        return removed is not None

    def set_power_state(self, key: VmKey, power_state: str) -> VmRecord:
        """Record a power state change (deallocate, start, power off): guestpatch does not power machines."""
        now = self.clock.now()
        with self.db.begin() as conn:
            record = self._existing(conn, key)
            vm_store.set_power_state(conn, record, power_state, now=now)
            return self._existing(conn, key)

    # ------------------------------------------------------------------ reads
    def get(self, key: VmKey) -> VmRecord:
        with self.db.connect() as conn:
            return self._existing(conn, key)

    def list_page(
        self, *, subscription: str, resource_group: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[VmRecord]:
        with self.db.connect() as conn:
            return vm_store.list_page(
                conn, subscription=subscription, resource_group=resource_group, after=after, limit=limit
            )

    def _existing(self, conn: Any, key: VmKey) -> VmRecord:
        record = vm_store.get(conn, key)
        if record is None:
            raise NotFound(
                f"The Resource 'Microsoft.Compute/virtualMachines/{key.name}' under resource group "
                f"'{key.resource_group}' was not found.",
                target=key.name,
            )
        return record


def etag(record: VmRecord) -> str:
    return f'"{record.generation}"'


def _check_preconditions(current: VmRecord | None, *, if_match: str | None, if_none_match: str | None) -> None:
    if if_none_match is not None and if_none_match.strip() == "*" and current is not None:
        raise PreconditionFailed("The virtual machine already exists and If-None-Match is '*'.")
    if if_match is not None:
        wanted = {tag.strip() for tag in if_match.split(",")}
        if current is None:
            if wanted != {"*"}:
                raise PreconditionFailed("The virtual machine does not exist; If-Match cannot be satisfied.")
            raise NotFound("The virtual machine does not exist and If-Match is '*'.")
        if "*" not in wanted and etag(current) not in wanted:
            raise PreconditionFailed(
                f"The virtual machine's ETag is {etag(current)}; If-Match asked for {if_match.strip()}."
            )


def _writable(body: dict[str, Any]) -> dict[str, Any]:
    """The body without its read-only members (ARM ignores them on writes)."""
    document = {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY_TOP}
    properties = document.get("properties")
    if isinstance(properties, dict):
        document["properties"] = {k: v for k, v in properties.items() if k not in READ_ONLY_PROPERTIES}
    return document


def _columns(spec: vmdoc.VmSpec, set_key: str | None) -> VmColumns:
    return VmColumns(
        location=spec.location,
        os_type=spec.os_type,
        zone=spec.zones[0] if spec.zones else None,
        availability_set_key=set_key,
        scale_set_key=spec.scale_set_id.lower() if spec.scale_set_id else None,
        patch_mode=spec.patch_mode,
        assessment_mode=spec.assessment_mode,
        time_zone=spec.time_zone,
    )


def conflict_if_deallocated(record: VmRecord, operation: str) -> None:
    if record.power_state == "deallocated":
        raise Conflict(
            f"Operation '{operation}' is not allowed on VM '{record.name}' since the VM is deallocated.",
            code="OperationNotAllowed",
        )
