"""Gates: the health decisions after a wave or a phase (proceed, wait, or halt).

Wave gate
    A wave halts the rollout as soon as its failures reach ``halt_min_failures`` *and* exceed
    ``1 - success_threshold`` of the machines it started. Counting against started machines (not
    decided ones) matters: failures arrive before successes, which wait out their stability period,
    so a share of decided machines would halt good waves on their first unlucky machine.

Phase gate
    A phase passes when all its waves are done, none of its machines is in flight, the share of
    succeeded among decided machines is at least ``success_threshold``, and it then stays so for
    ``bake_time``. Machines still waiting for a window (catch-up) or powered off do not hold the gate;
    they are patched later under the same rules and reported if they never are.

Global gates of the comparison strategies
    ``max_errors`` (fixed concurrency, AWS MaxErrors): halt when failures exceed it.
    ``zone_budget`` (zone by zone, GCP): halt when a zone's failures exceed its disruption budget.
"""

from __future__ import annotations

import math
from enum import StrEnum


class Verdict(StrEnum):
    PROCEED = "proceed"
    WAIT = "wait"
    HALT = "halt"


def wave_should_halt(*, failed: int, started: int, success_threshold: float, min_failures: int) -> bool:
    """Whether a wave's failures halt the rollout (see the module docstring)."""
    if failed < min_failures:
        return False
    return failed > (1.0 - success_threshold) * started + 1e-9


def success_share(succeeded: int, failed: int) -> float:
    decided = succeeded + failed
    return 1.0 if decided == 0 else succeeded / decided


def phase_verdict(
    *, waves_done: bool, in_flight: int, succeeded: int, failed: int, success_threshold: float,
    min_failures: int,
) -> Verdict:
    """Whether a phase may start baking (``PROCEED``), must wait, or halts the rollout."""
    if failed >= min_failures and success_share(succeeded, failed) < success_threshold - 1e-9:
        return Verdict.HALT
    if not waves_done or in_flight:
        return Verdict.WAIT
    return Verdict.PROCEED


def errors_exceeded(failed: int, max_errors: int | None) -> bool:
    return max_errors is not None and failed > max_errors


def zone_budget(share: float, zone_machines: int) -> int:
    """GCP's disruption budget for a zone: a share of its machines, rounded up, at least one."""
    return max(1, math.ceil(share * zone_machines - 1e-9))
