"""The console narration (pure): what changed between two looks at a rollout, in a few words.

:class:`Narrator` is fed the operator API's view of one rollout (``GET /v1/rollouts/{id}``) and its
machines (``GET /v1/rollouts/{id}/machines``) at each look, with the virtual time of the look, and
returns the lines worth printing: the rollout started, its patch set frozen, a phase started, a
region's wave opened (which zone or update domain), a machine failed, a region done, a phase's gate
passed and its bake time, the rollout halted (the gate's reason, the machines behind it), completed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from guestpatch.core.records import TERMINAL
from guestpatch.core.windows import DEFAULT_OFF_PEAK, WindowSpec

DONE = TERMINAL


def clock(when: datetime, time_zone: str | None = None) -> str:
    """``Tue 22:04 UTC``, or the local time in ``time_zone`` (``00:04 local``)."""
    if time_zone:
        return when.astimezone(ZoneInfo(time_zone)).strftime("%H:%M local")
    return when.strftime("%a %H:%M UTC")


def night_now(now: datetime, time_zone: str) -> bool:
    """Whether the default off-peak hours (22:00-06:00) are open in ``time_zone`` at ``now``."""
    return WindowSpec(time_zone, DEFAULT_OFF_PEAK).is_open(now)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass
class Narrator:
    """Remembers the last look at one rollout; :meth:`look` returns what is new since."""

    time_zones: dict[str, str] = field(default_factory=dict)  # region → IANA zone, for local times
    _status: str | None = None
    _phase: tuple[int, str] | None = None
    _waves: dict[str, int | None] = field(default_factory=dict)
    _machines: dict[str, str] = field(default_factory=dict)
    _regions_done: set[str] = field(default_factory=set)

    def look(self, detail: dict[str, Any], machines: list[dict[str, Any]], now: datetime) -> list[str]:
        lines: list[str] = []
        name = f"{detail['release']} ({detail['id'][:8]})"
        status = str(detail["status"])
        if self._status is None:
            plan = " → ".join(f"{p['index']}: {', '.join(_region_names(p))}" for p in detail["phases"])
            lines.append(f"rollout {name} started: {len(machines)} machines; phases {plan}")
            if status == "Freezing":
                lines.append("  the canary phase's machines assess first: their offers freeze the patch set")
        if status == "Running" and self._status in (None, "Freezing"):
            frozen = detail.get("frozen") or {}
            sets = "; ".join(f"{os_key}: {', '.join(f'{n} {v}' for n, v in sorted(pins.items()))}"
                             for os_key, pins in sorted(frozen.items()) if pins)  # fmt: skip
            lines.append(f"patch set frozen — {sets or 'nothing to install'}")
        lines += self._phases(detail, now)
        lines += self._regions(detail, machines, now)
        lines += self._machine_changes(machines, running=status == "Running")
        if status != self._status:
            lines += self._status_change(status, detail, machines)
        self._status = status
        return lines

    def _phases(self, detail: dict[str, Any], now: datetime) -> list[str]:
        phase = (int(detail["phase"]), str(detail["phaseStatus"]))
        if phase == self._phase or detail["status"] in ("Completed", "Cancelled"):
            self._phase = phase
            return []
        index, state = phase
        regions = ", ".join(_region_names(detail["phases"][index])) if index < len(detail["phases"]) else ""
        lines = []
        if self._phase is not None and self._phase[0] < index:
            lines.append(f"phase {self._phase[0]} passed its bake time")
        if state == "Active":
            lines.append(f"phase {index} started: {regions}")
        elif state == "Baking":
            due = _time(detail.get("phaseDue"))
            until = f" until {clock(due)}" if due else ""
            lines.append(f"gate passed: phase {index} ({regions}) is healthy; baking{until} before the next phase")
        self._phase = phase
        return lines

    def _regions(self, detail: dict[str, Any], machines: list[dict[str, Any]], now: datetime) -> list[str]:
        lines = []
        for phase in detail["phases"]:
            for row in phase["regions"]:
                region, wave = row["region"], row.get("currentWave")
                if region in self._waves and self._waves[region] == wave:
                    continue
                self._waves[region] = wave
                members = [m for m in machines if m["region"] == region and m["wave"] == wave]
                total = len(row["waves"])
                if wave is None or phase.get("state") == "next" or not members:
                    continue  # not open yet, or past its last wave
                zone = self.time_zones.get(region)
                note = f"{clock(now, zone)}" if zone is None or night_now(now, zone) else (
                    f"{clock(now, zone)}: it waits for the night at 22:00 local")
                lines.append(f"{region}: wave {wave + 1} of {total} opened ({_describe(members)}) — {note}")
        for region in sorted({m["region"] for m in machines} - self._regions_done):
            mine = [m for m in machines if m["region"] == region]
            if mine and all(m["status"] in DONE for m in mine):
                self._regions_done.add(region)
                ok = sum(1 for m in mine if m["status"] == "Succeeded")
                lines.append(f"{region}: done — {ok} of {len(mine)} machines patched")
        return lines

    def _machine_changes(self, machines: list[dict[str, Any]], *, running: bool) -> list[str]:
        lines = []
        for m in machines:
            before, now = self._machines.get(m["machine"]), m["status"]
            self._machines[m["machine"]] = now
            if before is None or before == now:
                continue
            short = m["machine"].rsplit("/", 1)[-1]
            if now == "Failed":
                lines.append(f"  {short} ({m['region']}) failed: {_reason(m.get('reason'))}")
            elif now == "Exhausted":
                lines.append(f"  {short} ({m['region']}) gave up after {m['attempts']} attempts")
            elif now == "Waiting" and before in ("Failed", "Pending") and running:
                lines.append(f"  {short} ({m['region']}) retries in its window (attempt {m['attempts'] + 1})")
        return lines

    def _status_change(self, status: str, detail: dict[str, Any], machines: list[dict[str, Any]]) -> list[str]:
        counts = Counter(m["status"] for m in machines)
        if status == "Halted":
            halt = detail.get("halt") or {}
            behind = halt.get("waiting", 0)
            failing = ", ".join(str(n).rsplit("/", 1)[-1] for n in halt.get("machines") or []) or "see the dashboard"
            return [f"HALTED by the {halt.get('by', 'gate')}: {halt.get('reason', 'no reason given')}",
                    f"  failing machines: {failing}; {behind} machines wait behind the halt: nothing new starts",
                    "  resume or cancel it in the dashboard (or POST /v1/rollouts/{id}/resume|cancel)"]  # fmt: skip
        if status == "Completed":
            summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            return [f"rollout {detail['release']} completed: {summary}"]
        if status == "Running" and self._status == "Halted":
            return ["resumed: the halting gate is overridden"]
        if status == "Cancelled":
            return [f"rollout {detail['release']} cancelled"]
        return []


def _describe(members: list[dict[str, Any]]) -> str:
    zones = sorted({str(m["zone"]) for m in members if m.get("zone")})
    sets = sorted({(str(m["availabilitySet"]).rsplit("/", 1)[-1], m.get("updateDomain")) for m in members
                   if m.get("availabilitySet")})  # fmt: skip
    parts = [f"zone {', '.join(zones)}"] if zones else []
    parts += [f"{name} update domain {ud}" for name, ud in sets]
    tenants = len({m["tenant"] for m in members})
    return f"{'; '.join(parts) or 'no zone'}: {len(members)} machines of {tenants} tenants"


def _region_names(phase: dict[str, Any]) -> list[str]:
    """A phase's region names, in the summary's shape (names) or the detail's (rows with ``region``)."""
    return [r["region"] if isinstance(r, dict) else str(r) for r in phase["regions"]]


def _reason(text: str | None) -> str:
    """The engine's reason for a failure, said once (its health verdict repeats the probe's words)."""
    if not text:
        return "no reason given"
    if "Unhealthy" in text or "unhealthy" in text:
        return "its application turned Unhealthy after the installation (health probe)"
    return text
