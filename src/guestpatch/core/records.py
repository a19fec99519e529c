"""What a rollout persists, what it asks agents to do, and what agents report back.

These values cross the engine's ports: the repository stores :class:`RolloutRecord`,
:class:`MachineRecord`, :class:`AttemptRecord` and :class:`Command` (the outbox); the agent gateway
carries :class:`Command` out and :class:`AgentReport` in. Each has ``to_dict``/``from_dict`` so an SQL
adapter can keep them as JSON where columns are not worth it. Times are timezone-aware UTC.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from guestpatch.core.fleet import Machine
from guestpatch.core.windows import OffPeak


class RolloutStatus(StrEnum):
    FREEZING = "Freezing"
    RUNNING = "Running"
    HALTED = "Halted"
    COMPLETED = "Completed"
    CANCELLED = "Cancelled"


class PhaseStatus(StrEnum):
    PENDING = "Pending"
    ASSESSING = "Assessing"
    ACTIVE = "Active"
    BAKING = "Baking"
    PASSED = "Passed"


class MachineStatus(StrEnum):
    WAITING = "Waiting"
    INSTALLING = "Installing"
    REBOOTING = "Rebooting"
    VERIFYING = "Verifying"
    SUCCEEDED = "Succeeded"
    NOT_OFFERED = "NotOffered"
    FAILED = "Failed"
    PENDING = "Pending"
    SKIPPED = "Skipped"
    EXHAUSTED = "Exhausted"
    CANCELLED = "Cancelled"
    EXPIRED = "Expired"


IN_FLIGHT = frozenset({MachineStatus.INSTALLING, MachineStatus.REBOOTING, MachineStatus.VERIFYING})
TERMINAL = frozenset({
    MachineStatus.SUCCEEDED, MachineStatus.NOT_OFFERED, MachineStatus.EXHAUSTED,
    MachineStatus.CANCELLED, MachineStatus.EXPIRED,
})


class ReportKind(StrEnum):
    """What an agent (or the platform on its behalf) reports about a command."""

    INSTALLED = "Installed"              # install finished, no reboot needed
    INSTALLED_REBOOTING = "InstalledRebooting"  # install finished, machine rebooting
    BACK = "Back"                        # agent reported back after the reboot
    INSTALL_FAILED = "InstallFailed"
    WINDOW_EXCEEDED = "WindowExceeded"   # maximum duration reached: Pending, retried next window
    POWERED_OFF = "PoweredOff"           # the machine was not running; nothing done
    UNHEALTHY = "Unhealthy"              # application health probe failed
    ASSESSED = "Assessed"


@dataclass(frozen=True)
class Command:
    """One operation for one machine. ``key`` is its idempotency key: sending it twice does it once."""

    key: str
    rollout: str
    kind: str  # "install" or "assess"
    machine: str
    attempt: int
    issued: datetime
    max_duration_s: int = 0
    pins: tuple[str, ...] = ()
    reboot_setting: str = "IfRequired"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["issued"] = self.issued.isoformat()
        out["pins"] = list(self.pins)
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Command:
        return cls(**{**doc, "issued": datetime.fromisoformat(doc["issued"]), "pins": tuple(doc["pins"])})


@dataclass(frozen=True)
class AgentReport:
    """A result for a command. ``id`` is unique per report; a report is applied at most once."""

    id: str
    key: str
    machine: str
    kind: ReportKind
    at: datetime
    not_offered: tuple[str, ...] = ()
    offers: tuple[tuple[str, str, str], ...] = ()
    detail: str = ""


@dataclass
class MachineRecord:
    """One machine's progress in one rollout, with the topology it had when the rollout started."""

    machine: Machine
    phase: int
    wave: int
    status: MachineStatus = MachineStatus.WAITING
    attempts: int = 0
    since: datetime | None = None
    due: datetime | None = None
    reason: str | None = None
    not_offered: tuple[str, ...] = ()
    pooled: bool = False
    failures: int = 0
    seq: int = 0
    key: str | None = None
    started: datetime | None = None
    back: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        m = asdict(self.machine)
        if self.machine.off_peak_override is not None:
            m["off_peak_override"] = self.machine.off_peak_override.to_dict()
        return {
            "machine": m, "phase": self.phase, "wave": self.wave, "status": str(self.status),
            "attempts": self.attempts, "since": _iso(self.since), "due": _iso(self.due),
            "reason": self.reason, "not_offered": list(self.not_offered), "pooled": self.pooled,
            "failures": self.failures, "seq": self.seq, "key": self.key, "started": _iso(self.started),
            "back": _iso(self.back),
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> MachineRecord:
        m = dict(doc["machine"])
        if m.get("off_peak_override") is not None:
            op = m["off_peak_override"]
            m["off_peak_override"] = OffPeak.parse(op["start"], op["end"])
        return cls(
            machine=Machine(**m), phase=doc["phase"], wave=doc["wave"],
            status=MachineStatus(doc["status"]), attempts=doc["attempts"], since=_dt(doc["since"]),
            due=_dt(doc["due"]), reason=doc["reason"], not_offered=tuple(doc["not_offered"]),
            pooled=doc["pooled"], failures=doc["failures"], seq=doc["seq"], key=doc["key"],
            started=_dt(doc["started"]), back=_dt(doc["back"]),
        )


@dataclass(frozen=True)
class AttemptRecord:
    """One finished installation attempt (the timeline's row)."""

    rollout: str
    machine: str
    attempt: int
    phase: int
    wave: int
    start: datetime
    end: datetime
    outcome: str
    back: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "start": _iso(self.start), "end": _iso(self.end), "back": _iso(self.back)}


