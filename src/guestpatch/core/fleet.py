"""The fleet as the orchestrator sees it: compact columns, one row per machine.

A million machines must plan in seconds, so the fleet is not an object graph: each attribute is a
column (``array`` of small ints indexing an interned table, or a ``list`` of names). :class:`Machine`
is the one-row view used at the edges (input, explanations).

Topology rules (Azure's): a machine is in an availability zone, or in an availability set (with an
update domain), or in neither. Regions may name a geo-pair partner; pairs are symmetric.
Eligibility: only ``patchMode=AutomaticByPlatform`` machines without
``bypassPlatformSafetyChecksOnUserSchedule`` take part in rollouts; the caller may add a reason of its
own (for example "image not supported") through ``ineligible_reason``.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from guestpatch.core.windows import OffPeak, iana_zone
from guestpatch.errors import InvalidInput

AUTOMATIC_BY_PLATFORM = "AutomaticByPlatform"


@dataclass(frozen=True)
class Region:
    """A region with its IANA time zone and, optionally, the name of its geo-pair partner."""

    name: str
    time_zone: str
    pair: str | None = None


@dataclass(frozen=True)
class Machine:
    """One machine's row, as handed in by the store or the simulator's fleet file."""

    name: str
    tenant: str
    region: str
    zone: str | None = None
    availability_set: str | None = None
    update_domain: int | None = None
    windows_time_zone: str | None = None
    time_zone_override: str | None = None
    off_peak_override: OffPeak | None = None
    scale_set_flex: bool = False
    patch_mode: str = AUTOMATIC_BY_PLATFORM
    assessment_mode: str = "ImageDefault"
    bypass_platform_safety_checks: bool = False
    os: str = "linux"
    ineligible_reason: str | None = None


class _Interner:
    __slots__ = ("index", "values")

    def __init__(self) -> None:
        self.values: list[str] = []
        self.index: dict[str, int] = {}

    def __call__(self, value: str) -> int:
        found = self.index.get(value)
        if found is None:
            found = self.index[value] = len(self.values)
            self.values.append(value)
        return found


class Fleet:
    """Columns of machines plus the interned tables they index. Build with :class:`FleetBuilder`."""

    def __init__(
        self,
        *,
        regions: tuple[Region, ...],
        pair_of: tuple[int, ...],
        names: list[str],
        tenants: list[str],
        zones: list[str],
        avsets: list[str],
        time_zones: list[str],
        os_keys: list[str],
        off_peaks: list[OffPeak],
        tenant: array[int],
        region: array[int],
        zone: array[int],
        avset: array[int],
        ud: array[int],
        tz: array[int],
        off_peak: array[int],
        flex: bytearray,
        os: array[int],
        assess_daily: bytearray,
        eligible: bytearray,
        reasons: dict[int, str],
    ) -> None:
        self.regions = regions
        self.pair_of = pair_of
        self.names = names
        self.tenants = tenants
        self.zones = zones
        self.avsets = avsets
        self.time_zones = time_zones
        self.os_keys = os_keys
        self.off_peaks = off_peaks
        self.tenant = tenant
        self.region = region
        self.zone = zone
        self.avset = avset
        self.ud = ud
        self.tz = tz
        self.off_peak = off_peak
        self.flex = flex
        self.os = os
        self.assess_daily = assess_daily
        self.eligible = eligible
        self.reasons = reasons
        self.region_index = {r.name: i for i, r in enumerate(regions)}
        self._name_index: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.names)

    def index_of(self, name: str) -> int:
        """Row of the machine called ``name``; :class:`InvalidInput` if there is none."""
        if self._name_index is None:
            self._name_index = {n: i for i, n in enumerate(self.names)}
        found = self._name_index.get(name)
        if found is None:
            raise InvalidInput(f"machine {name!r} is not in the fleet", target="machine")
        return found

    def zone_name(self, i: int) -> str | None:
        z = self.zone[i]
        return None if z < 0 else self.zones[z]

    def avset_name(self, i: int) -> str | None:
        a = self.avset[i]
        return None if a < 0 else self.avsets[a]

    def machine(self, i: int) -> Machine:
        """The one-row view of machine ``i`` (time zone as resolved, not as given)."""
        op = self.off_peak[i]
        return Machine(
            name=self.names[i],
            tenant=self.tenants[self.tenant[i]],
            region=self.regions[self.region[i]].name,
            zone=self.zone_name(i),
            availability_set=self.avset_name(i),
            update_domain=None if self.ud[i] < 0 else self.ud[i],
            time_zone_override=self.time_zones[self.tz[i]],
            off_peak_override=None if op < 0 else self.off_peaks[op],
            scale_set_flex=bool(self.flex[i]),
            assessment_mode=AUTOMATIC_BY_PLATFORM if self.assess_daily[i] else "ImageDefault",
            os=self.os_keys[self.os[i]],
            ineligible_reason=self.reasons.get(i),
        )

    def pairs(self) -> list[tuple[str, str]]:
        """The geo-pairs as sorted name pairs, each once."""
        out = set()
        for i, j in enumerate(self.pair_of):
            if j >= 0:
                a, b = sorted((self.regions[i].name, self.regions[j].name))
                out.add((a, b))
        return sorted(out)


class FleetBuilder:
    """Collects machines row by row (fast path :meth:`add`), then :meth:`build` returns the :class:`Fleet`."""

    def __init__(self, regions: Iterable[Region]) -> None:
        self._regions = tuple(regions)
        self._region_index: dict[str, int] = {}
        for i, r in enumerate(self._regions):
            if r.name in self._region_index:
                raise InvalidInput(f"region {r.name!r} is listed twice", target="regions")
            self._region_index[r.name] = i
            iana_zone(r.time_zone)
        self._pair_of = self._pairs()
        self.names: list[str] = []
        self._tenants, self._zones, self._avsets = _Interner(), _Interner(), _Interner()
        self._tzs, self._os = _Interner(), _Interner()
        self._off_peaks: list[OffPeak] = []
        self._off_peak_index: dict[OffPeak, int] = {}
        self._region_tz = [self._tzs(iana_zone(r.time_zone)) for r in self._regions]
        self._tz_cache: dict[str, int] = {}
        self._avset_home: dict[int, tuple[int, int]] = {}
        self._cols: dict[str, array[int]] = {
            k: array("i") for k in ("tenant", "region", "zone", "avset", "ud", "tz", "off_peak", "os")
        }
        self._flex = bytearray()
        self._daily = bytearray()
        self._eligible = bytearray()
        self._reasons: dict[int, str] = {}

    def _pairs(self) -> tuple[int, ...]:
        pair_of = [-1] * len(self._regions)
        for i, r in enumerate(self._regions):
            if r.pair is None:
                continue
            j = self._region_index.get(r.pair)
            if j is None:
                raise InvalidInput(f"region {r.name!r} names unknown pair {r.pair!r}", target="regions")
            if j == i:
                raise InvalidInput(f"region {r.name!r} cannot be its own pair", target="regions")
            other = self._regions[j].pair
            if other is not None and other != r.name:
                raise InvalidInput(
                    f"geo-pairs must be symmetric: {r.name!r} names {r.pair!r}, which names {other!r}",
                    target="regions",
                )
            pair_of[i], pair_of[j] = j, i
        return tuple(pair_of)

    def _time_zone(self, name: str) -> int:
        found = self._tz_cache.get(name)
        if found is None:
            found = self._tz_cache[name] = self._tzs(iana_zone(name))
        return found

    def add(
        self,
        name: str,
        tenant: str,
        region: str,
        *,
        zone: str | None = None,
        availability_set: str | None = None,
        update_domain: int | None = None,
        windows_time_zone: str | None = None,
        time_zone_override: str | None = None,
        off_peak_override: OffPeak | None = None,
        scale_set_flex: bool = False,
        patch_mode: str = AUTOMATIC_BY_PLATFORM,
        assessment_mode: str = "ImageDefault",
        bypass_platform_safety_checks: bool = False,
        os: str = "linux",
        ineligible_reason: str | None = None,
    ) -> int:
        """Add one machine; returns its row. Raises :class:`InvalidInput` naming the machine."""
        r = self._region_index.get(region)
        if r is None:
            raise InvalidInput(f"machine {name!r} is in unknown region {region!r}", target=name)
        if zone is not None and availability_set is not None:
            raise InvalidInput(
                f"machine {name!r} is in zone {zone!r} and availability set {availability_set!r}; "
                "a machine is in at most one of them",
                target=name,
            )
        if (availability_set is None) != (update_domain is None):
            raise InvalidInput(
                f"machine {name!r}: an update domain goes with an availability set", target=name
            )
        if update_domain is not None and not 0 <= update_domain < 20:
            raise InvalidInput(f"machine {name!r}: update domain must be 0-19", target=name)
        t = self._tenants(tenant)
        a = -1
        if availability_set is not None:
            a = self._avsets(availability_set)
            home = self._avset_home.setdefault(a, (r, t))
            if home != (r, t):
                raise InvalidInput(
                    f"availability set {availability_set!r} spans regions or tenants (machine {name!r})",
                    target=name,
                )
        if time_zone_override is not None:
            tz = self._time_zone(time_zone_override)
        elif windows_time_zone is not None:
            tz = self._time_zone(windows_time_zone)
        else:
            tz = self._region_tz[r]
        op = -1
        if off_peak_override is not None:
            op = self._off_peak_index.get(off_peak_override, -1)
            if op < 0:
                op = self._off_peak_index[off_peak_override] = len(self._off_peaks)
                self._off_peaks.append(off_peak_override)
        row = len(self.names)
        self.names.append(name)
        cols = self._cols
        cols["tenant"].append(t)
        cols["region"].append(r)
        cols["zone"].append(-1 if zone is None else self._zones(zone))
        cols["avset"].append(a)
        cols["ud"].append(-1 if update_domain is None else update_domain)
        cols["tz"].append(tz)
        cols["off_peak"].append(op)
        cols["os"].append(self._os(os))
        self._flex.append(1 if scale_set_flex else 0)
        self._daily.append(1 if assessment_mode == AUTOMATIC_BY_PLATFORM else 0)
        reason = ineligible_reason
        if reason is None and patch_mode != AUTOMATIC_BY_PLATFORM:
            reason = f"patchMode is {patch_mode}, not AutomaticByPlatform"
        if reason is None and bypass_platform_safety_checks:
            reason = "bypassPlatformSafetyChecksOnUserSchedule is set (customer-managed schedule)"
        self._eligible.append(0 if reason else 1)
        if reason:
            self._reasons[row] = reason
        return row

    def add_machine(self, m: Machine) -> int:
        return self.add(
            m.name, m.tenant, m.region, zone=m.zone, availability_set=m.availability_set,
            update_domain=m.update_domain, windows_time_zone=m.windows_time_zone,
            time_zone_override=m.time_zone_override, off_peak_override=m.off_peak_override,
            scale_set_flex=m.scale_set_flex, patch_mode=m.patch_mode, assessment_mode=m.assessment_mode,
            bypass_platform_safety_checks=m.bypass_platform_safety_checks, os=m.os,
            ineligible_reason=m.ineligible_reason,
        )

    def build(self) -> Fleet:
        if len(set(self.names)) != len(self.names):
            raise InvalidInput("machine names must be unique", target="machines")
        c = self._cols
        return Fleet(
            regions=self._regions, pair_of=self._pair_of, names=self.names,
            tenants=self._tenants.values, zones=self._zones.values, avsets=self._avsets.values,
            time_zones=self._tzs.values, os_keys=self._os.values, off_peaks=self._off_peaks,
            tenant=c["tenant"], region=c["region"], zone=c["zone"], avset=c["avset"], ud=c["ud"],
            tz=c["tz"], off_peak=c["off_peak"], flex=self._flex, os=c["os"], assess_daily=self._daily,
            eligible=self._eligible, reasons=self._reasons,
        )


def build_fleet(regions: Iterable[Region], machines: Iterable[Machine]) -> Fleet:
    """Convenience: a :class:`Fleet` from region and machine values."""
    builder = FleetBuilder(regions)
    for m in machines:
        builder.add_machine(m)
    return builder.build()


def pairs_from_mapping(pairs: Mapping[str, str]) -> dict[str, str]:
    """Symmetric closure of a ``{region: pair}`` mapping (the catalog hands one direction)."""
    out = dict(pairs)
    for a, b in pairs.items():
        if out.setdefault(b, a) != a:
            raise InvalidInput(f"region {b!r} is paired with both {out[b]!r} and {a!r}", target="pairs")
    return out
