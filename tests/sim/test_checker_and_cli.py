"""The independent checker catches each kind of violation; the simulate commands write what they promise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from guestpatch.main import build
from guestpatch.sim.checker import check

FLEET: dict[str, Any] = {
    "regions": [{"name": "a", "timeZone": "Etc/UTC", "pair": "b"}, {"name": "b", "timeZone": "Etc/UTC", "pair": "a"}],
    "machines": [{"name": f"m{k}", "tenant": "t", "region": "a"} for k in range(10)]
    + [{"name": "n1", "tenant": "u", "region": "b"}],
}
POLICY = {"tenantShare": 0.2, "offPeak": {"start": "22:00", "end": "06:00"}}


def _rec(machine: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    base = {"machine": machine, "tenant": "t", "region": "a", "zone": None, "availabilitySet": None,
            "updateDomain": None, "timeZone": "Etc/UTC", "scaleSetFlex": False, "phase": 0, "wave": 0,
            "start": f"2026-01-13T{start}:00+00:00", "end": f"2026-01-13T{end}:00+00:00", "back": None,
            "outcome": "Succeeded"}
    return {**base, **extra}


def test_a_clean_timeline_has_no_violation() -> None:
    """Two machines of one tenant one after the other, at night: nothing to report."""
    timeline = [_rec("m0", "23:00", "23:30"), _rec("m1", "23:30", "23:50")]
    assert sum(check(timeline, FLEET, POLICY).values()) == 0


@pytest.mark.parametrize(("timeline", "rule"), [
    ([_rec("m0", "23:00", "23:30", zone="1"), _rec("m1", "23:10", "23:20", zone="2", tenant="x")], "zones"),
    ([_rec("m0", "23:00", "23:30", availabilitySet="s", updateDomain=0),
      _rec("m1", "23:10", "23:20", availabilitySet="s", updateDomain=1, tenant="x")], "updateDomains"),
    ([_rec("m0", "23:00", "23:30"), _rec("n1", "23:10", "23:20", region="b", tenant="u")], "pairs"),
    ([_rec("m0", "23:00", "23:30"), _rec("n1", "01:10", "01:20", region="b", tenant="u")], "pairPhases"),
    ([_rec("m0", "23:00", "23:30"), _rec("m1", "23:10", "23:20"), _rec("m2", "23:11", "23:20")], "tenantShare"),
    ([_rec("m0", "12:00", "12:30")], "window"),
])
def test_each_rule_is_caught(timeline: list[dict[str, Any]], rule: str) -> None:
    """A forged timeline breaking one rule is counted under that rule."""
    assert check(timeline, FLEET, POLICY)[rule] >= 1


def test_starts_after_a_halt_are_caught() -> None:
    """A start after the recorded halt is an afterHalt violation."""
    counts = check([_rec("m0", "23:00", "23:30")], FLEET, POLICY, halted_at="2026-01-13T22:00:00+00:00")
    assert counts["afterHalt"] == 1


def test_simulate_generate_then_run_writes_metrics_and_timeline(tmp_path: Path) -> None:
    """The commands write a fleet, metrics.json with the documented keys, and one timeline line per attempt."""
    runner, app = CliRunner(), build()
    fleet = tmp_path / "fleet.json"
    result = runner.invoke(app, ["simulate", "generate", "--machines", "300", "--regions", "4", "--zones", "3",
                                 "--availability-set-share", "0.3", "--update-domains", "5", "--tenants", "20",
                                 "--seed", "7", "-o", str(fleet)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    result = runner.invoke(app, ["simulate", "run", "--fleet", str(fleet), "--seed", "7", "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("machines", "eligible", "patched", "timeToFullComplianceHours", "touchedByBadPatch", "halted",
                "policy", "geoPairs", "violations"):
        assert key in metrics
    assert metrics["policy"]["offPeak"] == {"start": "22:00", "end": "06:00"}
    assert sorted(metrics["geoPairs"]) == [["eastus", "westus"], ["northeurope", "westeurope"]]
    lines = [json.loads(x) for x in (out / "timeline.jsonl").read_text().splitlines()]
    assert len(lines) >= metrics["patched"]
    assert set(lines[0]) >= {"machine", "tenant", "region", "zone", "availabilitySet", "updateDomain", "timeZone",
                             "scaleSetFlex", "phase", "wave", "start", "end", "outcome"}
    assert sum(metrics["checker"].values()) == 0


def test_run_with_a_bad_policy_file_says_which_key(tmp_path: Path) -> None:
    """A policy file with an unknown key fails with exit code 2 and names the key."""
    runner, app = CliRunner(), build()
    fleet, policy = tmp_path / "fleet.json", tmp_path / "policy.json"
    runner.invoke(app, ["simulate", "generate", "--machines", "20", "--regions", "2", "-o", str(fleet)])
    policy.write_text(json.dumps({"bakeTime": 10}))
    result = runner.invoke(app, ["simulate", "run", "--fleet", str(fleet), "--policy", str(policy),
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "bakeTime" in result.output


def test_generate_refuses_an_impossible_region_count(tmp_path: Path) -> None:
    """--regions beyond the catalog is refused with the flag's name."""
    result = CliRunner().invoke(build(), ["simulate", "generate", "--regions", "99", "-o", str(tmp_path / "f")])
    assert result.exit_code == 2
    assert "--regions" in result.output
