"""`guestpatch rollout …` and `guestpatch vm why` against a real server.

Servers without machines answer the empty cases and the errors. For the rest, a server whose engine ticks
every second (``--engine-interval 1``) holds a small fleet of machines whose agents the test plays
(:mod:`tests.cli.rollout_fleet`), so rollouts freeze, patch, halt and complete for real on the wall clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import run_cli
from tests.cli.rollout_fleet import RESOURCE_GROUP, Lab, in_flight, machine_id, start_lab
from tests.server_fixtures import LiveServer

NOT_FOUND = "error: (ResourceNotFound) The rollout 'nope' does not exist."


@pytest.fixture(scope="module")
def completed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, str]]:
    """A server whose fleet took one rollout to completion (read-only for the tests that use it)."""
    lab = start_lab(tmp_path_factory.mktemp("completed"))
    try:
        rollout_id = lab.start()
        lab.wait_for(rollout_id, lambda d: d["status"] == "Completed")
        yield lab, rollout_id
    finally:
        lab.stop()


# ------------------------------------------------------------------------------------ an empty server
def test_list_on_an_empty_server_is_an_empty_array(live_server: LiveServer) -> None:
    """No rollouts: `[]` as JSON, and a table of headers only."""
    assert run_cli(live_server, "rollout", "list").json() == []
    table = run_cli(live_server, "rollout", "list", "-o", "table")
    assert table.exit_code == 0
    assert table.stdout.split() == ["Id", "Release", "Strategy", "Status", "Phase", "Phases", "PhaseStatus",
                                    "PhaseDue", "Created", "Halted"]


def test_plan_on_an_empty_server_has_no_phases(live_server: LiveServer) -> None:
    """No machines: the server's empty plan, and a one-line summary as a table."""
    assert run_cli(live_server, "rollout", "plan").json() == {"strategy": "availability-first", "machines": 0,
                                                              "phases": []}
    table = run_cli(live_server, "rollout", "plan", "-o", "table")
    assert (table.exit_code, table.stdout) == (0, "availability-first: 0 machines in 0 phases\n")


def test_start_on_an_empty_server_says_there_is_nothing_to_roll_out(live_server: LiveServer) -> None:
    """The server's refusal on one line, exit 1."""
    outcome = run_cli(live_server, "rollout", "start", "--release", "2026-11")
    assert outcome.exit_code == 1
    assert outcome.error_lines == ["error: (InvalidParameter) no eligible machine: nothing to roll out"]


@pytest.mark.parametrize(
    "args",
    [
        ("show", "nope"), ("show", "nope", "--watch"), ("halt", "nope", "--reason", "x"), ("resume", "nope"),
        ("cancel", "nope", "--yes"), ("machines", "nope"), ("timeline", "nope"),
        ("why", "nope", "--machine", "default/rg/web1"),
    ],
)
def test_an_unknown_rollout_exits_3_with_one_line(live_server: LiveServer, args: tuple[str, ...]) -> None:
    """Every command taking a rollout id: 404 from the server → exit 3 and the ARM error on one line."""
    outcome = run_cli(live_server, "rollout", *args)
    assert (outcome.exit_code, outcome.error_lines, outcome.stdout) == (3, [NOT_FOUND], "")


def test_vm_why_of_a_missing_machine_exits_3(live_server: LiveServer) -> None:
    """`vm why` for a VM that does not exist: exit 3, the server's ResourceNotFound."""
    outcome = run_cli(live_server, "vm", "why", "-g", "rg-none", "-n", "ghost")
    assert outcome.exit_code == 3
    assert outcome.error_lines[0].startswith("error: (ResourceNotFound) The virtual machine 'ghost'")


