"""The agent protocol's use cases: enroll, goal state, heartbeat, operation reports.

See ``docs/agent-protocol.md``. Each use case is one transaction; goal-state changes are pushed to the
:class:`~guestpatch.services.goal_index.GoalIndex` after commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from guestpatch.clock import Clock, agent_seconds
from guestpatch.config import Config
from guestpatch.core import agent_messages as messages
from guestpatch.core import vm as vmdoc
from guestpatch.core.regions import normalize_location
from guestpatch.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from guestpatch.services import engine_reports
from guestpatch.services.goal_index import GoalIndex
from guestpatch.services.patch_ops import ASSESS, INSTALL
from guestpatch.services.versions import older_than
from guestpatch.services.vms import VmService
from guestpatch.store import agents as agent_store
from guestpatch.store import operations as op_store
from guestpatch.store import vms as vm_store
from guestpatch.store.db import Database
from guestpatch.store.vms import VmKey

#: Tag holding a machine's own IANA time zone (overrides its region's for off-peak windows).
TIME_ZONE_TAG = "guestpatch-time-zone"
#: Tag holding the machine's application health probe: http://…, https://… or tcp://host:port.
HEALTH_PROBE_TAG = "guestpatch-health-probe"
HEALTH_PROBE_INTERVAL = 15


class OperationAlreadyFinished(Conflict):
    default_code = "OperationAlreadyFinished"


@dataclass(frozen=True)
class AgentService:
    db: Database
    config: Config
    clock: Clock
    vms: VmService
    index: GoalIndex

    # ------------------------------------------------------------------ enroll
    def enroll(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        name = body.get("name") or body.get("hostname")
        if not isinstance(name, str) or not name:
            raise InvalidInput("'name' (or 'hostname') is required.", target="name")
        name = name.split(".")[0] if not body.get("name") else name
        vmdoc.validate_vm_name(name)
        os_info = messages.parse_os(body.get("os"))
        agent_version = body.get("agentVersion")
        if not isinstance(agent_version, str) or not agent_version:
            raise InvalidInput("'agentVersion' is required.", target="agentVersion")
        with self.db.begin() as conn:
            grant = agent_store.consume_enrollment_token(conn, token, now=now)
            if grant is None:
                raise AuthenticationFailed("The enrollment token is not valid: unknown, expired or used up.")
            key = VmKey(grant.subscription, grant.resource_group, name)
            record = vm_store.get(conn, key)
            created = record is None
            if record is None:
                record = self.vms.create_in(conn, key, self._new_vm_document(body, grant.subscription,
                                                                             grant.resource_group, os_info), now)
            credential = agent_store.issue_credential(conn, record.id, now=now)
            agent_store.record_heartbeat(
                conn, record.id, agent_version=agent_version, os=os_info, boot_time=None, configuration=None,
                health=None, now=now,
            )
            vm_store.set_power_state(conn, record, "running", now=now)
            agent_store.bump_goal(conn, [record.id])
        self.index.changed([record.id])
        return {
            "vmId": record.vm_id,
            "resourceId": (
                f"/subscriptions/{record.subscription}/resourceGroups/{record.resource_group}"
                f"/providers/Microsoft.Compute/virtualMachines/{record.name}"
            ),
            "credential": credential,
            "created": created,
            "pollIntervalSeconds": self.config.agent_poll_interval,
            "longPollSeconds": self.config.agent_long_poll,
        }

    def _new_vm_document(
        self, body: dict[str, Any], subscription: str, resource_group: str, os_info: dict[str, Any]
    ) -> dict[str, Any]:
        location = body.get("location")
        if not isinstance(location, str) or not location:
            raise InvalidInput("'location' is required when the VM does not exist yet.", target="location")
        document: dict[str, Any] = {"location": normalize_location(location)}
        zone = body.get("zone")
        if zone is not None:
            if not isinstance(zone, str) or not zone:
                raise InvalidInput("'zone' must be a string like \"1\".", target="zone")
            document["zones"] = [zone]
        time_zone = body.get("timeZone")
        if time_zone is not None:
            if not isinstance(time_zone, str) or not time_zone:
                raise InvalidInput("'timeZone' must be an IANA time zone name.", target="timeZone")
            document["tags"] = {TIME_ZONE_TAG: time_zone}
        is_windows = os_info["family"] == "Windows"
        configuration_key = "windowsConfiguration" if is_windows else "linuxConfiguration"
        hostname = body.get("hostname") if isinstance(body.get("hostname"), str) else None
        properties: dict[str, Any] = {
            "storageProfile": {"osDisk": {"osType": "Windows" if is_windows else "Linux"}},
            "osProfile": {configuration_key: {"provisionVMAgent": True}},
        }
        if hostname:
            properties["osProfile"]["computerName"] = hostname.split(".")[0][:64]
        availability_set = body.get("availabilitySet")
        if availability_set is not None:
            if not isinstance(availability_set, str) or not availability_set:
                raise InvalidInput("'availabilitySet' must be a name or an ARM id.", target="availabilitySet")
            set_id = availability_set if availability_set.startswith("/") else (
                f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
                f"/providers/Microsoft.Compute/availabilitySets/{availability_set}"
            )
            properties["availabilitySet"] = {"id": set_id}
        document["properties"] = properties
        return document

    # ------------------------------------------------------------------ goal state
    def goal_state(self, vm: int) -> tuple[str, dict[str, Any]]:
        with self.db.connect() as conn:
            record = vm_store.get_by_row(conn, vm)
            if record is None:
                raise NotFound("This machine's virtual machine resource was deleted.", code="ResourceNotFound")
            active = op_store.active_for_vm(conn, vm)
            status = agent_store.get_status(conn, vm)
        spec = vmdoc.parse_vm(record.document, name=record.name)
        too_old = status is not None and older_than(status.agent_version, self.config.min_agent_version)
        operations = []
        if active is not None and not too_old:
            operations.append(
                {
                    "id": active.id,
                    "kind": active.kind,
                    "origin": "User" if active.origin == "User" else "Platform",
                    "requestedAt": active.requested_at.isoformat().replace("+00:00", "Z"),
                    "parameters": active.parameters,
                }
            )
        etag = f'"{record.goal_seq}"'
        body = {
            "vmId": record.vm_id,
            "etag": etag,
            "patchMode": spec.patch_mode,
            "assessmentMode": spec.assessment_mode,
            "rebootSetting": spec.reboot_setting or "IfRequired",
            "pollIntervalSeconds": self.config.agent_poll_interval,
            "longPollSeconds": self.config.agent_long_poll,
            "minimumAgentVersion": self.config.min_agent_version,
            "operations": operations,
        }
        probe = health_probe(record.document)
        if probe is not None:
            body["healthProbe"] = probe
        return etag, body

    # ------------------------------------------------------------------ heartbeat
    def heartbeat(self, vm: int, body: dict[str, Any]) -> None:
        beat = messages.parse_heartbeat(body)
        now = self.clock.now()
        with self.db.begin() as conn:
            record = vm_store.get_by_row(conn, vm)
            if record is None:
                raise NotFound("This machine's virtual machine resource was deleted.", code="ResourceNotFound")
            agent_store.record_heartbeat(
                conn, vm, agent_version=beat.agent_version, os=beat.os, boot_time=beat.boot_time,
                configuration=beat.configuration, health=beat.health, now=now,
            )
            if record.power_state != "running":
                vm_store.set_power_state(conn, record, "running", now=now)
            if beat.health is not None:
                engine_reports.on_health(conn, record, beat.health, now)

    # ------------------------------------------------------------------ reports
    def report(self, vm: int, op_id: str, body: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        if body.get("status") == "InProgress" and body.get("result") is None and self._progress(vm, op_id, body, now):
            return {"accepted": True, "duplicate": False, "status": "InProgress"}
        changed = False
        with self.db.begin() as conn:
            op = op_store.get(conn, op_id)
            if op is None or op.vm != vm:
                raise NotFound(
                    f"The operation '{op_id}' is not an operation of this machine.", code="OperationNotFound"
                )
            report = messages.parse_report(body, kind=op.kind)
            if report.sequence <= op.sequence:
                return {"accepted": True, "duplicate": True, "status": op.status}
            if not op.active:
                raise OperationAlreadyFinished(
                    f"The operation '{op_id}' already ended ({op.status}); the report is dropped."
                )
            final = report.status != "InProgress"
            status = "Succeeded" if final else "InProgress"
            applied = op_store.record_report(
                conn, op.id, sequence=report.sequence, status=status, result=report.result, error=None,
                started_at=report.started_at, now=now,
            )
            if not applied:  # a concurrent report won the race; ours is a duplicate
                return {"accepted": True, "duplicate": True, "status": op.status}
            agent_store.touch(conn, vm, now=now)
            if final and report.result is not None:
                if op.kind == ASSESS:
                    op_store.replace_patches(conn, vm, op.id, _patch_rows(report.result))
                elif op.kind == INSTALL:
                    self._post_install_assessment(conn, op, now)
                record = vm_store.get_by_row(conn, vm)
                if record is not None:
                    engine_reports.on_result(conn, op, record, report.result, now)
                agent_store.bump_goal(conn, [vm])
                changed = True
        if changed:
            self.index.changed([vm])
        return {"accepted": True, "duplicate": False, "status": status}

    def _progress(self, vm: int, op_id: str, body: dict[str, Any], now: datetime) -> bool:
        """A keepalive (InProgress, no result) in one UPDATE when it is newer than what is stored; False
        for anything else (unknown, another machine's, a duplicate, ended), which the full path explains.

        The running operation's keepalives are most of the reports, and on PostgreSQL their round trips,
        not their work, bound the rate: no read before the write, and the agent's ``last_seen`` is left
        to its heartbeats, which it sends at the same interval (``pulse.py``). 290 → 1,060 reports/s on
        PostgreSQL over HTTPS (docs/benchmarks.md).
        """
        report = messages.parse_report(body, kind=ASSESS)  # no result: the kind does not matter
        with self.db.begin() as conn:
            return op_store.record_report(conn, op_id, vm=vm, sequence=report.sequence, status="InProgress",
                                          result=None, error=None, started_at=report.started_at, now=now)  # fmt: skip

    def _post_install_assessment(self, conn: Any, install: op_store.Operation, now: Any) -> None:
        """Azure re-assesses after an installation so the instance view's counts are current; so do we."""
        op_store.create(
            conn,
            op_id=str(uuid.uuid4()),
            vm=install.vm,
            kind=ASSESS,
            origin="Platform",
            parameters={},
            location=install.location,
            api_version=None,
            now=now,
            deadline=now + agent_seconds(self.clock, self.config.agent_pickup_timeout),
            idempotency_key=f"post-install:{install.id}",
        )


def health_probe(document: dict[str, Any]) -> dict[str, Any] | None:
    """The health probe a VM's tag asks for, or None (a malformed tag is ignored, never half-used)."""
    tags = document.get("tags")
    target = tags.get(HEALTH_PROBE_TAG) if isinstance(tags, dict) else None
    if not isinstance(target, str):
        return None
    scheme, _, rest = target.partition("://")
    if scheme not in {"http", "https", "tcp"} or not rest:
        return None
    if scheme == "tcp":
        host, _, port = rest.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            return None
    return {"kind": scheme, "target": target, "intervalSeconds": HEALTH_PROBE_INTERVAL}


def _patch_rows(result: dict[str, Any]) -> list[op_store.PatchRow]:
    rows: dict[str, op_store.PatchRow] = {}
    for patch in result.get("availablePatches", []):
        classes = patch.get("classifications") or ["Other"]
        published = messages.parse_time(patch.get("publishedDate"), "publishedDate")
        rows[patch["patchId"]] = op_store.PatchRow(
            patch_id=patch["patchId"], name=patch["name"], version=patch.get("version"),
            classification=classes[0], reboot_behavior=patch.get("rebootBehavior"), published=published,
        )
    return list(rows.values())
