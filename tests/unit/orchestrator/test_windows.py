"""Off-peak windows in each machine's own time zone, daylight saving included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from guestpatch.core.windows import DEFAULT_OFF_PEAK, OffPeak, WindowCalendar, WindowSpec, iana_zone
from guestpatch.errors import InvalidInput


def test_default_hours_are_22_to_06() -> None:
    """The published default is 22:00-06:00 local."""
    assert DEFAULT_OFF_PEAK.to_dict() == {"start": "22:00", "end": "06:00"}


def test_window_opens_at_local_22_in_new_york_winter() -> None:
    """22:00 in New York in January (EST, UTC-5) is 03:00 UTC."""
    spec = WindowSpec("America/New_York", DEFAULT_OFF_PEAK)
    opens, closes = spec.next_open(datetime(2026, 1, 13, 12, tzinfo=UTC))
    assert (opens, closes) == (datetime(2026, 1, 14, 3, tzinfo=UTC), datetime(2026, 1, 14, 11, tzinfo=UTC))


def test_spring_forward_night_is_seven_hours() -> None:
    """On the night clocks go forward (Europe, 2026-03-29) a 22:00-06:00 window lasts 7 hours."""
    spec = WindowSpec("Europe/Berlin", DEFAULT_OFF_PEAK)
    opens, closes = spec.next_open(datetime(2026, 3, 28, 12, tzinfo=UTC))
    assert closes - opens == timedelta(hours=7)


def test_fall_back_night_is_nine_hours() -> None:
    """On the night clocks go back (Europe, 2026-10-25) the window lasts 9 hours."""
    spec = WindowSpec("Europe/Berlin", DEFAULT_OFF_PEAK)
    opens, closes = spec.next_open(datetime(2026, 10, 24, 12, tzinfo=UTC))
    assert closes - opens == timedelta(hours=9)


def test_a_skipped_local_start_moves_forward_by_the_gap() -> None:
    """A window starting at 02:30 on the spring-forward day opens at 03:30 local (fold=0 rule)."""
    spec = WindowSpec("America/New_York", OffPeak.parse("02:30", "05:00"))
    opens, _ = spec.next_open(datetime(2026, 3, 8, 5, tzinfo=UTC))
    assert opens == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_windows_time_zone_ids_map_to_iana() -> None:
    """A Windows VM's "Pacific Standard Time" is America/Los_Angeles."""
    assert iana_zone("Pacific Standard Time") == "America/Los_Angeles"


def test_unknown_time_zone_is_refused_with_its_name() -> None:
    """An unknown zone is an InvalidInput naming it."""
    with pytest.raises(InvalidInput, match="Mars/Olympus"):
        iana_zone("Mars/Olympus")


def test_flexible_scale_set_machines_patch_at_all_hours() -> None:
    """An all-hours window is open at noon."""
    calendar = WindowCalendar(WindowSpec("Europe/Berlin", DEFAULT_OFF_PEAK, all_hours=True),
                              datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    assert calendar.open_at(datetime(2026, 1, 10, 12, tzinfo=UTC).timestamp()) is not None


def test_calendar_agrees_with_the_spec() -> None:
    """The calendar's open/closed answer matches WindowSpec.is_open every 17 minutes for a month."""
    spec = WindowSpec("Australia/Sydney", OffPeak.parse("23:00", "04:30"))
    start = datetime(2026, 3, 20, tzinfo=UTC)
    calendar = WindowCalendar(spec, start, start + timedelta(days=31))
    t = start
    while t < start + timedelta(days=30):
        assert (calendar.open_at(t.timestamp()) is not None) == spec.is_open(t)
        t += timedelta(minutes=17)


def test_following_open_skips_the_rest_of_the_current_window() -> None:
    """A retry from inside a window waits for the next window, not the rest of this one."""
    spec = WindowSpec("Etc/UTC", DEFAULT_OFF_PEAK)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    calendar = WindowCalendar(spec, start, start + timedelta(days=5))
    inside = datetime(2026, 1, 2, 2, tzinfo=UTC).timestamp()
    assert calendar.following_open(inside) == datetime(2026, 1, 2, 22, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("text", ["24:00", "7:00", "07-00", "ab:cd", "07:60"])
def test_bad_hours_are_refused(text: str) -> None:
    """Malformed HH:MM is an InvalidInput."""
    with pytest.raises(InvalidInput):
        OffPeak.parse(text, "06:00")
