"""The instance view: the VM, what its agent last said, and its latest assessment and installation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from guestpatch.clock import Clock, agent_seconds
from guestpatch.config import Config
from guestpatch.services import views
from guestpatch.services.catalogs import Catalogs
from guestpatch.services.versions import older_than
from guestpatch.store import agents as agent_store
from guestpatch.store import operations as op_store
from guestpatch.store.agents import AgentStatus
from guestpatch.store.db import Database
from guestpatch.store.operations import Operation
from guestpatch.store.vms import VmRecord

#: An agent silent for this many poll intervals is shown Not Ready and its power state unknown.
STALE_POLLS = 3


def agent_silence(config: Config, clock: Clock) -> timedelta:
    """How long an agent may be silent before it counts as not reporting (in the clock's time)."""
    return agent_seconds(clock, STALE_POLLS * config.agent_poll_interval + config.agent_long_poll)


@dataclass(frozen=True)
class InstanceViews:
    db: Database
    config: Config
    clock: Clock
    catalogs: Catalogs

    def instance_view(self, record: VmRecord) -> dict[str, Any]:
        now = self.clock.now()
        with self.db.connect() as conn:
            images = self.catalogs.images(conn)
            status = agent_store.get_status(conn, record.id)
            assessment = op_store.latest_finished(conn, record.id, "assessPatches")
            installation = op_store.latest_finished(conn, record.id, "installPatches")
            active = op_store.active_for_vm(conn, record.id)
        stale = status is None or now - status.last_seen > agent_silence(self.config, self.clock)
        power = record.power_state
        if power == "running" and stale:
            power = "unknown"
        shown = record if power == record.power_state else _with_power(record, power)
        view = views.instance_view(
            shown,
            images=images,
            today=now.date(),
            now=now,
            agent=self._agent(status, stale, now) if status else None,
            applied=_applied(status),
            available_summary=_assessment_summary(assessment, active),
            installation_summary=_installation_summary(installation, active),
        )
        if status is not None and status.health and not stale:
            view["vmHealth"] = _vm_health(status.health)
        if status is not None:
            os_info = status.os
            view["osName"] = os_info.get("prettyName") or os_info.get("distro")
            view["osVersion"] = os_info.get("version")
        return view

    def _agent(self, status: AgentStatus, stale: bool, now: datetime) -> dict[str, Any]:
        seen = views.iso(status.last_seen)
        if stale:
            state = {
                "code": "ProvisioningState/Unavailable", "level": "Warning", "displayStatus": "Not Ready",
                "message": f"The guest agent has not reported since {seen}.", "time": seen,
            }
        elif older_than(status.agent_version, self.config.min_agent_version):
            state = {
                "code": "ProvisioningState/succeeded", "level": "Warning", "displayStatus": "Ready",
                "message": (
                    f"The guest agent {status.agent_version} is older than the minimum "
                    f"{self.config.min_agent_version}: it is given no patch operations until it is updated."
                ),
                "time": seen,
            }
        else:
            state = {
                "code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready",
                "message": "GuestAgent is running and accepting new configurations.", "time": seen,
            }
        return {"vmAgentVersion": status.agent_version, "statuses": [state]}


_HEALTH_DISPLAY = {
    "Healthy": ("Info", "The application on the VM is healthy."),
    "Unhealthy": ("Error", "The application on the VM is unhealthy."),
    "Initializing": ("Info", "The application health probe is initializing."),
    "Unknown": ("Warning", "The application health state is unknown."),
}


def _vm_health(health: dict[str, Any]) -> dict[str, Any]:
    """Azure's ``vmHealth``: the application health the agent's probe last reported."""
    state = str(health.get("state", "Unknown"))
    level, display = _HEALTH_DISPLAY.get(state, _HEALTH_DISPLAY["Unknown"])
    status: dict[str, Any] = {"code": f"HealthState/{state.lower()}", "level": level, "displayStatus": display}
    if health.get("probe"):
        status["message"] = f"probe {health['probe']}"
    if health.get("checkedAt"):
        status["time"] = health["checkedAt"]
    return {"status": status}


def _with_power(record: VmRecord, power: str) -> VmRecord:
    return replace(record, power_state=power)


def _applied(status: AgentStatus | None) -> dict[str, str] | None:
    if status is None or not status.configuration:
        return None
    cfg = status.configuration
    applied: dict[str, str] = {}
    if cfg.get("status") == "Succeeded":
        applied.update({k: cfg[k] for k in ("patchMode", "assessmentMode") if cfg.get(k)})
    elif cfg.get("error"):
        applied["error"] = str(cfg["error"])
    if cfg.get("appliedAt"):
        applied["time"] = str(cfg["appliedAt"])
    return applied


def _error_of(op: Operation) -> dict[str, Any] | None:
    if op.result and op.result.get("error"):
        error: dict[str, Any] = op.result["error"]
        return error
    return op.error


def _summary_base(op: Operation, active: Operation | None, activity_key: str) -> dict[str, Any]:
    running = active is not None and active.kind == op.kind
    current = active if running and active is not None else op
    if running:
        status = "InProgress"
    elif current.result is not None:
        status = current.result.get("status", "Unknown")
    else:
        status = "Failed"
    summary: dict[str, Any] = {
        "status": status,
        activity_key: current.id,
        "startTime": views.iso(current.started_at or current.requested_at),
        "lastModifiedTime": views.iso(current.ended_at or current.last_report_at or current.requested_at),
    }
    error = _error_of(current) if not running else None
    if error:
        summary["error"] = error
    return summary


def _assessment_summary(op: Operation | None, active: Operation | None) -> dict[str, Any] | None:
    if op is None and not (active and active.kind == "assessPatches"):
        return None
    base_op = op or active
    assert base_op is not None
    summary = _summary_base(base_op, active, "assessmentActivityId")
    result = (op.result if op else None) or {}
    summary["rebootPending"] = bool(result.get("rebootPending", False))
    summary["criticalAndSecurityPatchCount"] = int(result.get("criticalAndSecurityPatchCount", 0))
    summary["otherPatchCount"] = int(result.get("otherPatchCount", 0))
    return summary


def _installation_summary(op: Operation | None, active: Operation | None) -> dict[str, Any] | None:
    if op is None and not (active and active.kind == "installPatches"):
        return None
    base_op = op or active
    assert base_op is not None
    summary = _summary_base(base_op, active, "installationActivityId")
    result = (op.result if op else None) or {}
    summary["maintenanceWindowExceeded"] = bool(result.get("maintenanceWindowExceeded", False))
    for key in ("notSelectedPatchCount", "excludedPatchCount", "pendingPatchCount", "installedPatchCount",
                "failedPatchCount"):
        summary[key] = int(result.get(key, 0))
    return summary
