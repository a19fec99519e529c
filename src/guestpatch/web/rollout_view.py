"""What the rollout pages show, computed from the orchestrator's answers (pure: no I/O, time is an argument).

:func:`timeline` turns ``Orchestrator.detail`` and ``Orchestrator.machines`` into phases → regions →
waves, each with a state a person can read without colour (done / open / next), its zone or update
domain, and its machines grouped into five buckets. :func:`gate` states the current phase's gate
figures (success share against the threshold, bake time left); :func:`machine_rows` joins every
machine with its why-not-yet (``Orchestrator.unpatched``).

Numbers are the engine's own (phase 0 is the canary, waves count from 0), so that the pages, the API,
the CLI and the why-not-yet sentences agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from guestpatch.core.policy import Policy
from guestpatch.errors import InvalidInput

#: Buckets of machine statuses on the bars: (key, label, tone, statuses).
BUCKETS = (
    ("done", "patched", "ok", ("Succeeded", "NotOffered")),
    ("flight", "in flight", "info", ("Installing", "Rebooting", "Verifying")),
    ("failed", "failed", "bad", ("Failed", "Pending", "Exhausted")),
    ("waiting", "waiting", "idle", ("Waiting", "Skipped")),
    ("ended", "cancelled or expired", "neutral", ("Cancelled", "Expired")),
)
BUCKET_OF = {status: key for key, _, _, statuses in BUCKETS for status in statuses}
GOOD = ("Succeeded", "NotOffered")  # what the gates count as success (core/runtime.py)
BAD = ("Failed", "Exhausted")
MACHINE_STATUSES = tuple(status for _, _, _, statuses in BUCKETS for status in statuses)
ACTIVE = ("Freezing", "Running", "Halted")

#: Rollout status → (tone, symbol): colour is never the only sign.
ROLLOUT_LOOK = {
    "Freezing": ("info", "…"),
    "Running": ("info", "▶"),
    "Halted": ("bad", "‖"),
    "Completed": ("ok", "✓"),
    "Cancelled": ("idle", "✕"),
}


@dataclass(frozen=True)
class Bar:
    """Machines in the five buckets (``counts[key]``) out of ``total``."""

    counts: dict[str, int]
    total: int

    @classmethod
    def of(cls, by_status: Mapping[str, int]) -> Bar:
        counts = dict.fromkeys((key for key, *_ in BUCKETS), 0)
        for status, count in by_status.items():
            counts[BUCKET_OF.get(status, "waiting")] += count
        return cls(counts, sum(counts.values()))

    @property
    def patched(self) -> int:
        return self.counts["done"]

    def describe(self) -> str:
        """``3 patched, 1 in flight of 5`` (only the non-zero buckets)."""
        parts = [f"{self.counts[key]} {label}" for key, label, _, _ in BUCKETS if self.counts[key]]
        return (", ".join(parts) or "no machines") + f" of {self.total}"


@dataclass(frozen=True)
class WaveView:
    index: int
    state: str  # "done", "open" or "next"
    where: str  # "zone 2", "update domain 1", "zones 1, 2", "" (machines outside zones and sets)
    bar: Bar


@dataclass(frozen=True)
class RegionView:
    name: str
    state: str  # "done", "patching" or "waiting"
    waves: list[WaveView]
    bar: Bar


@dataclass(frozen=True)
class PhaseView:
    index: int
    state: str  # "done", "current" or "next"
    regions: list[RegionView]
    bar: Bar

    @property
    def title(self) -> str:
        return f"Phase {self.index}" + (" · canary" if self.index == 0 else "")


@dataclass(frozen=True)
class Gate:
    """The current phase's gate, in figures."""

    phase: int
    phase_status: str
    succeeded: int
    failed: int
    threshold: float
    halt_min_failures: int
    bake_time: timedelta
    due: datetime | None
    left: timedelta | None  # bake time (or freeze time) left, when the phase waits for a moment

    @property
    def decided(self) -> int:
        return self.succeeded + self.failed

    @property
    def share(self) -> float | None:
        return None if self.decided == 0 else self.succeeded / self.decided

    @property
    def passing(self) -> bool | None:
        share = self.share
        return None if share is None else share >= self.threshold


@dataclass(frozen=True)
class MachineRow:
    machine: str  # subscription/resourceGroup/name
    region: str
    zone: str | None
    update_domain: int | None
    tenant: str
    phase: int
    wave: int
    status: str
    attempts: int
    why: str
    until: datetime | None

    @property
    def parts(self) -> tuple[str, str, str]:
        sub, rg, name = [*self.machine.split("/", 2), "", ""][:3]
        return sub, rg, name


