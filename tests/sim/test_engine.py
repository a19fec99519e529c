"""The engine's operator actions and reports: halt, resume, cancel, why-not-yet, retries, frozen versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from guestpatch.core.policy import Policy
from guestpatch.core.records import MachineStatus, RolloutStatus
from guestpatch.core.runtime import STATUSES
from guestpatch.engine.engine import Engine
from guestpatch.errors import Conflict
from guestpatch.sim.agents import AgentModel, SimulatedAgents
from guestpatch.sim.fleetfile import generate, load
from guestpatch.sim.run import make_release, simulate
from guestpatch.testing import FakeClock, InMemoryAgentGateway, InMemoryRolloutRepository, StaticFleetSource

DOC = generate(machines=80, regions=2, zones=3, tenants=6, seed=21)


class Rig:
    """The engine, its in-memory ports and simulated agents, driven by hand on a fake clock."""

    def __init__(self, *, model: AgentModel | None = None, policy: Policy | None = None) -> None:
        self.fleet = load(DOC)
        self.clock = FakeClock()
        self.repository, self.gateway = InMemoryRolloutRepository(), InMemoryAgentGateway()
        self.engine = Engine(repository=self.repository, gateway=self.gateway, clock=self.clock,
                             fleet_source=StaticFleetSource(self.fleet))
        self.release = make_release(list(self.fleet.os_keys), 1)
        self.agents = SimulatedAgents(names=self.fleet.names, os_of=[self.fleet.os_keys[o] for o in self.fleet.os],
                                      release=self.release, start=self.clock.now(), seed=1,
                                      model=model or AgentModel(power_off_share=0.0))
        self.id = self.engine.start_rollout(release="2026-01", policy=policy or Policy(), rollout_id="r")
        self.installs: list[tuple[datetime, str]] = []

    def run_until(self, until: datetime) -> None:
        while self.clock.now() < until:
            now = self.clock.now()
            self._send(now)
            self.agents.deliver(now, self.gateway)
            result = self.engine.tick(now)
            self._send(now)
            wakes = [w for w in (result.next_wake, self.agents.next_time(), until) if w is not None]
            self.clock.set(max(min(wakes), now + timedelta(minutes=1)))

    def _send(self, now: datetime) -> None:
        commands = self.gateway.take_commands()
        self.installs += [(now, c.machine) for c in commands if c.kind == "install"]
        self.agents.accept(commands, now)

    def statuses(self) -> list[MachineStatus]:
        state = self.engine.state(self.id)
        return [STATUSES[s] for s in state.status]


def test_operator_halt_stops_new_installations_until_resume() -> None:
    """After halt no installation starts; after resume the rollout goes on and finishes."""
    rig = Rig()
    rig.run_until(rig.clock.now() + timedelta(hours=5))
    assert rig.installs
    rig.engine.halt(rig.id, by="alice", reason="investigating")
    halted_at = rig.clock.now()
    rig.run_until(halted_at + timedelta(days=2))
    assert all(when <= halted_at for when, _ in rig.installs)
    assert rig.engine.state(rig.id).record.status is RolloutStatus.HALTED
    rig.engine.resume(rig.id, by="alice")
    rig.run_until(rig.clock.now() + timedelta(days=12))
    assert rig.statuses().count(MachineStatus.SUCCEEDED) == rig.engine.state(rig.id).n


def test_cancel_marks_waiting_machines_cancelled_with_who() -> None:
    """Cancel leaves no machine waiting; the waiting ones are Cancelled with the operator's name."""
    rig = Rig()
    rig.run_until(rig.clock.now() + timedelta(hours=5))
    rig.engine.cancel(rig.id, by="bob")
    state = rig.engine.state(rig.id)
    cancelled = [i for i in range(state.n) if STATUSES[state.status[i]] is MachineStatus.CANCELLED]
    assert cancelled
    assert all("bob" in state.reason[i] for i in cancelled)
    assert MachineStatus.WAITING not in rig.statuses()


def test_resume_of_a_running_rollout_is_refused() -> None:
    """Resume is only valid from Halted: a Conflict otherwise."""
    rig = Rig()
    rig.run_until(rig.clock.now() + timedelta(hours=1))
    with pytest.raises(Conflict):
        rig.engine.resume(rig.id, by="carol")


