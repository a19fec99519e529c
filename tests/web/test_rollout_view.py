"""The rollout pages' view model, as pure functions of the orchestrator's answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guestpatch.core.policy import Policy
from guestpatch.errors import InvalidInput
from guestpatch.web import rollout_view as rv
from guestpatch.web.charts import stacked
from guestpatch.web.why_not_yet import in_rollout

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def _region(name: str, current: int | None, waves: dict[int, dict[str, int]]) -> dict[str, Any]:
    total: dict[str, int] = {}
    for counts in waves.values():
        for status, n in counts.items():
            total[status] = total.get(status, 0) + n
    return {"region": name, "currentWave": current, "byStatus": total,
            "waves": [{"wave": w, "machines": sum(c.values()), "byStatus": c} for w, c in waves.items()]}


def _detail(**changes: Any) -> dict[str, Any]:
    detail = {
        "status": "Running", "phase": 1, "phaseStatus": "Active", "phaseDue": None, "policy": {},
        "phases": [
            {"index": 0, "state": "done", "regions": [_region("eastasia", 1, {0: {"Succeeded": 2}})]},
            {"index": 1, "state": "current", "regions": [
                _region("westeurope", 1, {0: {"Succeeded": 1}, 1: {"Installing": 1, "Failed": 1},
                                          2: {"Waiting": 2}}),
            ]},
            {"index": 2, "state": "next", "regions": [_region("northeurope", None, {0: {"Waiting": 1}})]},
        ],
    }
    detail.update(changes)
    return detail


MACHINES = [
    {"machine": "t/rg/we1", "region": "westeurope", "wave": 0, "zone": "1", "status": "Succeeded", "attempts": 1,
     "tenant": "t", "phase": 1},
    {"machine": "t/rg/we2", "region": "westeurope", "wave": 1, "zone": "2", "status": "Installing", "attempts": 1,
     "tenant": "t", "phase": 1},
    {"machine": "t/rg/as1", "region": "westeurope", "wave": 2, "zone": None, "availabilitySet": "/x/as",
     "updateDomain": 3, "status": "Waiting", "attempts": 0, "tenant": "t", "phase": 1},
    {"machine": "t/rg/ne1", "region": "northeurope", "wave": 0, "zone": None, "status": "Waiting", "attempts": 0,
     "tenant": "t", "phase": 2},
]


def test_waves_before_the_current_one_are_done_it_is_open_and_later_ones_next() -> None:
    """westeurope's current wave is 1: wave 0 done, 1 open, 2 next; a passed phase is done throughout."""
    phases = rv.timeline(_detail(), MACHINES)
    assert [w.state for w in phases[1].regions[0].waves] == ["done", "open", "next"]
    assert [w.state for w in phases[0].regions[0].waves] == ["done"]
    assert [w.state for w in phases[2].regions[0].waves] == ["next"]


def test_regions_read_done_patching_or_waiting() -> None:
    """The passed canary is done, the current region is patching, the next phase's region waits."""
    phases = rv.timeline(_detail(), MACHINES)
    assert [p.regions[0].state for p in phases] == ["done", "patching", "waiting"]


def test_a_wave_names_its_zone_or_update_domain() -> None:
    """Zonal waves say 'zone N'; an availability set's wave says its update domain; others say nothing."""
    waves = rv.timeline(_detail(), MACHINES)[1].regions[0].waves
    assert [w.where for w in waves] == ["zone 1", "zone 2", "update domain 3"]
    assert rv.timeline(_detail(), MACHINES)[2].regions[0].waves[0].where == ""


def test_bars_put_statuses_in_five_buckets_and_describe_them() -> None:
    """Succeeded+NotOffered patched, in-flight, Failed/Pending/Exhausted failed, Waiting/Skipped, ended."""
    bar = rv.Bar.of({"Succeeded": 2, "NotOffered": 1, "Rebooting": 1, "Pending": 1, "Skipped": 2, "Expired": 1})
    assert bar.counts == {"done": 3, "flight": 1, "failed": 1, "waiting": 2, "ended": 1}
    assert bar.total == 8
    assert bar.describe() == "3 patched, 1 in flight, 1 failed, 2 waiting, 1 cancelled or expired of 8"
    assert rv.Bar.of({}).describe() == "no machines of 0"


