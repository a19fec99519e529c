"""Agent check-ins and status uploads served by one control-plane node, against nginx on the same machine.

``python -m bench checkin [--machines 10000] [--uploads 2000] [--seconds 15] [--connections 64]
[--databases sqlite,postgres] [--markdown] [--serve-arg=--flag --serve-arg=value ...]``

1. For each database (SQLite in the data dir; PostgreSQL: a new database on 127.0.0.1:5432):
   ``guestpatch serve`` starts as a real process; ``--machines`` machines enroll through
   ``/agent/v1/enroll`` (16 clients in parallel) and read their goal state once.
2. Check-ins: wrk (``bench/wrk/checkin.lua``) polls ``GET /agent/v1/goalstate`` rotating over every
   machine's credential with its current ETag in ``If-None-Match``; every answer must be 304. Over
   HTTPS (as in production) and over ``--insecure-http`` (to separate the cost of TLS).
3. Status uploads: ``assessPatches`` is queued on ``--uploads`` machines through the ARM action; wrk
   (``bench/wrk/upload.lua``) sends ``PUT /agent/v1/operations/{id}`` InProgress reports with growing
   ``sequence``; every answer must be 200 and not a duplicate.
4. nginx (config in a temp dir) serves a static file, revalidated with its ETag (304), plain and TLS,
   with the same wrk load, first and last in the run: the physical reference of this machine (the
   ratio uses the mean of the two; a gap between them means other work used the machine meanwhile).

Goals (issue #4): check-ins >= 10,000/s with p99 <= 20 ms on both databases; uploads >= 1,000/s.
Exit status 1 when any answer was not the expected one (or a connection failed); with
``--check-goals`` also when a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from bench import _fleet, _nginx, _wrk  # noqa: E402
from bench._procs import postgres_database, serve  # noqa: E402
from guestpatch.tls import TlsFiles, ensure_self_signed  # noqa: E402

CHECKIN_GOAL_RATE = 10_000
CHECKIN_GOAL_P99_MS = 20.0
UPLOAD_GOAL_RATE = 1_000


@dataclass(frozen=True)
class Row:
    case: str
    database: str
    transport: str
    figures: _wrk.Figures
    goal: str  # "" for the reference rows

    def verdict(self, nginx_rate: float | None) -> dict[str, object]:
        f = self.figures
        return {
            "case": self.case, "database": self.database, "transport": self.transport,
            "requests_per_s": round(f.rate), "p50_ms": round(f.p50_ms, 2), "p99_ms": round(f.p99_ms, 2),
            "max_ms": round(f.max_ms, 1), "requests": f.requests, "unexpected": f.unexpected,
            "socket_errors": f.socket_errors,
            "of_nginx": round(f.rate / nginx_rate, 3) if nginx_rate else None,
            "goal": self.goal, "met": self.met(),
        }

    def met(self) -> bool | None:
        f = self.figures
        if self.case == "check-in":
            return f.clean and f.rate >= CHECKIN_GOAL_RATE and f.p99_ms <= CHECKIN_GOAL_P99_MS
        if self.case == "upload":
            return f.clean and f.rate >= UPLOAD_GOAL_RATE
        return None


def load_average() -> float:
    """The 1-minute load average: other work on this machine skews every figure."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def machine_description() -> str:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    model = fields.get("Model name", "?").strip()
    cpus = fields.get("CPU(s)", "?").strip()
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    return (f"{model}, {cpus} CPUs ({fields.get('Hypervisor vendor', 'bare metal').strip()}), "
            f"{mem_kb / 1024 / 1024:.0f} GiB, Linux {platform.release()}, Python {platform.python_version()}")


def run_database(database: str, url: str | None, work: Path, args: argparse.Namespace, load: _wrk.Load) -> list[Row]:
    data_dir = work / database
    rows: list[Row] = []
    extra = list(args.serve_arg or [])
    with serve(data_dir, database_url=url, tls=True, extra=extra) as server:
        print(f"[{database}] enrolling {args.machines} machines through /agent/v1/enroll ...", flush=True)
        fleet = _fleet.enroll(server, args.machines)
        print(f"[{database}] enrolled at {fleet.enroll_rate:.0f}/s", flush=True)
        operations = _fleet.queue_assessments(server, fleet.machines[: args.uploads])
        fleet = _fleet.Fleet(_fleet.refresh_etags(server, fleet.machines), fleet.enroll_rate)
        fleet_file = fleet.write_checkin_file(work / f"{database}-fleet.txt")
        ops_file = _fleet.write_operations_file(work / f"{database}-operations.txt", operations)
    sequence = 1
    for tls in (True, False):
        transport = "https" if tls else "http"
        with serve(data_dir, database_url=url, tls=tls, extra=extra) as server:
            figures = _wrk.run(server.url, "checkin", [str(fleet_file)], load)
            rows.append(Row("check-in", database, transport, figures, "≥ 10,000/s, p99 ≤ 20 ms"))
            print(_line(rows[-1]), flush=True)
            _wrk.warm(server.url, "upload", [str(ops_file), str(sequence)], load)
            sequence += 1_000_000
            figures = _wrk.run(server.url, "upload", [str(ops_file), str(sequence)], load, warmup=False)
            sequence += 1_000_000
            rows.append(Row("upload", database, transport, figures, "≥ 1,000/s"))
            print(_line(rows[-1]), flush=True)
    return rows


