"""Cadence: when releases happen and when machines are assessed.

Releases
    One release a month, by default on the second Tuesday (``ReleaseSchedule(weekday=1, ordinal=2)``,
    Patch Tuesday), at 00:00 UTC; ``ordinal=-1`` means the last such weekday and ``offset_days`` moves
    the date by up to 30 days either way (Azure Update Manager stops at six; GCP allows thirty).
    Operators can also start a release at any time; the schedule only says when the next automatic
    one is due. Every eligible machine is due the release's Critical and Security patches within
    ``complianceDays`` (30) of its start.

Periodic assessment
    Machines with ``patchMode=AutomaticByPlatform`` are assessed every ``assessmentInterval``
    (three days: "every few days, several times per 30 days") and those with
    ``assessmentMode=AutomaticByPlatform`` every ``dailyAssessmentInterval`` (24 h), each time at the
    first opening of the machine's window after the interval has passed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from guestpatch.core.windows import WindowCalendar
from guestpatch.errors import InvalidInput


@dataclass(frozen=True)
class ReleaseSchedule:
    """The ``ordinal``-th ``weekday`` (Monday=0) of each month, moved by ``offset_days``."""

    weekday: int = 1
    ordinal: int = 2
    offset_days: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise InvalidInput("release weekday must be 0 (Monday) to 6 (Sunday)", target="weekday")
        if self.ordinal not in (1, 2, 3, 4, -1):
            raise InvalidInput("release ordinal must be 1-4 or -1 (last)", target="ordinal")
        if not -30 <= self.offset_days <= 30:
            raise InvalidInput("release offset must be within -30..30 days", target="offsetDays")

    def date_in(self, year: int, month: int) -> date:
        days = [d for d in range(1, calendar.monthrange(year, month)[1] + 1)
                if date(year, month, d).weekday() == self.weekday]
        base = date(year, month, days[self.ordinal - 1] if self.ordinal > 0 else days[-1])
        return base + timedelta(days=self.offset_days)

    def next_release(self, now: datetime) -> datetime:
        """The first release start at or after ``now``."""
        year, month = now.year, now.month
        for _ in range(14):
            start = datetime.combine(self.date_in(year, month), datetime.min.time(), tzinfo=UTC)
            if start >= now:
                return start
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        raise AssertionError("a release falls within fourteen months")  # pragma: no cover

    def release_of(self, now: datetime) -> datetime:
        """The latest release start at or before ``now``."""
        year, month = now.year, now.month
        for _ in range(14):
            start = datetime.combine(self.date_in(year, month), datetime.min.time(), tzinfo=UTC)
            if start <= now:
                return start
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        raise AssertionError("a release falls within fourteen months")  # pragma: no cover


def compliance_deadline(release_start: datetime, days: int = 30) -> datetime:
    return release_start + timedelta(days=days)


def next_assessment(window: WindowCalendar, last: float, interval_s: float) -> float:
    """When the next periodic assessment runs (POSIX seconds): the first window moment after ``last + interval``."""
    due = last + interval_s
    return due if window.open_at(due) is not None else window.next_open(due)


def assessment_due(
    *, last: datetime | None, now: datetime, window: WindowCalendar, daily: bool,
    interval: float, daily_interval: float,
) -> tuple[bool, datetime]:
    """Whether a machine's periodic assessment is due at ``now``, and when it is (or next will be) due.

    ``daily`` is ``assessmentMode=AutomaticByPlatform`` (every ``daily_interval`` seconds); otherwise
    every ``interval`` seconds. A machine never assessed is due at its next window. Either way the
    assessment runs inside the machine's window.
    """
    t = now.timestamp()
    if last is None:
        due = t if window.open_at(t) is not None else window.next_open(t)
    else:
        due = next_assessment(window, last.timestamp(), daily_interval if daily else interval)
    return due <= t, datetime.fromtimestamp(due, UTC)
