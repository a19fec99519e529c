"""The pure parts of the rollout commands: bars, counts, the gate and halt lines, plan rows, policy files,
machine names, and the enums that must match the server's (no server needed)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.console import Console

from guestpatch.cli import rollout_view as view
from guestpatch.cli.output import OutputFormat
from guestpatch.cli.rollout import Strategy, plan_rows, read_policy_file
from guestpatch.cli.watch import watch
from guestpatch.cli.why import machine_name
from guestpatch.core.records import MachineStatus as CoreMachineStatus
from guestpatch.core.strategies import STRATEGIES
from guestpatch.errors import InvalidInput

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def text_of(renderable: Any) -> str:
    stream = io.StringIO()
    Console(file=stream, width=160, no_color=True).print(renderable, soft_wrap=False)
    return stream.getvalue()


def detail(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "r1", "release": "2026-11", "strategy": "availability-first", "status": "Running", "phase": 1,
        "phaseStatus": "Active", "phaseDue": None, "created": "2026-11-26T09:00:00+00:00",
        "deadline": "2026-12-26T09:00:00+00:00", "halted": False, "halt": None, "history": [],
        "frozen": {"debian/12": {"libssl3": "3.0.15"}},
        "phases": [
            {"index": 0, "state": "done", "regions": [
                {"region": "northeurope", "currentWave": 1, "byStatus": {"Succeeded": 2},
                 "waves": [{"wave": 0, "machines": 2, "byStatus": {"Succeeded": 2}}]}]},
            {"index": 1, "state": "current", "regions": [
                {"region": "westeurope", "currentWave": 0, "byStatus": {"Installing": 1, "Waiting": 3},
                 "waves": [{"wave": 0, "machines": 1, "byStatus": {"Installing": 1}},
                           {"wave": 1, "machines": 3, "byStatus": {"Waiting": 3}}]}]},
        ],
    }
    body.update(changes)
    return body


# ------------------------------------------------------------------------------------------ bars
def test_statuses_fall_into_the_five_buckets() -> None:
    """Succeeded / in flight / failed / waiting / cancelled, each status counted in its own bucket."""
    counts = view.buckets({"Succeeded": 2, "Installing": 1, "Rebooting": 1, "Verifying": 1, "Failed": 1,
                           "Exhausted": 1, "NotOffered": 1, "Waiting": 4, "Pending": 1, "Skipped": 1,
                           "Cancelled": 2, "Expired": 1})
    assert counts == (2, 3, 3, 6, 3)


def test_a_status_the_client_does_not_know_is_not_counted_as_progress() -> None:
    """An unknown status lands in the last bucket, not in succeeded or waiting."""
    assert view.buckets({"Teleported": 2, "Succeeded": 1}) == (1, 0, 0, 0, 2)


def test_segments_fill_the_bar_in_proportion() -> None:
    """2 succeeded and 2 waiting in 10 characters: 5 and 5."""
    assert view.segment_widths([2, 0, 0, 2, 0], 10) == [5, 0, 0, 5, 0]


def test_every_bucket_with_machines_gets_a_character() -> None:
    """One failed machine among a thousand still shows in a 10-character bar, and the bar stays 10 wide."""
    widths = view.segment_widths([999, 0, 1, 0, 0], 10)
    assert widths[2] == 1
    assert sum(widths) == 10


def test_an_empty_region_draws_an_empty_bar() -> None:
    """No machines: no segments, and the bar keeps its width."""
    assert view.segment_widths([0, 0, 0, 0, 0], 10) == [0, 0, 0, 0, 0]
    assert view.bar([0, 0, 0, 0, 0], view.PLAIN, width=10).plain == "[" + " " * 10 + "]"


def test_a_plain_bar_uses_one_ascii_glyph_per_bucket() -> None:
    """Succeeded #, in flight >, failed x, waiting ., cancelled -."""
    assert view.bar([1, 1, 1, 1, 1], view.PLAIN, width=5).plain == "[#>x.-]"


def test_counts_line_names_each_bucket_and_the_total() -> None:
    """`3/6 succeeded · 1 in flight · 0 failed · 2 waiting`; cancelled only when there are some."""
    assert view.counts_line([3, 1, 0, 2, 0]) == "3/6 succeeded · 1 in flight · 0 failed · 2 waiting"
    assert view.counts_line([0, 0, 0, 0, 2]).endswith("· 2 cancelled/expired")


# ------------------------------------------------------------------------------------------ times
def test_times_are_shown_in_utc_with_a_z_and_relative_to_now() -> None:
    """The server's +00:00 microsecond stamps become `…T10:34:39Z (in 34 min)`."""
    assert view.when("2026-11-26T10:34:39.527971+00:00", NOW) == "2026-11-26T10:34:39Z (in 34 min)"
    assert view.when("2026-11-26T09:00:00Z", NOW) == "2026-11-26T09:00:00Z (1 h 00 min ago)"


