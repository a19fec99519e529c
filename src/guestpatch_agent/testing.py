"""Test doubles shipped with the agent: real objects behind its ports, no patching of the world.

- :class:`FakeClock`: time only moves when told to (``sleep`` advances it).
- :class:`RecordingRebooter`: records each reboot request; with ``power_off=True`` it then stops the
  operation the way a real reboot does, by raising :class:`PowerOff` (a ``BaseException``, so no
  ``except AgentError`` in the agent can swallow it). A test then "boots" by building a new
  operation on the same state folder.
"""

from datetime import datetime, timedelta, timezone
from typing import List, Optional


class PowerOff(BaseException):
    """The machine went down: nothing after this point of the operation runs."""


class FakeClock:
    def __init__(self, start: Optional[datetime] = None) -> None:
        self._now = start or datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
        self.slept: List[float] = []

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


class RecordingRebooter:
    def __init__(self, *, power_off: bool = True) -> None:
        self.requests: List[str] = []
        self._power_off = power_off

    def request_reboot(self, message: str) -> None:
        self.requests.append(message)
        if self._power_off:
            raise PowerOff(message)
