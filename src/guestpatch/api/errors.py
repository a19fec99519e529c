"""Every error leaves the API as an ARM ``CloudError`` body: ``{"error": {"code", "message", "target"}}``.

Handlers here map our error tree, FastAPI's validation errors, Starlette's HTTP errors (unknown
route, wrong method) and, as a last resort, anything unexpected (500, logged, no internals leaked).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from guestpatch.errors import GuestpatchError

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "BadRequest",
    401: "AuthenticationFailed",
    403: "AuthorizationFailed",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    411: "LengthRequired",
    412: "PreconditionFailed",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "InvalidParameter",
    429: "TooManyRequests",
}


def arm_error(
    status: int,
    code: str,
    message: str,
    *,
    target: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if target is not None:
        error["target"] = target
    return JSONResponse({"error": error}, status_code=status, headers=dict(headers or {}))


def error_response(exc: GuestpatchError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(exc.to_arm(), status_code=exc.status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(GuestpatchError)
    async def _ours(_request: Request, exc: GuestpatchError) -> JSONResponse:
        if exc.status >= 500:
            log.error("%s: %s", exc.code, exc.message, exc_info=exc)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in {"body", "query", "path", "header"})
        message = str(first.get("msg", "The request is invalid."))
        return arm_error(400, "InvalidParameter", f"{where}: {message}" if where else message, target=where or None)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "Error")
        if exc.status_code == 404:
            message = f"The requested path '{request.url.path}' does not exist."
        elif exc.status_code == 405:
            message = f"The method '{request.method}' is not allowed on '{request.url.path}'."
        else:
            message = str(exc.detail)
        return arm_error(exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return arm_error(500, "InternalServerError", "An internal error occurred; it has been logged.")
