"""``GET /metrics`` scraped from the in-process app and parsed with prometheus_client's own parser.

Fleet, operation and rollout figures come from the store at scrape time (SQLite and PostgreSQL); the
request and check-in histograms are measured around the whole app.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from guestpatch.metrics import tally as tally_module
from guestpatch.metrics.requests import checkin_tally, request_tally
from guestpatch.metrics.tally import Recorder
from tests.web.conftest import Board
from tests.web.fleet_data import mixed_fleet
from tests.web.rollout_data import BAD_CANARY, CANARY_LAYOUT, RolloutLab

Families = dict[str, Any]


def scrape(client: Any) -> Families:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def samples(families: Families, family: str, sample: str | None = None) -> dict[tuple[tuple[str, str], ...], float]:
    """``{sorted labels: value}`` of one family's samples named ``sample`` (default: the family's name)."""
    wanted = sample or family
    return {
        tuple(sorted(s.labels.items())): s.value for s in families[family].samples if s.name == wanted
    }


def value(families: Families, family: str, sample: str | None = None, **labels: str) -> float:
    """The value of the one sample whose labels include ``labels``; 0 when there is none."""
    found = [v for key, v in samples(families, family, sample).items() if set(labels.items()) <= set(key)]
    assert len(found) <= 1, found
    return found[0] if found else 0.0


# ---------------------------------------------------------------- figures from the store


def test_machines_are_counted_by_patch_status_with_the_dashboards_rules(board: Board) -> None:
    """One machine of each status: the gauge has all five statuses with the fleet page's counts."""
    mixed_fleet(board.fleet)
    families = scrape(board.api.client)
    by_status = {dict(k)["status"]: v for k, v in samples(families, "guestpatch_machines").items()}
    assert by_status == {"compliant": 1, "pending": 2, "never-assessed": 1, "not-reporting": 1, "failed": 1}


def test_critical_security_pending_is_counted_by_region(board: Board) -> None:
    """Patches and machines with Critical/Security pending, per region (3 + 0 in westeurope, 2 in northeurope)."""
    mixed_fleet(board.fleet)
    families = scrape(board.api.client)
    patches = {
        dict(k)["region"]: v for k, v in samples(families, "guestpatch_critical_security_patches_pending").items()
    }
    machines = {
        dict(k)["region"]: v
        for k, v in samples(families, "guestpatch_machines_with_critical_security_pending").items()
    }
    assert patches == {"westeurope": 3, "northeurope": 2}
    assert machines == {"westeurope": 1, "northeurope": 1}


def test_operations_are_counted_by_kind_and_state(board: Board) -> None:
    """Three assessments done, an installation whose result is Failed, two assessments queued (the one asked
    for, and the platform's after the installation); every other state is there with 0."""
    mixed_fleet(board.fleet)
    board.fleet.start_only(board.fleet.vm("queued1"), "assessPatches")
    families = scrape(board.api.client)
    assert value(families, "guestpatch_operations", kind="assessPatches", state="Succeeded") == 3
    assert value(families, "guestpatch_operations", kind="assessPatches", state="Queued") == 2
    assert value(families, "guestpatch_operations", kind="installPatches", state="Failed") == 1
    assert value(families, "guestpatch_operations", kind="installPatches", state="Succeeded") == 0
    assert len(samples(families, "guestpatch_operations")) == 12  # 2 kinds x 6 states, zeros included


def test_a_halted_rollout_has_its_gauge_at_one_and_its_halt_counted(board: Board) -> None:
    """The canary's only machine fails: halted 1, one halt, its machines by status, phase 0."""
    lab = RolloutLab(board.api, failing={"ea1"}).enroll()
    rollout = lab.start(haltMinFailures=1)
    lab.run_until(rollout, "Halted")
    families = scrape(board.api.client)
    assert value(families, "guestpatch_rollout_halted", rollout=rollout) == 1
    assert value(families, "guestpatch_rollout_halts", "guestpatch_rollout_halts_total", rollout=rollout) == 1
    progress = {dict(k)["status"]: v for k, v in samples(families, "guestpatch_rollout_machines").items() if v}
    assert progress == {"Failed": 1, "Waiting": 5}
    assert value(families, "guestpatch_rollout_phase", rollout=rollout) == 0
    assert value(families, "guestpatch_rollout_info", rollout=rollout, status="Halted", release="2026-11") == 1


