"""The rollout policy: every knob of the orchestrator, declared once with its default and reason.

``docs/orchestrator.md`` renders its table of defaults from :data:`POLICY_FIELDS` (a test keeps
the document in step). A policy file (``guestpatch simulate run --policy FILE``, later the operator
API) is a JSON object with the camelCase keys below; :meth:`Policy.from_dict` validates it and
answers bad input with :class:`~guestpatch.errors.InvalidInput` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from typing import Any

from guestpatch.core.windows import DEFAULT_OFF_PEAK, OffPeak
from guestpatch.errors import InvalidInput


def _knob(default: Any, key: str, help: str) -> Any:
    return field(default=default, metadata={"key": key, "help": help})


@dataclass(frozen=True)
class Policy:
    """How a rollout proceeds. Immutable; durations are :class:`~datetime.timedelta`."""

    off_peak: OffPeak = _knob(
        DEFAULT_OFF_PEAK, "offPeak",
        "Daily off-peak hours, local to each machine's time zone (22:00-06:00: the quiet part of the "
        "night everywhere, clear of the evening peak and the morning start).",
    )
    region_off_peak: tuple[tuple[str, OffPeak], ...] = _knob(
        (), "regionOffPeak", "Off-peak hours per region, overriding offPeak (a machine's own override wins).",
    )
    tenant_share: float = _knob(
        0.2, "tenantShare",
        "Largest share of one tenant's machines in a region that patch at once (at least one machine); "
        "20 % keeps four fifths of any service up, as Azure's scale-set upgrades do.",
    )
    success_threshold: float = _knob(
        0.95, "successThreshold",
        "Share of decided machines that must succeed for a wave or phase gate to pass.",
    )
    halt_min_failures: int = _knob(
        3, "haltMinFailures",
        "Failures a wave needs, besides crossing the threshold, before it halts the rollout "
        "(so one unlucky machine in a wave of ten does not stop the world).",
    )
    bake_time: timedelta = _knob(
        timedelta(hours=2), "bakeTimeMinutes",
        "How long a phase's machines must stay healthy after its last wave before the next phase starts.",
    )
    stability_period: timedelta = _knob(
        timedelta(minutes=10), "stabilityPeriodMinutes",
        "How long a machine's health probe must stay healthy after it is back from its reboot.",
    )
    report_timeout: timedelta = _knob(
        timedelta(minutes=20), "reportTimeoutMinutes",
        "How long after its maximum install duration (or its reboot) a machine's agent may take to report.",
    )
    max_attempts: int = _knob(
        3, "maxAttempts", "Installation attempts per machine per rollout before it is reported.",
    )
    retry_delay: timedelta = _knob(
        timedelta(hours=4), "retryDelayMinutes",
        "A failed or Pending machine retries in its first window that opens at least this long after "
        "the failure (for all-hours machines, simply this long after).",
    )
    min_window_left: timedelta = _knob(
        timedelta(minutes=45), "minWindowLeftMinutes",
        "No installation starts with less than this left of the machine's window.",
    )
    reboot_reserve: timedelta = _knob(
        timedelta(minutes=15), "rebootReserveMinutes",
        "Time kept free at the end of the window for the reboot (Azure's patch extension keeps 15).",
    )
    max_install_duration: timedelta = _knob(
        timedelta(hours=3, minutes=55), "maxInstallDurationMinutes",
        "Upper bound of an installation's maximumDuration (Azure's limit: PT3H55M).",
    )
    canary_wave_size: int = _knob(
        10, "canaryWaveSize", "Machines in the first wave of the canary phase.",
    )
    wave_growth: float = _knob(
        2.0, "waveGrowth", "Factor by which each canary-phase wave may grow over the previous one.",
    )
    wave_settle_share: float = _knob(
        0.9, "waveSettleShare",
        "The next wave of a region opens once this share of the current wave's started machines has a "
        "verdict (outside the canary phase, which waits for all) and at most the rest of its machines "
        "wait for windows of their own; stragglers finish later under the same rules.",
    )
    phase_growth: float = _knob(
        3.0, "phaseGrowth",
        "Factor by which each phase may have more regions than the previous one (canary: one region).",
    )
    canary_regions: tuple[str, ...] = _knob(
        (), "canaryRegions", "Regions of the canary phase; default: the region with the fewest eligible machines.",
    )
    phases: tuple[tuple[str, ...], ...] = _knob(
        (), "phases",
        "Operator-defined phases (lists of regions), validated against the geo-pair rule; "
        "regions left out form further phases.",
    )
    compliance_days: int = _knob(
        30, "complianceDays", "Days after the release by which every machine is patched or listed with a reason.",
    )
    assessment_interval: timedelta = _knob(
        timedelta(days=3), "assessmentIntervalMinutes",
        "Periodic assessment of AutomaticByPlatform machines (\"every few days\"), in their windows.",
    )
    daily_assessment_interval: timedelta = _knob(
        timedelta(hours=24), "dailyAssessmentIntervalMinutes",
        "Periodic assessment of machines with assessmentMode=AutomaticByPlatform.",
    )

    def __post_init__(self) -> None:
        _check(0 < self.tenant_share <= 1, "tenantShare", "must be in (0, 1]")
        _check(0 < self.success_threshold <= 1, "successThreshold", "must be in (0, 1]")
        _check(self.halt_min_failures >= 1, "haltMinFailures", "must be at least 1")
        _check(self.max_attempts >= 1, "maxAttempts", "must be at least 1")
        _check(self.canary_wave_size >= 1, "canaryWaveSize", "must be at least 1")
        _check(self.wave_growth >= 1, "waveGrowth", "must be at least 1")
        _check(self.phase_growth >= 1, "phaseGrowth", "must be at least 1")
        _check(0 < self.wave_settle_share <= 1, "waveSettleShare", "must be in (0, 1]")
        _check(1 <= self.compliance_days <= 366, "complianceDays", "must be 1-366")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, timedelta):
                _check(value >= timedelta(0), f.metadata["key"], "must not be negative")
        _check(self.report_timeout > timedelta(0), "reportTimeoutMinutes", "must be positive")
        _check(
            self.min_window_left > self.reboot_reserve, "minWindowLeftMinutes",
            "must be longer than rebootReserveMinutes",
        )
        _check(self.assessment_interval > timedelta(0), "assessmentIntervalMinutes", "must be positive")
        _check(
            self.daily_assessment_interval > timedelta(0), "dailyAssessmentIntervalMinutes", "must be positive"
        )

    def off_peak_for_region(self, region: str) -> OffPeak:
        for name, hours in self.region_off_peak:
            if name == region:
                return hours
        return self.off_peak

    def to_dict(self) -> dict[str, Any]:
        """The policy as its JSON document (what ``--policy`` reads and ``metrics.json`` shows)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "region_off_peak":
                out[f.metadata["key"]] = {name: hours.to_dict() for name, hours in value}
            else:
                out[f.metadata["key"]] = _dump(value)
        return out

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], base: Policy | None = None) -> Policy:
        """Read a policy document over ``base`` (default: the published defaults)."""
        if not isinstance(doc, Mapping):
            raise InvalidInput("a policy is a JSON object", target="policy")
        by_key = {f.metadata["key"]: f for f in fields(cls)}
        unknown = sorted(set(doc) - set(by_key))
        if unknown:
            raise InvalidInput(
                f"unknown policy keys {unknown}; known: {sorted(by_key)}", target=unknown[0]
            )
        changes: dict[str, Any] = {}
        for key, raw in doc.items():
            f = by_key[key]
            changes[f.name] = _load(key, raw, getattr(base or cls(), f.name))
        return replace(base or cls(), **changes)


