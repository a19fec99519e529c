"""Operator API for rollouts: list, start, show, halt, resume, cancel, machines, why-not-yet, timeline, plan."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from guestpatch.api import schemas
from guestpatch.api.arm.common import absolute_url, check_scope, json_object
from guestpatch.api.state import AppState, app_state
from guestpatch.errors import InvalidInput, NotFound
from guestpatch.services import engine_reports
from guestpatch.services.counts import Counts
from guestpatch.store import vms as vm_store
from guestpatch.store.tokens import TokenInfo
from guestpatch.store.vms import VmKey

router = APIRouter(prefix="/v1", tags=["rollouts"])

ROLLOUT_BODY = schemas.obj(
    {
        "release": {"type": "string", "minLength": 1, "maxLength": 100},
        "strategy": {"type": "string", "enum": ["availability-first", "all-at-once", "fixed-concurrency",
                                                "zone-by-zone"]},
        "policy": {"type": "object"},
    },
    required=["release"],
)
REASON_BODY = schemas.obj({"reason": {"type": "string", "maxLength": 500}})


def _who(request: Request) -> str:
    principal = request.scope.get("state", {}).get("principal")
    return f"token:{principal.name}" if isinstance(principal, TokenInfo) else "operator"


def _string(body: dict[str, Any], key: str, *, default: str | None = None, max_len: int = 100) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise InvalidInput(f"'{key}' must be a non-empty string of at most {max_len} characters.", target=key)
    return value.strip()


@router.get("/rollouts", summary="Every rollout, oldest first")
async def list_rollouts(request: Request) -> JSONResponse:
    state = app_state(request)
    return JSONResponse({"value": await run_in_threadpool(state.orchestrator.rollouts)})


@router.post("/rollouts", status_code=201, summary="Start a rollout of a release now (the monthly one starts itself)",
             openapi_extra=schemas.body(ROLLOUT_BODY))
async def start_rollout(request: Request) -> JSONResponse:
    state = app_state(request)
    body = await json_object(request)
    for key in body:
        if key not in {"release", "strategy", "policy"}:
            raise InvalidInput(f"Unknown member '{key}'.", code="BadRequest", target=key)
    release = _string(body, "release")
    strategy = _string(body, "strategy", default="availability-first")
    policy = body.get("policy")
    if policy is not None and not isinstance(policy, dict):
        raise InvalidInput("'policy' must be an object (keys as in docs/orchestrator.md).", target="policy")
    rollout_id = await run_in_threadpool(state.orchestrator.start, release=release, policy=policy, strategy=strategy)
    state.wake_engine()
    return JSONResponse(await run_in_threadpool(state.orchestrator.detail, rollout_id), status_code=201)


@router.get("/rollouts/{rolloutId}", summary="A rollout: phases, regions and waves with counts, gate, halt, history")
async def show_rollout(request: Request, rolloutId: str) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(app_state(request).orchestrator.detail, rolloutId))


PAGE = 1000


def _page(request: Request, window: list[dict[str, Any]], offset: int, limit: int) -> JSONResponse:
    """One page of a list that ``window`` holds from ``offset`` on; a ``nextLink`` when more follow."""
    body: dict[str, Any] = {"value": window[:limit]}
    if len(window) > limit:
        query = dict(request.query_params)
        query.update(offset=str(offset + limit), limit=str(limit))
        body["nextLink"] = absolute_url(request, request.url.path, **query)
    return JSONResponse(body)


@router.get("/rollouts/{rolloutId}/machines", summary="The rollout's machines with their status and reason (paged)")
async def rollout_machines(
    request: Request, rolloutId: str,
    status: Annotated[str | None, Query(max_length=20)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = PAGE,
) -> JSONResponse:
    machines = await run_in_threadpool(app_state(request).orchestrator.machines, rolloutId, status=status)
    return _page(request, machines[offset:], offset, limit)


@router.get("/rollouts/{rolloutId}/attempts", summary="Finished installation attempts (the timeline), in order")
async def rollout_attempts(
    request: Request, rolloutId: str,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = PAGE,
) -> JSONResponse:
    attempts = await run_in_threadpool(app_state(request).orchestrator.attempts, rolloutId, offset=offset)
    return _page(request, attempts, offset, limit)  # the repository reads from ``offset`` on


@router.get("/rollouts/{rolloutId}/unpatched",
            summary="Machines not patched (yet) by this rollout, each with the reason (the 30-day report)")
async def unpatched(request: Request, rolloutId: str) -> JSONResponse:
    return JSONResponse({"value": await run_in_threadpool(app_state(request).orchestrator.unpatched, rolloutId)})


@router.get("/rollouts/{rolloutId}/why", summary="Why a machine is not patched yet in this rollout")
async def why(
    request: Request, rolloutId: str,
    machine: Annotated[str, Query(min_length=1, max_length=400, description="subscription/resourceGroup/name")],
) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(app_state(request).orchestrator.explain, rolloutId, machine))


async def _action(request: Request, rollout_id: str, action: str) -> JSONResponse:
    state = app_state(request)
    body = await json_object(request, required=False)
    orchestrator = state.orchestrator
    if action == "halt":
        reason = _string(body, "reason", default="halted by an operator", max_len=500)
        await run_in_threadpool(orchestrator.halt, rollout_id, by=_who(request), reason=reason)
    elif action == "resume":
        await run_in_threadpool(orchestrator.resume, rollout_id, by=_who(request))
    else:
        await run_in_threadpool(orchestrator.cancel, rollout_id, by=_who(request))
    state.wake_engine()
    return JSONResponse(await run_in_threadpool(orchestrator.detail, rollout_id))


@router.post("/rollouts/{rolloutId}/halt", summary="Halt: machines in flight finish, nothing new starts",
             openapi_extra=schemas.body(REASON_BODY, required=False))
async def halt(request: Request, rolloutId: str) -> JSONResponse:
    return await _action(request, rolloutId, "halt")


@router.post("/rollouts/{rolloutId}/resume", summary="Resume a halted rollout")
async def resume(request: Request, rolloutId: str) -> JSONResponse:
    return await _action(request, rolloutId, "resume")


@router.post("/rollouts/{rolloutId}/cancel", summary="Cancel a rollout: nothing new starts, ever")
async def cancel(request: Request, rolloutId: str) -> JSONResponse:
    return await _action(request, rolloutId, "cancel")


@router.get("/rolloutPlan", summary="Preview the next rollout's phases and waves over the current fleet")
async def plan(
    request: Request,
    strategy: Annotated[str, Query(max_length=40)] = "availability-first",
) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(app_state(request).orchestrator.preview, strategy=strategy))


@router.get(
    "/subscriptions/{subscription}/resourceGroups/{resourceGroup}/virtualMachines/{name}/why",
    summary="Why this machine is not patched yet (its latest rollout, or why it takes no part)",
)
async def machine_why(request: Request, subscription: str, resourceGroup: str, name: str) -> JSONResponse:
    state = app_state(request)
    return JSONResponse(await run_in_threadpool(_machine_why, state, subscription, resourceGroup, name))


def _machine_why(state: AppState, subscription: str, resource_group: str, name: str) -> dict[str, Any]:
    check_scope(subscription, resource_group)
    with state.db.connect() as conn:
        record = vm_store.get(conn, VmKey(subscription, resource_group, name))
    if record is None:
        raise NotFound(f"The virtual machine '{name}' was not found in resource group '{resource_group}'.")
    machine = engine_reports.machine_name(record)
    including = Counts(state.db).rollouts_with(machine)  # oldest first
    if including:
        return {"rollout": including[-1], **state.orchestrator.explain(including[-1], machine)}
    fleet = state.orchestrator.fleet_source.snapshot()
    index = fleet.index_of(machine)
    reason = fleet.reasons.get(index)
    if reason is not None:
        return {"rollout": None, "machine": machine, "status": "NotEligible", "reason": f"not eligible: {reason}",
                "until": None}
    upcoming = state.orchestrator.schedule.next_release(state.clock.now())
    return {"rollout": None, "machine": machine, "status": "WaitingForRelease",
            "reason": f"no rollout includes it yet; the next monthly release starts {upcoming.date().isoformat()}",
            "until": upcoming.isoformat()}