def test_why_not_yet_names_the_window_or_the_wave() -> None:
    """Before anything runs, a waiting machine is explained by its window, its wave or its phase."""
    rig = Rig()
    rig.run_until(rig.clock.now() + timedelta(minutes=10))
    reasons = {rig.engine.explain(rig.id, name).reason.split(" ")[0] for name in rig.fleet.names
               if rig.fleet.eligible[rig.fleet.index_of(name)]}
    assert reasons <= {"outside", "waiting", "its", "due", "installing", "installed;", "rebooting", "patched"}
    assert reasons & {"outside", "waiting", "its"}


def test_failing_machines_are_retried_then_exhausted_with_a_reason() -> None:
    """With installations always failing, each machine gets maxAttempts attempts, then Exhausted."""
    rig = Rig(model=AgentModel(install_failure=1.0, power_off_share=0.0),
              policy=Policy(halt_min_failures=10_000, max_attempts=2))
    rig.run_until(rig.clock.now() + timedelta(days=31))
    state = rig.engine.state(rig.id)
    exhausted = [i for i in range(state.n) if STATUSES[state.status[i]] is MachineStatus.EXHAUSTED]
    assert exhausted
    assert all(state.attempts[i] == 2 for i in exhausted)
    assert all("2 attempts used" in state.reason[i] for i in exhausted)


def test_a_frozen_version_gone_from_the_repository_is_reported_not_replaced() -> None:
    """When the repository moves a package on after the freeze, machines report NotOffered for it."""
    rig = Rig()
    os_key = rig.fleet.os_keys[0]
    name, version, _ = rig.release[os_key][0]
    rig.agents.drift = {os_key: {name: version + "+newer"}}
    rig.agents.drift_at = rig.clock.now() + timedelta(hours=1)
    rig.run_until(rig.clock.now() + timedelta(days=20))
    state = rig.engine.state(rig.id)
    assert state.record.frozen[os_key][name] == version
    reported = [i for i in range(state.n) if STATUSES[state.status[i]] is MachineStatus.NOT_OFFERED]
    assert reported
    assert all(f"{name}={version}" in state.reason[i] for i in reported)
    sent = [c for cs in rig.agents.installs.values() for c in cs]
    assert all(f"{name}={version}+newer" not in c.pins for c in sent)


def test_bad_patch_is_halted_after_a_handful_of_machines() -> None:
    """A release that breaks every machine halts in the canary's first wave (at most its size touched)."""
    outcome = simulate(generate(machines=2000, regions=6, tenants=100, seed=2), seed=2, bad_patch=True)
    assert outcome.metrics["halted"]
    assert 0 < outcome.metrics["touchedByBadPatch"] <= Policy().canary_wave_size + 3
    assert outcome.metrics["halt"]["machines"]


def test_the_monthly_release_starts_once() -> None:
    """start_due_release starts January's release on its date, and not again on a second call."""
    from guestpatch.core.cadence import ReleaseSchedule

    fleet = load(DOC)
    clock = FakeClock(datetime(2026, 1, 13, 1, tzinfo=UTC))
    engine = Engine(repository=InMemoryRolloutRepository(), gateway=InMemoryAgentGateway(), clock=clock,
                    fleet_source=StaticFleetSource(fleet))
    assert engine.start_due_release(ReleaseSchedule()) == "release-2026-01"
    assert engine.start_due_release(ReleaseSchedule()) is None
    assert [r.release for r in engine.rollouts()] == ["2026-01"]


def test_preview_shows_the_next_rollouts_phases() -> None:
    """preview plans the current fleet: the canary phase first, every eligible machine counted."""
    fleet = load(DOC)
    engine = Engine(repository=InMemoryRolloutRepository(), gateway=InMemoryAgentGateway(), clock=FakeClock(),
                    fleet_source=StaticFleetSource(fleet))
    preview = engine.preview()
    assert preview["phases"][0]["canary"]
    assert preview["machines"] == sum(fleet.eligible)


def test_every_waiting_machine_has_a_specific_reason() -> None:
    """Mid-rollout no machine's explanation is the catch-all: each names window, wave, phase, pair or rule."""
    rig = Rig()
    rig.run_until(rig.clock.now() + timedelta(hours=29))
    state = rig.engine.state(rig.id)
    reasons = [rig.engine.explain(rig.id, state.fleet.names[i]).reason for i in range(state.n)]
    assert not [r for r in reasons if r.startswith("due to start")]
    assert any("geo-pair" in r or "wave" in r or "window" in r for r in reasons)
