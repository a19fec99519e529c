"""The demo's time (pure): the clock's start before the canary's night, the region at night now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from guestpatch.demo.timing import LEAD, clock_start, night_begins, night_region

ZONES = {"westeurope": "Europe/Amsterdam", "northeurope": "Europe/Dublin", "eastus": "America/New_York",
         "westus": "America/Los_Angeles"}  # fmt: skip


def test_the_clock_starts_shortly_before_the_canary_night() -> None:
    """21:40 local in Amsterdam on the day of ``now`` (winter: UTC+1), whatever the hour of ``now``."""
    start = clock_start(datetime(2026, 11, 26, 8, 0, tzinfo=UTC), "Europe/Amsterdam")
    assert start == datetime(2026, 11, 26, 20, 40, tzinfo=UTC)
    local = start.astimezone(ZoneInfo("Europe/Amsterdam"))
    assert (local.hour, local.minute) == (21, 40)
    assert night_begins(start, "Europe/Amsterdam") - start == LEAD


def test_the_clock_start_follows_daylight_saving_time() -> None:
    """In summer Amsterdam is UTC+2: the same local 21:40 is 19:40 UTC."""
    assert clock_start(datetime(2026, 6, 9, 12, 0, tzinfo=UTC), "Europe/Amsterdam") == datetime(
        2026, 6, 9, 19, 40, tzinfo=UTC)  # fmt: skip


def test_the_region_with_the_most_night_left_is_chosen() -> None:
    """08:00 UTC in November: westus (00:00 local, six hours left) beats eastus (03:00 local, three left)."""
    assert night_region(datetime(2026, 11, 27, 8, 0, tzinfo=UTC), ZONES) == "westus"


def test_when_no_night_is_open_the_next_one_is_chosen() -> None:
    """15:00 UTC in November: nobody is at night; Amsterdam's 22:00 (21:00 UTC) comes first."""
    assert night_region(datetime(2026, 11, 27, 15, 0, tzinfo=UTC), ZONES) == "westeurope"


def test_night_begins_is_the_current_night_when_one_is_open() -> None:
    """At 23:00 local the night began at 22:00 local, an hour ago."""
    now = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)  # 23:00 in Amsterdam
    assert now - night_begins(now, "Europe/Amsterdam") == timedelta(hours=1)
