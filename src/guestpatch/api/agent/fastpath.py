"""The agent protocol's hot paths, served in plain ASGI: what every machine sends every minute.

- ``GET /agent/v1/goalstate`` with a current ``If-None-Match`` is answered 304 from memory — a SHA-256
  of the credential, two dictionary lookups, no database, no framework routing. A changed goal state
  is read from the store (in a worker thread) and sent with its ETag. ``?wait=N`` holds the request up
  to N seconds (capped by the server's ``agent_long_poll``) until the goal state changes.
- ``PUT /agent/v1/operations/{operationId}`` (operation reports) goes straight to
  :meth:`AgentService.report` in one worker-thread hop. Through FastAPI's routing, dependency and
  response machinery the event loop spent about a millisecond per report, which capped a worker at a
  few hundred reports per second; the answers are the same (``routes.py`` keeps the route for the
  OpenAPI document).

Anything else (other methods, paths with more segments) goes on to the application unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from guestpatch.api.arm.common import json_object
from guestpatch.api.middleware import ASGIApp, Receive, Scope, Send, send_error
from guestpatch.errors import AuthenticationFailed, GuestpatchError, InvalidInput
from guestpatch.services.agents import AgentService
from guestpatch.services.goal_index import GoalIndex

log = logging.getLogger(__name__)
T = TypeVar("T")

GOAL_STATE_PATH = "/agent/v1/goalstate"
OPERATIONS_PREFIX = "/agent/v1/operations/"
_NOT_AUTHENTICATED = AuthenticationFailed("Authentication failed. The machine credential is missing or not valid.")
_NO_BEARER = AuthenticationFailed(
    "Authentication failed. The 'Authorization' header is missing or is not a Bearer token."
)
_BAD_CREDENTIAL = AuthenticationFailed("Authentication failed. The machine credential is not valid.")


#: Report writer threads per process on PostgreSQL (1, 4 and 8 measured on 2 cores: 4 made the most reports).
POSTGRES_REPORT_WRITERS = 4


class AgentFastPath:
    def __init__(self, app: ASGIApp, *, index: GoalIndex, agents: AgentService, max_wait: int) -> None:
        self.app = app
        self.index = index
        self.agents = agents
        self.max_wait = max_wait
        self._writer: ThreadPoolExecutor | None = None

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a store write off the event loop, on this process's few report writers.

        On SQLite, one store writer runs at a time anyway (see ``guestpatch.store.db.WriteLock``): the
        reports of this process go through one thread, back to back, instead of waking dozens of
        threads that queue for the lock and trade the GIL (which halved the rate). On PostgreSQL a
        report waits on its round trips, so a few writers overlap them (``POSTGRES_REPORT_WRITERS``);
        the default pool's 40 threads traded the GIL instead and made fewer reports per second than
        one writer (docs/benchmarks.md).
        """
        if self._writer is None:
            writers = POSTGRES_REPORT_WRITERS if self.agents.db.is_postgres else 1
            self._writer = ThreadPoolExecutor(writers, thread_name_prefix="guestpatch-reports")
            weakref.finalize(self, self._writer.shutdown, wait=False)
        return await asyncio.get_running_loop().run_in_executor(self._writer, functools.partial(fn, *args))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path == GOAL_STATE_PATH:
                await self._goal_state(scope, send)
                return
            operation_id = report_operation_id(path) if scope["method"] == "PUT" else None
            if operation_id is not None:
                await self._report(scope, receive, send, operation_id)
                return
        await self.app(scope, receive, send)

    async def _machine(self, credential: str) -> int | None:
        """The credential's VM: from memory, else from the store in a worker thread.

        A machine enrolled a moment ago through another worker or replica must not be refused.
        """
        vm = self.index.known(credential)
        if vm is None:
            vm = await run_in_threadpool(self.index.machine, credential)
        return vm

    # ------------------------------------------------------------------ goal state
    async def _goal_state(self, scope: Scope, send: Send) -> None:
        if scope["method"] not in {"GET", "HEAD"}:
            await send_error(send, _MethodNotAllowed("Use GET to read the goal state."))
            return
        credential, if_none_match = _credential_and_etag(scope)
        vm = await self._machine(credential) if credential else None
        if vm is None:
            await send_error(send, _NOT_AUTHENTICATED)
            return
        try:
            wait = _wait_seconds(scope.get("query_string", b""), self.max_wait)
        except InvalidInput as exc:
            await send_error(send, exc)
            return
        current = if_none_match is not None and if_none_match == self.index.etag(vm)
        if current and (wait <= 0 or not await self.index.wait(vm, if_none_match or "", wait)):
            await _not_modified(send, if_none_match or "")
            return
        try:
            etag, body = await run_in_threadpool(self.agents.goal_state, vm)
            if not current and wait > 0 and etag == if_none_match:
                # This index was behind the store (the machine enrolled through another worker a
                # moment ago): it learns the position now, and the long-poll is held as promised.
                self.index.observe(vm, etag)
                if not await self.index.wait(vm, etag, wait):
                    await _not_modified(send, etag)
                    return
                etag, body = await run_in_threadpool(self.agents.goal_state, vm)
        except GuestpatchError as exc:
            await _send_failure(send, exc)
            return
        if if_none_match is not None and etag == if_none_match:
            await _not_modified(send, etag)
            return
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"etag", etag.encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload if scope["method"] == "GET" else b""})

    # ------------------------------------------------------------------ operation reports
    async def _report(self, scope: Scope, receive: Receive, send: Send, operation_id: str) -> None:
        credential, _ = _credential_and_etag(scope)
        if not credential:
            await send_error(send, _NO_BEARER)
            return
        vm = await self._machine(credential)
        if vm is None:
            await send_error(send, _BAD_CREDENTIAL)
            return
        try:
            body = await json_object(Request(scope, receive))
            answer = await self._write(self.agents.report, vm, operation_id, body)
        except GuestpatchError as exc:
            await _send_failure(send, exc)
            return
        await _send_json(send, 200, answer)


