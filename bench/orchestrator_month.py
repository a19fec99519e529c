"""Simulate one month: ``python -m bench orchestrator_month [--machines N] [--strategy S] [--bad-patch]``.

Generates the benchmark fleet (20 regions, 3 zones, 30 % in sets of 5 update domains, N/20 tenants,
seed 1), runs the real engine against simulated agents for the release (goal: 100,000 machines in
<= 60 s), and prints the wall time, the simulated outcome and the independent checker's counts.
``--all`` prints the strategy comparison table of docs/benchmarks.md (eight runs).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any


def one(machines: int, strategy: str, bad: bool) -> dict[str, Any]:
    from guestpatch.sim.checker import check
    from guestpatch.sim.fleetfile import generate
    from guestpatch.sim.run import simulate

    doc = generate(machines=machines, regions=20, zones=3, availability_set_share=0.3, update_domains=5,
                   tenants=max(1, machines // 20), seed=1)
    t0 = time.perf_counter()
    outcome = simulate(doc, strategy=strategy, seed=1, bad_patch=bad)
    wall = time.perf_counter() - t0
    m = outcome.metrics
    checker = check(outcome.timeline, doc, m["policy"], halted_at=m["haltedAt"])
    return {"strategy": strategy, "badPatch": bad, "wall_s": round(wall, 1), "eligible": m["eligible"],
            "patched": m["patched"], "timeToFullComplianceHours": m["timeToFullComplianceHours"],
            "timeToComplianceHours": m["timeToComplianceHours"],
            "timeToFullComplianceExceptPoweredOffHours": m["timeToFullComplianceExceptPoweredOffHours"],
            "touchedByBadPatch": m["touchedByBadPatch"], "halted": m["halted"],
            "simulatorViolations": m["violationCount"], "checker": checker}


def main(args: list[str]) -> int:
    from guestpatch.core.strategies import STRATEGIES

    parser = argparse.ArgumentParser(prog="python -m bench orchestrator_month")
    parser.add_argument("--machines", type=int, default=100_000)
    parser.add_argument("--strategy", default="availability-first", choices=STRATEGIES)
    parser.add_argument("--bad-patch", action="store_true")
    parser.add_argument("--all", action="store_true", help="every strategy, good and bad release")
    ns = parser.parse_args(args)
    if not ns.all:
        print(json.dumps(one(ns.machines, ns.strategy, ns.bad_patch)))
        return 0
    print("| strategy | time to 100 % (h) | 100 % except powered-off (h) | 99 % (h) | violations (checker) "
          "| bad release: touched | halted | wall s (good / bad) |")
    print("|---|---|---|---|---|---|---|---|")
    for strategy in STRATEGIES:
        good, bad = one(ns.machines, strategy, False), one(ns.machines, strategy, True)
        share = 100 * bad["touchedByBadPatch"] / bad["eligible"]
        print(f"| {strategy} | {good['timeToFullComplianceHours']} "
              f"| {good['timeToFullComplianceExceptPoweredOffHours']} | {good['timeToComplianceHours']['99%']} "
              f"| {sum(good['checker'].values())} | {bad['touchedByBadPatch']} ({share:.2f} %) "
              f"| {bad['halted']} | {good['wall_s']} / {bad['wall_s']} |", flush=True)
    return 0
