"""The Clock port: the agent's logic never reads the wall clock itself.

Time is handed in (``now``) or asked of a :class:`Clock`; tests and the simulator use
:class:`guestpatch_agent.testing.FakeClock`, production uses :class:`SystemClock`.
"""

import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a fake clock advances instead)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, whole seconds: ``2026-11-26T08:00:00Z``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the agent only handles timezone-aware times")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse what :func:`format_time` writes (and ISO 8601 with an offset); always timezone-aware."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("{!r} has no time zone (write it with Z or an offset)".format(text))
    return moment.astimezone(timezone.utc)
