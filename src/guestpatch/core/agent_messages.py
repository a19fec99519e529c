"""Validate what agents send (enroll, heartbeat, operation reports): pure, with ARM errors naming the field.

The agent is a peer we do not trust blindly: a malformed report is refused with 400 (the agent erred),
never half-stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from guestpatch.errors import InvalidInput

REPORT_STATUSES = ("InProgress", "Succeeded", "Failed", "CompletedWithWarnings")
PATCH_STATUSES = ("Unknown", "InProgress", "Failed", "Succeeded", "CompletedWithWarnings")
INSTALL_STATES = ("Unknown", "Installed", "Failed", "Excluded", "NotSelected", "Pending")
REBOOT_STATUSES = ("Unknown", "NotNeeded", "Required", "Started", "Failed", "Completed")
HEALTH_STATES = ("Healthy", "Unhealthy", "Unknown", "Initializing")
CONFIG_STATUSES = ("Succeeded", "Failed")
_COUNTS_ASSESS = ("criticalAndSecurityPatchCount", "otherPatchCount")
_COUNTS_INSTALL = (
    "excludedPatchCount", "notSelectedPatchCount", "pendingPatchCount", "installedPatchCount", "failedPatchCount",
)
MAX_PATCHES = 10_000


def _obj(value: object, target: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"'{target}' must be a JSON object.", target=target)
    return value


def _str(data: Mapping[str, Any], key: str, target: str, *, required: bool = True, max_len: int = 256) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"'{target}.{key}' is required.", target=f"{target}.{key}")
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise InvalidInput(
            f"'{target}.{key}' must be a string of at most {max_len} characters.", target=f"{target}.{key}"
        )
    return value


def _enum(
    data: Mapping[str, Any], key: str, allowed: tuple[str, ...], target: str, *, required: bool = True
) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if value not in allowed:
        raise InvalidInput(
            f"The value '{value}' of '{target}.{key}' is not allowed. Allowed values are: {', '.join(allowed)}.",
            target=f"{target}.{key}",
        )
    return str(value)


def parse_time(value: object, target: str, *, required: bool = False) -> datetime | None:
    if value is None:
        if required:
            raise InvalidInput(f"'{target}' is required.", target=target)
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise InvalidInput(f"'{target}' must be an ISO 8601 date-time with a time zone, like 2026-11-26T08:00:00Z.",
                       target=target)


def parse_os(value: object, target: str = "os") -> dict[str, Any]:
    data = _obj(value, target)
    out: dict[str, Any] = {}
    for key in ("family", "distro", "version", "prettyName", "kernel", "architecture"):
        text = _str(data, key, target, required=key in {"family", "distro"})
        if text is not None:
            out[key] = text
    if out["family"] not in {"Linux", "Windows"}:
        raise InvalidInput("'os.family' must be Linux or Windows.", target=f"{target}.family")
    return out


@dataclass(frozen=True)
class Heartbeat:
    agent_version: str
    os: dict[str, Any]
    boot_time: datetime | None
    configuration: dict[str, Any] | None
    health: dict[str, Any] | None


def parse_heartbeat(body: Mapping[str, Any]) -> Heartbeat:
    version = _str(body, "agentVersion", "heartbeat", max_len=32)
    assert version is not None
    os_info = parse_os(body.get("os"), "os")
    boot = parse_time(body.get("bootTime"), "bootTime")
    configuration = None
    if body.get("configuration") is not None:
        cfg = _obj(body["configuration"], "configuration")
        configuration = {
            "patchMode": _str(cfg, "patchMode", "configuration", max_len=32),
            "assessmentMode": _str(cfg, "assessmentMode", "configuration", max_len=32),
            "status": _enum(cfg, "status", CONFIG_STATUSES, "configuration"),
            "error": _str(cfg, "error", "configuration", required=False, max_len=2000),
        }
        applied = parse_time(cfg.get("appliedAt"), "configuration.appliedAt")
        if applied is not None:
            configuration["appliedAt"] = applied.isoformat().replace("+00:00", "Z")
    health = None
    if body.get("health") is not None:
        h = _obj(body["health"], "health")
        health = {"state": _enum(h, "state", HEALTH_STATES, "health")}
        probe = _str(h, "probe", "health", required=False, max_len=500)
        if probe:
            health["probe"] = probe
        checked = parse_time(h.get("checkedAt"), "health.checkedAt")
        if checked is not None:
            health["checkedAt"] = checked.isoformat().replace("+00:00", "Z")
    return Heartbeat(version, os_info, boot, configuration, health)


@dataclass(frozen=True)
class Report:
    sequence: int
    status: str
    started_at: datetime | None
    result: dict[str, Any] | None


def parse_report(body: Mapping[str, Any], *, kind: str) -> Report:
    sequence = body.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or not 1 <= sequence <= 2**31 - 1:
        raise InvalidInput("'sequence' must be a positive integer that grows with every report.", target="sequence")
    status = _enum(body, "status", REPORT_STATUSES, "report")
    assert status is not None
    started = parse_time(body.get("startedAt"), "startedAt")
    raw = body.get("result")
    if raw is None:
        if status != "InProgress":
            raise InvalidInput("A final report needs a 'result'.", target="result")
        return Report(sequence, status, started, None)
    result = _result(_obj(raw, "result"), kind=kind)
    return Report(sequence, status, started, result)


def _count(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput(f"'result.{key}' must be a non-negative integer.", target=f"result.{key}")
    return value


def _result(data: Mapping[str, Any], *, kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {"status": _enum(data, "status", PATCH_STATUSES, "result")}
    start = parse_time(data.get("startDateTime"), "result.startDateTime")
    if start is not None:
        out["startDateTime"] = start.isoformat().replace("+00:00", "Z")
    error = data.get("error")
    if error is not None:
        err = _obj(error, "result.error")
        out["error"] = {k: v for k, v in err.items() if k in {"code", "message", "target", "details", "innererror"}}
    if kind == "assessPatches":
        out["assessmentActivityId"] = _str(data, "assessmentActivityId", "result", required=False, max_len=64)
        reboot = data.get("rebootPending", False)
        if not isinstance(reboot, bool):
            raise InvalidInput("'result.rebootPending' must be a boolean.", target="result.rebootPending")
        out["rebootPending"] = reboot
        for key in _COUNTS_ASSESS:
            out[key] = _count(data, key)
        out["availablePatches"] = _patches(data.get("availablePatches", []), "result.availablePatches", install=False)
    else:
        out["installationActivityId"] = _str(data, "installationActivityId", "result", required=False, max_len=64)
        out["rebootStatus"] = _enum(data, "rebootStatus", REBOOT_STATUSES, "result", required=False) or "Unknown"
        exceeded = data.get("maintenanceWindowExceeded", False)
        if not isinstance(exceeded, bool):
            raise InvalidInput("'result.maintenanceWindowExceeded' must be a boolean.",
                               target="result.maintenanceWindowExceeded")
        out["maintenanceWindowExceeded"] = exceeded
        for key in _COUNTS_INSTALL:
            out[key] = _count(data, key)
        out["patches"] = _patches(data.get("patches", []), "result.patches", install=True)
    return out


def _patches(value: object, target: str, *, install: bool) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > MAX_PATCHES:
        raise InvalidInput(f"'{target}' must be an array of at most {MAX_PATCHES} patches.", target=target)
    patches = []
    for i, item in enumerate(value):
        where = f"{target}[{i}]"
        entry = _obj(item, where)
        patch: dict[str, Any] = {
            "patchId": _str(entry, "patchId", where, max_len=400),
            "name": _str(entry, "name", where, max_len=200),
        }
        version = _str(entry, "version", where, required=False, max_len=200)
        if version is not None:
            patch["version"] = version
        classes = entry.get("classifications", [])
        if not isinstance(classes, list) or not all(isinstance(c, str) and len(c) <= 64 for c in classes):
            raise InvalidInput(f"'{where}.classifications' must be an array of strings.",
                               target=f"{where}.classifications")
        patch["classifications"] = classes
        if install:
            patch["installationState"] = _enum(entry, "installationState", INSTALL_STATES, where)
        else:
            for key in ("rebootBehavior", "assessmentState"):
                text = _str(entry, key, where, required=False, max_len=32)
                if text is not None:
                    patch[key] = text
            published = parse_time(entry.get("publishedDate"), f"{where}.publishedDate")
            if published is not None:
                patch["publishedDate"] = published.isoformat().replace("+00:00", "Z")
        for key in ("activityId", "lastModifiedDateTime", "msrcSeverity"):
            if isinstance(entry.get(key), str):
                patch[key] = entry[key]
        patches.append(patch)
    return patches