def run_nginx(directory: Path, tls: TlsFiles, load: _wrk.Load, label: str) -> list[Row]:
    """nginx serving a static file of a goal state's size, revalidated with its ETag (304)."""
    rows = []
    with _nginx.nginx(directory, cert=tls.cert, key=tls.key,
                      body=b'{"vmId": "bench", "operations": []}\n' * 8) as reference:
        for transport, url in (("https", reference.tls_url), ("http", reference.plain_url)):
            figures = _wrk.run(url, "static", [reference.etag], load)
            rows.append(Row("nginx", f"static ({label})", transport, figures, ""))
            print(_line(rows[-1]), flush=True)
    return rows


def _line(row: Row) -> str:
    f = row.figures
    flag = {True: "goal met", False: "GOAL MISSED", None: ""}[row.met()]
    samples = "".join(f"\n      unexpected answer: {sample}" for sample in f.samples)
    return (f"  {row.case:<9} {row.database:<14} {row.transport:<6} {f.rate:>8.0f}/s  p50 {f.p50_ms:6.2f} ms  "
            f"p99 {f.p99_ms:6.2f} ms  unexpected {f.unexpected}  socket errors {f.socket_errors}  {flag}"
            + samples)


def markdown(rows: list[Row], nginx_rates: dict[str, float]) -> str:
    out = ["| case | store | transport | requests/s | p50 ms | p99 ms | × nginx (mean) | goal | met |",
           "|---|---|---|---:|---:|---:|---:|---|---|"]
    for row in rows:
        v = row.verdict(nginx_rates.get(row.transport))
        ratio = f"{v['of_nginx']:.2f}" if v["of_nginx"] is not None else ""
        met = {True: "yes", False: "**no**", None: ""}[row.met()]
        out.append(f"| {row.case} | {row.database} | {row.transport} | {v['requests_per_s']:,} | {v['p50_ms']} | "
                   f"{v['p99_ms']} | {ratio} | {row.goal} | {met} |")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench checkin", description=__doc__.split("\n")[0])
    parser.add_argument("--machines", type=int, default=10_000)
    parser.add_argument("--uploads", type=int, default=2_000, help="machines with an operation to report on")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--serve-arg", action="append", help="extra argument for guestpatch serve (repeatable)")
    parser.add_argument("--markdown", action="store_true", help="also print the figures as a Markdown table")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--check-goals", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    if args.uploads > args.machines:
        parser.error("--uploads cannot exceed --machines")
    load = _wrk.Load(threads=args.threads, connections=args.connections, seconds=args.seconds)
    print(f"machine: {machine_description()}", flush=True)
    load_before = load_average()
    if load_before > 1.0:
        print(f"WARNING: load average {load_before:.1f} before the run: other work is running on this machine "
              "and will skew the figures", flush=True)
    print(f"load: wrk -t{load.threads} -c{load.connections} -d{load.seconds}s on loopback "
          f"(after a {load.warmup} s warm-up)", flush=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="gp-bench-checkin-") as tmp:
        work = Path(tmp)
        tls = ensure_self_signed(work / "nginx-tls", ["127.0.0.1"])
        # nginx first and last, in the same run: the reference is their mean; a gap between the two
        # says that something else used the machine meanwhile
        rows += run_nginx(work / "nginx-first", tls, load, "first")
        for database in args.databases.split(","):
            if database == "sqlite":
                rows += run_database("sqlite", None, work, args, load)
            elif database == "postgres":
                with postgres_database() as url:
                    rows += run_database("postgres", url, work, args, load)
            else:
                parser.error(f"unknown database {database!r} (sqlite, postgres)")
        rows += run_nginx(work / "nginx-last", tls, load, "last")
    nginx_rates = {
        transport: statistics.mean(r.figures.rate for r in rows if r.case == "nginx" and r.transport == transport)
        for transport in ("https", "http")
    }
    verdicts = [r.verdict(nginx_rates.get(r.transport)) for r in rows]
    for v in verdicts:
        if v["case"] != "nginx":
            print(f"  {v['case']:<9} {v['database']:<9} {v['transport']:<6} = {v['of_nginx']:.2f} × nginx")
    if args.markdown:
        print(markdown(rows, nginx_rates))
    print(f"load average before the run {load_before:.2f}, after {load_average():.2f}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine_description(), "load": asdict(load), "rows": verdicts,
                                         "load_average_before": load_before}, indent=2) + "\n")
    if not all(r.figures.clean for r in rows):
        print("FAILED: some answers were not the expected ones (see 'unexpected' / 'socket errors')",
              file=sys.stderr)
        return 1
    if args.check_goals and not all(r.met() is not False for r in rows):
        print("FAILED: a goal was missed", file=sys.stderr)
        return 1
    return 0