def test_a_time_within_the_second_is_now() -> None:
    """A halt that just happened is `(now)`, not `(in 0 s)`."""
    assert view.when("2026-11-26T10:00:00.400000+00:00", NOW) == "2026-11-26T10:00:00Z (now)"


def test_plain_text_has_no_trailing_blanks_nor_colour_codes() -> None:
    """What goes to a pipe or a log: lines end with their last character, no escape sequences."""
    text = view.plain_text(view.rollout_view(detail(status="Halted"), style=view.TERMINAL, now=NOW))
    assert all(line == line.rstrip() for line in text.splitlines())
    assert "\x1b" not in text


def test_a_time_that_is_not_iso_is_shown_as_sent() -> None:
    """Nothing is lost when the server sends something else."""
    assert view.when("soon", NOW) == "soon"
    assert view.when(None, NOW) == "-"


# ------------------------------------------------------------------------------------------ the view
def test_the_view_has_a_bar_per_phase_and_per_region() -> None:
    """Phase rows sum their regions; region rows say how many of their waves are done."""
    text = text_of(view.rollout_view(detail(), style=view.PLAIN, now=NOW))
    lines = text.splitlines()
    phase1 = next(line for line in lines if line.startswith("phase 1"))
    assert "0/4 succeeded · 1 in flight · 0 failed · 3 waiting" in phase1
    region = next(line for line in lines if line.strip().startswith("westeurope"))
    assert "wave 0/2 done" in region
    assert "[" + "#" * 30 + "]" in next(line for line in lines if line.strip().startswith("northeurope"))


def test_the_gate_line_names_the_phase_its_status_and_when_it_is_due() -> None:
    """A baking phase says until when."""
    text = view.gate(detail(phaseStatus="Baking", phaseDue="2026-11-26T12:00:00+00:00"), NOW).plain
    assert text.startswith("gate: phase 1 Baking (phases 0-1), due 2026-11-26T12:00:00Z (in 2 h 00 min)")
    assert "1 package version for 1 OS key" in text


def test_a_freezing_rollout_says_it_waits_for_the_canary_assessments() -> None:
    """While Freezing the gate is the freeze, with its deadline."""
    text = view.gate(detail(status="Freezing", phaseDue="2026-11-26T10:20:00+00:00"), NOW).plain
    assert "freezing the patch set" in text
    assert "2026-11-26T10:20:00Z" in text


def test_a_halt_shows_its_reason_the_failing_machines_and_the_machines_behind_it() -> None:
    """Everything the halt record holds is printed; long machine lists are cut after ten."""
    failing = [f"s/rg/m{i}" for i in range(12)]
    halt = {"at": "2026-11-26T09:30:00+00:00", "by": "gate", "reason": "3 of 4 failed", "cause": "wave:2:0",
            "region": "westeurope", "wave": 0, "machines": failing, "waiting": 7, "extra": "kept"}
    text = text_of(view.rollout_view(detail(status="Halted", halt=halt), style=view.PLAIN, now=NOW))
    assert "HALTED by gate at 2026-11-26T09:30:00Z (30 min ago): 3 of 4 failed" in text
    assert "region westeurope · wave 0" in text
    assert "failing machines (12): s/rg/m0, " in text
    assert "… and 2 more" in text
    assert "s/rg/m10" not in text
    assert "behind the halt: 7 machines waiting" in text
    assert "extra: kept" in text


def test_no_halt_section_without_a_halt() -> None:
    """A running rollout has no HALTED line."""
    assert "HALTED" not in text_of(view.rollout_view(detail(), style=view.PLAIN, now=NOW))


def test_a_body_with_missing_members_still_renders() -> None:
    """A rollout body without phases or frozen set (an older server) renders without an exception."""
    text = text_of(view.rollout_view({"id": "r1", "status": "Running"}, style=view.PLAIN))
    assert "rollout r1" in text


# ------------------------------------------------------------------------------------------ watch
def test_watch_prints_a_snapshot_per_look_until_the_rollout_ends() -> None:
    """Running, Running, Completed: three snapshots, two sleeps of the interval, the last body returned."""
    answers = iter([detail(), detail(), detail(status="Completed")])
    slept: list[float] = []
    stream = io.StringIO()
    last = watch(lambda: next(answers), interval=3, output=OutputFormat.table, stream=stream,
                 sleep=slept.append, now=lambda: NOW)
    assert last["status"] == "Completed"
    assert slept == [3, 3]
    assert stream.getvalue().count("--- 2026-11-26T10:00:00Z ---") == 3


