"""ARM routes for ``Microsoft.Compute/virtualMachines``: PUT, PATCH, GET, DELETE, list, instanceView.

Bodies are read as raw JSON (not pydantic models): ARM keeps members it does not interpret, and every
validation error must come back as an ARM error with the property path as target.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from guestpatch.api import schemas
from guestpatch.api.arm.common import (
    absolute_url,
    api_version,
    check_scope,
    decode_skiptoken,
    encode_skiptoken,
    json_object,
)
from guestpatch.api.state import AppState, app_state
from guestpatch.errors import InvalidInput
from guestpatch.services import views
from guestpatch.services.vms import VmService, etag
from guestpatch.store.vms import VmKey

router = APIRouter(tags=["virtualMachines"])

GROUP_PATH = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
VM_PATH = GROUP_PATH + "/providers/Microsoft.Compute/virtualMachines"

Sub = Annotated[str, Path(alias="subscriptionId", description="Subscription (tenant) id or name")]
Rg = Annotated[str, Path(alias="resourceGroupName")]
Name = Annotated[str, Path(alias="vmName")]
ApiVersion = Annotated[str, Query(alias="api-version", description="Compute api-version, 2020-12-01 … 2026-04-01")]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]


def _service(request: Request) -> VmService:
    state: AppState = app_state(request)
    return state.vms


def _key(sub: str, rg: str, name: str) -> VmKey:
    check_scope(sub, rg)
    return VmKey(sub, rg, name)


def _json(body: dict[str, Any], *, status: int = 200, tag: str | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"ETag": tag} if tag else None)


@router.put(
    VM_PATH + "/{vmName}", status_code=200, summary="VirtualMachines_CreateOrUpdate",
    openapi_extra=schemas.body(schemas.VIRTUAL_MACHINE),
)
async def create_or_update(
    request: Request, sub: Sub, rg: Rg, name: Name, _v: ApiVersion = "", if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
) -> JSONResponse:
    api_version(request)
    key = _key(sub, rg, name)
    body = await json_object(request)
    record, created = await run_in_threadpool(
        _service(request).put, key, body, if_match=if_match, if_none_match=if_none_match
    )
    return _json(views.vm_resource(record), status=201 if created else 200, tag=etag(record))


@router.patch(
    VM_PATH + "/{vmName}", summary="VirtualMachines_Update", openapi_extra=schemas.body(schemas.VIRTUAL_MACHINE_UPDATE)
)
async def update(
    request: Request, sub: Sub, rg: Rg, name: Name, _v: ApiVersion = "", if_match: IfMatch = None
) -> JSONResponse:
    api_version(request)
    key = _key(sub, rg, name)
    body = await json_object(request)
    record = await run_in_threadpool(_service(request).patch, key, body, if_match=if_match)
    return _json(views.vm_resource(record), tag=etag(record))


@router.get(VM_PATH + "/{vmName}", summary="VirtualMachines_Get")
async def get(
    request: Request, sub: Sub, rg: Rg, name: Name, _v: ApiVersion = "",
    expand: Annotated[str | None, Query(alias="$expand")] = None,
) -> JSONResponse:
    api_version(request)
    key = _key(sub, rg, name)
    service = _service(request)
    record = await run_in_threadpool(service.get, key)
    view = None
    if expand is not None:
        if expand.lower() == "instanceview":
            view = await run_in_threadpool(app_state(request).instance_view, record)
        elif expand.lower() not in {"userdata", "resiliencyview"}:
            raise InvalidInput(
                f"The value '{expand}' of parameter '$expand' is not allowed. Allowed values are: "
                "instanceView, userData, resiliencyView.",
                target="$expand",
            )
    return _json(views.vm_resource(record, instance_view=view), tag=etag(record))


@router.delete(VM_PATH + "/{vmName}", summary="VirtualMachines_Delete")
async def delete(request: Request, sub: Sub, rg: Rg, name: Name, _v: ApiVersion = "") -> Response:
    api_version(request)
    key = _key(sub, rg, name)
    deleted = await run_in_threadpool(_service(request).delete, key)
    return Response(status_code=200 if deleted else 204)


@router.get(VM_PATH + "/{vmName}/instanceView", summary="VirtualMachines_InstanceView")
async def instance_view(request: Request, sub: Sub, rg: Rg, name: Name, _v: ApiVersion = "") -> JSONResponse:
    api_version(request)
    record = await run_in_threadpool(_service(request).get, _key(sub, rg, name))
    return _json(await run_in_threadpool(app_state(request).instance_view, record))


def _power_action(state: str, operation: str) -> Any:
    async def action(request: Request, sub: Sub, rg: Rg, name: Name, _v: ApiVersion = "") -> Response:
        api_version(request)
        await run_in_threadpool(_service(request).set_power_state, _key(sub, rg, name), state)
        return Response(status_code=200)

    action.__name__ = operation
    return action


for _state, _operation, _summary in (
    ("deallocated", "deallocate", "VirtualMachines_Deallocate"),
    ("running", "start", "VirtualMachines_Start"),
    ("stopped", "powerOff", "VirtualMachines_PowerOff"),
):
    router.add_api_route(
        VM_PATH + "/{vmName}/" + _operation,
        _power_action(_state, _operation),
        methods=["POST"],
        summary=_summary,
        description="Records the power state (guestpatch does not power machines; agents report it too).",
    )


async def _list(request: Request, sub: str, rg: str | None) -> JSONResponse:
    api_version(request)
    check_scope(sub, rg)
    state = app_state(request)
    token = request.query_params.get("$skiptoken")
    after = decode_skiptoken(token, arity=2) if token else None
    limit = state.config.page_size
    records = await run_in_threadpool(
        state.vms.list_page,
        subscription=sub, resource_group=rg, after=(after[0], after[1]) if after else None, limit=limit + 1,
    )
    body: dict[str, Any] = {"value": [views.vm_resource(r) for r in records[:limit]]}
    if len(records) > limit:
        last = records[limit - 1]
        query = dict(request.query_params)
        query["$skiptoken"] = encode_skiptoken(last.resource_group.lower(), last.name.lower())
        body["nextLink"] = absolute_url(request, request.url.path, **query)
    return _json(body)


@router.get(VM_PATH, summary="VirtualMachines_List")
async def list_in_group(request: Request, sub: Sub, rg: Rg, _v: ApiVersion = "") -> JSONResponse:
    return await _list(request, sub, rg)


@router.get(
    "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/virtualMachines", summary="VirtualMachines_ListAll"
)
async def list_in_subscription(request: Request, sub: Sub, _v: ApiVersion = "") -> JSONResponse:
    return await _list(request, sub, None)
