"""The region catalog: where machines live, the time zone their windows follow, and geo-pairs.

A :class:`Region` is one of Azure's public regions (shipped in ``guestpatch/data/regions.json``,
``source="builtin"``) or a site an operator added (an on-premises datacenter, ``source="operator"``).
Geo-pairs are symmetric in the catalog: if ``a.pair == "b"`` then ``b.pair == "a"`` (the planner never
puts both in one phase). Azure's few one-way pairs are made symmetric in the data file; the exceptions
are listed in ``docs/regions.md``.

Catalog JSON (the data file, an operator's file, the operator API)::

    {"regions": [{"name": "westeurope", "displayName": "West Europe",
                  "timeZone": "Europe/Amsterdam", "pair": "northeurope", "geography": "Europe"}]}

``pair`` may be omitted or null. Every error is :class:`~guestpatch.errors.InvalidInput` (or
:class:`~guestpatch.errors.Conflict` for a name that is taken) with ``target`` the JSON path of the
offending value.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from guestpatch.core.rules import json_kind
from guestpatch.errors import Conflict, InvalidInput

Source = Literal["builtin", "operator"]
_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}[a-z0-9]")
_FIELDS = {"name", "displayName", "timeZone", "pair", "geography"}
_WHITESPACE = re.compile(r"\s+")


def normalize_location(text: str) -> str:
    """ARM's normal form of a location: lower-case, blanks removed (``"West Europe"`` → ``"westeurope"``)."""
    return _WHITESPACE.sub("", text).lower()


@dataclass(frozen=True)
class Region:
    """One region or operator site."""

    name: str  # normal form (see normalize_location)
    display_name: str
    time_zone: str  # IANA name, e.g. "Europe/Amsterdam"
    pair: str | None  # name of the geo-paired region
    geography: str  # "United States", "Europe", ...; operators choose their own
    source: Source = "builtin"

    @classmethod
    def from_json(cls, data: object, *, source: Source = "operator", target: str = "") -> Region:
        """A region from its JSON object; types and the name's syntax are checked here."""
        where = target or "region"
        if not isinstance(data, Mapping):
            raise _invalid(f"A region must be a JSON object, not {json_kind(data)}.", where)
        unknown = sorted(str(key) for key in data if key not in _FIELDS)
        if unknown:
            raise _invalid(
                f"Unknown region field '{unknown[0]}'; a region has {', '.join(sorted(_FIELDS))}.",
                _join(target, unknown[0]),
            )
        name = _text(data, "name", target)
        if not _NAME.fullmatch(name):
            raise _invalid(
                f"The region name '{name}' is invalid: 2 to 64 lower-case letters, digits and hyphens, "
                "starting with a letter and not ending with a hyphen (like 'westeurope' or 'onprem-fra1').",
                _join(target, "name"),
            )
        pair = data.get("pair")
        if pair is not None and not isinstance(pair, str):
            raise _invalid(f"The pair of region '{name}' must be a region name or null.", _join(target, "pair"))
        return cls(
            name=name,
            display_name=_text(data, "displayName", target),
            time_zone=_text(data, "timeZone", target),
            pair=normalize_location(pair) if pair else None,
            geography=_text(data, "geography", target),
            source=source,
        )

    def to_json(self) -> dict[str, object]:
        """The JSON object of this region (as in the catalog file, plus its ``source``)."""
        return {
            "name": self.name,
            "displayName": self.display_name,
            "timeZone": self.time_zone,
            "pair": self.pair,
            "geography": self.geography,
            "source": self.source,
        }


