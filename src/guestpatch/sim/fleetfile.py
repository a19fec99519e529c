"""Fleet files: generate a synthetic fleet, and read one (``docs/simulator.md`` has the format).

A fleet file is JSON::

    {"format": "guestpatch-fleet/1",
     "generator": {...the parameters and seed...},
     "regions": [{"name": "eastus", "timeZone": "America/New_York", "pair": "westus"}, ...],
     "machines": [{"name": "vm-000001", "tenant": "sub-0042", "region": "eastus", "zone": "2",
                   "os": "ubuntu-22.04/archive", "patchMode": "AutomaticByPlatform"}, ...]}

Machine keys besides those: ``availabilitySet`` and ``updateDomain`` (together), ``windowsTimeZone``
(a Windows VM's ``timeZone``), ``timeZone`` (per-machine override), ``offPeak``
(``{"start": "HH:MM", "end": "HH:MM"}``), ``scaleSetFlex``, ``assessmentMode``,
``bypassPlatformSafetyChecksOnUserSchedule``. Absent keys take their defaults.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from guestpatch.core.fleet import Fleet, FleetBuilder, Region
from guestpatch.core.windows import OffPeak
from guestpatch.errors import InvalidInput

FORMAT = "guestpatch-fleet/1"

#: Region templates in geo-pairs (Azure-like names and their IANA zones).
REGION_PAIRS: tuple[tuple[tuple[str, str], tuple[str, str]], ...] = (
    (("eastus", "America/New_York"), ("westus", "America/Los_Angeles")),
    (("northeurope", "Europe/Dublin"), ("westeurope", "Europe/Amsterdam")),
    (("japaneast", "Asia/Tokyo"), ("japanwest", "Asia/Tokyo")),
    (("eastus2", "America/New_York"), ("centralus", "America/Chicago")),
    (("uksouth", "Europe/London"), ("ukwest", "Europe/London")),
    (("australiaeast", "Australia/Sydney"), ("australiasoutheast", "Australia/Melbourne")),
    (("centralindia", "Asia/Kolkata"), ("southindia", "Asia/Kolkata")),
    (("brazilsouth", "America/Sao_Paulo"), ("southcentralus", "America/Chicago")),
    (("eastasia", "Asia/Hong_Kong"), ("southeastasia", "Asia/Singapore")),
    (("germanywestcentral", "Europe/Berlin"), ("germanynorth", "Europe/Berlin")),
    (("canadacentral", "America/Toronto"), ("canadaeast", "America/Toronto")),
    (("koreacentral", "Asia/Seoul"), ("koreasouth", "Asia/Seoul")),
    (("francecentral", "Europe/Paris"), ("francesouth", "Europe/Paris")),
    (("southafricanorth", "Africa/Johannesburg"), ("southafricawest", "Africa/Johannesburg")),
    (("uaenorth", "Asia/Dubai"), ("uaecentral", "Asia/Dubai")),
    (("westus2", "America/Los_Angeles"), ("westcentralus", "America/Denver")),
    (("switzerlandnorth", "Europe/Zurich"), ("switzerlandwest", "Europe/Zurich")),
    (("norwayeast", "Europe/Oslo"), ("norwaywest", "Europe/Oslo")),
    (("swedencentral", "Europe/Stockholm"), ("swedensouth", "Europe/Stockholm")),
    (("northcentralus", "America/Chicago"), ("westus3", "America/Phoenix")),
)

OS_KEYS = (
    ("ubuntu-22.04/archive", 0.35), ("ubuntu-24.04/archive", 0.2), ("rhel-9/rhui", 0.15),
    ("rhel-8/rhui", 0.1), ("sles-15/updates", 0.1), ("debian-12/security", 0.1),
)
WINDOWS_ZONES = ("Pacific Standard Time", "Eastern Standard Time", "W. Europe Standard Time",
                 "GMT Standard Time", "Tokyo Standard Time", "India Standard Time",
                 "AUS Eastern Standard Time", "Singapore Standard Time")


def generate(
    *, machines: int, regions: int, zones: int = 3, availability_set_share: float = 0.3,
    update_domains: int = 5, tenants: int = 100, seed: int = 0, regional_share: float = 0.05,
    windows_share: float = 0.1, flex_share: float = 0.02, ineligible_share: float = 0.03,
    override_share: float = 0.01,
) -> dict[str, Any]:
    """A synthetic fleet document (see the module docstring); deterministic for a seed."""
    _check(machines >= 1, "machines", "must be at least 1")
    _check(1 <= regions <= 2 * len(REGION_PAIRS), "regions", f"must be 1-{2 * len(REGION_PAIRS)}")
    _check(0 <= zones <= 5, "zones", "must be 0-5")
    _check(0 <= availability_set_share <= 1, "availability-set-share", "must be within 0-1")
    _check(1 <= update_domains <= 20, "update-domains", "must be 1-20")
    _check(tenants >= 1, "tenants", "must be at least 1")
    rng = random.Random(seed)  # noqa: S311 - simulation draws, not secrets
    region_docs = []
    for k in range(regions):
        a, b = REGION_PAIRS[k // 2]
        name, tz = a if k % 2 == 0 else b
        partner = b[0] if k % 2 == 0 else a[0]
        paired = k % 2 == 1 or k + 1 < regions
        region_docs.append({"name": name, "timeZone": tz, "pair": partner if paired else None})
    weights = [rng.uniform(0.4, 1.6) for _ in range(regions)]
    home = [rng.randrange(regions) for _ in range(tenants)]
    tenant_weight = [1.0 / (t + 1) ** 0.8 for t in range(tenants)]
    by_region: list[list[int]] = [[] for _ in range(regions)]
    for t, r in enumerate(home):
        by_region[r].append(t)
    all_cum = _cumulative(tenant_weight)
    region_cum = [_cumulative([tenant_weight[t] for t in ts]) for ts in by_region]
    region_of = rng.choices(range(regions), weights=weights, k=machines)
    os_names = [k for k, _ in OS_KEYS]
    os_of = rng.choices(os_names, weights=[w for _, w in OS_KEYS], k=machines)
    docs: list[dict[str, Any]] = []
    for n in range(machines):
        r = region_of[n]
        t = by_region[r][_pick(rng, region_cum[r])] if by_region[r] and rng.random() < 0.8 else _pick(rng, all_cum)
        doc: dict[str, Any] = {"name": f"vm-{n:07d}", "tenant": f"sub-{t:05d}",
                               "region": region_docs[r]["name"], "os": os_of[n]}
        docs.append(doc)
    _place(rng, docs, zones=zones, share=availability_set_share, update_domains=update_domains,
           regional_share=regional_share)
    for doc in docs:
        x = rng.random()
        if x < ineligible_share:
            doc["patchMode"] = "ImageDefault"
        if rng.random() < 0.5:
            doc["assessmentMode"] = "AutomaticByPlatform"
        if rng.random() < windows_share:
            doc["windowsTimeZone"] = rng.choice(WINDOWS_ZONES)
        if rng.random() < flex_share:
            doc["scaleSetFlex"] = True
        if rng.random() < override_share:
            doc["offPeak"] = {"start": "01:00", "end": "05:00"}
    params = {"machines": machines, "regions": regions, "zones": zones,
              "availabilitySetShare": availability_set_share, "updateDomains": update_domains,
              "tenants": tenants, "seed": seed, "regionalShare": regional_share,
              "windowsShare": windows_share, "flexShare": flex_share, "ineligibleShare": ineligible_share}
    return {"format": FORMAT, "generator": params, "regions": region_docs, "machines": docs}


def _place(rng: random.Random, docs: list[dict[str, Any]], *, zones: int, share: float,
           update_domains: int, regional_share: float) -> None:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for doc in docs:
        if rng.random() < share:
            groups.setdefault((doc["region"], doc["tenant"]), []).append(doc)
        elif zones and rng.random() >= regional_share:
            doc["zone"] = str(rng.randint(1, zones))
    serial = 0
    for (_region, _tenant), members in groups.items():
        k = 0
        while k < len(members):
            size = rng.randint(2, 2 * update_domains)
            serial += 1
            for pos, doc in enumerate(members[k:k + size]):
                doc["availabilitySet"] = f"avset-{serial:06d}"
                doc["updateDomain"] = pos % update_domains
            k += size


def _cumulative(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(rng: random.Random, cumulative: list[float]) -> int:
    from bisect import bisect_right

    return min(bisect_right(cumulative, rng.random() * cumulative[-1]), len(cumulative) - 1)


def _check(ok: bool, flag: str, message: str) -> None:
    if not ok:
        raise InvalidInput(f"--{flag} {message}", target=flag)


def load(doc: Mapping[str, Any]) -> Fleet:
    """The :class:`Fleet` of a fleet document; :class:`InvalidInput` names the bad entry."""
    if not isinstance(doc, Mapping) or doc.get("format") != FORMAT:
        raise InvalidInput(f"not a fleet file: expected \"format\": \"{FORMAT}\"", target="format")
    try:
        regions = [Region(r["name"], r["timeZone"], r.get("pair")) for r in doc["regions"]]
    except (KeyError, TypeError) as exc:
        raise InvalidInput(f"regions: each needs name and timeZone ({exc})", target="regions") from exc
    builder = FleetBuilder(regions)
    for k, m in enumerate(doc.get("machines", [])):
        try:
            off_peak = m.get("offPeak")
            builder.add(
                m["name"], m["tenant"], m["region"], zone=m.get("zone"),
                availability_set=m.get("availabilitySet"), update_domain=m.get("updateDomain"),
                windows_time_zone=m.get("windowsTimeZone"), time_zone_override=m.get("timeZone"),
                off_peak_override=None if off_peak is None else OffPeak.parse(off_peak["start"], off_peak["end"]),
                scale_set_flex=bool(m.get("scaleSetFlex", False)),
                patch_mode=m.get("patchMode", "AutomaticByPlatform"),
                assessment_mode=m.get("assessmentMode", "ImageDefault"),
                bypass_platform_safety_checks=bool(m.get("bypassPlatformSafetyChecksOnUserSchedule", False)),
                os=m.get("os", "linux"),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(f"machines[{k}] is missing or has a bad field: {exc}", target=f"machines[{k}]") from exc
    return builder.build()
