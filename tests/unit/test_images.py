"""The supported-image catalog model, end of life, URNs and aliases."""

from __future__ import annotations

from datetime import date

import pytest

from guestpatch.core.images import (
    ImageCatalog,
    ImageEntry,
    aliases_from_json,
    entries_from_json,
    parse_urn,
    resolve_alias,
)
from guestpatch.core.vm import ImageRef
from guestpatch.errors import InvalidInput

JAMMY = {
    "publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "skus": ["22_04-lts", "22_04-lts-gen2"],
    "osType": "Linux", "family": "ubuntu", "version": "22.04", "endOfLife": "2027-05-31",
}
BIONIC = {
    "publisher": "Canonical", "offer": "UbuntuServer", "sku": "18.04-LTS",
    "osType": "Linux", "family": "ubuntu", "version": "18.04", "endOfLife": "2023-05-31",
}


def _catalog() -> ImageCatalog:
    return ImageCatalog.from_json({"images": [JAMMY, BIONIC]})


def test_from_json_expands_skus_into_one_entry_each() -> None:
    """An object with 'skus' stands for one entry per sku, in order."""
    entries = _catalog().entries()
    assert [e.sku for e in entries] == ["22_04-lts", "22_04-lts-gen2", "18.04-LTS"]
    assert entries[0] == ImageEntry(
        "Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts", "Linux", "ubuntu", "22.04", date(2027, 5, 31),
        "builtin",
    )


def test_lookup_matches_publisher_offer_sku_in_any_case_and_ignores_the_version() -> None:
    """Support is decided by the exact publisher + offer + sku, case-insensitively."""
    catalog = _catalog()
    found = catalog.lookup(ImageRef("CANONICAL", "0001-Com-Ubuntu-Server-Jammy", "22_04-LTS-GEN2", "22.04.202401"))
    assert found is not None
    assert found.sku == "22_04-lts-gen2"


def test_lookup_misses_a_sku_that_only_resembles_a_listed_one() -> None:
    """A prefix or neighbour of a listed sku is not supported (exact match only)."""
    catalog = _catalog()
    assert catalog.lookup(ImageRef("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-arm64")) is None
    assert catalog.lookup(ImageRef("Canonical", "0001-com-ubuntu-server-jammy", "22_04")) is None
    assert catalog.lookup(ImageRef("Canonical", "UbuntuServer", "22_04-lts")) is None


def test_end_of_life_starts_the_day_after_the_date() -> None:
    """An image is past end of life from the day after its endOfLife date; None never ends."""
    bionic = _catalog().lookup(ImageRef("Canonical", "UbuntuServer", "18.04-LTS"))
    assert bionic is not None
    assert not bionic.is_past_end_of_life(date(2023, 5, 31))
    assert bionic.is_past_end_of_life(date(2023, 6, 1))
    forever = ImageEntry("Me", "golden", "v1", "Linux", "debian", "12", None, "operator")
    assert not forever.is_past_end_of_life(date(9999, 12, 31))


def test_merged_extends_and_overrides_with_the_operator_entries() -> None:
    """Operator images add to the catalog, and one with the same key (any case) replaces the built-in."""
    operator = ImageCatalog.from_json(
        [
            {**BIONIC, "publisher": "canonical", "endOfLife": "2028-04-30"},
            {"publisher": "Contoso", "offer": "golden-debian", "sku": "12", "osType": "Linux",
             "family": "debian", "version": "12", "endOfLife": None},
        ],
        source="operator",
    )
    merged = _catalog().merged(operator)
    assert len(merged) == 4
    bionic = merged.lookup(ImageRef("Canonical", "UbuntuServer", "18.04-LTS"))
    assert bionic is not None
    assert (bionic.end_of_life, bionic.source) == (date(2028, 4, 30), "operator")
    golden = merged.lookup(ImageRef("contoso", "GOLDEN-DEBIAN", "12"))
    assert golden is not None
    assert golden.end_of_life is None


def test_from_json_refuses_a_duplicate_image() -> None:
    """The same publisher + offer + sku twice (in any case) in one catalog is a mistake."""
    with pytest.raises(InvalidInput, match="listed twice"):
        ImageCatalog.from_json([BIONIC, {**BIONIC, "sku": "18.04-lts"}])


