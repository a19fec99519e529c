"""Loading operators' catalog files from disk: good files merge, bad files are ConfigErrors naming file and path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guestpatch.catalogs import load_image_catalog, load_image_catalog_file, load_region_catalog_file
from guestpatch.core.vm import ImageRef
from guestpatch.errors import ConfigError

GOLDEN = {"publisher": "Contoso", "offer": "golden", "skus": ["v1", "v2"], "osType": "Linux", "family": "debian",
          "version": "12", "endOfLife": None}


def test_an_image_file_loads_as_operator_entries(tmp_path: Path) -> None:
    """Every sku of the file becomes an operator entry that merges into the built-in catalog."""
    path = tmp_path / "images.json"
    path.write_text(json.dumps({"images": [GOLDEN]}))
    catalog = load_image_catalog().merged(load_image_catalog_file(path))
    entry = catalog.lookup(ImageRef("contoso", "golden", "V2"))
    assert entry is not None
    assert entry.source == "operator"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "is not valid JSON"),
        (json.dumps({"images": [{**GOLDEN, "endOfLife": "soon"}]}), "invalid at 'images[0].endOfLife'"),
        (json.dumps({"imgs": []}), "invalid at 'images'"),
    ],
)
def test_a_bad_image_file_is_a_config_error_naming_the_file(tmp_path: Path, content: str, fragment: str) -> None:
    """Syntax and content errors name the file and, for content, the JSON path."""
    path = tmp_path / "images.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_image_catalog_file(path)
    assert str(path) in caught.value.message
    assert fragment in caught.value.message


def test_a_missing_image_file_is_a_config_error(tmp_path: Path) -> None:
    """An unreadable file is reported, not a traceback."""
    with pytest.raises(ConfigError, match="Cannot read the image catalog file"):
        load_image_catalog_file(tmp_path / "absent.json")


def test_a_region_file_adds_sites_and_pairs_them(tmp_path: Path) -> None:
    """Sites of the file join the built-in regions; pairing with an unpaired region completes the pair."""
    path = tmp_path / "regions.json"
    path.write_text(json.dumps({"regions": [
        {"name": "onprem-waw1", "displayName": "On-prem Warsaw 1", "timeZone": "Europe/Warsaw",
         "pair": "polandcentral", "geography": "Poland"},
    ]}))
    catalog = load_region_catalog_file(path)
    assert catalog.pair_of("polandcentral") == "onprem-waw1"
    assert catalog.get("westeurope") is not None


@pytest.mark.parametrize(
    ("region", "fragment"),
    [
        ({"name": "site-a", "displayName": "A", "timeZone": "Mars/Olympus", "geography": "X"},
         "invalid at 'regions[0].timeZone'"),
        ({"name": "site-a", "displayName": "A", "timeZone": "UTC", "geography": "X", "pair": "westeurope"},
         "symmetric"),
    ],
)
def test_a_bad_region_file_is_a_config_error(tmp_path: Path, region: dict[str, str], fragment: str) -> None:
    """Unknown time zones and impossible pairs are refused with the file's name."""
    path = tmp_path / "regions.json"
    path.write_text(json.dumps({"regions": [region]}))
    with pytest.raises(ConfigError) as caught:
        load_region_catalog_file(path)
    assert str(path) in caught.value.message
    assert fragment in caught.value.message
