"""Request metrics: one plain ASGI middleware around the whole application, and its two histograms.

- ``guestpatch_agent_checkin_duration_seconds{wait, code}``: the goal-state poll (``GET
  /agent/v1/goalstate``), from the arrival of the request to the last byte of the answer, as the server
  sees it. ``wait="long-poll"`` for polls with ``?wait=N`` (their duration includes the wait),
  ``wait="none"`` for the others; ``code`` is the HTTP status (304 when nothing changed).
- ``guestpatch_http_request_duration_seconds{method, route, code}``: every other request, by the
  *template* of the route it reached (``/v1/rollouts/{rolloutId}``), never by its raw path, so that
  no client can grow the number of series. Requests answered before routing (a refused bearer token,
  a body over the limit, the agent's report fast path) are matched against the routes afterwards;
  a path no route has is ``route="(unmatched)"``. Unknown methods are ``method="other"``.

The goal-state poll is in its own histogram only: its long polls last up to a minute by design and
would drown every other route's figures. Both are :class:`~guestpatch.metrics.tally.Tally` histograms,
shared between worker processes by :class:`~guestpatch.metrics.tally.Recorder`.

Cost on the check-in path (``python -m bench metrics_overhead``, figures in docs/metrics.md): two clock
reads, one wrapped ``send``, one bisection and two additions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from starlette.routing import BaseRoute, Match

from guestpatch.api.agent.fastpath import GOAL_STATE_PATH, OPERATIONS_PREFIX, report_operation_id
from guestpatch.api.middleware import ASGIApp, Message, Receive, Scope, Send
from guestpatch.metrics.tally import Tally

#: Operation reports' route, answered by the agent fast path before routing (hot during installations).
REPORTS_TEMPLATE = OPERATIONS_PREFIX + "{operationId}"
UNMATCHED = "(unmatched)"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CHECKIN_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0)


def request_tally() -> Tally:
    return Tally(
        "guestpatch_http_request_duration_seconds",
        "Server-side duration of API and dashboard requests, by method, route template and status code.",
        ("method", "route", "code"), REQUEST_BUCKETS,
    )


def checkin_tally() -> Tally:
    return Tally(
        "guestpatch_agent_checkin_duration_seconds",
        "Server-side duration of the agents' goal-state polls (GET /agent/v1/goalstate); long polls include "
        "their wait.",
        ("wait", "code"), CHECKIN_BUCKETS,
    )


class RequestMetrics:
    """Times every HTTP request into ``requests`` or, for goal-state polls, ``checkins`` (plain ASGI)."""

    def __init__(
        self, app: ASGIApp, *, requests: Tally, checkins: Tally, routes: Callable[[], Sequence[BaseRoute]]
    ) -> None:
        self.app = app
        self.requests = requests
        self.checkins = checkins
        self.routes = routes
        self._routes: list[BaseRoute] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            elapsed = time.perf_counter() - started
            if scope["path"] == GOAL_STATE_PATH:
                wait = "long-poll" if b"wait=" in scope.get("query_string", b"") else "none"
                self.checkins.observe((wait, _code(status)), elapsed)
            else:
                method = scope["method"] if scope["method"] in METHODS else "other"
                self.requests.observe((method, self._template(scope), _code(status)), elapsed)

    def _template(self, scope: Scope) -> str:
        """The template of the route that served the request, or the one its path and method match."""
        route = scope.get("route")
        if route is not None:
            return str(getattr(route, "path", UNMATCHED))
        path: str = scope["path"]
        if report_operation_id(path) is not None:
            return REPORTS_TEMPLATE
        partial = None
        for candidate in self._flat_routes():
            match, _ = candidate.matches(scope)
            if match is Match.FULL:
                return str(getattr(candidate, "path", UNMATCHED))
            if match is Match.PARTIAL and partial is None:
                partial = candidate
        return str(getattr(partial, "path", UNMATCHED)) if partial is not None else UNMATCHED

    def _flat_routes(self) -> list[BaseRoute]:
        """The application's routes with included routers opened up (FastAPI keeps them nested)."""
        if self._routes is None:
            self._routes = list(_flatten(self.routes()))
        return self._routes


def _flatten(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        nested = getattr(getattr(route, "original_router", None), "routes", None)
        if nested is not None:
            yield from _flatten(nested)
        elif getattr(route, "path", None) is not None:
            yield route


_CODES = {status: str(status) for status in range(100, 600)}


def _code(status: int) -> str:
    """The status code as a label; ``none`` when no answer was started (the client went away, or a crash)."""
    return _CODES.get(status, "none")
