"""ISO 8601 durations (``PT4H``, ``PT90M``, ``P1DT2H``, ``PT0.5H``) to and from :class:`timedelta`.

Accepted: ``P[nW][nD][T[nH][nM][nS]]``, letters in either case, the smallest unit given may carry
a decimal fraction (``PT1.5H``, ``PT0,5H``), surrounding blanks are ignored. Refused, each with its
own message: years and months (no fixed length), negative durations, fractions on any unit but the
last, empty designators (``P``, ``PT``), anything longer than 64 characters, and durations larger
than :class:`timedelta` holds. The result is exact to the microsecond (finer fractions round
half-to-even).

:func:`format_duration` writes the canonical form (``PT2H30M``, ``P1DT12H``, ``PT0.5S``, ``PT0S``);
``parse_duration(format_duration(d)) == d`` for every non-negative ``d``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from guestpatch.errors import GuestpatchError, InvalidInput

MAX_LENGTH = 64
_NUMBER = r"([0-9]+(?:[.,][0-9]+)?)"
_PATTERN = re.compile(
    rf"P(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?P<time>T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?",
    re.IGNORECASE,
)
# Microseconds per unit, in the order of the pattern's groups; None = no fixed length.
_UNITS: tuple[tuple[str, int | None], ...] = (
    ("years", None),
    ("months", None),
    ("weeks", 7 * 86_400_000_000),
    ("days", 86_400_000_000),
    ("hours", 3_600_000_000),
    ("minutes", 60_000_000),
    ("seconds", 1_000_000),
)
_MAX_MICROSECONDS = (timedelta.max.days + 1) * 86_400_000_000 - 1
_EXAMPLES = "Write it like PT4H, PT90M, PT1H30M or P1DT2H"


def _invalid(text: str, target: str, why: str) -> InvalidInput:
    return InvalidInput(
        f"The value '{text}' of parameter '{target}' is not a valid ISO 8601 duration: {why}.",
        code="InvalidParameter",
        target=target,
    )


def parse_duration(text: str, *, target: str = "maximumDuration") -> timedelta:
    """The :class:`timedelta` an ISO 8601 duration stands for; :class:`InvalidInput` otherwise."""
    if not isinstance(text, str):
        raise InvalidInput(
            f"The value of parameter '{target}' must be an ISO 8601 duration string such as PT4H, "
            f"not {type(text).__name__}.",
            code="InvalidParameter",
            target=target,
        )
    shown = text if len(text) <= MAX_LENGTH else text[:MAX_LENGTH] + "…"
    if len(text) > MAX_LENGTH:
        raise _invalid(shown, target, f"it is longer than {MAX_LENGTH} characters")
    stripped = text.strip()
    if stripped.startswith("-"):
        raise _invalid(shown, target, "a duration cannot be negative")
    match = _PATTERN.fullmatch(stripped)
    if match is None:
        raise _invalid(shown, target, f"it does not have the form P[n]W[n]DT[n]H[n]M[n]S. {_EXAMPLES}")
    groups = match.groups()
    values = groups[:4] + groups[5:]  # years, months, weeks, days, hours, minutes, seconds
    given = [(unit, size, value) for (unit, size), value in zip(_UNITS, values, strict=True) if value]
    if not given:
        raise _invalid(shown, target, f"it names no amount of time. {_EXAMPLES}")
    if match.group("time") is not None and all(v is None for v in values[4:]):
        raise _invalid(shown, target, f"'T' must be followed by hours, minutes or seconds. {_EXAMPLES}")
    for unit, size, _ in given:
        if size is None:
            raise _invalid(
                shown, target,
                f"{unit} have no fixed length; give the duration in weeks, days, hours, minutes "
                "or seconds (for example P30D)",
            )
    for unit, _, value in given[:-1]:
        if "." in value or "," in value:
            raise _invalid(shown, target, f"only the last unit may have a fraction, not {unit}")
    total = Decimal(0)
    try:
        for _, size, value in given:
            assert size is not None
            total += Decimal(value.replace(",", ".")) * size
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only decimal numbers
        raise _invalid(shown, target, _EXAMPLES) from exc
    microseconds = int(total.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    if microseconds > _MAX_MICROSECONDS:
        raise _invalid(shown, target, "it is longer than the largest duration supported (999999999 days)")
    return timedelta(microseconds=microseconds)


def format_duration(delta: timedelta) -> str:
    """The canonical ISO 8601 form of a non-negative duration: ``PT2H30M``, ``P1DT12H``, ``PT0S``."""
    if delta < timedelta(0):
        raise GuestpatchError(f"cannot write a negative duration ({delta!r}) in ISO 8601")
    seconds_total = delta.seconds
    hours, rest = divmod(seconds_total, 3600)
    minutes, seconds = divmod(rest, 60)
    date_part = f"{delta.days}D" if delta.days else ""
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if seconds or delta.microseconds:
        fraction = f".{delta.microseconds:06d}".rstrip("0") if delta.microseconds else ""
        time_part += f"{seconds}{fraction}S"
    if not date_part and not time_part:
        return "PT0S"
    return "P" + date_part + ("T" + time_part if time_part else "")
