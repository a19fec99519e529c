"""Windows: when a machine may be patched (its off-peak hours in its own time zone).

A machine's window is its **off-peak hours** (default 22:00-06:00 local, see
:data:`DEFAULT_OFF_PEAK`) in its **time zone**: a per-machine override, else a Windows VM's
``timeZone`` (Windows zone ids such as ``"Pacific Standard Time"`` are mapped to IANA by
:func:`iana_zone`), else its region's IANA zone. Machines of a Flexible scale set patch at all hours.

All arithmetic goes through :mod:`zoneinfo`, so daylight-saving changes are honoured: a local
22:00-06:00 window is 7 hours on the spring-forward night and 9 hours on the fall-back night.
Local times that do not exist (skipped by a spring-forward) are taken with ``fold=0``, which moves
them forward by the gap; ambiguous local times (repeated by a fall-back) mean their first occurrence.

For speed the engine asks a :class:`WindowCalendar`, which lists the open intervals of one
window class as POSIX seconds over a horizon and answers by bisection.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from guestpatch.core.tzmap import WINDOWS_TO_IANA
from guestpatch.errors import InvalidInput

_DAY = timedelta(days=1)


@dataclass(frozen=True, order=True)
class OffPeak:
    """Daily off-peak hours as local wall-clock minutes after midnight; ``end <= start`` wraps midnight."""

    start: int
    end: int

    def __post_init__(self) -> None:
        for name, value in (("start", self.start), ("end", self.end)):
            if not 0 <= value < 24 * 60:
                raise InvalidInput(f"off-peak {name} must be within 00:00-23:59", target=f"offPeak.{name}")
        if self.start == self.end:
            raise InvalidInput("off-peak start and end must differ", target="offPeak")

    @classmethod
    def parse(cls, start: str, end: str) -> OffPeak:
        """Parse ``"HH:MM"`` strings, e.g. ``OffPeak.parse("22:00", "06:00")``."""
        return cls(_parse_hhmm(start, "offPeak.start"), _parse_hhmm(end, "offPeak.end"))

    @property
    def minutes(self) -> int:
        """Length of one window in minutes (ignoring daylight-saving changes)."""
        return (self.end - self.start) % (24 * 60)

    def to_dict(self) -> dict[str, str]:
        return {"start": _format_hhmm(self.start), "end": _format_hhmm(self.end)}


#: The off-peak hours we publish: 22:00-06:00 local. Eight hours cover the quiet part of the night in
#: every business time zone, leave the evening peak (until ~21:00) and the morning start (from ~07:00)
#: alone, and give room for several waves per night with reboots.
DEFAULT_OFF_PEAK = OffPeak(22 * 60, 6 * 60)


def _parse_hhmm(text: str, target: str) -> int:
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise InvalidInput(f"{text!r} is not a time of day in HH:MM form", target=target)
    hours, minutes = int(parts[0]), int(parts[1])
    if hours > 23 or minutes > 59:
        raise InvalidInput(f"{text!r} is not a time of day (00:00-23:59)", target=target)
    return hours * 60 + minutes


def _format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def iana_zone(name: str) -> str:
    """The IANA zone for an IANA name or a Windows time zone id; :class:`InvalidInput` if unknown."""
    mapped = WINDOWS_TO_IANA.get(name, name)
    try:
        ZoneInfo(mapped)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"time zone {name!r} is neither an IANA zone nor a Windows time zone id", target="timeZone"
        ) from exc
    return mapped


@dataclass(frozen=True, order=True)
class WindowSpec:
    """One window class: machines that share it open and close together."""

    time_zone: str
    off_peak: OffPeak
    all_hours: bool = False

    def open_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The open intervals (UTC) that overlap ``[start, end)``, in order."""
        _require_utc(start)
        _require_utc(end)
        if self.all_hours:
            return [(start, end)] if start < end else []
        zone = ZoneInfo(self.time_zone)
        first = start.astimezone(zone).date() - _DAY
        last = end.astimezone(zone).date() + _DAY
        out: list[tuple[datetime, datetime]] = []
        day = first
        while day <= last:
            opens, closes = self._interval_on(day, zone)
            if closes > start and opens < end:
                out.append((opens, closes))
            day += _DAY
        return out

    def _interval_on(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        start_local = datetime.combine(day, _clock(self.off_peak.start), tzinfo=zone)
        end_day = day if self.off_peak.end > self.off_peak.start else day + _DAY
        end_local = datetime.combine(end_day, _clock(self.off_peak.end), tzinfo=zone)
        return start_local.astimezone(UTC), end_local.astimezone(UTC)

    def is_open(self, now: datetime) -> bool:
        return any(o <= now < c for o, c in self.open_intervals(now, now + timedelta(seconds=1)))

    def next_open(self, now: datetime) -> tuple[datetime, datetime]:
        """The window containing ``now``, else the next one: ``(opens, closes)`` in UTC."""
        if self.all_hours:
            return now, now + timedelta(days=3650)
        for opens, closes in self.open_intervals(now, now + timedelta(days=3)):
            if closes > now:
                return opens, closes
        raise AssertionError("a daily window opens within three days")  # pragma: no cover


def _clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def _require_utc(when: datetime) -> None:
    if when.tzinfo is None or when.utcoffset() != timedelta(0):
        raise InvalidInput("times must be timezone-aware UTC", target="now")


class WindowCalendar:
    """The open intervals of one :class:`WindowSpec` over a horizon, as POSIX seconds.

    ``status(t)`` answers in O(log n): whether ``t`` is inside a window, and the close of that window
    or the opening of the next one.
    """

    __slots__ = ("_closes", "_opens", "all_hours", "horizon_end", "spec")

    def __init__(self, spec: WindowSpec, start: datetime, end: datetime) -> None:
        self.spec = spec
        self.all_hours = spec.all_hours
        self.horizon_end = end.timestamp()
        intervals = [] if spec.all_hours else spec.open_intervals(start, end + timedelta(days=2))
        self._opens = [o.timestamp() for o, _ in intervals]
        self._closes = [c.timestamp() for _, c in intervals]

    def open_at(self, t: float) -> float | None:
        """If ``t`` is inside a window, when that window closes; else ``None``."""
        if self.all_hours:
            return float("inf")
        i = bisect_right(self._opens, t) - 1
        if i >= 0 and t < self._closes[i]:
            return self._closes[i]
        return None

    def next_open(self, t: float) -> float:
        """The first window opening strictly after ``t`` (``inf`` past the horizon)."""
        if self.all_hours:
            return t
        i = bisect_right(self._opens, t)
        return self._opens[i] if i < len(self._opens) else float("inf")

    def following_open(self, t: float) -> float:
        """The opening of the first window that starts after the window containing ``t`` closed.

        Used for "retry in the next window": a machine that failed at 02:00 inside a 22:00-06:00
        window retries at the next 22:00, not in the rest of this night.
        """
        if self.all_hours:
            return t
        close = self.open_at(t)
        return self.next_open(close if close is not None else t)