def report_operation_id(path: str) -> str | None:
    """The operation id of a report's path (``/agent/v1/operations/{operationId}``), or None."""
    if not path.startswith(OPERATIONS_PREFIX):
        return None
    operation_id = path[len(OPERATIONS_PREFIX):]
    return operation_id if operation_id and "/" not in operation_id else None


def _credential_and_etag(scope: Scope) -> tuple[str | None, str | None]:
    """The bearer credential and the ``If-None-Match`` value, if present."""
    credential = None
    seen_authorization = False
    if_none_match = None
    for name, value in scope["headers"]:
        if name == b"authorization" and not seen_authorization:  # the first one counts, as in Starlette
            seen_authorization = True
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                credential = token.strip() or None
        elif name == b"if-none-match":
            if_none_match = value.decode("latin-1").strip()
    return credential, if_none_match


async def _send_failure(send: Send, exc: GuestpatchError) -> None:
    if exc.status >= 500:  # as the application's error handler does
        log.error("%s: %s", exc.code, exc.message, exc_info=exc)
    await send_error(send, exc)


async def _send_json(send: Send, status: int, content: Any) -> None:
    """As Starlette's ``JSONResponse`` renders it (compact, UTF-8)."""
    payload = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", str(len(payload)).encode()), (b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _not_modified(send: Send, etag: str) -> None:
    await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", etag.encode())]})
    await send({"type": "http.response.body", "body": b""})


class _MethodNotAllowed(GuestpatchError):
    status = 405
    default_code = "MethodNotAllowed"


def _wait_seconds(query: bytes, cap: int) -> float:
    if not query:
        return 0
    for part in query.decode("latin-1").split("&"):
        key, _, value = part.partition("=")
        if key == "wait":
            try:
                seconds = float(value)
            except ValueError:
                seconds = -1
            if not 0 <= seconds <= 3600:
                raise InvalidInput("'wait' must be a number of seconds between 0 and 3600.", target="wait")
            return min(seconds, cap)
    return 0