def test_vm_why_of_a_machine_in_no_rollout_says_why_it_takes_no_part(live_server: LiveServer) -> None:
    """A VM without a guest agent is in no rollout: rollout null, NotEligible, and the reason."""
    created = run_cli(live_server, "vm", "create", "-g", "rg-why", "-n", "bare", "--image", "Ubuntu2204",
                      "--location", "westeurope", "--patch-mode", "AutomaticByPlatform")
    assert created.exit_code == 0, created.stderr
    why = run_cli(live_server, "vm", "why", "-g", "rg-why", "-n", "bare").json()
    assert (why["rollout"], why["machine"], why["status"]) == (None, "default/rg-why/bare", "NotEligible")
    assert "no guest agent" in why["reason"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{'offPeak': 1}", "is not JSON: Expecting property name enclosed in double quotes (line 1, column 2)."),
        ('["offPeak"]', "must hold a JSON object of policy keys (docs/orchestrator.md), not list."),
        (None, "cannot read the policy file"),
    ],
)
def test_a_broken_policy_file_is_one_line_and_exit_2(
    live_server: LiveServer, tmp_path: Path, content: str | None, expected: str
) -> None:
    """Not JSON, not an object, or missing: one `error:` line naming the file, nothing sent."""
    path = tmp_path / "policy.json"
    if content is not None:
        path.write_text(content)
    outcome = run_cli(live_server, "rollout", "start", "--release", "x", "--policy-file", str(path))
    assert outcome.exit_code == 2
    assert len(outcome.error_lines) == 1
    assert outcome.error_lines[0].startswith("error: ")
    assert str(path) in outcome.error_lines[0]
    assert expected in outcome.error_lines[0]


def test_a_policy_the_server_refuses_names_the_key_and_the_file(live_server: LiveServer, tmp_path: Path) -> None:
    """A policy value out of range: the server's message, the key it is about and the file, exit 1."""
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"offPeak": {"start": "25:00", "end": "06:00"}}))
    outcome = run_cli(live_server, "rollout", "start", "--release", "x", "--policy-file", str(path))
    assert outcome.exit_code == 1
    assert outcome.error_lines == [
        f"error: (InvalidParameter) '25:00' is not a time of day (00:00-23:59) (policy key 'offPeak.start' of {path})"
    ]


def test_cancel_without_a_terminal_needs_yes(live_server: LiveServer) -> None:
    """No terminal to confirm on and no --yes: a usage error naming --yes, nothing sent."""
    outcome = run_cli(live_server, "rollout", "cancel", "nope")
    assert outcome.exit_code == 2
    assert "pass --yes to cancel" in outcome.usage_error


def test_interval_without_watch_is_a_usage_error(live_server: LiveServer) -> None:
    """--interval only means something with --watch."""
    outcome = run_cli(live_server, "rollout", "show", "nope", "--interval", "1")
    assert outcome.exit_code == 2
    assert "only goes with --watch" in outcome.usage_error


def test_an_unknown_status_filter_is_a_usage_error(live_server: LiveServer) -> None:
    """--status takes the machine statuses only (in any case)."""
    outcome = run_cli(live_server, "rollout", "machines", "nope", "--status", "Sleeping")
    assert outcome.exit_code == 2
    assert "'Sleeping' is not one of Waiting, Installing" in outcome.usage_error


# ------------------------------------------------------------------------------------ a populated server
def test_plan_lists_the_fleets_phases_regions_and_waves(completed: tuple[Lab, str]) -> None:
    """Five machines in three regions: a one-region canary, then the rest; a geo-pair never in one phase."""
    lab, _ = completed
    plan = lab.cli("rollout", "plan").json()
    assert plan["machines"] == 5
    regions = [{r["region"] for r in phase["regions"]} for phase in plan["phases"]]
    assert len(regions[0]) == 1
    assert set().union(*regions) == {"northeurope", "westeurope", "eastasia"}
    assert not any({"northeurope", "westeurope"} <= phase for phase in regions)


