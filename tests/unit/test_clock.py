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


def test_agent_durations_scale_with_the_clock() -> None:
    assert agent_seconds(SystemClock(), 60) == timedelta(seconds=60)
    assert agent_seconds(FakeClock(), 60) == timedelta(seconds=60)
    assert agent_seconds(ScaledClock(rate=100), 60) == timedelta(seconds=6000)


def test_a_clock_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(rate=0)