POLICY_FIELDS = tuple(fields(Policy))


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise InvalidInput(f"policy {key} {message}", target=key)


def _dump(value: Any) -> Any:
    if isinstance(value, OffPeak):
        return value.to_dict()
    if isinstance(value, timedelta):
        minutes = value.total_seconds() / 60
        return int(minutes) if minutes == int(minutes) else minutes
    if isinstance(value, tuple):
        return [_dump(v) for v in value]
    return value


def _load(key: str, raw: Any, current: Any) -> Any:
    try:
        if key == "offPeak":
            return _off_peak(key, raw)
        if key == "regionOffPeak":
            if not isinstance(raw, Mapping):
                raise TypeError("expected an object of region: {start, end}")
            return tuple((str(k), _off_peak(f"{key}.{k}", v)) for k, v in sorted(raw.items()))
        if key == "canaryRegions":
            return _names(raw)
        if key == "phases":
            if not isinstance(raw, list):
                raise TypeError("expected a list of lists of region names")
            return tuple(_names(p) for p in raw)
        if isinstance(current, timedelta):
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise TypeError("expected a number of minutes")
            return timedelta(minutes=raw)
        if isinstance(current, bool) or isinstance(raw, bool):
            raise TypeError("expected a number")
        if isinstance(current, int):
            if not isinstance(raw, int):
                raise TypeError("expected a whole number")
            return raw
        if isinstance(current, float):
            if not isinstance(raw, int | float):
                raise TypeError("expected a number")
            return float(raw)
    except TypeError as exc:
        raise InvalidInput(f"policy {key}: {exc}", target=key) from exc
    raise InvalidInput(f"policy {key} cannot be read", target=key)  # pragma: no cover


def _off_peak(key: str, raw: Any) -> OffPeak:
    if not isinstance(raw, Mapping) or set(raw) != {"start", "end"}:
        raise InvalidInput(f'policy {key} must be {{"start": "HH:MM", "end": "HH:MM"}}', target=key)
    return OffPeak.parse(str(raw["start"]), str(raw["end"]))


def _names(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise TypeError("expected a list of region names")
    return tuple(raw)