def test_a_resumed_rollout_is_no_longer_halted_and_keeps_its_halt_count(sqlite_board: Board) -> None:
    """After a resume the gauge is 0; the counter still says one halt (it never goes down)."""
    lab = RolloutLab(sqlite_board.api, failing={"ea1"}).enroll(CANARY_LAYOUT)
    rollout = lab.start(**BAD_CANARY)
    lab.run_until(rollout, "Halted")
    lab.failing.clear()
    assert sqlite_board.api.client.post(f"/v1/rollouts/{rollout}/resume").status_code == 200
    families = scrape(sqlite_board.api.client)
    assert value(families, "guestpatch_rollout_halted", rollout=rollout) == 0
    assert value(families, "guestpatch_rollout_halts", "guestpatch_rollout_halts_total", rollout=rollout) == 1


def test_rollout_progress_counts_every_status_of_every_rollout(sqlite_board: Board) -> None:
    """A completed rollout: all six machines Succeeded, every other status present with 0."""
    lab = RolloutLab(sqlite_board.api).enroll()
    rollout = lab.start()
    lab.run_until(rollout, "Completed")
    families = scrape(sqlite_board.api.client)
    progress = {dict(k)["status"]: v for k, v in samples(families, "guestpatch_rollout_machines").items()}
    assert progress["Succeeded"] == 6
    assert sum(progress.values()) == 6
    assert len(progress) == 12
    assert value(families, "guestpatch_rollout_halted", rollout=rollout) == 0


# ---------------------------------------------------------------- measured around the app


def test_request_durations_are_counted_by_route_template_not_raw_path(sqlite_board: Board) -> None:
    """Two different rollout ids are one series (the template); its count grows by the requests made."""
    client = sqlite_board.api.client
    template = "/v1/rollouts/{rolloutId}"
    before = value(scrape(client), "guestpatch_http_request_duration_seconds",
                   "guestpatch_http_request_duration_seconds_count", route=template, code="404")
    for rollout in ("first-missing", "second-missing", "third-missing"):
        assert client.get(f"/v1/rollouts/{rollout}").status_code == 404
    families = scrape(client)
    after = value(families, "guestpatch_http_request_duration_seconds",
                  "guestpatch_http_request_duration_seconds_count", route=template, code="404", method="GET")
    assert after - before == 3
    routes = {dict(k)["route"] for k in samples(families, "guestpatch_http_request_duration_seconds",
                                                   "guestpatch_http_request_duration_seconds_count")}
    assert not any("missing" in route for route in routes)
    assert "/metrics" in routes  # the first scrape was counted too


