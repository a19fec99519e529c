"""The time budget: ISO 8601 durations, the start-time anchor, the cut-off and batch sizes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from guestpatch_agent.budget import TimeBudget, format_duration, parse_duration
from guestpatch_agent.errors import UsageError

START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "minutes"), [("PT1H", 60), ("PT04H00M00S", 240), ("PT90M", 90),
                                               ("P1DT2H", 1560), ("pt30m", 30), ("PT1.5H", 90)])
def test_parse_duration_accepts_azure_spellings(text: str, minutes: int) -> None:
    """Durations as Azure clients send them, including the SDK's PT04H00M00S."""
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["1H", "PT", "P1M", "P1Y", "PT0S", "PT-1H", "", "PTH"])
def test_parse_duration_refuses_ambiguous_or_empty(text: str) -> None:
    """Months, years, zero and garbage are refused with an example of what works."""
    with pytest.raises(UsageError, match=r"PT1H|longer than zero"):
        parse_duration(text)


def test_format_duration_round_trips() -> None:
    """format_duration writes what parse_duration reads."""
    assert parse_duration(format_duration(timedelta(hours=1, minutes=30, seconds=5))) == timedelta(seconds=5405)


def test_remaining_counts_from_the_requested_start_not_from_now() -> None:
    """A run resumed 50 minutes into a one-hour window has ten minutes left."""
    budget = TimeBudget(START, timedelta(hours=1), reboot_allowed=False)
    assert budget.remaining(START + timedelta(minutes=50)) == timedelta(minutes=10)
    assert budget.remaining(START + timedelta(hours=2)) == timedelta(0)


def test_no_transaction_starts_below_worst_case_plus_reboot_buffer() -> None:
    """With reboots allowed a single package needs 5 + 15 minutes left; without, 5 minutes."""
    rebooting = TimeBudget(START, timedelta(minutes=30), reboot_allowed=True)
    assert rebooting.can_start(START + timedelta(minutes=10), 1)
    assert not rebooting.can_start(START + timedelta(minutes=10, seconds=1), 1)
    never = TimeBudget(START, timedelta(minutes=30), reboot_allowed=False)
    assert never.can_start(START + timedelta(minutes=25), 1)
    assert not never.can_start(START + timedelta(minutes=25, seconds=1), 1)


def test_batch_size_shrinks_with_the_time_left() -> None:
    """The batch holds as many packages as worst case + average each fit in the time left."""
    budget = TimeBudget(START, timedelta(hours=1), reboot_allowed=True, average=timedelta(seconds=90))
    assert budget.batch_size(START, 300) == 1 + (45 * 60 - 300) // 90  # 60 min - 15 reboot buffer
    assert budget.batch_size(START + timedelta(minutes=39), 300) == 1
    assert budget.batch_size(START + timedelta(minutes=41), 300) == 0
    assert budget.batch_size(START, 3) == 3


def test_command_timeout_keeps_the_reboot_buffer() -> None:
    """A command may use the window minus the reboot buffer, never nothing."""
    budget = TimeBudget(START, timedelta(hours=1), reboot_allowed=True)
    assert budget.command_timeout(START) == 45 * 60
    assert budget.command_timeout(START + timedelta(hours=3)) == 1.0
