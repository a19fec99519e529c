"""The supported-image catalog, image end-of-life, and image aliases.

Automatic VM guest patching (patch or assessment mode ``AutomaticByPlatform``) is allowed only on
images of this catalog, matched on the exact publisher + offer + sku, compared case-insensitively
(the version does not matter). Each :class:`ImageEntry` carries its end-of-life date: the last day
the image, as published, receives updates from its default repositories without an extra
subscription (see ``docs/images.md`` for the date of each family).

Catalog JSON (``guestpatch/data/images.json``, an operator's ``--image-catalog-file``, the operator
API)::

    {"images": [{"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy",
                 "skus": ["22_04-lts", "22_04-lts-gen2"], "osType": "Linux", "family": "ubuntu",
                 "version": "22.04", "endOfLife": "2027-05-31"}]}

Each object has ``sku`` (one) or ``skus`` (several); ``endOfLife`` is a date or null (none
announced). An alias file maps az CLI's names to URNs: ``{"aliases": {"Ubuntu2204":
"Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest"}}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from guestpatch.core.rules import json_kind
from guestpatch.core.vm import ImageRef
from guestpatch.errors import InvalidInput

Source = Literal["builtin", "operator"]
OS_TYPES = ("Linux", "Windows")
FAMILIES = frozenset({
    "ubuntu", "debian", "rhel", "centos", "almalinux", "rocky", "oraclelinux", "sles", "opensuse",
    "azurelinux", "cbl-mariner", "windows",
})
_FIELDS = {"publisher", "offer", "sku", "skus", "osType", "family", "version", "endOfLife"}
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class ImageEntry:
    """One supported image: publisher + offer + sku, what it is, and when it stops being patched."""

    publisher: str
    offer: str
    sku: str
    os_type: str  # "Linux" | "Windows"
    family: str  # one of FAMILIES
    version: str  # the release, e.g. "22.04", "9", "2022"
    end_of_life: date | None  # None: no end announced
    source: Source = "builtin"

    @property
    def key(self) -> tuple[str, str, str]:
        """The case-insensitive identity of the image."""
        return (self.publisher.lower(), self.offer.lower(), self.sku.lower())

    @property
    def urn(self) -> str:
        """``publisher:offer:sku`` as the catalog spells it."""
        return f"{self.publisher}:{self.offer}:{self.sku}"

    def is_past_end_of_life(self, today: date) -> bool:
        """True from the day after the end-of-life date on."""
        return self.end_of_life is not None and today > self.end_of_life

    def to_json(self) -> dict[str, object]:
        """The JSON object of this entry (one ``sku``, plus its ``source``)."""
        return {
            "publisher": self.publisher,
            "offer": self.offer,
            "sku": self.sku,
            "osType": self.os_type,
            "family": self.family,
            "version": self.version,
            "endOfLife": self.end_of_life.isoformat() if self.end_of_life else None,
            "source": self.source,
        }


class ImageCatalog:
    """An immutable set of supported images, looked up case-insensitively."""

    def __init__(self, entries: Iterable[ImageEntry]) -> None:
        self._by_key: dict[tuple[str, str, str], ImageEntry] = {}
        for entry in entries:
            self._by_key[entry.key] = entry  # a later entry replaces an earlier one

    @classmethod
    def from_json(cls, data: object, *, source: Source = "builtin") -> ImageCatalog:
        """A catalog from ``{"images": [...]}`` (or the bare list); raises :class:`InvalidInput`
        naming the bad value."""
        items = _list_of(data, "images", 'An image catalog is a JSON object {"images": [...]}.')
        entries: list[ImageEntry] = []
        seen: dict[tuple[str, str, str], str] = {}
        for i, item in enumerate(items):
            for entry in entries_from_json(item, source=source, target=f"images[{i}]"):
                if entry.key in seen:
                    raise _invalid(
                        f"The image '{entry.urn}' is listed twice ({seen[entry.key]} and images[{i}]).",
                        f"images[{i}]",
                    )
                seen[entry.key] = f"images[{i}]"
                entries.append(entry)
        return cls(entries)

    def merged(self, other: ImageCatalog) -> ImageCatalog:
        """This catalog extended by ``other``; an image in both takes ``other``'s entry."""
        return ImageCatalog([*self._by_key.values(), *other.entries()])

    def lookup(self, ref: ImageRef) -> ImageEntry | None:
        """The entry for ``ref``'s publisher + offer + sku (any case), or None."""
        return self._by_key.get((ref.publisher.lower(), ref.offer.lower(), ref.sku.lower()))

    def entries(self) -> tuple[ImageEntry, ...]:
        """Every entry, in catalog order."""
        return tuple(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)


