"""The image and region catalogs in force: built-in data, the operator's file, and operator rows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

from guestpatch import catalogs as packaged
from guestpatch.core.images import ImageCatalog, ImageEntry
from guestpatch.core.regions import Region, RegionCatalog
from guestpatch.store import topology


class Catalogs:
    """Built-in catalogs loaded once; operator additions read from the store on each use (small tables)."""

    def __init__(self, *, operator_images_file: Path | None = None) -> None:
        self.builtin_images = packaged.load_image_catalog()
        self.builtin_regions = packaged.load_region_catalog()
        self.aliases = packaged.load_image_aliases()
        self.file_images = packaged.load_image_catalog_file(operator_images_file) if operator_images_file else None

    def images(self, conn: Connection) -> ImageCatalog:
        catalog = self.builtin_images
        if self.file_images is not None:
            catalog = catalog.merged(self.file_images)
        rows = topology.list_images(conn)
        if rows:
            catalog = catalog.merged(
                ImageCatalog(
                    ImageEntry(
                        publisher=r.publisher, offer=r.offer, sku=r.sku, os_type=r.os_type, family=r.family,
                        version=r.version, end_of_life=r.end_of_life, source="operator",
                    )
                    for r in rows
                )
            )
        return catalog

    def regions(self, conn: Connection) -> RegionCatalog:
        rows = topology.list_regions(conn)
        if not rows:
            return self.builtin_regions
        return self.builtin_regions.merged(
            Region(
                name=r.name, display_name=r.display_name, time_zone=r.time_zone, pair=r.pair,
                geography=r.geography, source="operator",
            )
            for r in rows
        )
