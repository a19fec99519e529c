"""Operator API for history and compliance: operations per machine, fleet-wide patch queries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from guestpatch.api.arm.common import check_scope
from guestpatch.api.state import AppState, app_state
from guestpatch.errors import InvalidInput, NotFound
from guestpatch.services import views
from guestpatch.store import operations as op_store
from guestpatch.store import vms as vm_store
from guestpatch.store.operations import Operation
from guestpatch.store.vms import VmKey

router = APIRouter(prefix="/v1", tags=["history"])

MACHINE = "/subscriptions/{subscription}/resourceGroups/{resourceGroup}/virtualMachines/{name}"


def operation_json(op: Operation) -> dict[str, Any]:
    return {
        "id": op.id,
        "kind": op.kind,
        "origin": op.origin,
        "status": op.status,
        "resultStatus": (op.result or {}).get("status"),
        "requestedAt": views.iso(op.requested_at),
        "startedAt": views.iso(op.started_at),
        "endedAt": views.iso(op.ended_at),
        "parameters": op.parameters,
        "result": op.result,
        "error": op.error,
    }


def _record(state: AppState, subscription: str, resource_group: str, name: str) -> vm_store.VmRecord:
    check_scope(subscription, resource_group)
    with state.db.connect() as conn:
        record = vm_store.get(conn, VmKey(subscription, resource_group, name))
    if record is None:
        raise NotFound(f"The virtual machine '{name}' was not found in resource group '{resource_group}'.")
    return record


@router.get(MACHINE + "/operations", summary="Assessment and installation history of one machine, newest first")
def machine_operations(
    request: Request, subscription: str, resourceGroup: str, name: str,
    kind: Annotated[str | None, Query(description="assessPatches or installPatches")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JSONResponse:
    if kind is not None and kind not in {"assessPatches", "installPatches"}:
        raise InvalidInput("'kind' must be assessPatches or installPatches.", target="kind")
    state = app_state(request)
    record = _record(state, subscription, resourceGroup, name)
    with state.db.connect() as conn:
        ops = op_store.history(conn, record.id, kind=kind, limit=limit)
    return JSONResponse({"value": [operation_json(op) for op in ops]})


@router.get(MACHINE + "/patches", summary="The patches the machine's latest assessment found")
def machine_patches(request: Request, subscription: str, resourceGroup: str, name: str) -> JSONResponse:
    state = app_state(request)
    record = _record(state, subscription, resourceGroup, name)
    with state.db.connect() as conn:
        rows = op_store.patches_of(conn, record.id)
    return JSONResponse(
        {
            "value": [
                {"patchId": r.patch_id, "name": r.name, "version": r.version, "classification": r.classification,
                 "rebootBehavior": r.reboot_behavior, "publishedDate": views.iso(r.published)}
                for r in rows
            ]
        }
    )


@router.get("/compliance/missing", summary="Machines whose latest assessment still offers a patch")
async def machines_missing(
    request: Request,
    name: Annotated[str, Query(min_length=1, max_length=200, description="package name")],
    version: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    state = app_state(request)

    def query() -> list[dict[str, Any]]:
        with state.db.connect() as conn:
            found = op_store.machines_missing(conn, name, version)
            out = []
            for vm, patch_name, patch_version in found:
                record = vm_store.get_by_row(conn, vm)
                if record is not None:
                    out.append({"id": views.resource_id(record), "name": record.name, "location": record.location,
                                "patch": patch_name, "version": patch_version})
            return out

    return JSONResponse({"value": await run_in_threadpool(query)})


@router.get("/compliance/pending", summary="Machines with Critical/Security patches pending, by region")
def pending_by_region(request: Request) -> JSONResponse:
    state = app_state(request)
    with state.db.connect() as conn:
        rows = op_store.pending_by_region(conn)
    return JSONResponse(
        {"value": [{"region": region, "machines": machines, "patches": patches} for region, machines, patches in rows]}
    )