@pytest.mark.parametrize(
    ("changes", "target", "fragment"),
    [
        ({"publisher": ""}, "image.publisher", "must be a name"),
        ({"publisher": "Can onical"}, "image.publisher", "must be a name"),
        ({"offer": 5}, "image.offer", "not the number 5"),
        ({"skus": ["a"]}, "image.sku", "exactly one"),
        ({"osType": "BeOS"}, "image.osType", "Allowed values are: Linux, Windows"),
        ({"family": "gentoo"}, "image.family", "Allowed values are:"),
        ({"family": "windows"}, "image.family", "does not match osType 'Linux'"),
        ({"version": ""}, "image.version", "non-empty string"),
        ({"endOfLife": "31.05.2023"}, "image.endOfLife", "YYYY-MM-DD"),
        ({"endOfLife": "2023-02-30"}, "image.endOfLife", "YYYY-MM-DD"),
        ({"eol": "2023-05-31"}, "image.eol", "Unknown image field 'eol'"),
    ],
)
def test_entries_from_json_refuses_bad_fields(changes: dict[str, object], target: str, fragment: str) -> None:
    """Each malformed field is an InvalidInput (400 InvalidParameter) targeting that field."""
    with pytest.raises(InvalidInput) as caught:
        entries_from_json({**BIONIC, **changes})
    assert (caught.value.status, caught.value.code, caught.value.target) == (400, "InvalidParameter", target)
    assert fragment in caught.value.message


def test_entries_from_json_refuses_an_empty_sku_list_and_a_bad_sku_in_it() -> None:
    """'skus' must be a non-empty list of valid names; the bad element is named."""
    without_sku = {k: v for k, v in BIONIC.items() if k != "sku"}
    with pytest.raises(InvalidInput, match="non-empty list"):
        entries_from_json({**without_sku, "skus": []})
    with pytest.raises(InvalidInput) as caught:
        entries_from_json({**without_sku, "skus": ["ok", None]}, target="images[3]")
    assert caught.value.target == "images[3].skus[1]"


def test_from_json_refuses_a_non_catalog() -> None:
    """Neither a list nor {"images": [...]} is refused with the expected shape in the message."""
    with pytest.raises(InvalidInput, match=r'\{"images": \[\.\.\.\]\}'):
        ImageCatalog.from_json({"imgs": []})


def test_entry_to_json_round_trips() -> None:
    """to_json writes the catalog format (one sku, plus source) that entries_from_json reads back."""
    entry = _catalog().entries()[2]
    data = entry.to_json()
    assert data["source"] == "builtin"
    del data["source"]
    assert entries_from_json(data, source="builtin") == [entry]


ALIASES = aliases_from_json(
    {"aliases": {"Ubuntu2204": "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest"}}
)


def test_resolve_alias_finds_an_alias_in_any_case() -> None:
    """az CLI's aliases are matched case-insensitively."""
    expected = ImageRef("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2", "latest")
    assert resolve_alias("Ubuntu2204", ALIASES) == expected
    assert resolve_alias("ubuntu2204", ALIASES) == expected


def test_resolve_alias_reads_a_urn() -> None:
    """publisher:offer:sku:version is taken as it is."""
    assert resolve_alias("Debian:debian-12:12-gen2:latest", ALIASES) == ImageRef(
        "Debian", "debian-12", "12-gen2", "latest"
    )


@pytest.mark.parametrize("text", ["Ubuntu2205", "Debian:debian-12:12-gen2", "a:b:c:d:e", "a::c:d", "a:b c:d:e"])
def test_resolve_alias_refuses_unknown_names_and_malformed_urns(text: str) -> None:
    """Neither an alias nor a 4-part URN is an InvalidInput targeting 'image'."""
    with pytest.raises(InvalidInput) as caught:
        resolve_alias(text, ALIASES)
    assert caught.value.target == "image"


def test_resolve_alias_error_lists_the_known_aliases() -> None:
    """The message for an unknown alias names the aliases that exist."""
    with pytest.raises(InvalidInput, match=r"known alias \(Ubuntu2204\)"):
        resolve_alias("Ubuntu2205", ALIASES)


def test_parse_urn_keeps_the_spelling() -> None:
    """A URN's parts keep their case (lookups compare case-insensitively later)."""
    assert parse_urn("MicrosoftWindowsServer:WindowsServer:2022-datacenter-g2:latest").sku == "2022-datacenter-g2"


def test_aliases_from_json_refuses_a_non_string_urn() -> None:
    """An alias mapped to something other than a URN string is refused, naming the alias."""
    with pytest.raises(InvalidInput) as caught:
        aliases_from_json({"aliases": {"Broken": 42}})
    assert caught.value.target == "aliases.Broken"
