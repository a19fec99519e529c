"""ASGI middleware that must run before routing: body size limit and bearer authentication.

Both are plain ASGI (no BaseHTTPMiddleware) so they cost little on hot paths.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from guestpatch.errors import AuthenticationFailed, GuestpatchError, PayloadTooLarge
from guestpatch.store.tokens import TokenCache

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def send_error(send: Send, exc: GuestpatchError) -> None:
    body = json.dumps(exc.to_arm()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if exc.status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse bodies larger than ``limit`` bytes with 413 and an ARM error body."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = PayloadTooLarge(f"The request body is larger than the limit of {self.limit} bytes.")
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.limit:
                    await send_error(send, too_large)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await send_error(send, too_large)


class _TooLarge(Exception):
    pass


class BearerAuth:
    """Every route but the open ones needs ``Authorization: Bearer <token>`` of a known token.

    The principal is left in ``scope["state"]["principal"]`` for handlers that care about roles.
    """

    def __init__(
        self, app: ASGIApp, *, tokens: TokenCache, open_paths: Iterable[str] = ("/healthz",),
        open_prefixes: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.open_paths = frozenset(open_paths)
        self.open_prefixes = tuple(open_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths or scope["path"].startswith(self.open_prefixes):
            await self.app(scope, receive, send)
            return
        token = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, credentials = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and credentials.strip():
                    token = credentials.strip()
                break
        if token is None:
            await send_error(
                send,
                AuthenticationFailed(
                    "Authentication failed. The 'Authorization' header is missing or is not a Bearer token."
                ),
            )
            return
        principal = self.tokens.check(token)
        if principal is None:
            await send_error(send, AuthenticationFailed("Authentication failed. The bearer token is not valid."))
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)