def test_the_gate_counts_the_current_phases_decided_machines() -> None:
    """Phase 1: 1 succeeded, 1 failed (the in-flight and waiting ones are not decided): share 50 %."""
    gate = rv.gate(_detail(), Policy(), now=NOW)
    assert (gate.succeeded, gate.failed, gate.decided) == (1, 1, 2)
    assert gate.share == 0.5
    assert gate.passing is False
    assert gate.left is None


def test_a_baking_phase_says_how_long_is_left() -> None:
    """Baking until 09:30 at 08:00: 1 h 30 min left; past the moment it is zero, never negative."""
    due = (NOW + timedelta(minutes=90)).isoformat().replace("+00:00", "Z")
    gate = rv.gate(_detail(phaseStatus="Baking", phaseDue=due), Policy(), now=NOW)
    assert gate.left == timedelta(minutes=90)
    late = rv.gate(_detail(phaseStatus="Baking", phaseDue=due), Policy(), now=NOW + timedelta(hours=3))
    assert late.left == timedelta(0)


def test_a_phase_without_verdicts_has_no_share() -> None:
    """Nothing decided yet: no share, neither passing nor failing."""
    gate = rv.gate(_detail(phase=2), Policy(), now=NOW)
    assert gate.share is None
    assert gate.passing is None


def test_the_rollouts_policy_gives_the_threshold_and_a_broken_one_the_defaults() -> None:
    """successThreshold from the stored document; an unreadable document falls back to the defaults."""
    assert rv.policy_of({"policy": {"successThreshold": 0.8}}).success_threshold == 0.8
    assert rv.policy_of({"policy": {"noSuchKnob": 1}}).success_threshold == Policy().success_threshold


def test_machine_rows_carry_the_rollouts_reason_or_patched() -> None:
    """Unpatched machines get the orchestrator's sentence and moment; succeeded ones 'patched'."""
    unpatched = [{"machine": "t/rg/we2", "status": "Installing", "reason": "installing; the agent must report by",
                  "until": "2026-11-26T09:00:00Z"}]
    rows = {r.machine: r for r in rv.machine_rows(MACHINES, unpatched)}
    assert rows["t/rg/we2"].why == "installing; the agent must report by"
    assert rows["t/rg/we2"].until == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert rows["t/rg/we1"].why == "patched (attempt 1)"
    assert rows["t/rg/as1"].update_domain == 3
    assert rows["t/rg/we1"].parts == ("t", "rg", "we1")


@pytest.mark.parametrize(("given", "expected"), [("failed", "Failed"), (" NotOffered ", "NotOffered"), ("", None)])
def test_the_status_filter_takes_any_case(given: str, expected: str | None) -> None:
    """Statuses are matched ignoring case and spaces around; empty means all."""
    assert rv.status_filter(given) == expected


def test_an_unknown_status_filter_names_the_statuses() -> None:
    with pytest.raises(InvalidInput, match="the statuses are Succeeded, NotOffered"):
        rv.status_filter("asleep")


def test_a_stacked_bar_draws_its_parts_in_order_and_states_them() -> None:
    """Widths are shares of the total; empty parts draw nothing; the label is the accessible name."""
    svg = str(stacked([(1, "ok"), (0, "info"), (3, "bad")], total=8, label="wave 0: 1 patched"))
    assert 'aria-label="wave 0: 1 patched"' in svg
    assert 'class="bar-part tone-ok" x="0.00" y="0" width="12.50"' in svg
    assert 'class="bar-part tone-bad" x="12.50" y="0" width="37.50"' in svg
    assert "tone-info" not in svg


@pytest.mark.parametrize(("status", "severity"), [("Succeeded", "ok"), ("Failed", "warning"), ("Waiting", "info")])
def test_a_rollouts_reason_is_weighed_by_the_machines_status(status: str, severity: str) -> None:
    """Patched is OK, failures are warnings, the rest are notes; the moment is appended to the sentence."""
    reason = in_rollout("r1", {"status": status, "reason": "outside its window until",
                               "until": "2026-11-26T22:00:00Z"})
    assert reason.severity == severity
    assert reason.title == f"Rollout r1: {status}"
    assert reason.detail == "outside its window until 2026-11-26 22:00 UTC"
    assert reason.rollout == "r1"


def test_a_machine_waiting_behind_a_halt_gets_a_warning() -> None:
    """Waiting, but because the rollout is halted: the box warns."""
    reason = in_rollout("r1", {"status": "Waiting", "reason": "rollout halted by gate: wave 0 failed"})
    assert reason.severity == "warning"
    assert reason.detail == "rollout halted by gate: wave 0 failed"
