"""The persisted step machine of an installation: values, their JSON form, and an atomic store.

An installation is a sequence of steps (:data:`STEPS`); the state is saved before every transition
is acted on (write a temporary file, flush, ``fsync``, rename over the old one, ``fsync`` the
folder), so a reboot or a crash at any point leaves a file from which the same operation resumes
and is reported once (osconfig's ``task_state.go`` pattern).

::

    Started ──► Assessed ──► Installing ──► Installed ──┬──► Finishing ──► Done
                                 ▲    │                 │        ▲
                                 └────┘ one batch or    └──► RebootPlanned
                                        one package per
                                        transition
"""

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Tuple

from guestpatch_agent.clock import format_time, parse_time
from guestpatch_agent.errors import StateError
from guestpatch_agent.model import Patch, RebootStatus, Selection, Update

STARTED = "Started"
ASSESSED = "Assessed"
INSTALLING = "Installing"
INSTALLED = "Installed"
REBOOT_PLANNED = "RebootPlanned"
FINISHING = "Finishing"
DONE = "Done"
STEPS = (STARTED, ASSESSED, INSTALLING, INSTALLED, REBOOT_PLANNED, FINISHING, DONE)

FORMAT_VERSION = 1
HISTORY_KEPT = 10


@dataclass(frozen=True)
class InstallRequest:
    """What ``installPatches`` asked for. ``start`` is the requested start: the window counts from it."""

    maximum_duration: timedelta
    reboot_setting: str
    selection: Selection
    start: datetime

    def same_request(self, other: "InstallRequest") -> bool:
        """Same parameters (the start time aside): a re-run of the same command resumes the operation."""
        return (
            self.maximum_duration == other.maximum_duration
            and self.reboot_setting == other.reboot_setting
            and self.selection == other.selection
        )


@dataclass
class InstallState:
    activity_id: str
    request: InstallRequest
    step: str = STARTED
    patches: List[Patch] = field(default_factory=list)
    reboot_status: str = RebootStatus.NOT_NEEDED
    reboot_count: int = 0
    boot_id: Optional[str] = None
    reboot_requested: Optional[datetime] = None
    window_exceeded: bool = False
    reboot_pending: bool = False
    assessment_failed: bool = False
    errors: List[Tuple[str, str]] = field(default_factory=list)
    finished: Optional[datetime] = None
    result: Optional[Dict[str, Any]] = None
    reported: bool = False

    def add_error(self, code: str, message: str) -> None:
        if (code, message) not in self.errors:
            self.errors.append((code, message))


# ---------------------------------------------------------------------- JSON form
def _update_to_dict(update: Update) -> Dict[str, Any]:
    return {
        "name": update.name,
        "arch": update.arch,
        "version": update.version,
        "installedVersion": update.installed_version,
        "classification": update.classification,
        "repository": update.repository,
        "advisories": list(update.advisories),
        "severity": update.severity,
        "published": format_time(update.published) if update.published else None,
        "rebootBehavior": update.reboot_behavior,
    }


def _update_from_dict(data: Dict[str, Any]) -> Update:
    return Update(
        name=data["name"],
        arch=data["arch"],
        version=data["version"],
        installed_version=data["installedVersion"],
        classification=data["classification"],
        repository=data["repository"],
        advisories=tuple(data.get("advisories", ())),
        severity=data.get("severity"),
        published=parse_time(data["published"]) if data.get("published") else None,
        reboot_behavior=data.get("rebootBehavior", "Unknown"),
    )


def _opt_time(value: Optional[datetime]) -> Optional[str]:
    return format_time(value) if value is not None else None


