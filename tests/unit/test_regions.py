"""The region catalog: parsing, lookup by normalised name, symmetric geo-pairs, operator sites."""

from __future__ import annotations

import pytest

from guestpatch.core.regions import Region, RegionCatalog, normalize_location, validate_new_region
from guestpatch.errors import Conflict, InvalidInput

ZONES = frozenset({"Europe/Amsterdam", "Europe/Dublin", "Europe/Berlin", "America/New_York", "Asia/Tokyo"})


def _catalog() -> RegionCatalog:
    return RegionCatalog.from_json(
        {
            "regions": [
                {"name": "westeurope", "displayName": "West Europe", "timeZone": "Europe/Amsterdam",
                 "pair": "northeurope", "geography": "Europe"},
                {"name": "northeurope", "displayName": "North Europe", "timeZone": "Europe/Dublin",
                 "pair": "westeurope", "geography": "Europe"},
                {"name": "polandcentral", "displayName": "Poland Central", "timeZone": "Europe/Berlin",
                 "geography": "Poland"},
            ]
        }
    )


def _site(**changes: object) -> Region:
    fields: dict[str, object] = {
        "name": "onprem-fra1", "display_name": "On-prem Frankfurt 1", "time_zone": "Europe/Berlin",
        "pair": None, "geography": "Germany", "source": "operator",
    }
    fields.update(changes)
    return Region(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("West Europe", "westeurope"), ("westeurope", "westeurope"), (" East US 2 ", "eastus2"), ("UK\tSouth", "uksouth")],
)
def test_normalize_location_lowercases_and_drops_blanks(text: str, expected: str) -> None:
    """ARM compares locations without blanks and case."""
    assert normalize_location(text) == expected


def test_get_finds_a_region_by_display_name_or_name() -> None:
    """'West Europe', 'WESTEUROPE' and 'westeurope' all find the same region."""
    catalog = _catalog()
    assert catalog.get("West Europe") == catalog.get("WESTEUROPE") == catalog.get("westeurope")
    assert catalog.get("westeurope") is not None
    assert catalog.get("mars") is None


def test_pair_of_answers_both_directions_and_none_for_unpaired() -> None:
    """A geo-pair reads the same from both sides; an unpaired or unknown region has no pair."""
    catalog = _catalog()
    assert catalog.pair_of("westeurope") == "northeurope"
    assert catalog.pair_of("North Europe") == "westeurope"
    assert catalog.pair_of("polandcentral") is None
    assert catalog.pair_of("mars") is None


def test_regions_keeps_catalog_order_and_source() -> None:
    """regions() lists the catalog in file order, each tagged with the source given to from_json."""
    catalog = _catalog()
    assert [r.name for r in catalog.regions()] == ["westeurope", "northeurope", "polandcentral"]
    assert {r.source for r in catalog.regions()} == {"builtin"}


def test_from_json_accepts_a_bare_list() -> None:
    """The operator API may send the list without the wrapping object."""
    catalog = RegionCatalog.from_json(
        [{"name": "site-a", "displayName": "Site A", "timeZone": "Asia/Tokyo", "geography": "Japan"}],
        source="operator",
    )
    assert catalog.names() == ("site-a",)
    assert catalog.regions()[0].source == "operator"


@pytest.mark.parametrize(
    ("data", "target", "fragment"),
    [
        ("nope", "regions", '{"regions": [...]}'),
        ({"regions": [], "extra": 1}, "extra", "Unknown field 'extra'"),
        ({"regions": [5]}, "regions[0]", "must be a JSON object"),
        ({"regions": [{"name": "West Europe", "displayName": "W", "timeZone": "Europe/Berlin", "geography": "E"}]},
         "regions[0].name", "is invalid"),
        ({"regions": [{"name": "a1", "displayName": "", "timeZone": "Europe/Berlin", "geography": "E"}]},
         "regions[0].displayName", "non-empty string"),
        ({"regions": [{"name": "a1", "displayName": "A", "timeZone": "Europe/Berlin", "geography": "E",
                       "pairs": "b1"}]},
         "regions[0].pairs", "Unknown region field 'pairs'"),
        ({"regions": [{"name": "a1", "displayName": "A", "timeZone": "Europe/Berlin", "geography": "E",
                       "pair": 7}]},
         "regions[0].pair", "region name or null"),
        ({"regions": [{"name": "a1", "displayName": "A", "timeZone": "Mars/Olympus", "geography": "E"}]},
         "regions[0].timeZone", "not an IANA time zone"),
    ],
)
def test_from_json_refuses_bad_entries_naming_the_path(data: object, target: str, fragment: str) -> None:
    """A malformed catalog is an InvalidInput whose target is the JSON path of the bad value."""
    with pytest.raises(InvalidInput) as caught:
        RegionCatalog.from_json(data, time_zones=ZONES)
    assert caught.value.target == target
    assert fragment in caught.value.message


def test_from_json_skips_the_time_zone_check_without_a_zone_set() -> None:
    """Without time_zones the zone names are taken as given (the data file test checks them)."""
    catalog = RegionCatalog.from_json(
        [{"name": "a1", "displayName": "A", "timeZone": "Mars/Olympus", "geography": "E"}]
    )
    assert catalog.get("a1") is not None


