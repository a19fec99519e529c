"""Test doubles shipped with the package, for the test suite and the simulator.

Each is a real implementation of a port that keeps its state in memory; none patches anything.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """A :class:`guestpatch.clock.Clock` that moves only when told (or when slept on)."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 13, 0, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=seconds))

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time does not run backwards")
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FakeClock needs timezone-aware times")
        if when < self._now:
            raise ValueError("time does not run backwards")
        self._now = when.astimezone(UTC)