def to_dict(state: InstallState) -> Dict[str, Any]:
    request = state.request
    return {
        "formatVersion": FORMAT_VERSION,
        "activityId": state.activity_id,
        "request": {
            "maximumDurationSeconds": request.maximum_duration.total_seconds(),
            "rebootSetting": request.reboot_setting,
            "classifications": list(request.selection.classifications),
            "include": list(request.selection.include),
            "exclude": list(request.selection.exclude),
            "start": format_time(request.start),
        },
        "step": state.step,
        "patches": [
            {"update": _update_to_dict(p.update), "state": p.state, "reason": p.reason, "attempts": p.attempts}
            for p in state.patches
        ],
        "rebootStatus": state.reboot_status,
        "rebootCount": state.reboot_count,
        "bootId": state.boot_id,
        "rebootRequested": _opt_time(state.reboot_requested),
        "windowExceeded": state.window_exceeded,
        "rebootPending": state.reboot_pending,
        "assessmentFailed": state.assessment_failed,
        "errors": [list(e) for e in state.errors],
        "finished": _opt_time(state.finished),
        "result": state.result,
        "reported": state.reported,
    }


def from_dict(data: Dict[str, Any]) -> InstallState:
    try:
        if data.get("formatVersion") != FORMAT_VERSION:
            raise StateError("unknown state format {!r}".format(data.get("formatVersion")))
        req = data["request"]
        request = InstallRequest(
            maximum_duration=timedelta(seconds=float(req["maximumDurationSeconds"])),
            reboot_setting=req["rebootSetting"],
            selection=Selection(tuple(req["classifications"]), tuple(req["include"]), tuple(req["exclude"])),
            start=parse_time(req["start"]),
        )
        if data["step"] not in STEPS:
            raise StateError("unknown step {!r}".format(data["step"]))
        return InstallState(
            activity_id=data["activityId"],
            request=request,
            step=data["step"],
            patches=[
                Patch(_update_from_dict(p["update"]), p["state"], p.get("reason"), int(p.get("attempts", 0)))
                for p in data["patches"]
            ],
            reboot_status=data["rebootStatus"],
            reboot_count=int(data["rebootCount"]),
            boot_id=data.get("bootId"),
            reboot_requested=parse_time(data["rebootRequested"]) if data.get("rebootRequested") else None,
            window_exceeded=bool(data["windowExceeded"]),
            reboot_pending=bool(data["rebootPending"]),
            assessment_failed=bool(data.get("assessmentFailed", False)),
            errors=[(str(c), str(m)) for c, m in data["errors"]],
            finished=parse_time(data["finished"]) if data.get("finished") else None,
            result=data.get("result"),
            reported=bool(data["reported"]),
        )
    except StateError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError("the saved installation state is malformed: {!r}".format(exc)) from exc


# ---------------------------------------------------------------------- the store
class StateStore:
    """One current installation (``operation.json``) plus the last few finished ones (``history/``)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.path = os.path.join(folder, "operation.json")

    def load(self) -> Optional[InstallState]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError("cannot read {}: {}".format(self.path, exc)) from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise StateError("{} is not valid JSON: {}".format(self.path, exc)) from exc
        if not isinstance(data, dict):
            raise StateError("{} does not hold an installation state".format(self.path))
        return from_dict(data)

    def save(self, state: InstallState) -> None:
        write_atomically(self.path, json.dumps(to_dict(state), indent=1, sort_keys=True) + "\n")

    def archive(self, state: InstallState) -> None:
        """Move the finished installation to ``history/`` (the newest :data:`HISTORY_KEPT` are kept)."""
        history = os.path.join(self.folder, "history")
        os.makedirs(history, exist_ok=True)
        stamp = (state.finished or state.request.start).strftime("%Y%m%dT%H%M%SZ")
        write_atomically(
            os.path.join(history, "{}-{}.json".format(stamp, state.activity_id)),
            json.dumps(to_dict(state), indent=1, sort_keys=True) + "\n",
        )
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        for old in sorted(os.listdir(history))[:-HISTORY_KEPT]:
            os.unlink(os.path.join(history, old))


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` so that ``path`` holds either the old or the new content, never a mix."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, mode=0o700, exist_ok=True)
    temporary = "{}.tmp-{}".format(path, os.getpid())
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
