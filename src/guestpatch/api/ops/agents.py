"""Operator API for agents: enrollment tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from guestpatch.api import schemas
from guestpatch.api.arm.common import check_scope, json_object
from guestpatch.api.state import app_state
from guestpatch.errors import InvalidInput
from guestpatch.services.enrollment import Enrollment

router = APIRouter(prefix="/v1", tags=["agents"])


@router.post(
    "/enrollmentTokens", status_code=201, summary="Create an enrollment token for machines of one resource group",
    openapi_extra=schemas.body(schemas.ENROLLMENT_TOKEN),
)
async def create_enrollment_token(request: Request) -> JSONResponse:
    body = await json_object(request)
    for key in body:
        if key not in {"subscription", "resourceGroup", "expiresIn", "uses"}:
            raise InvalidInput(f"Unknown member '{key}'.", code="BadRequest", target=key)
    subscription = body.get("subscription", "default")
    resource_group = body.get("resourceGroup")
    if not isinstance(subscription, str) or not isinstance(resource_group, str):
        raise InvalidInput("'resourceGroup' (and 'subscription', if given) must be strings.", target="resourceGroup")
    check_scope(subscription, resource_group)
    expires_in = body.get("expiresIn", "PT1H")
    if not isinstance(expires_in, str):
        raise InvalidInput("'expiresIn' must be an ISO 8601 duration such as PT1H.", target="expiresIn")
    state = app_state(request)
    answer = await run_in_threadpool(
        Enrollment(state.db, state.clock).create_token,
        subscription=subscription, resource_group=resource_group, expires_in=expires_in, uses=body.get("uses", 1),
    )
    return JSONResponse(answer, status_code=201)
