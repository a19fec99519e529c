"""The console narration: what changed between two looks at a rollout, and nothing when nothing did."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from guestpatch.demo.narration import Narrator

NIGHT = datetime(2026, 11, 26, 22, 30, tzinfo=UTC)  # 23:30 in Amsterdam
DAY = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # 13:00 in Amsterdam


def machine(name: str, zone: str | None, wave: int, status: str = "Waiting", **extra: Any) -> dict[str, Any]:
    return {"machine": f"contoso/web/{name}", "region": "westeurope", "zone": zone, "availabilitySet": None,
            "updateDomain": None, "tenant": "contoso", "phase": 0, "wave": wave, "status": status, "attempts": 0,
            "reason": None, **extra}  # fmt: skip


def detail(*, status: str = "Running", wave: int | None = 0, phase_status: str = "Active",
           halt: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "id": "0123456789abcdef", "release": "2026-11 monthly", "status": status, "phase": 0,
        "phaseStatus": phase_status, "phaseDue": "2026-11-27T01:00:00+00:00", "halt": halt,
        "frozen": {"debian-12": {"openssl": "3.0.15-1~deb12u1"}},
        "phases": [{"index": 0, "state": "current", "regions": [
            {"region": "westeurope", "currentWave": wave, "waves": [{"wave": 0}, {"wave": 1}], "byStatus": {}}]}],
    }  # fmt: skip


MACHINES = [machine("a", "1", 0), machine("b", "1", 0), machine("c", "2", 1)]


def narrator() -> Narrator:
    return Narrator({"westeurope": "Europe/Amsterdam"})


def test_the_first_look_tells_the_plan_the_frozen_set_and_the_open_wave() -> None:
    """Started with its phases, the patch set, phase 0 and its first wave (zone 1, two machines)."""
    lines = narrator().look(detail(), MACHINES, NIGHT)
    assert lines[0].startswith("rollout 2026-11 monthly (01234567) started: 3 machines; phases 0: westeurope")
    assert "patch set frozen — debian-12: openssl 3.0.15-1~deb12u1" in lines
    assert "phase 0 started: westeurope" in lines
    assert "westeurope: wave 1 of 2 opened (zone 1: 2 machines of 1 tenants) — 23:30 local" in lines


def test_nothing_new_says_nothing() -> None:
    """The same view twice: no line the second time."""
    n = narrator()
    n.look(detail(), MACHINES, NIGHT)
    assert n.look(detail(), MACHINES, NIGHT) == []


def test_the_next_wave_names_its_zone() -> None:
    """currentWave 0 → 1: one line for the new wave in zone 2."""
    n = narrator()
    n.look(detail(), MACHINES, NIGHT)
    assert n.look(detail(wave=1), MACHINES, NIGHT) == [
        "westeurope: wave 2 of 2 opened (zone 2: 1 machines of 1 tenants) — 23:30 local"]  # fmt: skip


def test_a_wave_opened_by_day_says_it_waits_for_the_night() -> None:
    """13:00 in Amsterdam: the wave is open but its machines wait for 22:00 local."""
    lines = narrator().look(detail(), MACHINES, DAY)
    assert "westeurope: wave 1 of 2 opened (zone 1: 2 machines of 1 tenants) — 13:00 local: it waits for the night " \
           "at 22:00 local" in lines  # fmt: skip


def test_a_failed_machine_is_named_with_its_reason() -> None:
    """Installing → Failed: the machine's short name and the engine's reason."""
    n = narrator()
    n.look(detail(), [machine("a", "1", 0, "Installing")], NIGHT)
    failed = [machine("a", "1", 0, "Failed", reason="dpkg: error processing package openssl")]
    assert n.look(detail(), failed, NIGHT) == ["  a (westeurope) failed: dpkg: error processing package openssl"]


def test_a_halt_gives_the_gate_reason_and_the_failing_machines() -> None:
    """Running → Halted: who halted, why, which machines, how many wait, what the operator can do."""
    n = narrator()
    n.look(detail(), MACHINES, NIGHT)
    halt = {"by": "gate", "reason": "wave 0 of westeurope: 3 of 3 started machines failed",
            "machines": ["contoso/web/a", "contoso/web/b"], "waiting": 7}  # fmt: skip
    lines = n.look(detail(status="Halted", halt=halt), MACHINES, NIGHT)
    assert lines[0] == "HALTED by the gate: wave 0 of westeurope: 3 of 3 started machines failed"
    assert lines[1] == "  failing machines: a, b; 7 machines wait behind the halt: nothing new starts"
    assert "resume or cancel" in lines[2]


def test_retries_of_a_halted_rollout_are_not_announced() -> None:
    """Failed → Waiting while halted starts nothing, so it is not told as a retry."""
    n = narrator()
    halted = detail(status="Halted", halt={"by": "gate", "reason": "r", "machines": [], "waiting": 1})
    n.look(halted, [machine("a", "1", 0, "Failed", attempts=1)], NIGHT)
    assert n.look(copy.deepcopy(halted), [machine("a", "1", 0, "Waiting", attempts=1)], NIGHT) == []


def test_the_gate_and_the_completion_are_told() -> None:
    """Active → Baking names the bake's end; Completed sums the machines' outcomes."""
    n = narrator()
    n.look(detail(), MACHINES, NIGHT)
    baking = n.look(detail(phase_status="Baking"), MACHINES, NIGHT)
    assert baking == ["gate passed: phase 0 (westeurope) is healthy; baking until Fri 01:00 UTC before the next phase"]
    done = [machine(m["machine"].rsplit("/", 1)[1], m["zone"], m["wave"], "Succeeded") for m in MACHINES]
    lines = n.look(detail(status="Completed"), done, NIGHT)
    assert lines == ["westeurope: done — 3 of 3 machines patched", "rollout 2026-11 monthly completed: 3 Succeeded"]


def test_an_unhealthy_verdict_is_said_once_in_plain_words() -> None:
    """The engine's health verdict repeats the probe's words; the console says what happened."""
    n = narrator()
    n.look(detail(), [machine("a", "1", 0, "Verifying")], NIGHT)
    failed = [machine("a", "1", 0, "Failed", reason="application health probe unhealthy the application health "
                                                    "probe reports Unhealthy")]  # fmt: skip
    assert n.look(detail(), failed, NIGHT) == [
        "  a (westeurope) failed: its application turned Unhealthy after the installation (health probe)"]  # fmt: skip
