"""Operator-added regions (sites) and images, stored next to the built-in catalogs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from guestpatch.errors import Conflict
from guestpatch.store.tables import images, regions


@dataclass(frozen=True)
class RegionRow:
    name: str
    display_name: str
    time_zone: str
    pair: str | None
    geography: str


@dataclass(frozen=True)
class ImageRow:
    publisher: str
    offer: str
    sku: str
    os_type: str
    family: str
    version: str
    end_of_life: date | None


def list_regions(conn: Connection) -> list[RegionRow]:
    rows = conn.execute(select(regions).order_by(regions.c.name)).mappings()
    return [RegionRow(r["name"], r["display_name"], r["time_zone"], r["pair"], r["geography"]) for r in rows]


def add_region(conn: Connection, row: RegionRow, *, now: datetime) -> None:
    try:
        with conn.begin_nested():
            conn.execute(insert(regions).values(**row.__dict__, created_at=now))
    except IntegrityError as exc:
        raise Conflict(f"The region '{row.name}' already exists.", target="name") from exc


def remove_region(conn: Connection, name: str) -> bool:
    return conn.execute(delete(regions).where(regions.c.name == name)).rowcount == 1


def image_key(publisher: str, offer: str, sku: str) -> str:
    return f"{publisher}:{offer}:{sku}".lower()


def list_images(conn: Connection) -> list[ImageRow]:
    rows = conn.execute(select(images).order_by(images.c.key)).mappings()
    return [
        ImageRow(r["publisher"], r["offer"], r["sku"], r["os_type"], r["family"], r["version"], r["end_of_life"])
        for r in rows
    ]


def add_image(conn: Connection, row: ImageRow, *, now: datetime) -> None:
    try:
        with conn.begin_nested():
            conn.execute(
                insert(images).values(
                    **row.__dict__, key=image_key(row.publisher, row.offer, row.sku), created_at=now
                )
            )
    except IntegrityError as exc:
        raise Conflict(
            f"The image '{row.publisher}:{row.offer}:{row.sku}' is already in the operator catalog.",
            target="sku",
        ) from exc


def remove_image(conn: Connection, publisher: str, offer: str, sku: str) -> bool:
    return conn.execute(delete(images).where(images.c.key == image_key(publisher, offer, sku))).rowcount == 1