def test_plan_as_a_table_has_a_summary_and_a_row_per_wave(completed: tuple[Lab, str]) -> None:
    """`availability-first: 5 machines in 2 phases`, then one row per wave holding the fleet's machines."""
    lab, _ = completed
    lines = lab.cli("rollout", "plan", "-o", "table").stdout.splitlines()
    assert lines[0] == "availability-first: 5 machines in 2 phases"
    assert lines[1].split()[:3] == ["Phase", "Canary", "Region"]
    assert sum(int(line.split()[5]) for line in lines[2:] if "eastasia" in line) == 2
    assert len(lines[2:]) == 5  # ne: 1 wave; we: one per zone; ea: tenant share of 2 machines → 2 waves


def test_plan_of_another_strategy(completed: tuple[Lab, str]) -> None:
    """--strategy all-at-once previews that strategy over the same fleet."""
    lab, _ = completed
    plan = lab.cli("rollout", "plan", "--strategy", "ALL-AT-ONCE").json()
    assert (plan["strategy"], plan["machines"]) == ("all-at-once", 5)


def test_a_rollout_started_with_a_policy_file_runs_under_that_policy(completed: tuple[Lab, str]) -> None:
    """The policy file's keys are the rollout's policy (the others keep their defaults)."""
    lab, rollout_id = completed
    policy = lab.cli("rollout", "show", rollout_id).json()["policy"]
    written = json.loads(lab.policy_file.read_text())
    assert {key: policy[key] for key in written} == written
    assert policy["tenantShare"] == 0.2


def test_list_shows_the_completed_rollout(completed: tuple[Lab, str]) -> None:
    """The table row has the id, the release, Completed and both phases."""
    lab, rollout_id = completed
    rows = [line.split() for line in lab.cli("rollout", "list", "-o", "table").stdout.splitlines()[1:]]
    assert [row[:6] for row in rows] == [[rollout_id, "2026-11", "availability-first", "Completed", "1", "2"]]


def test_show_draws_full_bars_for_a_completed_rollout(completed: tuple[Lab, str]) -> None:
    """Every phase and region row: a bar of # only and all machines succeeded."""
    lab, rollout_id = completed
    outcome = lab.cli("rollout", "show", rollout_id, "-o", "table")
    assert outcome.exit_code == 0
    rows = [line for line in outcome.stdout.splitlines() if "[" in line and "succeeded" in line]
    assert len(rows) == 5  # two phases, three regions
    assert all("[" + "#" * 30 + "]" in row and " 0 failed · 0 waiting" in row for row in rows)
    assert "Completed" in outcome.stdout.splitlines()[0]


def test_machines_filtered_by_status(completed: tuple[Lab, str]) -> None:
    """--status Succeeded lists all five; --status failed (any case) none."""
    lab, rollout_id = completed
    succeeded = lab.cli("rollout", "machines", rollout_id, "--status", "Succeeded").json()
    assert sorted(m["machine"] for m in succeeded) == sorted(machine_id(n) for n in ("ne1", "we1", "we2", "ea1",
                                                                                     "ea2"))
    assert lab.cli("rollout", "machines", rollout_id, "--status", "failed").json() == []


def test_timeline_lists_one_attempt_per_machine_in_order(completed: tuple[Lab, str]) -> None:
    """Five Succeeded attempts; the canary's first, each ending after it started."""
    lab, rollout_id = completed
    attempts = lab.cli("rollout", "timeline", rollout_id).json()
    assert [a["outcome"] for a in attempts] == ["Succeeded"] * 5
    assert attempts[0]["machine"] == machine_id("ne1")  # the canary region: the one with the fewest machines
    assert all(a["start"] <= a["end"] for a in attempts)
    assert [a["phase"] for a in attempts] == sorted(a["phase"] for a in attempts)


def test_why_for_a_patched_machine_of_the_rollout(completed: tuple[Lab, str]) -> None:
    """`rollout why ID -g RG -n NAME`: Succeeded, patched at its attempt."""
    lab, rollout_id = completed
    why = lab.cli("rollout", "why", rollout_id, "-g", RESOURCE_GROUP, "-n", "we2").json()
    assert (why["machine"], why["status"]) == (machine_id("we2"), "Succeeded")
    assert why["reason"].startswith("patched (attempt 1)")


