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


# ---------------------------------------------------------------- generated documentation
# docs/patch-settings.md, docs/images.md and docs/regions.md are written by hand around tables generated
# from the code and data; `python -m guestpatch.catalogs` refreshes those tables, and
# tests/unit/test_catalog_docs.py fails when a committed table differs from what is generated here.

DOCS = Path(__file__).resolve().parents[2] / "docs"


def images_markdown(catalog: ImageCatalog) -> str:
    """The catalog as a Markdown table, skus of one offer and release on one row."""
    rows: list[tuple[tuple[str, ...], list[str]]] = []
    for entry in catalog.entries():
        key = (entry.publisher, entry.offer, entry.os_type, entry.family, entry.version,
               entry.end_of_life.isoformat() if entry.end_of_life else "none announced")
        if rows and rows[-1][0] == key:
            rows[-1][1].append(entry.sku)
        else:
            rows.append((key, [entry.sku]))
    lines = ["| publisher | offer | skus | OS | family | version | end of life |", "|---|---|---|---|---|---|---|"]
    for (publisher, offer, os_type, family, version, end), skus in rows:
        lines.append(
            f"| {publisher} | {offer} | {', '.join(skus)} | {os_type} | {family} | {version} | {end} |"
        )
    return "\n".join(lines) + "\n"


def aliases_markdown(aliases: Mapping[str, ImageRef]) -> str:
    """The alias table as Markdown."""
    lines = ["| alias | image (publisher:offer:sku:version) |", "|---|---|"]
    lines += [f"| `{alias}` | `{ref.urn}` |" for alias, ref in aliases.items()]
    return "\n".join(lines) + "\n"


def regions_markdown(catalog: RegionCatalog) -> str:
    """The region catalog as a Markdown table."""
    lines = ["| name | display name | time zone | geo-pair | geography |", "|---|---|---|---|---|"]
    for region in catalog.regions():
        lines.append(
            f"| `{region.name}` | {region.display_name} | {region.time_zone} | "
            f"{f'`{region.pair}`' if region.pair else '—'} | {region.geography} |"
        )
    return "\n".join(lines) + "\n"


def generated_tables() -> dict[str, dict[str, str]]:
    """Document name → {table name → generated Markdown}."""
    from guestpatch.core.rules import rules_markdown

    return {
        "patch-settings.md": {"rules": rules_markdown()},
        "images.md": {"images": images_markdown(load_image_catalog()),
                      "aliases": aliases_markdown(load_image_aliases())},
        "regions.md": {"regions": regions_markdown(load_region_catalog())},
    }


def _markers(name: str) -> tuple[str, str]:
    return (f"<!-- generated:{name} begin (python -m guestpatch.catalogs); do not edit -->\n",
            f"<!-- generated:{name} end -->")


def generated_section(text: str, name: str) -> str | None:
    """The text between the markers of table ``name`` in a document, or None without markers."""
    begin, end = _markers(name)
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        return None
    return text[start + len(begin):stop]


def refresh_docs(docs: Path = DOCS) -> list[Path]:
    """Rewrite the generated tables of the documents in ``docs``; returns the files changed."""
    changed = []
    for document, tables in generated_tables().items():
        path = docs / document
        text = path.read_text(encoding="utf-8")
        updated = text
        for name, table in tables.items():
            current = generated_section(updated, name)
            if current is None:
                raise ConfigError(f"{path} has no markers for the generated table '{name}'.")
            begin, _ = _markers(name)
            updated = updated.replace(begin + current, begin + table, 1)
        if updated != text:
            path.write_text(updated, encoding="utf-8")
            changed.append(path)
    return changed


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    for changed_path in refresh_docs():
        print(f"rewrote {changed_path}")
