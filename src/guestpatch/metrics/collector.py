"""What a scrape returns: the fleet, operation and rollout figures from the store, and the request histograms.

A custom collector rather than gauges kept up to date: the figures come from the store through the
services, so every process that is scraped (any worker, any replica) gives the same, current answer,
and nothing has to be told when an agent reports or the engine moves a rollout. A scrape costs one
query for the patch statuses (the dashboard's own, :meth:`FleetViews.summary`), two GROUP BY queries
(operations; rollout machines) and one read of the rollout records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from guestpatch.core.records import MachineStatus
from guestpatch.metrics.tally import Recorder
from guestpatch.services.counts import Counts
from guestpatch.services.fleet_views import STATUSES, FleetViews

OPERATION_KINDS = ("assessPatches", "installPatches")
OPERATION_STATES = ("Queued", "InProgress", "Succeeded", "CompletedWithWarnings", "Failed", "Canceled")


class FleetCollector(Collector):
    def __init__(self, fleet: FleetViews, counts: Counts) -> None:
        self.fleet = fleet
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        yield from self._machines()
        yield from self._operations()
        yield from self._rollouts()

    def _machines(self) -> Iterator[Metric]:
        summary = self.fleet.summary()
        by_status = GaugeMetricFamily(
            "guestpatch_machines", "Machines by patch status (the dashboard's rules, docs/dashboard.md).",
            labels=["status"],
        )
        for status in STATUSES:
            by_status.add_metric([status], summary.by_status[status])
        yield by_status
        patches = GaugeMetricFamily(
            "guestpatch_critical_security_patches_pending",
            "Critical and Security patches pending in the machines' latest assessments, by region.",
            labels=["region"],
        )
        machines = GaugeMetricFamily(
            "guestpatch_machines_with_critical_security_pending",
            "Machines whose latest assessment lists a Critical or Security patch, by region.",
            labels=["region"],
        )
        for group in sorted(summary.by_region, key=lambda g: g.key):
            patches.add_metric([group.key], group.pending_patches)
            machines.add_metric([group.key], group.pending_machines)
        yield patches
        yield machines

    def _operations(self) -> Iterator[Metric]:
        counted = self.counts.operations()
        family = GaugeMetricFamily(
            "guestpatch_operations",
            "Assessments and installations the store holds, by kind and state (a finished one's state is its "
            "result's status).",
            labels=["kind", "state"],
        )
        kinds = sorted({*OPERATION_KINDS, *(kind for kind, _ in counted)})
        states = sorted({*OPERATION_STATES, *(state for _, state in counted)})
        for kind in kinds:
            for state in states:
                family.add_metric([kind, state], counted.get((kind, state), 0))
        yield family

    def _rollouts(self) -> Iterator[Metric]:
        rollouts = self.counts.rollouts()
        machines = self.counts.rollout_machines()
        info = GaugeMetricFamily(
            "guestpatch_rollout_info", "Every rollout (1), with its release, strategy and status as labels.",
            labels=["rollout", "release", "strategy", "status"],
        )
        progress = GaugeMetricFamily(
            "guestpatch_rollout_machines", "Machines of each rollout by their status in it.",
            labels=["rollout", "status"],
        )
        halted = GaugeMetricFamily(
            "guestpatch_rollout_halted", "1 while the rollout is halted (by a gate or an operator), else 0.",
            labels=["rollout"],
        )
        halts = CounterMetricFamily(
            "guestpatch_rollout_halts", "Times each rollout has been halted.", labels=["rollout"],
        )
        phase = GaugeMetricFamily(
            "guestpatch_rollout_phase", "The rollout's current phase (0 is the canary).", labels=["rollout"],
        )
        for rollout in rollouts:
            record = rollout.record
            info.add_metric([record.id, record.release, record.strategy, str(record.status)], 1)
            counted: Mapping[str, int] = machines.get(record.id, Counter())
            for status in MachineStatus:
                progress.add_metric([record.id, str(status)], counted.get(str(status), 0))
            halted.add_metric([record.id], 1 if rollout.halted else 0)
            halts.add_metric([record.id], rollout.halts)
            phase.add_metric([record.id], record.phase)
        yield from (info, progress, halted, halts, phase)


class RequestCollector(Collector):
    """The request and check-in histograms, added up over the server's worker processes."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def collect(self) -> Iterator[Metric]:
        self.recorder.flush()  # this process's figures current in its file, for the other workers' scrapes
        totals = self.recorder.totals()
        for tally in self.recorder.tallies:
            family = HistogramMetricFamily(tally.name, tally.help, labels=tally.labels)
            for key, row in sorted(totals[tally.name].items()):
                cumulative, buckets = 0.0, []
                for bound, count in zip((*tally.bounds, float("inf")), row[:-1], strict=True):
                    cumulative += count
                    buckets.append(("+Inf" if bound == float("inf") else _bound(bound), cumulative))
                family.add_metric(list(key), buckets, sum_value=row[-1])
            yield family


def _bound(bound: float) -> str:
    """A bucket bound as prometheus_client writes it (``0.005``, ``1.0``)."""
    return repr(float(bound))