def test_vm_why_names_the_machines_latest_rollout(completed: tuple[Lab, str]) -> None:
    """`vm why`: the rollout the machine was last part of, and its answer there."""
    lab, rollout_id = completed
    why = lab.cli("vm", "why", "-g", RESOURCE_GROUP, "-n", "ea1", "-o", "table")
    assert why.exit_code == 0
    row = why.stdout.splitlines()[1].split()
    assert row[:3] == [rollout_id, machine_id("ea1"), "Succeeded"]


def test_why_for_a_machine_outside_the_rollout_is_the_servers_refusal(completed: tuple[Lab, str]) -> None:
    """A machine the rollout does not hold: not found (exit 3) and the server's message naming both."""
    lab, rollout_id = completed
    outcome = lab.cli("rollout", "why", rollout_id, "--machine", "default/rg-fleet/nobody")
    assert outcome.exit_code == 3
    assert len(outcome.error_lines) == 1
    assert outcome.error_lines[0].startswith("error: (ResourceNotFound) ")
    assert rollout_id in outcome.error_lines[0]
    assert "'default/rg-fleet/nobody'" in outcome.error_lines[0]


# ------------------------------------------------------------------------------------ operators act
def test_halt_with_a_reason_then_resume_then_cancel(lab_factory: Callable[..., Lab]) -> None:
    """An operator's halt is shown with its reason and explains the waiting machines; resume runs again;
    cancel ends the rollout and its waiting machines become Cancelled."""
    lab = lab_factory(hold_installs=True)
    rollout_id = lab.start()
    lab.wait_for(rollout_id, in_flight)

    halted = lab.cli("rollout", "halt", rollout_id, "--reason", "bad smell in the canary", "-o", "table")
    assert halted.exit_code == 0, halted.stderr
    assert "Halted" in halted.stdout.splitlines()[0]
    assert "HALTED by token:admin at " in halted.stdout
    assert ": bad smell in the canary" in halted.stdout
    assert "behind the halt: 4 machines waiting" in halted.stdout
    why = lab.cli("rollout", "why", rollout_id, "--machine", machine_id("we1")).json()
    assert why["reason"] == "rollout halted by token:admin: bad smell in the canary"

    resumed = lab.cli("rollout", "resume", rollout_id).json()
    assert (resumed["status"], resumed["halt"]) == ("Running", None)

    cancelled = lab.cli("rollout", "cancel", rollout_id, "--yes").json()
    assert cancelled["status"] == "Cancelled"
    waiting = lab.cli("rollout", "machines", rollout_id, "--status", "Cancelled").json()
    assert {m["machine"] for m in waiting} == {machine_id(n) for n in ("we1", "we2", "ea1", "ea2")}
    assert all(m["reason"] == "rollout cancelled by token:admin" for m in waiting)


def test_a_failing_canary_halts_and_show_lists_the_machines_behind_the_halt(lab_factory: Callable[..., Lab]) -> None:
    """The canary's machine fails: the gate halts; the view names the failing machine and counts the rest."""
    lab = lab_factory(failing={"ne1"})
    rollout_id = lab.start(haltMinFailures=1)
    lab.wait_for(rollout_id, lambda d: d["status"] == "Halted")
    shown = lab.cli("rollout", "show", rollout_id, "-o", "table").stdout
    assert "HALTED by gate at " in shown
    assert "wave 0 of northeurope: 1 of 1 started machines failed" in shown
    assert f"failing machines (1): {machine_id('ne1')}" in shown
    assert "behind the halt: 5 machines waiting" in shown  # the four later ones, and ne1 waiting for its retry
    canary = next(line for line in shown.splitlines() if line.strip().startswith("northeurope"))
    assert "[" + "x" * 30 + "]" in canary
