"""Killing the engine at any point and starting it again installs nothing twice and loses nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guestpatch.core.records import Command
from guestpatch.engine.ports import UnitOfWork
from guestpatch.sim.agents import AgentModel
from guestpatch.sim.fleetfile import generate
from guestpatch.sim.run import simulate
from guestpatch.testing import InMemoryRolloutRepository


class Crash(Exception):
    """The engine process dies here."""


class CrashingRepository:
    """Forwards to the store, and dies at chosen calls: before the call, or after it took effect."""

    def __init__(self, inner: InMemoryRolloutRepository, plan: dict[str, Any]) -> None:
        self.inner = inner
        self.plan = plan

    def _maybe(self, when: str) -> None:
        if when == "before":
            self.plan["calls"] += 1
        if self.plan["calls"] in self.plan["points"] and when == self.plan["where"][self.plan["calls"]]:
            self.plan["crashes"] += 1
            raise Crash(f"crash {when} call {self.plan['calls']}")

    def commit(self, unit: UnitOfWork) -> None:
        self._maybe("before")
        self.inner.commit(unit)
        self._maybe("after")

    def mark_dispatched(self, keys: Sequence[str]) -> None:
        self._maybe("before")
        self.inner.mark_dispatched(keys)
        self._maybe("after")

    def outbox(self, limit: int = 10_000) -> list[Command]:
        return self.inner.outbox(limit)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


FLEET = generate(machines=60, regions=4, zones=3, tenants=8, seed=11)


SCENARIOS = {
    "good": {},
    "bad release": {"bad_patch": True},
    "flaky machines": {"model": AgentModel(install_failure=0.08, unhealthy=0.05, lost_after_reboot=0.03,
                                           power_off_share=0.1)},
}


def _run(points: set[int], where: dict[int, str], scenario: str = "good") -> tuple[Any, dict[str, Any]]:
    plan: dict[str, Any] = {"calls": 0, "points": points, "where": where, "crashes": 0}
    outcome = simulate(FLEET, seed=5, repository_proxy=lambda repo: CrashingRepository(repo, plan), crash=Crash,
                       **SCENARIOS[scenario])
    return outcome, plan


BASELINES = {name: _run(set(), {}, name)[0] for name in SCENARIOS}
BASELINE = BASELINES["good"]


def _installs_per_attempt(outcome: Any) -> dict[tuple[str, int], int]:
    seen: dict[tuple[str, int], int] = {}
    for machine, commands in outcome.agents.installs.items():
        for c in commands:
            seen[(machine, c.attempt)] = seen.get((machine, c.attempt), 0) + 1
    return seen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    points=st.sets(st.integers(min_value=1, max_value=300), min_size=1, max_size=6),
    before=st.lists(st.booleans(), min_size=6, max_size=6),
    scenario=st.sampled_from(sorted(SCENARIOS)),
)
def test_crashes_at_random_points_change_nothing(points: set[int], before: list[bool], scenario: str) -> None:
    """With the engine killed at random store calls and restarted from the store, every machine gets
    exactly the installations (one per attempt) and the final outcome of the run without crashes
    (a good release, a bad one that halts, and machines that fail, time out and power off)."""
    where = {p: ("before" if b else "after") for p, b in zip(sorted(points), before, strict=False)}
    outcome, plan = _run(points, where, scenario)
    baseline = BASELINES[scenario]
    assert plan["crashes"] >= 1 or min(points) > plan["calls"]
    assert max(_installs_per_attempt(outcome).values()) == 1
    assert outcome.timeline == baseline.timeline
    assert outcome.metrics["patched"] == baseline.metrics["patched"]
    assert outcome.metrics["halted"] == baseline.metrics["halted"]


def test_the_baseline_patches_every_machine_once_per_attempt() -> None:
    """Without crashes, too, no machine is sent two installations for one attempt."""
    assert BASELINE.metrics["patched"] == BASELINE.metrics["eligible"]
    assert max(_installs_per_attempt(BASELINE).values()) == 1
