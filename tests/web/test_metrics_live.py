"""``/metrics`` of a real ``guestpatch serve`` with two worker processes: the request counts are the server's.

Each request goes over a new connection, so the two workers share the load; every scrape (answered by
either worker) must count all of them, which only holds when the workers' figures are added up (each
worker's file in ``DATA_DIR/metrics``, written within a second).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.server_fixtures import LiveServer, launch

pytestmark = pytest.mark.slow
REQUESTS = 40


def _rollout_list_count(server: LiveServer) -> float:
    with server.client() as client:  # a new connection: either worker may answer
        text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        if family.name == "guestpatch_http_request_duration_seconds":
            return sum(s.value for s in family.samples
                       if s.name.endswith("_count") and s.labels["route"] == "/v1/rollouts")
    return 0.0


def test_request_counts_are_added_up_across_worker_processes(tmp_path: Path) -> None:
    """40 requests over new connections to 2 workers: once both workers wrote their files (within seconds),
    each of 10 scrapes counts 40; the directory was emptied of an earlier run's file at start."""
    stale = tmp_path / "data" / "metrics" / "requests-1.json"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"a previous run's counts")
    server = launch(tmp_path / "data", "--workers", "2")
    try:
        assert not stale.exists()  # emptied at start
        for _ in range(REQUESTS):
            with server.client() as client:
                assert client.get("/v1/rollouts").status_code == 200
        deadline = time.monotonic() + 10
        while _rollout_list_count(server) != REQUESTS:
            assert time.monotonic() < deadline, _rollout_list_count(server)
            time.sleep(0.2)
        counts = {_rollout_list_count(server) for _ in range(10)}
        assert counts == {REQUESTS}
        files = sorted(path.name for path in (tmp_path / "data" / "metrics").glob("requests-*.json"))
        assert len(files) == 2, files
    finally:
        server.stop()
