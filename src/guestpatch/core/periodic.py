"""Which machines are due for their periodic assessment now (pure).

Azure assesses AutomaticByPlatform machines "every few days" in their off-peak hours, and machines with
``assessmentMode=AutomaticByPlatform`` every 24 hours. We do the same, inside each machine's window
(its own time zone and off-peak hours; Flexible scale sets: all hours), with the intervals of the
policy (``assessmentIntervalMinutes``, ``dailyAssessmentIntervalMinutes``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from guestpatch.core.fleet import Fleet
from guestpatch.core.policy import Policy
from guestpatch.core.windows import WindowSpec


def window_of(fleet: Fleet, i: int, policy: Policy) -> WindowSpec:
    """Machine ``i``'s window: its own off-peak override, else its region's, else the policy's."""
    override = fleet.off_peak[i]
    region = fleet.regions[fleet.region[i]].name
    hours = fleet.off_peaks[override] if override >= 0 else policy.off_peak_for_region(region)
    return WindowSpec(fleet.time_zones[fleet.tz[i]], hours, all_hours=bool(fleet.flex[i]))


def due_for_assessment(
    fleet: Fleet, last: Mapping[str, datetime], *, skip: frozenset[str], now: datetime, policy: Policy
) -> list[str]:
    """Names of machines whose periodic assessment is due at ``now``.

    ``last`` maps a machine to its latest assessment (any origin); ``skip`` are machines not to ask now
    (an operation in progress, no agent reporting): they are considered again on a later pass.
    """
    due = []
    for i, name in enumerate(fleet.names):
        daily = bool(fleet.assess_daily[i])
        if not (fleet.eligible[i] or daily) or name in skip:
            continue
        interval = policy.daily_assessment_interval if daily else policy.assessment_interval
        previous = last.get(name)
        if previous is not None and now - previous < interval:
            continue
        if window_of(fleet, i, policy).is_open(now):
            due.append(name)
    return due
