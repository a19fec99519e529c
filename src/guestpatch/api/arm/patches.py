"""ARM patch actions as long-running operations: ``assessPatches``, ``installPatches`` and their status.

The exchange is exactly Azure's (see ``docs/api.md`` and the shared reference §5): 202 with
``Azure-AsyncOperation``, ``Location`` and ``Retry-After``; the async-operation URL answers InProgress
then Succeeded / Failed / Canceled; the Location URL answers 202 while running and the bare result
with 200 when done. That is what the Azure SDK's ARM poller needs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from guestpatch.api import schemas
from guestpatch.api.arm.common import PATCH_ACTIONS_MIN_API_VERSION, absolute_url, api_version, check_scope, json_object
from guestpatch.api.arm.vms import VM_PATH, ApiVersion, Name, Rg, Sub
from guestpatch.api.state import AppState, app_state
from guestpatch.services import views
from guestpatch.services.patch_ops import ASSESS, INSTALL
from guestpatch.store.operations import Operation
from guestpatch.store.vms import VmKey

router = APIRouter(tags=["patchOperations"])

OPERATION_PATH = (
    "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/locations/{location}/operations/{operationId}"
)


def _accepted(request: Request, state: AppState, op: Operation, subscription: str, version: str) -> Response:
    path = OPERATION_PATH.format(subscriptionId=subscription, location=op.location, operationId=op.id)
    retry = str(state.config.lro_retry_after)
    return Response(
        status_code=202,
        headers={
            "Azure-AsyncOperation": absolute_url(request, path, **{"api-version": version}),
            "Location": absolute_url(request, path, monitor="true", **{"api-version": version}),
            "Retry-After": retry,
        },
    )


async def _start(request: Request, sub: str, rg: str, name: str, kind: str) -> Response:
    api_version(request, minimum=PATCH_ACTIONS_MIN_API_VERSION)
    check_scope(sub, rg)
    state = app_state(request)
    body = await json_object(request, required=kind == INSTALL)
    version = request.query_params["api-version"]
    op = await run_in_threadpool(state.patch_ops.start, VmKey(sub, rg, name), kind, body, api_version=version)
    return _accepted(request, state, op, sub, version)


@router.post(VM_PATH + "/{vmName}/assessPatches", status_code=202, summary="VirtualMachines_AssessPatches")
async def assess_patches(request: Request, sub: Sub, rg: Rg, name: Name, _v: ApiVersion = "") -> Response:
    return await _start(request, sub, rg, name, ASSESS)


@router.post(
    VM_PATH + "/{vmName}/installPatches", status_code=202, summary="VirtualMachines_InstallPatches",
    openapi_extra=schemas.body(schemas.INSTALL_PATCHES),
)
async def install_patches(request: Request, sub: Sub, rg: Rg, name: Name, _v: ApiVersion = "") -> Response:
    return await _start(request, sub, rg, name, INSTALL)


def lro_status(op: Operation) -> str:
    """The ARM long-running-operation status: InProgress, Succeeded, Failed or Canceled (never a patch status)."""
    return "InProgress" if op.status in {"Queued", "InProgress"} else op.status


def status_body(op: Operation) -> dict[str, Any]:
    body: dict[str, Any] = {"name": op.id, "status": lro_status(op), "startTime": views.iso(op.requested_at)}
    if op.ended_at is not None:
        body["endTime"] = views.iso(op.ended_at)
    if op.status == "Succeeded" and op.result is not None:
        body["properties"] = {"output": op.result}
    if op.status in {"Failed", "Canceled"}:
        body["error"] = op.error or {"code": "VMGuestPatchInternalError", "message": "The operation did not complete."}
    return body


@router.get(OPERATION_PATH, summary="Status or result of a patch operation (Azure-AsyncOperation / Location)")
def operation(
    request: Request,
    sub: Sub,
    location: Annotated[str, Path()],
    operation_id: Annotated[str, Path(alias="operationId")],
    _v: ApiVersion = "",
    monitor: Annotated[str | None, Query()] = None,
) -> Response:
    api_version(request)
    check_scope(sub)
    state = app_state(request)
    op, _record = state.patch_ops.get(operation_id, subscription=sub)
    retry = {"Retry-After": str(state.config.lro_retry_after)}
    if monitor is not None and monitor.lower() == "true":
        if lro_status(op) == "InProgress":
            return Response(status_code=202, headers={**retry, "Location": str(request.url)})
        if op.status == "Succeeded" and op.result is not None:
            return JSONResponse(op.result)
        body = status_body(op)
        return JSONResponse({"error": body["error"]}, status_code=409)
    headers = retry if lro_status(op) == "InProgress" else {}
    return JSONResponse(status_body(op), headers=headers)