def test_catalog_refuses_a_one_way_pair() -> None:
    """Pairs must be symmetric: a → b while b → nothing is refused, naming both regions."""
    with pytest.raises(InvalidInput, match="symmetric: 'a1' is paired with 'b1'"):
        RegionCatalog([
            Region("a1", "A", "Europe/Berlin", "b1", "E"),
            Region("b1", "B", "Europe/Berlin", None, "E"),
        ])


def test_catalog_refuses_a_pair_with_an_unknown_region() -> None:
    """A pair must name a region of the catalog."""
    with pytest.raises(InvalidInput, match="'zz' of region 'a1' is not a known region"):
        RegionCatalog([Region("a1", "A", "Europe/Berlin", "zz", "E")])


def test_catalog_refuses_self_pairing_and_duplicates() -> None:
    """A region cannot pair with itself nor appear twice."""
    with pytest.raises(InvalidInput, match="paired with itself"):
        RegionCatalog([Region("a1", "A", "Europe/Berlin", "a1", "E")])
    with pytest.raises(InvalidInput, match="listed twice"):
        RegionCatalog([Region("a1", "A", "Europe/Berlin", None, "E"), Region("a1", "A", "Europe/Berlin", None, "E")])


def test_merged_adds_operator_sites_and_completes_a_pair_with_an_unpaired_region() -> None:
    """An operator site paired with an unpaired region makes the pair symmetric on both sides."""
    merged = _catalog().merged([_site(pair="polandcentral")])
    assert merged.pair_of("onprem-fra1") == "polandcentral"
    assert merged.pair_of("polandcentral") == "onprem-fra1"
    assert merged.get("onprem-fra1").source == "operator"  # type: ignore[union-attr]
    assert _catalog().pair_of("polandcentral") is None  # the original is unchanged


def test_merged_refuses_pairing_with_an_already_paired_region() -> None:
    """A site cannot take a region that is already paired with another one."""
    with pytest.raises(InvalidInput, match="symmetric"):
        _catalog().merged([_site(pair="westeurope")])


def test_merged_replaces_a_same_named_region() -> None:
    """An operator entry with a built-in name replaces it (e.g. to correct a time zone)."""
    merged = _catalog().merged([Region("polandcentral", "Poland Central", "Europe/Warsaw", None, "Poland",
                                       "operator")])
    assert merged.get("polandcentral").time_zone == "Europe/Warsaw"  # type: ignore[union-attr]
    assert len(merged) == 3


def test_validate_new_region_accepts_a_valid_site() -> None:
    """A well-formed, unpaired site with a known zone passes."""
    validate_new_region(_site(), _catalog(), time_zones=ZONES)


def test_validate_new_region_accepts_a_pair_with_an_unpaired_region() -> None:
    """Pairing with a region that has no pair yet is allowed."""
    validate_new_region(_site(pair="polandcentral"), _catalog(), time_zones=ZONES)


@pytest.mark.parametrize(
    ("changes", "target", "fragment"),
    [
        ({"name": "Onprem FRA1"}, "name", "is invalid"),
        ({"name": "x"}, "name", "is invalid"),
        ({"name": "site-"}, "name", "is invalid"),
        ({"display_name": " "}, "displayName", "1 to 100 characters"),
        ({"display_name": "North Europe"}, "displayName", "would be read as the region 'northeurope'"),
        ({"time_zone": "CET-ish"}, "timeZone", "not an IANA time zone"),
        ({"geography": ""}, "geography", "must not be empty"),
        ({"pair": "mars"}, "pair", "not a known region"),
        ({"pair": "onprem-fra1"}, "pair", "paired with itself"),
        ({"pair": "westeurope"}, "pair", "already paired with 'northeurope'"),
    ],
)
def test_validate_new_region_refuses(changes: dict[str, object], target: str, fragment: str) -> None:
    """Each operator mistake is a 400 InvalidParameter with the field as target."""
    with pytest.raises(InvalidInput) as caught:
        validate_new_region(_site(**changes), _catalog(), time_zones=ZONES)
    assert (caught.value.status, caught.value.code, caught.value.target) == (400, "InvalidParameter", target)
    assert fragment in caught.value.message


def test_validate_new_region_refuses_a_taken_name_with_409() -> None:
    """Adding a region whose name exists is a Conflict (409 RegionAlreadyExists)."""
    with pytest.raises(Conflict) as caught:
        validate_new_region(_site(name="westeurope", display_name="Mine"), _catalog(), time_zones=ZONES)
    assert (caught.value.status, caught.value.code, caught.value.target) == (409, "RegionAlreadyExists", "name")


def test_region_to_json_round_trips_through_from_json() -> None:
    """to_json gives the catalog format (plus source) that from_json reads back."""
    region = _site(pair="polandcentral")
    data = region.to_json()
    assert data["source"] == "operator"
    del data["source"]
    assert Region.from_json(data, source="operator") == region
