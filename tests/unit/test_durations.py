"""ISO 8601 durations: parsing to timedelta, canonical formatting, clear errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guestpatch.core.durations import format_duration, parse_duration
from guestpatch.errors import GuestpatchError, InvalidInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT1H", timedelta(hours=1)),
        ("PT04H00M00S", timedelta(hours=4)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("PT90M", timedelta(minutes=90)),
        ("PT0.5H", timedelta(minutes=30)),
        ("PT0,5H", timedelta(minutes=30)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("PT3H55M", timedelta(hours=3, minutes=55)),
        ("P2W", timedelta(days=14)),
        ("P1W1D", timedelta(days=8)),
        ("PT45S", timedelta(seconds=45)),
        ("PT1.25S", timedelta(seconds=1, microseconds=250_000)),
        ("P1DT0.5H", timedelta(days=1, minutes=30)),
        ("PT0S", timedelta(0)),
        ("pt2h", timedelta(hours=2)),
        (" PT2H ", timedelta(hours=2)),
    ],
)
def test_parse_duration_reads_iso_8601(text: str, expected: timedelta) -> None:
    """Each accepted spelling yields the exact timedelta it stands for."""
    assert parse_duration(text) == expected


def test_parse_duration_rounds_below_a_microsecond_half_to_even() -> None:
    """Fractions finer than a microsecond round half-to-even (0.5 µs → 0, 1.5 µs → 2)."""
    assert parse_duration("PT0.0000005S") == timedelta(0)
    assert parse_duration("PT0.0000015S") == timedelta(microseconds=2)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("P", "names no amount of time"),
        ("PT", "names no amount of time"),
        ("P1DT", "'T' must be followed"),
        ("P1Y", "years have no fixed length"),
        ("P1M", "months have no fixed length"),
        ("P1Y2M", "years have no fixed length"),
        ("PT1.5H30M", "only the last unit may have a fraction, not hours"),
        ("-PT1H", "cannot be negative"),
        ("1H", "does not have the form"),
        ("PT1H1H", "does not have the form"),
        ("PT1M1H", "does not have the form"),
        ("PTH", "does not have the form"),
        ("", "does not have the form"),
        ("P" + "9" * 70 + "D", "longer than 64 characters"),
        ("P1000000000D", "longer than the largest duration"),
    ],
)
def test_parse_duration_refuses_with_a_reason(text: str, fragment: str) -> None:
    """Invalid text is an InvalidInput (400 InvalidParameter, target maximumDuration) saying why."""
    with pytest.raises(InvalidInput) as caught:
        parse_duration(text)
    assert caught.value.status == 400
    assert caught.value.code == "InvalidParameter"
    assert caught.value.target == "maximumDuration"
    assert fragment in caught.value.message


def test_parse_duration_names_the_callers_parameter() -> None:
    """The target (and message) use the parameter name the caller passes."""
    with pytest.raises(InvalidInput) as caught:
        parse_duration("soon", target="schedule.duration")
    assert caught.value.target == "schedule.duration"
    assert "'schedule.duration'" in caught.value.message


def test_parse_duration_refuses_a_non_string() -> None:
    """A JSON number where a duration string belongs is an InvalidInput, not a TypeError."""
    with pytest.raises(InvalidInput, match="ISO 8601 duration string"):
        parse_duration(3600)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(hours=2, minutes=30), "PT2H30M"),
        (timedelta(hours=4), "PT4H"),
        (timedelta(minutes=90), "PT1H30M"),
        (timedelta(hours=36), "P1DT12H"),
        (timedelta(days=3), "P3D"),
        (timedelta(seconds=1, microseconds=500_000), "PT1.5S"),
        (timedelta(microseconds=1), "PT0.000001S"),
        (timedelta(0), "PT0S"),
    ],
)
def test_format_duration_writes_the_canonical_form(delta: timedelta, text: str) -> None:
    """Days, hours, minutes and seconds, zero parts left out, fractions only on seconds."""
    assert format_duration(delta) == text


def test_format_duration_refuses_a_negative_duration() -> None:
    """A negative timedelta is a programming error (GuestpatchError, 500), not a client error."""
    with pytest.raises(GuestpatchError) as caught:
        format_duration(timedelta(seconds=-1))
    assert not isinstance(caught.value, InvalidInput)


@given(st.timedeltas(min_value=timedelta(0)))
def test_format_then_parse_is_the_identity(delta: timedelta) -> None:
    """Every non-negative timedelta survives a round trip through its canonical text."""
    assert parse_duration(format_duration(delta)) == delta


@given(st.text(max_size=40))
def test_parse_duration_raises_only_invalid_input(text: str) -> None:
    """Arbitrary text yields a timedelta or an InvalidInput, never another exception."""
    try:
        result = parse_duration(text)
    except InvalidInput:
        return
    assert result >= timedelta(0)


def test_parse_duration_accepts_only_ascii_digits() -> None:
    """Digits of other scripts ('PT١H') are refused: the wire format is ASCII."""
    with pytest.raises(InvalidInput, match="does not have the form"):
        parse_duration("PT\u0661H")