class RegionCatalog:
    """An immutable set of regions with symmetric geo-pairs, looked up by normalised name."""

    def __init__(self, regions: Iterable[Region]) -> None:
        by_name: dict[str, Region] = {}
        for region in regions:
            if region.name in by_name:
                raise _invalid(f"The region '{region.name}' is listed twice.", "name")
            by_name[region.name] = region
        _check_pairs(by_name)
        self._by_name = by_name

    @classmethod
    def from_json(
        cls, data: object, *, source: Source = "builtin", time_zones: Collection[str] | None = None
    ) -> RegionCatalog:
        """A catalog from ``{"regions": [...]}`` (or the bare list); with ``time_zones`` every zone
        must be one of them."""
        items = _region_list(data)
        regions = [Region.from_json(item, source=source, target=f"regions[{i}]") for i, item in enumerate(items)]
        if time_zones is not None:
            for i, region in enumerate(regions):
                _check_time_zone(region, time_zones, f"regions[{i}].timeZone")
        return cls(regions)

    def merged(self, extra: Iterable[Region]) -> RegionCatalog:
        """This catalog with ``extra`` added (a same-named region is replaced).

        A region of ``extra`` paired with an unpaired region completes the pair on that side; the
        result must still have symmetric pairs (else :class:`InvalidInput`).
        """
        by_name = dict(self._by_name)
        added = list(extra)
        for region in added:
            by_name[region.name] = region
        for region in added:
            partner = by_name.get(region.pair) if region.pair else None
            if partner is not None and partner.pair is None:
                by_name[partner.name] = replace(partner, pair=region.name)
        return RegionCatalog(by_name.values())

    def get(self, name: str) -> Region | None:
        """The region called ``name`` (compared in normal form), or None."""
        return self._by_name.get(normalize_location(name))

    def pair_of(self, name: str) -> str | None:
        """The name of the region paired with ``name``, or None (unpaired or unknown)."""
        region = self.get(name)
        return region.pair if region is not None else None

    def regions(self) -> tuple[Region, ...]:
        """Every region, in catalog order."""
        return tuple(self._by_name.values())

    def names(self) -> tuple[str, ...]:
        """Every region name, in catalog order."""
        return tuple(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize_location(name) in self._by_name


def validate_new_region(region: Region, catalog: RegionCatalog, *, time_zones: Collection[str]) -> None:
    """Check a site an operator adds: syntax, IANA zone, pair, no clash with the catalog.

    ``time_zones`` is the set of valid IANA names (the shell passes
    ``zoneinfo.available_timezones()``). Raises :class:`InvalidInput`, or :class:`Conflict` (409,
    ``RegionAlreadyExists``) when the name is taken.
    """
    if not _NAME.fullmatch(region.name):
        raise _invalid(
            f"The region name '{region.name}' is invalid: 2 to 64 lower-case letters, digits and hyphens, "
            "starting with a letter and not ending with a hyphen.",
            "name",
        )
    if region.name in catalog:
        raise Conflict(
            f"A region named '{region.name}' already exists; choose another name.",
            code="RegionAlreadyExists",
            target="name",
        )
    display = region.display_name.strip()
    if not display or len(display) > 100:
        raise _invalid("The display name of a region has 1 to 100 characters.", "displayName")
    shadowed = catalog.get(display)
    if shadowed is not None:
        raise _invalid(
            f"The display name '{region.display_name}' would be read as the region '{shadowed.name}' "
            "(locations compare without blanks and case); choose another display name.",
            "displayName",
        )
    _check_time_zone(region, time_zones, "timeZone")
    if not region.geography.strip():
        raise _invalid("The geography of a region must not be empty (for example 'Europe').", "geography")
    if region.pair is None:
        return
    partner = catalog.get(region.pair)
    if region.pair == region.name:
        raise _invalid(f"The region '{region.name}' cannot be paired with itself.", "pair")
    if partner is None:
        raise _invalid(
            f"The pair '{region.pair}' of region '{region.name}' is not a known region; add it first.",
            "pair",
        )
    if partner.pair is not None and partner.pair != region.name:
        raise _invalid(
            f"The region '{partner.name}' is already paired with '{partner.pair}'; a region has at "
            "most one pair.",
            "pair",
        )


# ---------------------------------------------------------------- helpers


def _check_pairs(by_name: Mapping[str, Region]) -> None:
    for region in by_name.values():
        if region.pair is None:
            continue
        if region.pair == region.name:
            raise _invalid(f"The region '{region.name}' cannot be paired with itself.", "pair")
        partner = by_name.get(region.pair)
        if partner is None:
            raise _invalid(
                f"The pair '{region.pair}' of region '{region.name}' is not a known region.", "pair"
            )
        if partner.pair != region.name:
            raise _invalid(
                f"Geo-pairs must be symmetric: '{region.name}' is paired with '{partner.name}', but "
                f"'{partner.name}' is paired with '{partner.pair or 'no region'}'.",
                "pair",
            )


def _check_time_zone(region: Region, time_zones: Collection[str], target: str) -> None:
    if region.time_zone not in time_zones:
        raise _invalid(
            f"The time zone '{region.time_zone}' of region '{region.name}' is not an IANA time zone name "
            "(like 'Europe/Berlin' or 'America/New_York').",
            target,
        )


def _region_list(data: object) -> list[object]:
    if isinstance(data, list):
        return data
    if not isinstance(data, Mapping) or not isinstance(data.get("regions"), list):
        raise _invalid('A region catalog is a JSON object {"regions": [...]}.', "regions")
    extra = sorted(str(key) for key in data if key != "regions")
    if extra:
        raise _invalid(f"Unknown field '{extra[0]}' in the region catalog.", extra[0])
    items: list[object] = data["regions"]
    return items


def _text(data: Mapping[object, object], key: str, target: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"The region field '{key}' must be a non-empty string.", _join(target, key))
    return value


def _join(target: str, key: str) -> str:
    return f"{target}.{key}" if target else key


def _invalid(message: str, target: str) -> InvalidInput:
    return InvalidInput(message, code="InvalidParameter", target=target)
