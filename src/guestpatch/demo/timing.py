"""The demo's time (pure): where its accelerated clock starts, how fast it runs, which region is at night.

The default speed, 360 (one wall second is six minutes), fits the story in a few minutes: a release
crosses the four regions in one night (about 13 hours of virtual time, some two minutes), and the
bad release halts within minutes after it. The clock starts 20 minutes before the canary region's
off-peak hours begin, so its night begins a few wall seconds after the start.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from guestpatch.core.windows import DEFAULT_OFF_PEAK, OffPeak, WindowSpec

#: Virtual time between the clock's start and the canary region's night.
LEAD = timedelta(minutes=20)


def clock_start(now: datetime, time_zone: str, *, off_peak: OffPeak = DEFAULT_OFF_PEAK,
                lead: timedelta = LEAD) -> datetime:  # fmt: skip
    """``lead`` before the off-peak hours begin in ``time_zone`` on ``now``'s local date (UTC)."""
    zone = ZoneInfo(time_zone)
    local = now.astimezone(zone)
    begins = datetime.combine(local.date(), time(off_peak.start // 60, off_peak.start % 60), tzinfo=zone)
    return (begins - lead).astimezone(UTC)


def night_begins(now: datetime, time_zone: str, *, off_peak: OffPeak = DEFAULT_OFF_PEAK) -> datetime:
    """When the off-peak hours in ``time_zone`` began (if open at ``now``) or will begin next (UTC)."""
    return WindowSpec(time_zone, off_peak).next_open(now)[0]


def night_region(now: datetime, regions: dict[str, str], *, off_peak: OffPeak = DEFAULT_OFF_PEAK) -> str:
    """The region whose night has the most left at ``now``; if none is open, the one whose night comes first.

    ``regions`` maps region names to IANA time zones. The bad release's canary goes there, so that it
    starts at once instead of waiting for a night.
    """
    if not regions:
        raise ValueError("no region to choose from")

    def rank(name: str) -> tuple[int, float]:
        opens, closes = WindowSpec(regions[name], off_peak).next_open(now)
        if opens <= now:
            return (0, -(closes - now).total_seconds())
        return (1, (opens - now).total_seconds())

    return min(sorted(regions), key=rank)