def test_watch_with_json_output_prints_one_json_document_per_line() -> None:
    """-o json with --watch: JSON Lines, each line the server's body."""
    answers = iter([detail(), detail(status="Cancelled")])
    stream = io.StringIO()
    watch(lambda: next(answers), interval=1, output=OutputFormat.json, stream=stream, sleep=lambda _: None)
    assert [json.loads(line)["status"] for line in stream.getvalue().splitlines()] == ["Running", "Cancelled"]


# ------------------------------------------------------------------------------------------ plan rows
def test_plan_rows_are_one_per_wave_with_their_phase_and_region() -> None:
    """The preview's phases → regions → waves flattened for the table."""
    preview = {"strategy": "availability-first", "machines": 3, "phases": [
        {"phase": 0, "canary": True, "regions": [{"region": "ne", "timeZone": "Europe/Dublin", "machines": 1,
                                                  "waves": [{"wave": 0, "machines": 1, "zones": ["1"]}]}]},
        {"phase": 1, "canary": False, "regions": [{"region": "we", "timeZone": "Europe/Amsterdam", "machines": 2,
                                                   "waves": [{"wave": 0, "machines": 1}, {"wave": 1, "machines": 1}]}]},
    ]}
    rows = plan_rows(preview)
    assert [(r["phase"], r["region"], r["wave"]) for r in rows] == [(0, "ne", 0), (1, "we", 0), (1, "we", 1)]
    assert rows[0]["timeZone"] == "Europe/Dublin"


# ------------------------------------------------------------------------------------------ policy files
def test_a_policy_file_holds_a_json_object(tmp_path: Path) -> None:
    """The object is read as it is written."""
    path = tmp_path / "policy.json"
    path.write_text('{"bakeTimeMinutes": 0}')
    assert read_policy_file(path) == {"bakeTimeMinutes": 0}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"bakeTimeMinutes": 0,}', "is not JSON: Expecting property name enclosed in double quotes (line 1, "
                                    "column 23)"),
        ("[1, 2]", "must hold a JSON object of policy keys (docs/orchestrator.md), not list"),
        ("null", "not null"),
    ],
)
def test_a_policy_file_that_is_not_an_object_is_refused_saying_why(tmp_path: Path, content: str, expected: str) -> None:
    """Not JSON (with line and column), or JSON but not an object: InvalidInput naming --policy-file."""
    path = tmp_path / "policy.json"
    path.write_text(content)
    with pytest.raises(InvalidInput) as caught:
        read_policy_file(path)
    assert expected in caught.value.message
    assert caught.value.target == "--policy-file"


def test_a_missing_policy_file_is_refused_naming_it(tmp_path: Path) -> None:
    """The path and the OS's reason are in the message."""
    with pytest.raises(InvalidInput, match=r"cannot read the policy file .*nothing\.json: No such file"):
        read_policy_file(tmp_path / "nothing.json")


def test_a_directory_given_as_policy_file_is_refused_the_same_way(tmp_path: Path) -> None:
    """A directory is not read: the same one-line refusal, with the OS's reason."""
    with pytest.raises(InvalidInput, match=r"cannot read the policy file .*: Is a directory"):
        read_policy_file(tmp_path)


# ------------------------------------------------------------------------------------------ machine names
def test_machine_flag_is_taken_as_subscription_group_and_name() -> None:
    """--machine SUB/RG/NAME is sent as written (blanks trimmed)."""
    assert machine_name(" s/rg/web1 ", None, None, "default") == "s/rg/web1"


def test_group_and_name_flags_take_the_subscription_of_the_invocation() -> None:
    """-g RG -n NAME with the subscription flag's value."""
    assert machine_name(None, "rg", "web1", "prod") == "prod/rg/web1"


@pytest.mark.parametrize(
    ("machine", "group", "name", "hint"),
    [("s/rg", None, None, "--machine"), ("s//x", None, None, "--machine"), ("s/rg/x", "rg", None, "--machine"),
     (None, "rg", None, "--name"), (None, None, None, "--resource-group")],
)
def test_a_machine_named_badly_is_a_usage_error(machine: str | None, group: str | None, name: str | None,
                                                hint: str) -> None:
    """Two parts, an empty part, both spellings at once, or neither: BadParameter naming the flag."""
    with pytest.raises(typer.BadParameter) as caught:
        machine_name(machine, group, name, "default")
    assert caught.value.param_hint == hint


# ------------------------------------------------------------------------------------------ enums
def test_the_strategies_offered_are_the_servers() -> None:
    """--strategy lists exactly core.strategies.STRATEGIES, in its order."""
    assert tuple(s.value for s in Strategy) == STRATEGIES


def test_the_bars_know_every_machine_status() -> None:
    assert all(s.value in view._BUCKET_OF for s in CoreMachineStatus)