@dataclass
class RolloutRecord:
    """The rollout-level state (small: the per-machine state lives in :class:`MachineRecord`)."""

    id: str
    release: str
    strategy: str
    policy: dict[str, Any]
    rules: dict[str, Any]
    created: datetime
    deadline: datetime
    phases: list[list[str]]
    wave_count: dict[str, int]
    status: RolloutStatus = RolloutStatus.FREEZING
    phase: int = 0
    phase_status: PhaseStatus = PhaseStatus.PENDING
    phase_due: datetime | None = None
    region_wave: dict[str, int] = field(default_factory=dict)
    frozen: dict[str, dict[str, str]] = field(default_factory=dict)
    freeze_votes: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    freeze_waiting: list[str] = field(default_factory=list)
    freeze_lazy: dict[str, str] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)
    halt: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0
    bad_release: bool = False
    regions: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy that shares no mutable container with this record."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("created", "deadline", "phase_due"):
            out[name] = _iso(getattr(self, name))
        out["status"], out["phase_status"] = str(self.status), str(self.phase_status)
        out["policy"] = copy.deepcopy(self.policy)
        out["rules"] = dict(self.rules)
        out["phases"] = [list(p) for p in self.phases]
        out["wave_count"] = dict(self.wave_count)
        out["region_wave"] = dict(self.region_wave)
        out["frozen"] = {k: dict(v) for k, v in self.frozen.items()}
        out["freeze_votes"] = {k: {n: dict(c) for n, c in v.items()} for k, v in self.freeze_votes.items()}
        out["freeze_waiting"] = list(self.freeze_waiting)
        out["freeze_lazy"] = dict(self.freeze_lazy)
        out["overrides"] = list(self.overrides)
        out["halt"] = copy.deepcopy(self.halt)
        out["history"] = [copy.deepcopy(h) for h in self.history]
        out["regions"] = [dict(r) for r in self.regions]
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> RolloutRecord:
        created, deadline = _dt(doc["created"]), _dt(doc["deadline"])
        assert created is not None
        assert deadline is not None
        return cls(**{
            **doc, "created": created, "deadline": deadline, "phase_due": _dt(doc["phase_due"]),
            "status": RolloutStatus(doc["status"]), "phase_status": PhaseStatus(doc["phase_status"]),
        })


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
