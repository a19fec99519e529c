"""Plan a large fleet: ``python -m bench orchestrator_plan [--machines N]`` (goal: 1,000,000 in <= 5 s, <= 1.5 GB).

The fleet is built in memory (20 regions in geo-pairs, 3 zones, 30 % in availability sets of up to 10
machines over 5 update domains, tenants of skewed sizes); the timer covers only
``plan_availability_first``. The whole run happens in a child process whose peak RSS (``ru_maxrss``
of the child, fleet included) is reported.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime


def build(machines: int, seed: int = 1) -> object:
    from guestpatch.core.fleet import FleetBuilder, Region
    from guestpatch.sim.fleetfile import REGION_PAIRS

    regions = []
    for a, b in REGION_PAIRS[:10]:
        regions += [Region(a[0], a[1], b[0]), Region(b[0], b[1], a[0])]
    builder = FleetBuilder(regions)
    rng = random.Random(seed)
    names = [r.name for r in regions]
    tenants = max(1, machines // 20)
    set_serial, set_left, set_pos = 0, 0, 0
    set_tenant, set_region = "", ""
    for n in range(machines):
        if rng.random() < 0.3:
            if set_left == 0:
                set_serial += 1
                set_left, set_pos = rng.randint(2, 10), 0
                set_tenant, set_region = f"t{int(tenants * rng.random() ** 2)}", rng.choice(names)
            builder.add(f"vm{n}", set_tenant, set_region, availability_set=f"as{set_serial}",
                        update_domain=set_pos % 5)
            set_left -= 1
            set_pos += 1
        else:
            builder.add(f"vm{n}", f"t{int(tenants * rng.random() ** 2)}", rng.choice(names),
                        zone=str(rng.randint(1, 3)))
    return builder.build()


def child(machines: int) -> None:
    from guestpatch.core.planner import plan_availability_first
    from guestpatch.core.policy import Policy

    t0 = time.perf_counter()
    fleet = build(machines)
    t1 = time.perf_counter()
    plan = plan_availability_first(fleet, Policy(), datetime(2026, 1, 13, tzinfo=UTC))  # type: ignore[arg-type]
    t2 = time.perf_counter()
    print(json.dumps({"machines": machines, "build_s": round(t1 - t0, 2), "plan_s": round(t2 - t1, 2),
                      "phases": len(plan.phases), "waves": sum(plan.wave_count)}))


def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench orchestrator_plan")
    parser.add_argument("--machines", type=int, default=1_000_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ns = parser.parse_args(args)
    if ns.child:
        child(ns.machines)
        return 0
    out = subprocess.run([sys.executable, "-m", "bench", "orchestrator_plan", "--child", "--machines",
                          str(ns.machines)], check=True, capture_output=True, text=True)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(peak_mb, 1)
    print(json.dumps(result))
    return 0
