"""The clock port: shells read time only through a :class:`Clock`; the core gets ``now`` as an argument.

``rate`` is how many seconds of this clock pass per second of wall time: 1 for the system clock, more
for the demo's accelerated clock. Agents live in wall time, so durations that describe agent behaviour
(poll intervals, pickup and silence timeouts) are configured in wall seconds and multiplied by ``rate``
before they are compared with this clock (:func:`agent_seconds`).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    rate: float

    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """Wall-clock time."""

    rate = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class ScaledClock:
    """Time that runs ``rate`` times faster than the wall clock, from ``start`` (the demo's clock).

    ``held=True``: time runs at wall speed until :meth:`release` (the demo sets itself up meanwhile, so
    that creating the fleet does not eat the canary region's night). ``rate`` is the clock's rate from
    the start all the same, so agent timings (:func:`agent_seconds`) are converted with it throughout.
    """

    def __init__(self, *, rate: float, start: datetime | None = None, held: bool = False) -> None:
        if rate <= 0:
            raise ValueError("the clock rate must be positive")
        self.rate = float(rate)
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        self._wall = time.monotonic()
        self._flow = 1.0 if held else self.rate
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=(time.monotonic() - self._wall) * self._flow)

    def release(self) -> None:
        """From now on, time runs ``rate`` times faster than the wall clock (continuously: no jump)."""
        with self._lock:
            wall = time.monotonic()
            self._start += timedelta(seconds=(wall - self._wall) * self._flow)
            self._wall, self._flow = wall, self.rate

    def sleep(self, seconds: float) -> None:
        with self._lock:
            flow = self._flow
        time.sleep(seconds / flow)

    def wall_seconds(self, seconds: float) -> float:
        """Wall seconds that ``seconds`` of this clock take (once released)."""
        return seconds / self.rate


def agent_seconds(clock: Clock, wall_seconds: float) -> timedelta:
    """A duration of agent behaviour (wall seconds) in the clock's time."""
    return timedelta(seconds=wall_seconds * getattr(clock, "rate", 1.0))
