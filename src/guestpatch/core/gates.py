"""Gates: the health decisions after a wave or a phase (proceed, wait, or halt).

Wave gate
    A wave halts the rollout as soon as its failures reach ``halt_min_failures`` *and* its failure
    share exceeds ``1 - success_threshold`` with 95 % confidence: the one-sided Wilson score lower
    bound of failed / started is above it. Counting against started machines (not decided ones)
    matters: failures arrive before successes, which wait out their stability period. The confidence
    bound matters for small waves: three unlucky machines out of forty-four (6.8 %) are what a 1 %
    failure rate produces now and then, while three out of eight are not.

Phase gate
    A phase passes when all its waves are done, none of its machines is in flight, the share of
    succeeded among decided machines is at least ``success_threshold``, and it then stays so for
    ``bake_time``; it halts when, at that point, the failure share exceeds ``1 - success_threshold``
    with 95 % confidence (as for waves). Machines still waiting for a window (catch-up) or powered
    off do not hold the gate;
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


#: One-sided 95 % confidence (normal quantile) used to judge failure shares of small samples.
CONFIDENCE_Z = 1.645


def failure_lower_bound(failed: int, total: int, z: float = CONFIDENCE_Z) -> float:
    """The Wilson score lower bound of a failure share (0 when nothing was tried)."""
    if total <= 0:
        return 0.0
    p = failed / total
    denominator = 1 + z * z / total
    centre = p + z * z / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return max(0.0, (centre - margin) / denominator)


def wave_should_halt(*, failed: int, started: int, success_threshold: float, min_failures: int) -> bool:
    """Whether a wave's failures halt the rollout (see the module docstring)."""
    if failed < min_failures:
        return False
    return failure_lower_bound(failed, max(started, failed)) > 1.0 - success_threshold


def success_share(succeeded: int, failed: int) -> float:
    decided = succeeded + failed
    return 1.0 if decided == 0 else succeeded / decided


def phase_verdict(
    *, waves_done: bool, in_flight: int, succeeded: int, failed: int, success_threshold: float,
    min_failures: int,
) -> Verdict:
    """Whether a phase may start baking (``PROCEED``), must wait, or halts the rollout.

    The share is judged only once the phase's waves are done and nothing is in flight: before that,
    fast failures would be weighed against successes still in their stability period.
    """
    if not waves_done or in_flight:
        return Verdict.WAIT
    if failed >= min_failures and failure_lower_bound(failed, succeeded + failed) > 1.0 - success_threshold:
        return Verdict.HALT
    return Verdict.PROCEED


def errors_exceeded(failed: int, max_errors: int | None) -> bool:
    return max_errors is not None and failed > max_errors


def zone_budget(share: float, zone_machines: int) -> int:
    """GCP's disruption budget for a zone: a share of its machines, rounded up, at least one."""
    return max(1, math.ceil(share * zone_machines - 1e-9))
