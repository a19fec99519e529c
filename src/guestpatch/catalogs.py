"""Load the image and region catalogs: the packaged data files and operators' catalog files.

This is the shell around :mod:`guestpatch.core.images` and :mod:`guestpatch.core.regions`: it reads
files (with :mod:`importlib.resources` for the packaged ones) and hands the parsed JSON to the core.
A broken operator file is a :class:`~guestpatch.errors.ConfigError` naming the file and the JSON
path of the bad value.
"""

from __future__ import annotations

import json
import zoneinfo
from collections.abc import Collection, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from guestpatch.core.images import ImageCatalog, aliases_from_json
from guestpatch.core.regions import Region, RegionCatalog
from guestpatch.core.vm import ImageRef
from guestpatch.errors import ConfigError, InvalidInput

_DATA = "guestpatch.data"


def _packaged_json(name: str) -> object:
    return json.loads(resources.files(_DATA).joinpath(name).read_text(encoding="utf-8"))


@cache
def load_image_catalog() -> ImageCatalog:
    """The supported-image catalog shipped in ``guestpatch/data/images.json``."""
    return ImageCatalog.from_json(_packaged_json("images.json"), source="builtin")


@cache
def load_image_aliases() -> Mapping[str, ImageRef]:
    """az CLI's image aliases shipped in ``guestpatch/data/image_aliases.json`` (read-only)."""
    return MappingProxyType(aliases_from_json(_packaged_json("image_aliases.json")))


@cache
def load_region_catalog() -> RegionCatalog:
    """Azure's public regions and geo-pairs shipped in ``guestpatch/data/regions.json``."""
    return RegionCatalog.from_json(_packaged_json("regions.json"), source="builtin")


def available_time_zones() -> Collection[str]:
    """The IANA time zone names this host knows (``zoneinfo.available_timezones()``)."""
    return zoneinfo.available_timezones()


def _read_json_file(path: Path, what: str) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read the {what} file {path}: {exc.strerror or exc}.") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"The {what} file {path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc


def load_image_catalog_file(path: Path) -> ImageCatalog:
    """An operator's image catalog file (same format as the packaged one), ``source="operator"``."""
    data = _read_json_file(path, "image catalog")
    try:
        return ImageCatalog.from_json(data, source="operator")
    except InvalidInput as exc:
        raise ConfigError(f"The image catalog file {path} is invalid at '{exc.target}': {exc.message}") from exc


def load_region_catalog_file(path: Path, *, base: RegionCatalog | None = None) -> RegionCatalog:
    """``base`` (default: the packaged regions) merged with an operator's region file.

    The file has the catalog format; its regions may pair with regions of ``base``. Every time zone
    must be known to this host.
    """
    data = _read_json_file(path, "region catalog")
    base = base if base is not None else load_region_catalog()
    try:
        if not isinstance(data, dict) or not isinstance(data.get("regions"), list):
            raise InvalidInput('A region catalog is a JSON object {"regions": [...]}.', target="regions")
        extra = [
            Region.from_json(item, source="operator", target=f"regions[{i}]")
            for i, item in enumerate(data["regions"])
        ]
        zones = available_time_zones()
        for i, region in enumerate(extra):
            if region.time_zone not in zones:
                raise InvalidInput(
                    f"The time zone '{region.time_zone}' is not an IANA time zone name "
                    "(like 'Europe/Berlin').",
                    target=f"regions[{i}].timeZone",
                )
        return base.merged(extra)
    except InvalidInput as exc:
        raise ConfigError(f"The region catalog file {path} is invalid at '{exc.target}': {exc.message}") from exc
