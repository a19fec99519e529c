"""The demo's clock: held at wall speed while the demo sets itself up, then ``rate`` times faster.

Its ``rate`` is the demo's speed from the start, so the server converts agent timings (wall seconds)
and the dashboard's session lifetime with it; only the flow of time is held back until
:meth:`DemoClock.release`, so that setting up the fleet (a few wall seconds) does not eat the canary
region's night.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class DemoClock:
    """A :class:`~guestpatch.clock.Clock`: wall speed until :meth:`release`, then ``rate`` times faster."""

    def __init__(self, *, rate: float, start: datetime) -> None:
        if rate <= 0:
            raise ValueError("the clock rate must be positive")
        self.rate = float(rate)
        self._lock = threading.Lock()
        self._start = start.astimezone(UTC)
        self._wall = time.monotonic()
        self._speed = 1.0

    @property
    def released(self) -> bool:
        with self._lock:
            return self._speed != 1.0 or self.rate == 1.0

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=(time.monotonic() - self._wall) * self._speed)

    def release(self) -> None:
        """From now on, time runs ``rate`` times faster than the wall clock (continuously: no jump)."""
        with self._lock:
            wall = time.monotonic()
            self._start += timedelta(seconds=(wall - self._wall) * self._speed)
            self._wall, self._speed = wall, self.rate

    def sleep(self, seconds: float) -> None:
        with self._lock:
            speed = self._speed
        time.sleep(seconds / speed)
