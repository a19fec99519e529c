"""What the metrics middleware costs a check-in: CPU time per goal-state poll, with and without it.

``python -m bench metrics_overhead [--requests 20000] [--rounds 9]``

The check-in benchmark (``bench checkin``) measures the whole server over real sockets, where a few
microseconds drown in the noise of a shared machine. This one isolates them: it builds the real
application twice on one SQLite store in a data directory (so the request metrics are shared through
``DATA_DIR/metrics`` as in a ``guestpatch serve`` worker, the writer thread included), with one enrolled
machine — once as ``create_app`` makes it, once without the
:class:`~guestpatch.metrics.requests.RequestMetrics` middleware — and sends each the same ASGI request,
``GET /agent/v1/goalstate`` with the machine's credential and current ETag (answered ``304`` from
memory), ``--requests`` times per round, alternating the two apps for ``--rounds`` rounds. It reports the
median process CPU time per request of each (all threads of the process), and the difference.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def child(requests: int, rounds: int, work: Path) -> dict[str, Any]:
    """Runs in a child process of its own (a clean interpreter, nothing else running in it)."""
    sys.path.insert(0, str(REPO / "src"))
    sys.path.insert(0, str(REPO))
    from fastapi.testclient import TestClient

    from guestpatch.api.app import create_app
    from guestpatch.api.state import AppState
    from guestpatch.clock import SystemClock
    from guestpatch.config import load_config
    from guestpatch.metrics.requests import RequestMetrics
    from guestpatch.services.catalogs import Catalogs
    from guestpatch.store import tokens
    from guestpatch.store.db import Database

    config = load_config({"data_dir": work}, {})
    db = Database(f"sqlite:///{work / 'bench.db'}")
    db.migrate()
    clock = SystemClock()
    admin = tokens.new_token()
    with db.begin() as conn:
        tokens.create(conn, name="admin", role="admin", token=admin, now=clock.now())
    state = AppState(config=config, db=db, clock=clock, catalogs=Catalogs())
    with_metrics = create_app(state)
    without = create_app(state)
    without.user_middleware = [m for m in without.user_middleware if m.cls is not RequestMetrics]
    with TestClient(with_metrics, base_url="https://testserver") as client, TestClient(without):
        client.headers["Authorization"] = f"Bearer {admin}"
        token = client.post("/v1/enrollmentTokens", json={"subscription": "s", "resourceGroup": "rg"}).json()["token"]
        credential = client.post(
            "/agent/v1/enroll", headers={"Authorization": f"Bearer {token}"},
            json={"name": "m1", "location": "westeurope", "agentVersion": "0.1.0",
                  "os": {"family": "Linux", "distro": "debian", "version": "12"}},
        ).json()["credential"]
        etag = client.get("/agent/v1/goalstate", headers={"Authorization": f"Bearer {credential}"}).headers["etag"]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "https",
            "path": "/agent/v1/goalstate", "raw_path": b"/agent/v1/goalstate", "root_path": "", "query_string": b"",
            "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {credential}".encode()),
                        (b"if-none-match", etag.encode())],
            "client": ("127.0.0.1", 50000), "server": ("testserver", 443),
        }
        timings: dict[str, list[float]] = {"with": [], "without": []}

        async def run(app: Any) -> float:
            statuses: list[int] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            started = time.process_time()
            for _ in range(requests):
                await app(dict(scope), receive, send)
            elapsed = time.process_time() - started
            assert set(statuses) == {304}, set(statuses)
            return elapsed / requests

        async def measure() -> None:
            for app in (with_metrics, without):
                await run(app)  # warm-up
            for _ in range(rounds):
                for name, app in (("with", with_metrics), ("without", without)):
                    timings[name].append(await run(app))

        asyncio.run(measure())
    db.dispose()
    median = {name: statistics.median(values) * 1e6 for name, values in timings.items()}
    return {
        "requests_per_round": requests, "rounds": rounds,
        "with_us": round(median["with"], 2), "without_us": round(median["without"], 2),
        "overhead_us": round(median["with"] - median["without"], 2),
        "overhead_share": round(median["with"] / median["without"] - 1, 3),
        "files": sorted(p.name for p in (work / "metrics").glob("requests-*.json")),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench metrics_overhead", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.requests, args.rounds, args.child)))
        return 0
    with tempfile.TemporaryDirectory(prefix="gp-bench-metrics-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTPATCH_")}
        done = subprocess.run(
            [sys.executable, "-m", "bench", "metrics_overhead", "--requests", str(args.requests), "--rounds",
             str(args.rounds), "--child", str(work)],
            cwd=REPO, env=env, capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            print(done.stdout + done.stderr, file=sys.stderr)
            return 1
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"goal-state poll answered 304 from memory, {figures['requests_per_round']} requests x "
          f"{figures['rounds']} rounds, process CPU time per request (median of rounds):")
    print(f"  without the metrics middleware  {figures['without_us']:8.2f} µs")
    print(f"  with it (shared with workers)   {figures['with_us']:8.2f} µs")
    print(f"  overhead                        {figures['overhead_us']:8.2f} µs ({figures['overhead_share']:+.1%})")
    print(f"  metric files written: {', '.join(figures['files'])}")
    return 0
