"""Operator API for topology: regions (and on-premises sites) and the supported-image catalog."""

from __future__ import annotations

import zoneinfo
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from guestpatch.api import schemas
from guestpatch.api.arm.common import json_object
from guestpatch.api.state import app_state
from guestpatch.core.images import ImageCatalog, ImageEntry
from guestpatch.core.regions import Region, normalize_location, validate_new_region
from guestpatch.errors import InvalidInput, NotFound
from guestpatch.store import topology

router = APIRouter(prefix="/v1", tags=["topology"])


def region_json(region: Region) -> dict[str, Any]:
    return {
        "name": region.name,
        "displayName": region.display_name,
        "timeZone": region.time_zone,
        "pair": region.pair,
        "geography": region.geography,
        "source": region.source,
    }


def image_json(entry: ImageEntry) -> dict[str, Any]:
    return {
        "publisher": entry.publisher,
        "offer": entry.offer,
        "sku": entry.sku,
        "osType": entry.os_type,
        "family": entry.family,
        "version": entry.version,
        "endOfLife": entry.end_of_life.isoformat() if entry.end_of_life else None,
        "source": entry.source,
    }


def _string(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"'{key}' is required and must be a non-empty string.", target=key)
    return value.strip()


@router.get("/regions", summary="List the region catalog (built-in and operator regions)")
def list_regions(request: Request) -> JSONResponse:
    state = app_state(request)
    with state.db.connect() as conn:
        catalog = state.catalogs.regions(conn)
    return JSONResponse({"value": [region_json(r) for r in catalog.regions()]})


@router.post(
    "/regions", status_code=201, summary="Add an operator region or on-premises site",
    openapi_extra=schemas.body(schemas.REGION),
)
async def add_region(request: Request) -> JSONResponse:
    state = app_state(request)
    body = await json_object(request)
    name = normalize_location(_string(body, "name") or "")
    pair = _string(body, "pair", required=False)
    region = Region(
        name=name,
        display_name=_string(body, "displayName", required=False) or name,
        time_zone=_string(body, "timeZone") or "",
        pair=normalize_location(pair) if pair else None,
        geography=_string(body, "geography", required=False) or "Custom",
        source="operator",
    )
    with state.db.begin() as conn:
        catalog = state.catalogs.regions(conn)
        validate_new_region(region, catalog, time_zones=zoneinfo.available_timezones())
        topology.add_region(
            conn,
            topology.RegionRow(region.name, region.display_name, region.time_zone, region.pair, region.geography),
            now=state.clock.now(),
        )
    return JSONResponse(region_json(region), status_code=201)


@router.delete("/regions/{name}", summary="Remove an operator region")
def remove_region(request: Request, name: str) -> Response:
    state = app_state(request)
    with state.db.begin() as conn:
        if not topology.remove_region(conn, normalize_location(name)):
            raise NotFound(f"The operator region '{name}' does not exist (built-in regions cannot be removed).")
    return Response(status_code=204)


@router.get("/images", summary="List the supported-image catalog")
def list_images(request: Request) -> JSONResponse:
    state = app_state(request)
    with state.db.connect() as conn:
        catalog = state.catalogs.images(conn)
    today = state.clock.now().date()
    return JSONResponse(
        {
            "value": [
                {**image_json(e), "pastEndOfLife": bool(e.end_of_life and e.end_of_life < today)}
                for e in catalog.entries()
            ]
        }
    )


@router.post(
    "/images", status_code=201, summary="Add an operator image (a golden image) to the catalog",
    openapi_extra=schemas.body(schemas.IMAGE),
)
async def add_image(request: Request) -> JSONResponse:
    state = app_state(request)
    body = await json_object(request)
    entry = ImageCatalog.from_json([body], source="operator").entries()[0]
    with state.db.begin() as conn:
        topology.add_image(
            conn,
            topology.ImageRow(
                entry.publisher, entry.offer, entry.sku, entry.os_type, entry.family, entry.version, entry.end_of_life
            ),
            now=state.clock.now(),
        )
    return JSONResponse(image_json(entry), status_code=201)


@router.delete("/images/{publisher}/{offer}/{sku}", summary="Remove an operator image")
def remove_image(request: Request, publisher: str, offer: str, sku: str) -> Response:
    state = app_state(request)
    with state.db.begin() as conn:
        if not topology.remove_image(conn, publisher, offer, sku):
            raise NotFound(f"The operator image '{publisher}:{offer}:{sku}' does not exist.")
    return Response(status_code=204)


