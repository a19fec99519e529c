"""Policy documents, gate decisions, release dates and the frozen patch set."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from guestpatch.core import gates
from guestpatch.core.cadence import ReleaseSchedule, assessment_due
from guestpatch.core.policy import Policy
from guestpatch.core.selection import Selection, freeze, not_offered, pins
from guestpatch.core.windows import DEFAULT_OFF_PEAK, WindowCalendar, WindowSpec
from guestpatch.errors import InvalidInput


def test_policy_round_trips_through_its_document() -> None:
    """to_dict then from_dict gives the same policy."""
    policy = Policy(tenant_share=0.25, bake_time=timedelta(hours=6), canary_regions=("eastus",))
    assert Policy.from_dict(policy.to_dict()) == policy


def test_policy_document_shows_off_peak_as_hh_mm() -> None:
    """metrics.json carries offPeak as {"start": "HH:MM", "end": "HH:MM"}."""
    assert Policy().to_dict()["offPeak"] == {"start": "22:00", "end": "06:00"}


def test_unknown_policy_key_is_named() -> None:
    """A misspelt key is refused with its name as the target."""
    with pytest.raises(InvalidInput) as info:
        Policy.from_dict({"tenantShar": 0.1})
    assert info.value.target == "tenantShar"


def test_out_of_range_share_is_refused() -> None:
    """tenantShare must be in (0, 1]."""
    with pytest.raises(InvalidInput, match="tenantShare"):
        Policy.from_dict({"tenantShare": 1.5})


def test_wrong_type_is_refused() -> None:
    """A string where minutes are expected is an InvalidInput, not a crash."""
    with pytest.raises(InvalidInput, match="bakeTimeMinutes"):
        Policy.from_dict({"bakeTimeMinutes": "two hours"})


def test_three_of_eight_failed_halts_a_wave() -> None:
    """3 failures among 8 started machines are beyond 5 % with 95 % confidence."""
    assert gates.wave_should_halt(failed=3, started=8, success_threshold=0.95, min_failures=3)


def test_three_of_forty_four_failed_does_not_halt() -> None:
    """3 of 44 (6.8 %) is what a 1 % failure rate sometimes gives: not proof of a bad patch."""
    assert not gates.wave_should_halt(failed=3, started=44, success_threshold=0.95, min_failures=3)


def test_fewer_failures_than_the_minimum_never_halt() -> None:
    """Two failures out of two do not halt with haltMinFailures 3."""
    assert not gates.wave_should_halt(failed=2, started=2, success_threshold=0.95, min_failures=3)


def test_phase_gate_waits_while_machines_are_in_flight() -> None:
    """No verdict on a phase before its machines have landed."""
    verdict = gates.phase_verdict(waves_done=True, in_flight=1, succeeded=0, failed=9,
                                  success_threshold=0.95, min_failures=3)
    assert verdict is gates.Verdict.WAIT


def test_phase_gate_halts_on_a_bad_share() -> None:
    """A finished phase with 20 % failures halts."""
    verdict = gates.phase_verdict(waves_done=True, in_flight=0, succeeded=80, failed=20,
                                  success_threshold=0.95, min_failures=3)
    assert verdict is gates.Verdict.HALT


def test_second_tuesday_of_january_2026() -> None:
    """Patch Tuesday of January 2026 is the 13th."""
    assert ReleaseSchedule().date_in(2026, 1) == date(2026, 1, 13)


def test_last_friday_with_offset() -> None:
    """The last Friday of February 2026 (27th) plus 3 days is March 2nd."""
    assert ReleaseSchedule(weekday=4, ordinal=-1, offset_days=3).date_in(2026, 2) == date(2026, 3, 2)


def test_next_release_after_this_months() -> None:
    """After January's release the next one is February 10th."""
    after = datetime(2026, 1, 14, tzinfo=UTC)
    assert ReleaseSchedule().next_release(after) == datetime(2026, 2, 10, tzinfo=UTC)


def test_freeze_picks_the_version_most_machines_offer() -> None:
    """Two machines offer openssl 3.0.2-1, one 3.0.2-2: 3.0.2-1 is frozen, and the split is noted."""
    offers = [("ubuntu", [("openssl", "3.0.2-1", "Security")])] * 2 + [
        ("ubuntu", [("openssl", "3.0.2-2", "Security")])]
    result = freeze(offers)
    assert result.frozen == {"ubuntu": {"openssl": "3.0.2-1"}}
    assert result.notes


def test_freeze_leaves_out_other_classifications() -> None:
    """Only Critical and Security patches are frozen for automatic patching."""
    result = freeze([("rhel", [("vim", "9.0", "Other"), ("sudo", "1.9", "Critical")])])
    assert result.frozen == {"rhel": {"sudo": "1.9"}}


def test_masks_exclude_packages() -> None:
    """An exclude mask drops matching names."""
    assert not Selection(exclude=("linux-*",)).accepts("linux-image-6.1", "Security")


def test_pins_are_name_equals_version() -> None:
    """The install request pins exact versions, sorted by name."""
    assert pins({"sudo": "1.9", "curl": "8.0"}) == ("curl=8.0", "sudo=1.9")


def test_a_frozen_version_no_longer_offered_is_reported() -> None:
    """If the repository now offers curl 8.1 instead of the frozen 8.0, curl=8.0 is reported."""
    assert not_offered({"curl": "8.0"}, [("curl", "8.1", "Security")]) == ("curl=8.0",)


def _calendar() -> WindowCalendar:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return WindowCalendar(WindowSpec("Etc/UTC", DEFAULT_OFF_PEAK), start, start + timedelta(days=40))


def test_periodic_assessment_waits_for_the_interval_and_the_window() -> None:
    """Assessed on the 10th at 23:00, every 3 days: due again on the 13th at 23:00 (inside the window)."""
    last = datetime(2026, 1, 10, 23, tzinfo=UTC)
    due, when = assessment_due(last=last, now=datetime(2026, 1, 12, 23, tzinfo=UTC), window=_calendar(),
                               daily=False, interval=3 * 86400, daily_interval=86400)
    assert not due
    assert when == datetime(2026, 1, 13, 23, tzinfo=UTC)


def test_assessment_mode_automatic_by_platform_is_daily() -> None:
    """With assessmentMode=AutomaticByPlatform the same machine is due a day later."""
    last = datetime(2026, 1, 10, 23, tzinfo=UTC)
    due, when = assessment_due(last=last, now=datetime(2026, 1, 11, 23, 30, tzinfo=UTC), window=_calendar(),
                               daily=True, interval=3 * 86400, daily_interval=86400)
    assert due
    assert when == datetime(2026, 1, 11, 23, tzinfo=UTC)


def test_an_interval_ending_in_daytime_waits_for_the_night() -> None:
    """Due at noon by the interval, the assessment waits for 22:00."""
    last = datetime(2026, 1, 10, 12, tzinfo=UTC)
    _, when = assessment_due(last=last, now=datetime(2026, 1, 11, 13, tzinfo=UTC), window=_calendar(),
                             daily=True, interval=3 * 86400, daily_interval=86400)
    assert when == datetime(2026, 1, 11, 22, tzinfo=UTC)
