"""The dashboard's pages: fleet, machines, one machine, static files, and not-found (rollouts: rollouts.py).

Handlers are plain functions (run in the thread pool) that read through
:class:`~guestpatch.services.fleet_views.FleetViews` and render a template; every one of them but the
stylesheet needs an operator (:data:`guestpatch.web.auth.Who`).
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from guestpatch.errors import InvalidInput, NotFound
from guestpatch.services.fleet_views import PATCH_MODES, STATUS_LABELS, STATUSES, MachineRow
from guestpatch.web import rollout_view
from guestpatch.web.auth import Dashboard, Who, dashboard
from guestpatch.web.filters import PAGE_SIZE, parse_list_query
from guestpatch.web.render import PREFIX, DashboardRoute, page
from guestpatch.web.rollouts import rollout_url
from guestpatch.web.why_not_yet import Reason, in_rollout, why_not_yet

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)
root = APIRouter(include_in_schema=False)

#: Status → (tone for the charts and badges, a symbol so that colour is never the only sign).
STATUS_LOOK = {
    "compliant": ("ok", "✓"),
    "pending": ("warn", "!"),
    "never-assessed": ("info", "?"),
    "not-reporting": ("idle", "–"),
    "failed": ("bad", "✕"),
}
STATIC_FILES = {"dashboard.css": "text/css; charset=utf-8"}


@root.get("/")
@root.get(PREFIX)
def to_dashboard() -> Response:
    return RedirectResponse(f"{PREFIX}/", status_code=303)


@router.get("/")
def fleet(request: Request, who: Who) -> Response:
    board = dashboard(request)
    summary = board.fleet.summary()
    return page(
        request, "fleet.html", operator=who, section="fleet", title="Fleet", summary=summary, statuses=STATUSES,
        labels=STATUS_LABELS, look=STATUS_LOOK, panel=rollout_panel(board), rollout_look=rollout_view.ROLLOUT_LOOK,
        buckets=rollout_view.BUCKETS, rollout_url=rollout_url,
    )


def rollout_panel(board: Dashboard) -> dict[str, object]:
    """The fleet page's rollouts panel: the active rollout (else the latest), how many are halted, what is next."""
    listed = board.counts.rollouts()
    active = [r for r in listed if str(r.record.status) in rollout_view.ACTIVE]
    shown = active[-1] if active else (listed[-1] if listed else None)
    bar = None
    if shown is not None:
        bar = rollout_view.Bar.of(board.counts.rollout_machines().get(shown.record.id, {}))
    now = board.state.clock.now()
    return {
        "rollout": shown, "bar": bar, "active": len(active), "halted": [r for r in active if r.halted],
        "next_release": board.state.orchestrator.schedule.next_release(now), "total": len(listed),
    }


@router.get("/machines")
def machines(request: Request, who: Who) -> Response:
    board = dashboard(request)
    flt, number = parse_list_query(request.query_params, known_region=board.fleet.known_region)
    listing = board.fleet.machines(flt, page=number, page_size=PAGE_SIZE)
    regions, tenants = board.fleet.filter_options()
    return page(
        request, "machines.html", operator=who, section="machines", title="Machines", listing=listing, filter=flt,
        regions=regions, tenants=tenants, patch_modes=PATCH_MODES, statuses=STATUSES, labels=STATUS_LABELS,
        look=STATUS_LOOK,
    )


@router.get("/machines/{subscription}/{resource_group}/{name}")
def machine(request: Request, who: Who, subscription: str, resource_group: str, name: str) -> Response:
    board = dashboard(request)
    detail = board.fleet.machine(subscription, resource_group, name)
    reasons = why_not_yet(detail.facts, now=detail.at)
    own = rollout_reason(board, detail.row)
    return page(
        request, "machine.html", operator=who, section="machines", title=detail.row.name, m=detail,
        reasons=[own, *reasons] if own else reasons, labels=STATUS_LABELS, look=STATUS_LOOK, rollout_url=rollout_url,
    )


def rollout_reason(board: Dashboard, row: MachineRow) -> Reason | None:
    """The latest rollout's own why-not-yet for this machine; None when no rollout includes it."""
    name = f"{row.subscription}/{row.resource_group}/{row.name}"
    including = board.counts.rollouts_with(name)
    if not including:
        return None
    try:
        explained = board.state.orchestrator.explain(including[-1], name)
    except (InvalidInput, NotFound):  # the rollout went away meanwhile
        return None
    return in_rollout(including[-1], explained)


@router.get("/static/{name}")
def static(name: str) -> Response:
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        return Response("not found\n", status_code=404, media_type="text/plain")
    body = resources.files("guestpatch.web").joinpath("static", name).read_bytes()
    return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=3600",
                                                          "X-Content-Type-Options": "nosniff"})


@router.get("/{rest:path}")
def not_found(request: Request, who: Who, rest: str) -> Response:
    raise NotFound(f"There is no dashboard page at {request.url.path}.")