def entries_from_json(data: object, *, source: Source = "operator", target: str = "image") -> list[ImageEntry]:
    """The entries one catalog object stands for (one per sku)."""
    if not isinstance(data, Mapping):
        raise _invalid(f"An image entry must be a JSON object, not {json_kind(data)}.", target)
    unknown = sorted(str(key) for key in data if key not in _FIELDS)
    if unknown:
        raise _invalid(
            f"Unknown image field '{unknown[0]}'; an image has {', '.join(sorted(_FIELDS - {'skus'}))} "
            "(or 'skus' for several).",
            f"{target}.{unknown[0]}",
        )
    publisher = _token(data, "publisher", target)
    offer = _token(data, "offer", target)
    if ("sku" in data) == ("skus" in data):
        raise _invalid("An image entry has either 'sku' (a string) or 'skus' (a list), exactly one.", f"{target}.sku")
    if "sku" in data:
        skus = [_token(data, "sku", target)]
    else:
        raw = data["skus"]
        if not isinstance(raw, list) or not raw:
            raise _invalid("'skus' must be a non-empty list of sku names.", f"{target}.skus")
        skus = [_token({"sku": sku}, "sku", f"{target}.skus[{j}]", label=f"{target}.skus[{j}]")
                for j, sku in enumerate(raw)]
    os_type = _one_of(data, "osType", OS_TYPES, target)
    family = _one_of(data, "family", tuple(sorted(FAMILIES)), target)
    if (family == "windows") != (os_type == "Windows"):
        raise _invalid(
            f"The family '{family}' does not match osType '{os_type}': the family 'windows' goes with "
            "osType 'Windows' and every other family with 'Linux'.",
            f"{target}.family",
        )
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise _invalid("'version' must be a non-empty string such as '22.04' or '2022'.", f"{target}.version")
    end_of_life = _date(data.get("endOfLife"), f"{target}.endOfLife")
    return [
        ImageEntry(publisher, offer, sku, os_type, family, version, end_of_life, source) for sku in skus
    ]


def aliases_from_json(data: object) -> dict[str, ImageRef]:
    """The alias table from ``{"aliases": {"Ubuntu2204": "publisher:offer:sku:version", ...}}``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("aliases"), Mapping):
        raise _invalid('An alias file is a JSON object {"aliases": {"Name": "publisher:offer:sku:version"}}.',
                       "aliases")
    table: dict[str, ImageRef] = {}
    for alias, urn in data["aliases"].items():
        if not isinstance(urn, str):
            raise _invalid(f"The alias '{alias}' must map to a URN string.", f"aliases.{alias}")
        table[str(alias)] = parse_urn(urn, target=f"aliases.{alias}")
    return table


def parse_urn(text: str, *, target: str = "image") -> ImageRef:
    """``publisher:offer:sku:version`` to an :class:`ImageRef`; :class:`InvalidInput` otherwise."""
    parts = text.split(":")
    if len(parts) != 4 or not all(_TOKEN.fullmatch(part) for part in parts):
        raise _invalid(
            f"'{text}' is not an image URN: write publisher:offer:sku:version "
            "(for example Canonical:ubuntu-24_04-lts:server:latest).",
            target,
        )
    return ImageRef(publisher=parts[0], offer=parts[1], sku=parts[2], version=parts[3])


def resolve_alias(alias: str, aliases: Mapping[str, ImageRef]) -> ImageRef:
    """The image an alias (any case, e.g. ``ubuntu2204``) or a URN names."""
    wanted = alias.strip().lower()
    for name, ref in aliases.items():
        if name.lower() == wanted:
            return ref
    if ":" in alias:
        return parse_urn(alias.strip())
    known = ", ".join(sorted(aliases, key=str.lower))
    raise _invalid(
        f"The image '{alias}' is neither a known alias ({known}) nor a URN publisher:offer:sku:version.",
        "image",
    )


# ---------------------------------------------------------------- helpers


def _list_of(data: object, key: str, shape: str) -> list[object]:
    """``data[key]`` of ``{key: [...]}``, or ``data`` itself when it is the bare list."""
    if isinstance(data, list):
        return data
    if not isinstance(data, Mapping) or not isinstance(data.get(key), list):
        raise _invalid(shape, key)
    extra = sorted(str(name) for name in data if name != key)
    if extra:
        raise _invalid(f"Unknown field '{extra[0]}' next to '{key}'.", extra[0])
    items: list[object] = data[key]
    return items


def _token(data: Mapping[object, object], key: str, target: str, *, label: str = "") -> str:
    value = data.get(key)
    where = label or f"{target}.{key}"
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise _invalid(
            f"'{where}' must be a name of letters, digits, '.', '_' and '-' (1 to 128 characters), "
            f"not {json_kind(value)}.",
            where,
        )
    return value


def _one_of(data: Mapping[object, object], key: str, allowed: tuple[str, ...], target: str) -> str:
    value = data.get(key)
    for choice in allowed:
        if isinstance(value, str) and value.lower() == choice.lower():
            return choice
    raise _invalid(
        f"The value {json_kind(value)} of '{target}.{key}' is not allowed. Allowed values are: "
        f"{', '.join(allowed)}.",
        f"{target}.{key}",
    )


def _date(value: object, target: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _invalid(f"'{target}' must be a date YYYY-MM-DD or null, not {json_kind(value)}.", target)


def _invalid(message: str, target: str) -> InvalidInput:
    return InvalidInput(message, code="InvalidParameter", target=target)
