"""Why not yet: for every machine, in the operator's words, why it is not patched (or what happened).

:func:`why` answers for one machine of a rollout (outside its window until T, waiting for wave N of
its region, waiting for phase P's gate, halted by ..., retry at T, not eligible because ...);
:func:`unpatched` lists every machine of a rollout that is not patched, with its reason (the 30-day
compliance report); :func:`describe_plan` previews a plan's phases and waves (``rollout plan``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from guestpatch.core.fleet import Fleet
from guestpatch.core.planner import Plan
from guestpatch.core.records import MachineStatus as M
from guestpatch.core.records import PhaseStatus as P
from guestpatch.core.records import RolloutStatus as R
from guestpatch.core.runtime import STATUSES, RolloutState, dt


@dataclass(frozen=True)
class Explanation:
    machine: str
    status: str
    reason: str
    until: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "status": self.status, "reason": self.reason,
                "until": None if self.until is None else self.until.isoformat()}


def ineligible(fleet: Fleet, i: int) -> Explanation | None:
    """Why machine ``i`` of a fleet takes no part in rollouts (``None`` if it does)."""
    reason = fleet.reasons.get(i)
    return None if reason is None else Explanation(fleet.names[i], "NotEligible", f"not eligible: {reason}")


def why(state: RolloutState, i: int, now: datetime) -> Explanation:
    s = STATUSES[state.status[i]]
    name, rec, fleet = state.fleet.names[i], state.record, state.fleet
    due = dt(state.due[i])
    reason = state.reason.get(i, "")

    def out(text: str, until: datetime | None = None) -> Explanation:
        return Explanation(name, str(s), text, until)

    if s is M.SUCCEEDED:
        return out(f"patched (attempt {state.attempts[i]}), healthy since {_when(state.since[i])}")
    if s in (M.NOT_OFFERED, M.EXHAUSTED, M.CANCELLED, M.EXPIRED):
        return out(reason)
    if s is M.INSTALLING:
        return out("installing; the agent must report by", due)
    if s is M.REBOOTING:
        return out("rebooting after its installation; the agent must report back by", due)
    if s is M.VERIFYING:
        return out("installed; its health must stay good until", due)
    if s in (M.FAILED, M.PENDING):
        return out(f"{reason}; retry {state.attempts[i] + 1} of {state.policy.max_attempts} in its next "
                   "window at", due)
    if s is M.SKIPPED:
        return out("powered off in its window; next assessment at", due)
    if rec.status is R.FREEZING:
        return out("waiting for the canary phase's assessments that freeze the patch set, until", rec.phase_due)
    if rec.status is R.HALTED and rec.halt:
        return out(f"rollout halted by {rec.halt['by']}: {rec.halt['reason']}")
    if rec.status in (R.CANCELLED, R.COMPLETED):
        return out(f"rollout {rec.status}")
    p, r = state.phase_of[i], fleet.region[i]
    if p > rec.phase:
        return out(f"its region {fleet.regions[r].name} is in phase {p}; phase {rec.phase} is "
                   f"{rec.phase_status}" + (" until" if rec.phase_status is P.BAKING else ""),
                   rec.phase_due if rec.phase_status is P.BAKING else None)
    w, current = state.wave_of[i], state.current_wave[r]
    if w > current >= 0:
        zone = _wave_zone(state, r, current)
        return out(f"waiting for wave {current} of {fleet.regions[r].name}{zone}; it is in wave {w}")
    if state.key[i] is not None:
        return out("waiting for an assessment that freezes the patch set of its OS, until", due)
    if due is not None:
        return out("outside its window until", due)
    pair = fleet.pair_of[r]
    if state.pooled[i] and pair >= 0 and state.region_phase[pair] == rec.phase != p \
            and rec.phase_status is P.ACTIVE:
        return out(f"catch-up waiting while its region's geo-pair {fleet.regions[pair].name} runs phase {rec.phase}")
    blocker = state.occupancy.blocker(i)
    if blocker:
        return out(f"waiting: {blocker}")
    calendar = state.calendars[state.window_class[i]]
    t = now.timestamp()
    if calendar.open_at(t) is None:
        return out("outside its window until", dt(calendar.next_open(t)))
    return out("due to start at the next tick")


def _when(t: float) -> str:
    moment = dt(t)
    return "-" if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _wave_zone(state: RolloutState, r: int, w: int) -> str:
    zones = {state.fleet.zone[i] for i in state.members.get((r, w), [])} - {-1}
    if len(zones) == 1:
        return f" (zone {state.fleet.zones[zones.pop()]})"
    return ""


def unpatched(state: RolloutState, now: datetime) -> list[Explanation]:
    """Every machine of the rollout that is not patched, with its reason."""
    return [why(state, i, now) for i in range(state.n) if STATUSES[state.status[i]] is not M.SUCCEEDED]


def describe_plan(plan: Plan, fleet: Fleet) -> dict[str, Any]:
    """A preview of a plan: phases, their regions, and per region its waves (size, zones, tenants)."""
    waves: dict[tuple[int, int], list[int]] = {}
    for i, w in enumerate(plan.wave_of):
        if w >= 0:
            waves.setdefault((fleet.region[i], w), []).append(i)
    phases = []
    for p, regions in enumerate(plan.phases):
        entry = []
        for r in regions:
            region_waves: list[dict[str, Any]] = []
            for w in range(plan.wave_count[r]):
                members = waves.get((r, w), [])
                zones = sorted({fleet.zones[fleet.zone[i]] for i in members if fleet.zone[i] >= 0})
                region_waves.append({
                    "wave": w, "machines": len(members), "zones": zones,
                    "tenants": len({fleet.tenant[i] for i in members}),
                    "availabilitySets": len({fleet.avset[i] for i in members if fleet.avset[i] >= 0}),
                })
            entry.append({"region": fleet.regions[r].name, "timeZone": fleet.regions[r].time_zone,
                          "machines": sum(w["machines"] for w in region_waves), "waves": region_waves})
        phases.append({"phase": p, "canary": p == 0, "regions": entry})
    return {"strategy": plan.strategy, "machines": plan.machines_in_rollout(), "phases": phases}
