"""Killing the engine at random points, with the SQL store (SQLite and PostgreSQL) underneath.

The same scenario as ``tests/sim/test_engine_restart.py``, but every unit of work is a real database
transaction: a crash "before" a call means its transaction never committed, "after" means it did. The
restarted engine must install nothing twice, lose nothing, and end exactly like the run without crashes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from guestpatch.engine.ports import RolloutRepository
from guestpatch.sim.run import simulate
from guestpatch.store.db import Database
from guestpatch.store.rollouts import SqlRolloutRepository
from guestpatch.store.tables import metadata
from tests.sim.test_engine_restart import BASELINES, FLEET, SCENARIOS, Crash, CrashingRepository, _installs_per_attempt


def _sqlite_factory() -> Callable[[], RolloutRepository]:
    folder = Path(tempfile.mkdtemp(prefix="gp-restart-"))

    def make() -> RolloutRepository:
        db = Database(f"sqlite:///{folder / 'store.db'}")
        db.migrate()
        return SqlRolloutRepository(db)

    return make


def _postgres_factory(url: str) -> Callable[[], RolloutRepository]:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in metadata.sorted_tables) + " CASCADE"))
    engine.dispose()
    return lambda: SqlRolloutRepository(Database(url))


def _run_with(factory: Callable[[], RolloutRepository], points: set[int], where: dict[int, str],
              scenario: str) -> tuple[Any, dict[str, Any]]:
    plan: dict[str, Any] = {"calls": 0, "points": points, "where": where, "crashes": 0}
    outcome = simulate(FLEET, seed=5, repository_factory=factory,
                       repository_proxy=lambda repo: CrashingRepository(repo, plan),  # type: ignore[arg-type]
                       crash=Crash, **SCENARIOS[scenario])
    return outcome, plan


CRASHES = {
    "points": st.sets(st.integers(min_value=1, max_value=300), min_size=1, max_size=4),
    "before": st.lists(st.booleans(), min_size=4, max_size=4),
    "scenario": st.sampled_from(sorted(SCENARIOS)),
}


def _check(outcome: Any, plan: dict[str, Any], points: set[int], scenario: str) -> None:
    baseline = BASELINES[scenario]
    assert plan["crashes"] >= 1 or min(points) > plan["calls"]
    assert max(_installs_per_attempt(outcome).values()) == 1
    assert outcome.timeline == baseline.timeline
    assert outcome.metrics["patched"] == baseline.metrics["patched"]
    assert outcome.metrics["halted"] == baseline.metrics["halted"]


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(**CRASHES)
def test_crashes_on_sqlite_change_nothing(points: set[int], before: list[bool], scenario: str) -> None:
    where = {p: ("before" if b else "after") for p, b in zip(sorted(points), before, strict=False)}
    outcome, plan = _run_with(_sqlite_factory(), points, where, scenario)
    _check(outcome, plan, points, scenario)


@pytest.mark.postgres
def test_crashes_on_postgres_change_nothing(postgres_clean_url: str) -> None:
    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(**CRASHES)
    def check(points: set[int], before: list[bool], scenario: str) -> None:
        where = {p: ("before" if b else "after") for p, b in zip(sorted(points), before, strict=False)}
        outcome, plan = _run_with(_postgres_factory(postgres_clean_url), points, where, scenario)
        _check(outcome, plan, points, scenario)

    check()
