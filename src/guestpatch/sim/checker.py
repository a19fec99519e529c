"""An independent checker: count rule violations from ``timeline.jsonl`` and the fleet file alone.

It shares no code with the orchestrator (windows are recomputed here with :mod:`zoneinfo`), so a
bug in the core cannot hide itself. Rules counted:

``zones``          a start while a zonal machine of another zone of the region is patching;
``updateDomains``  a start while a machine of another update domain of its set is patching;
``pairs``          a start while any machine of the region's geo-pair is patching;
``pairPhases``     a geo-pair whose two regions appear in the same phase;
``tenantShare``    a start that puts more than ``max(1, floor(share x n))`` of a tenant's ``n`` eligible
                   machines of a region in flight at once;
``window``         an installation that starts outside its machine's window or is still installing
                   (``back``) after the window closed (scale-set Flex machines: all hours);
``afterHalt``      a start after the rollout halted.

"Patching" is ``[start, end)`` of a record whose outcome is not ``Skipped``; at equal times, ends
come before starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

RULES = ("zones", "updateDomains", "pairs", "pairPhases", "tenantShare", "window", "afterHalt")


def _minutes(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def _in_window(start: datetime, back: datetime, tz: str, hours: tuple[int, int]) -> bool:
    zone = ZoneInfo(tz)
    local = start.astimezone(zone)
    begin, end = hours
    for offset in (-1, 0, 1):
        day = local.date() + timedelta(days=offset)
        opens = datetime.combine(day, time(begin // 60, begin % 60), tzinfo=zone).astimezone(UTC)
        end_day = day if end > begin else day + timedelta(days=1)
        closes = datetime.combine(end_day, time(end // 60, end % 60), tzinfo=zone).astimezone(UTC)
        if opens <= start < closes:
            return back <= closes
    return False


def check(
    timeline: Iterable[Mapping[str, Any]], fleet: Mapping[str, Any], policy: Mapping[str, Any],
    *, halted_at: str | None = None,
) -> dict[str, int]:
    """Violations per rule (all keys of :data:`RULES` present)."""
    counts = dict.fromkeys(RULES, 0)
    pair = {r["name"]: r.get("pair") for r in fleet["regions"]}
    share = float(policy.get("tenantShare", 0.2))
    default = policy.get("offPeak", {"start": "22:00", "end": "06:00"})
    region_hours = policy.get("regionOffPeak", {}) or {}
    eligible: dict[tuple[str, str], int] = {}
    overrides: dict[str, tuple[int, int]] = {}
    for m in fleet["machines"]:
        if m.get("patchMode", "AutomaticByPlatform") == "AutomaticByPlatform" and not m.get(
            "bypassPlatformSafetyChecksOnUserSchedule"
        ):
            key = (m["tenant"], m["region"])
            eligible[key] = eligible.get(key, 0) + 1
        if m.get("offPeak"):
            overrides[m["name"]] = (_minutes(m["offPeak"]["start"]), _minutes(m["offPeak"]["end"]))
    records = [r for r in timeline if r["outcome"] != "Skipped"]
    phases: dict[str, set[int]] = {}
    events = []
    for k, r in enumerate(records):
        phases.setdefault(r["region"], set()).add(r["phase"])
        events.append((datetime.fromisoformat(r["start"]), 1, k))
        events.append((datetime.fromisoformat(r["end"]), 0, k))
    for a, b in pair.items():
        if b and a < b and phases.get(a, set()) & phases.get(b, set()):
            counts["pairPhases"] += 1
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    region_busy: dict[str, int] = {}
    zone_busy: dict[str, dict[str, int]] = {}
    set_busy: dict[str, dict[Any, int]] = {}
    tenant_busy: dict[tuple[str, str], int] = {}
    halt = datetime.fromisoformat(halted_at) if halted_at else None
    for when, kind, k in events:
        r = records[k]
        region, zone, avset, ud = r["region"], r.get("zone"), r.get("availabilitySet"), r.get("updateDomain")
        tkey = (r["tenant"], region)
        d = 1 if kind else -1
        if kind:
            if zone is not None and any(n for z, n in zone_busy.get(region, {}).items() if z != zone):
                counts["zones"] += 1
            if avset is not None and any(n for u, n in set_busy.get(avset, {}).items() if u != ud):
                counts["updateDomains"] += 1
            if pair.get(region) and region_busy.get(pair[region], 0):
                counts["pairs"] += 1
            cap = max(1, int(share * eligible.get(tkey, 1) + 1e-9))
            if tenant_busy.get(tkey, 0) + 1 > cap:
                counts["tenantShare"] += 1
            if halt is not None and when > halt:
                counts["afterHalt"] += 1
            if not r.get("scaleSetFlex"):
                hours = overrides.get(r["machine"]) or _hours(region_hours.get(region) or default)
                back = datetime.fromisoformat(r.get("back") or r["start"])
                if not _in_window(when, back, r["timeZone"], hours):
                    counts["window"] += 1
        region_busy[region] = region_busy.get(region, 0) + d
        if zone is not None:
            zs = zone_busy.setdefault(region, {})
            zs[zone] = zs.get(zone, 0) + d
        if avset is not None:
            us = set_busy.setdefault(avset, {})
            us[ud] = us.get(ud, 0) + d
        tenant_busy[tkey] = tenant_busy.get(tkey, 0) + d
    return counts


def _hours(doc: Mapping[str, str]) -> tuple[int, int]:
    return _minutes(doc["start"]), _minutes(doc["end"])