def policy_of(detail: Mapping[str, Any]) -> Policy:
    """The rollout's policy (its stored document over the defaults); the defaults if it cannot be read."""
    try:
        return Policy.from_dict(detail.get("policy") or {})
    except InvalidInput:
        return Policy()


def timeline(detail: Mapping[str, Any], machines: Iterable[Mapping[str, Any]]) -> list[PhaseView]:
    """Phases → regions → waves with their states, places and buckets."""
    places: dict[tuple[str, int], tuple[set[str], set[int]]] = {}
    for m in machines:
        zones, domains = places.setdefault((m["region"], m["wave"]), (set(), set()))
        if m.get("zone"):
            zones.add(str(m["zone"]))
        elif m.get("availabilitySet") and m.get("updateDomain") is not None:
            domains.add(int(m["updateDomain"]))
    phases = []
    for phase in detail["phases"]:
        regions = []
        for region in phase["regions"]:
            current = region.get("currentWave")
            waves = []
            for wave in region["waves"]:
                w = int(wave["wave"])
                if phase["state"] == "done":
                    state = "done"
                elif current is None or current < 0 or phase["state"] == "next":
                    state = "next"
                else:
                    state = "done" if w < current else "open" if w == current else "next"
                waves.append(WaveView(w, state, _where(*places.get((region["region"], w), (set(), set()))),
                                      Bar.of(wave["byStatus"])))
            regions.append(RegionView(region["region"], _region_state(phase["state"], waves), waves,
                                      Bar.of(region["byStatus"])))
        total: Counter[str] = Counter()
        for region in phase["regions"]:
            total.update(region["byStatus"])
        phases.append(PhaseView(int(phase["index"]), phase["state"], regions, Bar.of(total)))
    return phases


def _region_state(phase_state: str, waves: list[WaveView]) -> str:
    if phase_state == "done" or (waves and all(w.state == "done" for w in waves)):
        return "done"
    if any(w.state in ("open", "done") for w in waves):
        return "patching"
    return "waiting"


def _where(zones: set[str], domains: set[int]) -> str:
    def listed(noun: str, items: list[str]) -> str:
        return f"{noun}{'s' if len(items) > 1 else ''} {', '.join(items)}"

    parts = []
    if zones:
        parts.append(listed("zone", sorted(zones)))
    if domains:
        parts.append(listed("update domain", [str(d) for d in sorted(domains)]))
    return " · ".join(parts)


def gate(detail: Mapping[str, Any], policy: Policy, *, now: datetime) -> Gate:
    """The current phase's figures: decided machines, success share, threshold, time left."""
    index = int(detail["phase"])
    counts: Counter[str] = Counter()
    for phase in detail["phases"]:
        if int(phase["index"]) == index:
            for region in phase["regions"]:
                counts.update(region["byStatus"])
    due = datetime.fromisoformat(detail["phaseDue"]) if detail.get("phaseDue") else None
    waiting_for_time = detail["status"] == "Freezing" or detail["phaseStatus"] == "Baking"
    left = max(due - now, timedelta(0)) if due is not None and waiting_for_time else None
    return Gate(
        phase=index, phase_status=detail["phaseStatus"], succeeded=sum(counts[s] for s in GOOD),
        failed=sum(counts[s] for s in BAD), threshold=policy.success_threshold,
        halt_min_failures=policy.halt_min_failures, bake_time=policy.bake_time, due=due, left=left,
    )


def machine_rows(
    machines: Iterable[Mapping[str, Any]], unpatched: Iterable[Mapping[str, Any]]
) -> list[MachineRow]:
    """Every machine with its why-not-yet (``patched`` for the succeeded ones, which have none)."""
    why = {e["machine"]: e for e in unpatched}
    rows = []
    for m in machines:
        explained = why.get(m["machine"])
        if explained is not None:
            reason, until = explained["reason"], explained.get("until")
        elif m["status"] in GOOD:
            reason, until = f"patched (attempt {m['attempts']})", None
        else:
            reason, until = m.get("reason") or "", None
        rows.append(MachineRow(
            machine=m["machine"], region=m["region"], zone=m.get("zone"), update_domain=m.get("updateDomain"),
            tenant=m["tenant"], phase=int(m["phase"]), wave=int(m["wave"]), status=m["status"],
            attempts=int(m["attempts"]), why=reason, until=datetime.fromisoformat(until) if until else None,
        ))
    return rows


def status_filter(value: str | None) -> str | None:
    """The machine table's ``status`` parameter in the engine's spelling; InvalidInput when unknown."""
    if value is None or not value.strip():
        return None
    found = {s.lower(): s for s in MACHINE_STATUSES}.get(value.strip().lower())
    if found is None:
        raise InvalidInput(
            f"'{value[:40]}' is not a machine status in a rollout; the statuses are {', '.join(MACHINE_STATUSES)}.",
            target="status",
        )
    return found
