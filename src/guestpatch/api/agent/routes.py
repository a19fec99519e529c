"""Agent protocol routes other than the goal-state poll: enroll, heartbeat, operation reports.

Authentication here is by enrollment token (enroll) or machine credential (the rest), not by the
admin tokens of the operator API; see ``docs/agent-protocol.md``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from guestpatch.api.arm.common import json_object
from guestpatch.api.state import app_state
from guestpatch.errors import AuthenticationFailed

router = APIRouter(prefix="/agent/v1", tags=["agent"])


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed(
            "Authentication failed. The 'Authorization' header is missing or is not a Bearer token."
        )
    return token.strip()


def _machine(request: Request) -> int:
    vm = app_state(request).index.machine(_bearer(request))
    if vm is None:
        raise AuthenticationFailed("Authentication failed. The machine credential is not valid.")
    return vm


@router.post("/enroll", status_code=201, summary="Enroll a machine with an enrollment token")
async def enroll(request: Request) -> JSONResponse:
    token = _bearer(request)
    body = await json_object(request)
    answer = await run_in_threadpool(app_state(request).agents.enroll, token, body)
    return JSONResponse(answer, status_code=201)


@router.get("/goalstate", summary="The machine's goal state (ETag, If-None-Match, ?wait= long-poll)")
def goal_state_doc(request: Request) -> Response:  # pragma: no cover - served by GoalStateFastPath
    raise AuthenticationFailed("Authentication failed.")


@router.post("/heartbeat", status_code=204, summary="Agent version, OS, applied configuration, health")
async def heartbeat(request: Request) -> Response:
    vm = await run_in_threadpool(_machine, request)
    body = await json_object(request)
    await run_in_threadpool(app_state(request).agents.heartbeat, vm, body)
    return Response(status_code=204)


@router.put("/operations/{operationId}", summary="Report progress or the result of an operation (idempotent)")
async def report(request: Request, operation_id: Annotated[str, Path(alias="operationId")]) -> JSONResponse:
    vm = await run_in_threadpool(_machine, request)
    body = await json_object(request)
    return JSONResponse(await run_in_threadpool(app_state(request).agents.report, vm, operation_id, body))
