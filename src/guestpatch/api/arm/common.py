"""What every ARM route shares: api-version rules, JSON bodies, resource ids, paging tokens."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import date
from typing import Any

from fastapi import Request

from guestpatch.errors import InvalidInput

#: The oldest and newest Compute api-versions we answer (the newest SDK, 39.0.0, sends 2026-04-01).
OLDEST_API_VERSION = date(2020, 12, 1)
NEWEST_API_VERSION = date(2026, 4, 1)
#: Azure's feature documentation: on-demand assessment and installation need 2021-03-01 or newer.
PATCH_ACTIONS_MIN_API_VERSION = date(2021, 3, 1)

_VERSION = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(-preview)?$")
_SUBSCRIPTION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
_RESOURCE_GROUP = re.compile(r"^[-\w._()]{1,90}$")


def api_version(request: Request, *, minimum: date = OLDEST_API_VERSION) -> date:
    """The request's api-version as a date; ARM errors for missing, malformed or unsupported values."""
    raw = request.query_params.get("api-version")
    if raw is None or raw == "":
        raise InvalidInput(
            "The api-version query parameter (?api-version=) is required for all requests.",
            code="MissingApiVersionParameter",
            target="api-version",
        )
    match = _VERSION.match(raw)
    parsed: date | None = None
    if match:
        try:
            parsed = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            parsed = None
    if parsed is None or not OLDEST_API_VERSION <= parsed <= NEWEST_API_VERSION:
        raise InvalidInput(
            f"The api-version '{raw}' is invalid. The supported versions are every version from "
            f"'{OLDEST_API_VERSION.isoformat()}' to '{NEWEST_API_VERSION.isoformat()}'.",
            code="InvalidApiVersionParameter",
            target="api-version",
        )
    if parsed < minimum:
        raise InvalidInput(
            f"The api-version '{raw}' does not support this operation; use '{minimum.isoformat()}' or newer.",
            code="InvalidApiVersionParameter",
            target="api-version",
        )
    return parsed


async def json_object(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object, or an ARM error saying what is wrong with it."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise InvalidInput("The request body is required and must be a JSON object.", code="InvalidRequestContent")
        return {}
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except RecursionError as exc:
        raise InvalidInput(
            "The request content was invalid and could not be deserialized: it is nested too deeply.",
            code="InvalidRequestContent",
        ) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(
            f"The request content was invalid and could not be deserialized: {exc}.", code="InvalidRequestContent"
        ) from exc
    if not isinstance(value, dict):
        raise InvalidInput(
            f"The request content must be a JSON object, not {type(value).__name__}.", code="InvalidRequestContent"
        )
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def check_scope(subscription: str, resource_group: str | None = None) -> None:
    if not _SUBSCRIPTION.match(subscription):
        raise InvalidInput(
            f"The provided subscription identifier '{subscription}' is malformed or invalid.",
            code="InvalidSubscriptionId",
            target="subscriptionId",
        )
    if resource_group is not None and (not _RESOURCE_GROUP.match(resource_group) or resource_group.endswith(".")):
        raise InvalidInput(
            f"Resource group '{resource_group}' is invalid. It must be 1-90 characters of letters, digits, "
            "underscores, periods, hyphens and parentheses, and cannot end in a period.",
            code="InvalidResourceGroup",
            target="resourceGroupName",
        )


def vm_resource_id(subscription: str, resource_group: str, name: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.Compute/virtualMachines/{name}"
    )


def encode_skiptoken(*parts: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def decode_skiptoken(token: str, *, arity: int) -> tuple[str, ...]:
    try:
        padded = token + "=" * (-len(token) % 4)
        parts = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        parts = None
    if not (isinstance(parts, list) and len(parts) == arity and all(isinstance(p, str) for p in parts)):
        raise InvalidInput("The $skiptoken is invalid; use the nextLink as returned.", target="$skiptoken")
    return tuple(parts)


def absolute_url(request: Request, path: str, **query: str) -> str:
    """An absolute URL on this server (ARM wants absolute nextLink and operation URLs)."""
    return str(request.url.replace(path=path, query="").include_query_params(**query))
