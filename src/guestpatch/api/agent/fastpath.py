"""The goal-state poll, served in plain ASGI: the path every machine hits every minute.

``GET /agent/v1/goalstate`` with a current ``If-None-Match`` is answered 304 from memory — a SHA-256 of
the credential, two dictionary lookups, no database, no framework routing. A changed goal state is
read from the store (in a worker thread) and sent with its ETag. ``?wait=N`` holds the request up to
N seconds (capped by the server's ``agent_long_poll``) until the goal state changes.
"""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool

from guestpatch.api.middleware import ASGIApp, Receive, Scope, Send, send_error
from guestpatch.errors import AuthenticationFailed, GuestpatchError, InvalidInput
from guestpatch.services.agents import AgentService
from guestpatch.services.goal_index import GoalIndex

GOAL_STATE_PATH = "/agent/v1/goalstate"
_NOT_AUTHENTICATED = AuthenticationFailed("Authentication failed. The machine credential is missing or not valid.")


class GoalStateFastPath:
    def __init__(self, app: ASGIApp, *, index: GoalIndex, agents: AgentService, max_wait: int) -> None:
        self.app = app
        self.index = index
        self.agents = agents
        self.max_wait = max_wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != GOAL_STATE_PATH:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in {"GET", "HEAD"}:
            await send_error(send, _MethodNotAllowed("Use GET to read the goal state."))
            return
        credential = None
        if_none_match = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    credential = token.strip()
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1").strip()
        vm = self.index.machine(credential) if credential else None
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
        except GuestpatchError as exc:
            await send_error(send, exc)
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


