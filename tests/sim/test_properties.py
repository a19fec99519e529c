"""Property tests on random fleets and random clocks: the rules hold in every simulated timeline.

Each example generates a fleet, runs the real engine against simulated agents from a random start
time (any minute of 2026-2027, so daylight-saving changes are crossed), and counts violations with the
independent checker (``guestpatch.sim.checker``), which shares no code with the core.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guestpatch.core.policy import Policy
from guestpatch.core.windows import OffPeak
from guestpatch.sim.checker import check
from guestpatch.sim.fleetfile import generate
from guestpatch.sim.run import simulate

START = datetime(2026, 1, 1, tzinfo=UTC)

fleets = st.builds(
    lambda machines, regions, zones, share, tenants, seed: generate(
        machines=machines, regions=regions, zones=zones, availability_set_share=share, update_domains=5,
        tenants=tenants, seed=seed),
    machines=st.integers(10, 150), regions=st.integers(1, 6), zones=st.integers(0, 3),
    share=st.sampled_from([0.0, 0.3, 0.8]), tenants=st.integers(1, 12), seed=st.integers(0, 10_000),
)
starts = st.integers(0, 2 * 365 * 24 * 60).map(lambda m: START + timedelta(minutes=m))
hours = st.tuples(st.integers(0, 23), st.integers(0, 23)).filter(lambda h: h[0] != h[1]).map(
    lambda h: OffPeak(h[0] * 60, h[1] * 60))
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(doc: dict[str, Any], start: datetime, off_peak: OffPeak, bad: bool) -> tuple[dict[str, Any], dict[str, int]]:
    policy = Policy(off_peak=off_peak)
    outcome = simulate(doc, policy=policy, seed=3, start=start, bad_patch=bad)
    m = outcome.metrics
    return m, check(outcome.timeline, doc, m["policy"], halted_at=m["haltedAt"])


@SETTINGS
@given(doc=fleets, start=starts, off_peak=hours)
def test_a_good_release_breaks_no_rule(doc: dict[str, Any], start: datetime, off_peak: OffPeak) -> None:
    """Zones, update domains, geo-pairs (phase and time), tenant share and windows hold throughout."""
    metrics, violations = _run(doc, start, off_peak, bad=False)
    assert violations == dict.fromkeys(violations, 0)
    assert metrics["violationCount"] == 0


@SETTINGS
@given(doc=fleets, start=starts, off_peak=hours)
def test_every_machine_is_patched_within_the_deadline_or_listed_with_a_reason(
    doc: dict[str, Any], start: datetime, off_peak: OffPeak
) -> None:
    """patched + listed unpatched machines = eligible, and each listed machine has a reason."""
    outcome = simulate(doc, policy=Policy(off_peak=off_peak), seed=4, start=start)
    from guestpatch.core.explain import unpatched

    state = outcome.engine.state(outcome.rollout_id)
    listed = unpatched(state, outcome.engine.clock.now())
    assert outcome.metrics["patched"] + len(listed) == outcome.metrics["eligible"]
    assert all(e.reason for e in listed)
    deadline = state.record.deadline
    assert all(datetime.fromisoformat(r["end"]) <= deadline + timedelta(days=1) for r in outcome.timeline)


@SETTINGS
@given(doc=fleets, start=starts, off_peak=hours)
def test_a_bad_release_halts_and_nothing_starts_after_the_halt(
    doc: dict[str, Any], start: datetime, off_peak: OffPeak
) -> None:
    """A release that breaks every machine halts the rollout; no installation starts after the halt."""
    metrics, violations = _run(doc, start, off_peak, bad=True)
    if metrics["eligible"] >= Policy().halt_min_failures:
        assert metrics["halted"]
    assert violations["afterHalt"] == 0
    assert metrics["patched"] == 0
