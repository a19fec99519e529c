"""The clock port: the demo's scaled clock and how agent durations convert into a clock's time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from guestpatch.clock import ScaledClock, SystemClock, agent_seconds
from guestpatch.testing import FakeClock


def test_a_scaled_clock_runs_rate_times_faster_than_the_wall() -> None:
    start = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)
    clock = ScaledClock(rate=3600, start=start)
    time.sleep(0.05)
    elapsed = clock.now() - start
    assert timedelta(minutes=2) < elapsed < timedelta(hours=2)
    assert clock.wall_seconds(3600) == 1.0


def test_a_held_clock_runs_at_wall_speed_until_released_and_then_without_a_jump(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wall = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: wall[0])
    start = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)
    clock = ScaledClock(rate=360, start=start, held=True)
    wall[0] += 10
    assert clock.now() == start + timedelta(seconds=10)  # held: wall speed
    assert agent_seconds(clock, 60) == timedelta(hours=6)  # agent timings use the rate all along
    clock.release()
    assert clock.now() == start + timedelta(seconds=10)  # no jump
    wall[0] += 10
    assert clock.now() == start + timedelta(seconds=10 + 3600)


def test_agent_durations_scale_with_the_clock() -> None:
    assert agent_seconds(SystemClock(), 60) == timedelta(seconds=60)
    assert agent_seconds(FakeClock(), 60) == timedelta(seconds=60)
    assert agent_seconds(ScaledClock(rate=100), 60) == timedelta(seconds=6000)


def test_a_clock_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(rate=0)
