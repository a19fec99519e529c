"""The machine list's query string: search, filters and page, checked and explained in the user's terms."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from guestpatch.core.regions import normalize_location
from guestpatch.errors import InvalidInput
from guestpatch.services.fleet_views import PATCH_MODES, STATUSES, FleetFilter

PAGE_SIZE = 50
MAX_PAGE = 100_000
MAX_SEARCH = 100
_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PAGE = re.compile(r"[0-9]{1,6}")


def _text(params: Mapping[str, str], key: str) -> str | None:
    value = params.get(key, "").strip()
    return value or None


def parse_list_query(params: Mapping[str, str], *, known_region: Callable[[str], bool]) -> tuple[FleetFilter, int]:
    """``(filter, page)`` from the query string; InvalidInput (a 400 page) naming the bad value."""
    q = _text(params, "q")
    if q is not None and (len(q) > MAX_SEARCH or any(ord(ch) < 32 or ord(ch) == 127 for ch in q)):
        raise InvalidInput(
            f"The search text must be at most {MAX_SEARCH} printable characters.", target="q"
        )
    region = _text(params, "region")
    if region is not None:
        region = normalize_location(region)
        if not known_region(region):
            raise InvalidInput(f"'{region}' is not a known region.", target="region")
    tenant = _text(params, "tenant")
    if tenant is not None and not _TENANT.fullmatch(tenant):
        raise InvalidInput(
            f"'{tenant}' is not a tenant (subscription) name: letters, digits, '.', '_' and '-', at most 64.",
            target="tenant",
        )
    patch_mode = _text(params, "patch_mode")
    if patch_mode is not None:
        canonical = {m.lower(): m for m in PATCH_MODES}.get(patch_mode.lower())
        if canonical is None:
            raise InvalidInput(
                f"'{patch_mode}' is not a patch mode; the patch modes are {', '.join(PATCH_MODES)}.",
                target="patch_mode",
            )
        patch_mode = canonical
    status = _text(params, "status")
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            f"'{status}' is not a patch status; the statuses are {', '.join(STATUSES)}.", target="status"
        )
    return FleetFilter(q=q, region=region, tenant=tenant, patch_mode=patch_mode, status=status), page_number(
        params.get("page")
    )


def page_number(raw: str | None) -> int:
    """The ``page`` parameter of a paged list (1 when absent); InvalidInput (a 400 page) otherwise."""
    raw_page = (raw or "").strip() or "1"
    if not _PAGE.fullmatch(raw_page) or not 1 <= int(raw_page) <= MAX_PAGE:
        raise InvalidInput(f"The page must be a whole number from 1 to {MAX_PAGE}, not '{raw_page}'.", target="page")
    return int(raw_page)
