"""The simulator's run loop: the real engine on a virtual clock against simulated agents.

The loop jumps from event to event: the next agent report or the engine's next wake-up, rounded up
to ``resolution_s`` (one minute) so that reports arriving close together are handled in one tick.
It ends when the rollout is completed or cancelled and nothing is in flight, when a halted rollout
has nothing left in flight, or at the compliance deadline plus a day.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from guestpatch.core.policy import Policy
from guestpatch.core.records import MachineStatus, RolloutStatus
from guestpatch.core.runtime import STATUSES
from guestpatch.engine.engine import Engine
from guestpatch.engine.ports import RolloutRepository
from guestpatch.sim.agents import AgentModel, SimulatedAgents
from guestpatch.sim.fleetfile import load
from guestpatch.sim.monitor import LiveMonitor
from guestpatch.testing import FakeClock, InMemoryAgentGateway, InMemoryRolloutRepository, StaticFleetSource

PACKAGES = ("openssl", "libc6", "openssh-server", "linux-image", "sudo", "curl", "libxml2", "bind9-libs",
            "python3", "systemd", "tzdata", "glib2", "krb5-libs", "zlib", "expat", "nss", "git", "vim")
CLASSES = ("Critical", "Security", "Security", "Other")


def make_release(os_keys: list[str], seed: int) -> dict[str, tuple[tuple[str, str, str], ...]]:
    """A synthetic monthly release: per OS key some packages with a version and a classification."""
    out = {}
    for key in sorted(os_keys):
        rng = random.Random(f"{seed}:release:{key}")  # noqa: S311 - simulation draws, not secrets
        names = rng.sample(PACKAGES, rng.randint(6, 14))
        out[key] = tuple(sorted((n, f"{rng.randint(1, 9)}.{rng.randint(0, 20)}-{rng.randint(1, 9)}",
                                 rng.choice(CLASSES)) for n in names))
    return out


@dataclass
class Outcome:
    """What a run produced: metrics, the timeline, and the objects for tests to inspect."""

    metrics: dict[str, Any]
    timeline: list[dict[str, Any]]
    engine: Engine
    agents: SimulatedAgents
    rollout_id: str
    extra: dict[str, Any] = field(default_factory=dict)


def simulate(
    fleet_doc: dict[str, Any], *, policy: Policy | None = None, strategy: str = "availability-first",
    seed: int = 0, bad_patch: bool = False, start: datetime | None = None, resolution_s: int = 60,
    model: AgentModel | None = None, stop_when_halted: bool = True,
    repository_proxy: Callable[[RolloutRepository], RolloutRepository] | None = None,
    crash: type[BaseException] | None = None,
    repository_factory: Callable[[], RolloutRepository] | None = None,
) -> Outcome:
    """Run one release. ``repository_proxy`` wraps the store (tests inject failures with it); when
    ``crash`` is raised inside the engine, the engine is thrown away and a new one is started from the
    store at the same virtual time, as a restarted process would be. ``repository_factory`` replaces the
    in-memory store (the durability tests run the SQL repository this way)."""
    policy = policy or Policy()
    fleet = load(fleet_doc)
    clock = FakeClock(start)
    begin = clock.now()
    repository: RolloutRepository = repository_factory() if repository_factory else InMemoryRolloutRepository()
    gateway = InMemoryAgentGateway()
    engine = Engine(repository=repository, gateway=gateway, clock=clock, fleet_source=StaticFleetSource(fleet))
    restarts = 0

    def fresh_engine() -> Engine:
        store: RolloutRepository = repository_proxy(repository) if repository_proxy else repository
        return Engine(repository=store, gateway=gateway, clock=clock, fleet_source=StaticFleetSource(fleet))
    release = make_release(list(fleet.os_keys), seed)
    agents = SimulatedAgents(names=fleet.names, os_of=[fleet.os_keys[o] for o in fleet.os], release=release,
                             start=begin, seed=seed, bad_release=bad_patch, model=model or AgentModel())
    rollout_id = engine.start_rollout(release=f"{begin:%Y-%m}", policy=policy, strategy=strategy,
                                      rollout_id="sim", bad_release=bad_patch)
    monitor = LiveMonitor(engine.state(rollout_id), agents)
    engine = fresh_engine()
    end = begin + timedelta(days=policy.compliance_days + 1)
    ticks = 0
    while True:
        now = clock.now()
        commands = gateway.take_commands()
        monitor.started(commands, now)
        agents.accept(commands, now)
        agents.deliver(now, gateway)
        try:
            result = engine.tick(now)
        except BaseException as exc:
            if crash is None or not isinstance(exc, crash):
                raise
            restarts += 1
            engine = fresh_engine()
            continue
        ticks += 1
        monitor.state = engine.state(rollout_id)
        monitor.finished(repository.attempts(rollout_id, offset=monitor.seen))
        commands = gateway.take_commands()
        monitor.started(commands, now)
        agents.accept(commands, now)
        state = engine.state(rollout_id)
        busy = state.occupancy.total > 0 or agents.next_time() is not None
        status = state.record.status
        if status in (RolloutStatus.COMPLETED, RolloutStatus.CANCELLED) and not busy:
            break
        if status is RolloutStatus.HALTED and stop_when_halted and not busy:
            break
        wakes = [w for w in (result.next_wake, agents.next_time()) if w is not None]
        if not wakes:
            break
        target = max(min(wakes), now + timedelta(seconds=1))
        steps = math.ceil((target - begin).total_seconds() / resolution_s)
        target = begin + timedelta(seconds=steps * resolution_s)
        if target > end:
            break
        clock.set(target)
    timeline = timeline_records(engine, rollout_id)
    metrics = build_metrics(engine, rollout_id, fleet_doc, policy, agents, monitor, begin, ticks,
                            strategy=strategy, seed=seed, bad_patch=bad_patch, clock_end=clock.now())
    return Outcome(metrics, timeline, engine, agents, rollout_id, {"restarts": restarts})


def timeline_records(engine: Engine, rollout_id: str) -> list[dict[str, Any]]:
    state = engine.state(rollout_id)
    fleet = state.fleet
    out = []
    for a in engine.repository.attempts(rollout_id):
        i = fleet.index_of(a.machine)
        ud = fleet.ud[i]
        out.append({
            "machine": a.machine, "tenant": fleet.tenants[fleet.tenant[i]],
            "region": fleet.regions[fleet.region[i]].name, "zone": fleet.zone_name(i),
            "availabilitySet": fleet.avset_name(i), "updateDomain": None if ud < 0 else ud,
            "timeZone": fleet.time_zones[fleet.tz[i]], "scaleSetFlex": bool(fleet.flex[i]),
            "phase": a.phase, "wave": a.wave, "attempt": a.attempt, "start": _z(a.start), "end": _z(a.end),
            "back": _z(a.back) if a.back else None, "outcome": a.outcome,
        })
    return out


def _z(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_metrics(
    engine: Engine, rollout_id: str, fleet_doc: dict[str, Any], policy: Policy, agents: SimulatedAgents,
    monitor: LiveMonitor, begin: datetime, ticks: int, *, strategy: str, seed: int, bad_patch: bool,
    clock_end: datetime,
) -> dict[str, Any]:
    from guestpatch.core.explain import unpatched

    state = engine.state(rollout_id)
    rec = state.record
    statuses = [STATUSES[code] for code in state.status]
    attempts = engine.repository.attempts(rollout_id)
    patched_times = sorted(a.end for a in attempts if a.outcome == "Succeeded")
    skipped = {a.machine for a in attempts if a.outcome == "Skipped"}
    on_times = sorted(a.end for a in attempts if a.outcome == "Succeeded" and a.machine not in skipped)
    always_on = state.n - len(skipped)
    eligible = state.n
    patched = sum(1 for s in statuses if s is MachineStatus.SUCCEEDED)

    def hours_to(share: float) -> float | None:
        need = math.ceil(share * eligible - 1e-9)
        if need == 0 or len(patched_times) < need:
            return None
        return round((patched_times[need - 1] - begin).total_seconds() / 3600, 2)

    reasons: dict[str, int] = {}
    for e in unpatched(state, clock_end):
        key = f"{e.status}: {e.reason.split(':')[0].split(' (')[0]}"
        reasons[key] = reasons.get(key, 0) + 1
    halt_events = [h for h in rec.history if h["event"] == "halt"]
    return {
        "strategy": strategy, "seed": seed, "badPatch": bad_patch, "start": _z(begin), "end": _z(clock_end),
        "machines": len(fleet_doc["machines"]), "eligible": eligible, "patched": patched,
        "timeToFullComplianceHours": hours_to(1.0) if patched == eligible else None,
        "timeToComplianceHours": {"50%": hours_to(0.5), "95%": hours_to(0.95), "99%": hours_to(0.99)},
        "timeToFullComplianceExceptPoweredOffHours": (
            round((on_times[-1] - begin).total_seconds() / 3600, 2)
            if on_times and len(on_times) == always_on else None),
        "poweredOffMachines": len(skipped),
        "touchedByBadPatch": len(agents.touched) if bad_patch else 0,
        "halted": bool(halt_events), "haltedAt": halt_events[0]["at"].replace("+00:00", "Z") if halt_events else None,
        "halt": rec.halt, "status": str(rec.status), "phases": rec.phases,
        "policy": policy.to_dict(),
        "geoPairs": [list(p) for p in state.fleet.pairs()],
        "violations": monitor.counts, "violationCount": sum(monitor.counts.values()),
        "unpatched": dict(sorted(reasons.items())), "ticks": ticks,
        "frozen": {k: len(v) for k, v in rec.frozen.items()},
    }