def test_requests_answered_before_routing_get_their_route_or_unmatched(sqlite_board: Board) -> None:
    """A refused token keeps its route's template; unknown paths are '(unmatched)'; odd methods 'other'."""
    client, browser = sqlite_board.api.client, sqlite_board.browser
    assert browser.get("/v1/rollouts", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/no/such/path/12345").status_code in {401, 404}
    assert client.request("BREW", "/v1/rollouts").status_code in {401, 404, 405}
    assert client.put("/agent/v1/operations/0123", headers={"Authorization": "Bearer nope"},
                      json={"sequence": 1, "status": "InProgress"}).status_code == 401
    counts = samples(scrape(client), "guestpatch_http_request_duration_seconds",
                     "guestpatch_http_request_duration_seconds_count")
    seen = {(dict(k)["method"], dict(k)["route"], dict(k)["code"]) for k in counts}
    assert ("GET", "/v1/rollouts", "401") in seen
    assert any(route == "(unmatched)" for _, route, _ in seen)
    assert any(method == "other" for method, _, _ in seen)
    assert ("PUT", "/agent/v1/operations/{operationId}", "401") in seen
    assert not any("0123" in route or "12345" in route for _, route, _ in seen)


def test_agent_checkins_are_timed_in_their_own_histogram(sqlite_board: Board) -> None:
    """Goal-state polls count in the check-in histogram (by wait and status), not among API requests."""
    w = sqlite_board.fleet
    machine = w.agent(w.vm("poller"))
    headers = {"Authorization": f"Bearer {machine.credential}"}
    client = sqlite_board.api.client
    first = client.get("/agent/v1/goalstate", headers=headers)
    assert first.status_code == 200
    for _ in range(3):
        again = client.get("/agent/v1/goalstate", headers={**headers, "If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
    assert client.get("/agent/v1/goalstate", headers={**headers, "If-None-Match": first.headers["etag"]},
                      params={"wait": 1}).status_code == 304
    families = scrape(client)
    family, count = "guestpatch_agent_checkin_duration_seconds", "guestpatch_agent_checkin_duration_seconds_count"
    assert value(families, family, count, wait="none", code="304") == 3
    assert value(families, family, count, wait="none", code="200") == 1
    assert value(families, family, count, wait="long-poll", code="304") == 1
    assert value(families, family, "guestpatch_agent_checkin_duration_seconds_sum", wait="long-poll") >= 1.0
    routes = {dict(k)["route"] for k in samples(families, "guestpatch_http_request_duration_seconds",
                                                   "guestpatch_http_request_duration_seconds_count")}
    assert "/agent/v1/goalstate" not in routes


def test_metrics_need_the_api_bearer_token(sqlite_board: Board) -> None:
    """No header or a wrong token: 401 with an ARM error body; a dashboard session cookie is not enough."""
    browser = sqlite_board.browser
    anonymous = browser.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "AuthenticationFailed"
    assert browser.get("/metrics", headers={"Authorization": "Bearer gpt_wrong"}).status_code == 401
    sqlite_board.login()
    assert browser.get("/metrics").status_code == 401


def test_a_scrape_adds_up_the_files_of_the_other_processes(tmp_path: Path) -> None:
    """Another worker's file (here: this recorder's, renamed to another pid) and this process's memory add up."""
    tally = request_tally()
    recorder = Recorder([tally], directory=tmp_path)
    tally.observe(("GET", "/v1/rollouts", "200"), 0.003)
    recorder.flush()
    (tmp_path / f"requests-{os.getpid()}.json").rename(tmp_path / "requests-999999.json")
    tally.observe(("GET", "/v1/rollouts", "200"), 0.2)
    row = recorder.totals()[tally.name][("GET", "/v1/rollouts", "200")]
    assert sum(row[:-1]) == 3  # the other worker's one, and this process's two
    assert row[-1] == pytest.approx(0.203 + 0.003)
    assert row[2] == 2  # 0.003 s twice in the 5 ms bucket
    assert row[7] == 1  # 0.2 s once in the 250 ms one


def test_a_damaged_file_of_another_process_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file that is not JSON counts nothing (and the scrape still answers)."""
    (tmp_path / "requests-4242.json").write_text("{not json")
    recorder = Recorder([request_tally()], directory=tmp_path)
    with caplog.at_level(logging.WARNING, logger="guestpatch.metrics"):
        assert recorder.totals() == {"guestpatch_http_request_duration_seconds": {}}
    assert "ignoring the metrics file" in caplog.text


def test_buckets_hold_observations_up_to_their_bound() -> None:
    """An observation equal to a bound is in that bucket (Prometheus' le); above the last, in +Inf."""
    tally = checkin_tally()
    for seconds in (0.0005, 0.0006, 61.0):
        tally.observe(("none", "304"), seconds)
    row = tally.series[("none", "304")]
    assert row[0] == 1
    assert row[1] == 1
    assert row[len(tally.bounds)] == 1  # +Inf
    assert row[-1] == pytest.approx(61.0011)


def test_starting_the_server_empties_the_metrics_directory(tmp_path: Path) -> None:
    """``prepare`` removes a previous run's files from DATA_DIR/metrics."""
    stale = tmp_path / "data" / "metrics" / "requests-12345.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    assert tally_module.prepare(tmp_path / "data") == tmp_path / "data" / "metrics"
    assert not stale.exists()


def test_a_new_data_directory_is_made_private(tmp_path: Path) -> None:
    """The data directory holds the admin token: made here first, it is 0700 as the server would make it."""
    directory = tally_module.prepare(tmp_path / "fresh" / "data")
    assert (tmp_path / "fresh" / "data").stat().st_mode & 0o777 == 0o700
    assert directory.stat().st_mode & 0o777 == 0o700


def test_without_a_data_directory_the_metrics_stay_in_the_process(tmp_path: Path) -> None:
    """No data directory, or one that does not exist: no files, the figures are the process's own."""
    assert tally_module.directory_for(None) is None
    assert tally_module.directory_for(tmp_path / "missing") is None
    assert tally_module.directory_for(tmp_path) == tmp_path / "metrics"


def test_every_metric_of_a_scrape_is_documented(sqlite_board: Board) -> None:
    """docs/metrics.md has a table row for each family a scrape returns (rollouts and check-ins included)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    lab = RolloutLab(sqlite_board.api).enroll()
    lab.start()
    machine = sqlite_board.fleet.agent(sqlite_board.fleet.vm("poller"))
    sqlite_board.api.client.get("/agent/v1/goalstate", headers={"Authorization": f"Bearer {machine.credential}"})
    families = scrape(sqlite_board.api.client)
    assert len(families) == 11
    for family in families.values():
        name = family.name + ("_total" if family.type == "counter" else "")
        assert f"| `{name}` | {family.type} |" in doc, name
