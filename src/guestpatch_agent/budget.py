"""The time budget of an installation (``maximumDuration``), pure arithmetic over ``now``.

The window is counted from the *requested* start time, so an installation resumed after a reboot
sees what is left of it. A transaction of ``n`` packages starts only if the time left covers the
worst case of one package plus the average of the others, plus a 15-minute reboot buffer when the
reboot setting allows a reboot (LPE's figures: 5 min worst case, 90 s average for apt).
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from guestpatch_agent.errors import UsageError

WORST_CASE = timedelta(minutes=5)
REBOOT_BUFFER = timedelta(minutes=15)
DEFAULT_AVERAGE = timedelta(seconds=90)

_DURATION_RE = re.compile(
    r"^P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """ISO 8601 duration as Azure sends it: ``PT1H``, ``PT04H00M00S``, ``PT90M``, ``P1DT2H``.

    Years and months are refused (their length is ambiguous); so is a zero duration.
    """
    value = text.strip().upper()
    match = _DURATION_RE.match(value)
    if match is None or value in ("P", "PT") or value.endswith("T"):
        raise UsageError("invalid ISO 8601 duration {!r} (examples: PT1H, PT30M, PT04H00M00S)".format(text))
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
    duration = timedelta(**parts)
    if duration <= timedelta(0):
        raise UsageError("the duration {!r} must be longer than zero".format(text))
    return duration


def format_duration(duration: timedelta) -> str:
    """``PT1H30M`` style, whole seconds."""
    seconds = int(duration.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "PT" + ("{}H".format(hours) if hours else "") + ("{}M".format(minutes) if minutes else "")
    return text + ("{}S".format(seconds) if seconds or text == "PT" else "")


@dataclass(frozen=True)
class TimeBudget:
    start: datetime
    maximum: timedelta
    reboot_allowed: bool
    average: timedelta = DEFAULT_AVERAGE
    worst_case: timedelta = WORST_CASE
    reboot_buffer: timedelta = REBOOT_BUFFER

    @property
    def deadline(self) -> datetime:
        return self.start + self.maximum

    def remaining(self, now: datetime) -> timedelta:
        return max(timedelta(0), self.deadline - now)

    def needed(self, packages: int) -> timedelta:
        """Time a transaction of ``packages`` packages must have left before it starts."""
        base = self.worst_case + self.average * max(0, packages - 1)
        return base + (self.reboot_buffer if self.reboot_allowed else timedelta(0))

    def can_start(self, now: datetime, packages: int = 1) -> bool:
        return packages > 0 and self.remaining(now) >= self.needed(packages)

    def batch_size(self, now: datetime, limit: int) -> int:
        """The largest number of packages (at most ``limit``) one transaction may take now; 0: none."""
        if limit <= 0 or not self.can_start(now, 1):
            return 0
        spare = self.remaining(now) - self.needed(1)
        extra = int(spare.total_seconds() // max(1.0, self.average.total_seconds()))
        return min(limit, 1 + extra)

    def command_timeout(self, now: datetime) -> float:
        """Seconds a package-manager command may run now: the window minus the reboot buffer."""
        left = self.remaining(now) - (self.reboot_buffer if self.reboot_allowed else timedelta(0))
        return max(1.0, left.total_seconds())

    def reboot_fits(self, now: datetime) -> bool:
        """Is there time left to reboot (the reboot buffer)?"""
        return self.remaining(now) >= self.reboot_buffer
