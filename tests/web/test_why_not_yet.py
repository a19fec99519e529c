"""The why-not-yet rules, as a pure function of a machine's facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from guestpatch.services.fleet_views import MachineFacts
from guestpatch.web.why_not_yet import Reason, why_not_yet

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
READY = [
    {"code": "PatchModeConfigurationState/Ready", "message": "applied"},
    {"code": "AssessmentModeConfigurationState/Ready", "message": "applied"},
]
HEALTHY = MachineFacts(
    patch_mode="AutomaticByPlatform", assessment_mode="ImageDefault", bypass_platform_safety_checks=False,
    power_state="running", agent_version="0.2.0", last_seen=NOW - timedelta(minutes=1), reporting=True,
    min_agent_version="0.1.0", configuration=READY, active_operation=None, last_installation=None, critical=0,
    assessed=True,
)


def _titles(reasons: list[Reason]) -> list[tuple[str, str]]:
    return [(r.severity, r.title) for r in reasons]


def test_a_healthy_compliant_machine_is_ok() -> None:
    """Assessed, nothing pending, nothing in the way: one OK reason."""
    assert _titles(why_not_yet(HEALTHY, now=NOW)) == [("ok", "Nothing pending")]


def test_pending_patches_on_a_healthy_machine_wait_for_the_rollout() -> None:
    """Nothing blocks: the note says the next rollout installs them (singular and plural spelled right)."""
    assert _titles(why_not_yet(replace(HEALTHY, critical=1), now=NOW)) == [
        ("info", "1 Critical/Security patch pending")
    ]
    assert _titles(why_not_yet(replace(HEALTHY, critical=4), now=NOW))[0][1] == "4 Critical/Security patches pending"


@pytest.mark.parametrize(
    ("change", "title"),
    [
        ({"patch_mode": "ImageDefault"}, "Patch mode is ImageDefault, not AutomaticByPlatform"),
        ({"patch_mode": "Manual"}, "Patch mode is Manual, not AutomaticByPlatform"),
        ({"bypass_platform_safety_checks": True}, "Patched on the customer's own schedule"),
        ({"agent_version": None, "last_seen": None, "reporting": False}, "No guest agent has reported"),
        ({"reporting": False}, "The guest agent is not reporting"),
        ({"agent_version": "0.0.9"}, "The guest agent 0.0.9 is too old"),
        ({"power_state": "deallocated"}, "The machine is deallocated"),
        (
            {"configuration": [{"code": "PatchModeConfigurationState/NotSupported", "message": "not in catalog"}]},
            "The image is not supported for automatic patching",
        ),
        (
            {"configuration": [{"code": "PatchModeConfigurationState/Failed", "message": "apt is locked"}]},
            "The agent could not apply the patch settings",
        ),
    ],
)
def test_each_blocker_is_named_and_the_rollout_note_is_left_out(change: dict[str, object], title: str) -> None:
    """A blocker appears first, and pending patches are not promised to the rollout."""
    reasons = why_not_yet(replace(HEALTHY, critical=3, **change), now=NOW)  # type: ignore[arg-type]
    assert reasons[0] == Reason("blocker", title, reasons[0].detail)
    assert all("rollout installs" not in r.detail for r in reasons)


def test_a_silent_agent_says_since_when() -> None:
    """The detail gives the last report's time and how long ago it was."""
    facts = replace(HEALTHY, reporting=False, last_seen=NOW - timedelta(hours=3))
    detail = why_not_yet(facts, now=NOW)[0].detail
    assert "2026-11-26 05:00 UTC (3 h ago)" in detail


def test_warnings_come_after_blockers_and_before_notes() -> None:
    """End of life (warning), deallocated (blocker), a queued assessment (note): blocker, warning, note."""
    facts = replace(
        HEALTHY, power_state="deallocated", active_operation=("assessPatches", "Queued", NOW),
        configuration=[*READY, {"code": "ImageLifecycleState/EndOfLife", "message": "past end of life"}],
    )
    assert [r.severity for r in why_not_yet(facts, now=NOW)] == ["blocker", "warning", "info"]


def test_a_failed_last_installation_is_a_warning_with_its_error() -> None:
    """The error message of the failed installation is repeated, with when it is tried again."""
    facts = replace(HEALTHY, last_installation=("Failed", "dpkg was interrupted"), critical=2)
    reasons = why_not_yet(facts, now=NOW)
    assert reasons[0].severity == "warning"
    assert reasons[0].detail.startswith("dpkg was interrupted ")
    assert reasons[-1].title == "2 Critical/Security patches pending"


def test_a_succeeded_last_installation_is_not_mentioned() -> None:
    """Only failures are reasons."""
    facts = replace(HEALTHY, last_installation=("Succeeded", None))
    assert _titles(why_not_yet(facts, now=NOW)) == [("ok", "Nothing pending")]


@pytest.mark.parametrize(("mode", "says"), [("ImageDefault", "on request"), ("AutomaticByPlatform", "within a day")])
def test_a_machine_never_assessed_is_told_when_it_will_be(mode: str, says: str) -> None:
    """Unassessed: no OK, and the note depends on the assessment mode."""
    reasons = why_not_yet(replace(HEALTHY, assessed=False, assessment_mode=mode), now=NOW)
    assert _titles(reasons) == [("info", "Not assessed yet")]
    assert says in reasons[0].detail


def test_a_running_installation_is_noted_with_its_request_time() -> None:
    """An installation in progress is a note, not a blocker."""
    facts = replace(HEALTHY, active_operation=("installPatches", "InProgress", NOW - timedelta(minutes=7)))
    reasons = why_not_yet(facts, now=NOW)
    assert reasons[0] == Reason("info", "An installation is running", "Requested at 2026-11-26 07:53 UTC.")
