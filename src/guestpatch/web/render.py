"""Rendering: the Jinja environment, HTML responses with their security headers, and error pages.

:class:`DashboardRoute` is the route class of every dashboard route. It turns what a handler raises
into a page: :class:`LoginRequired` into a redirect to the login form, a
:class:`~guestpatch.errors.GuestpatchError` into an error page with its status (400 for bad filters,
404 for a missing machine, 403 for a failed CSRF check, 409 for a rollout action its state refuses,
503 for a store failure), and anything
unexpected into a logged 500 page that leaks nothing. The ARM error handlers of the API never see
dashboard requests, so the dashboard answers HTML everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from guestpatch import __version__
from guestpatch.errors import ClientError, GuestpatchError
from guestpatch.web import charts, formatting
from guestpatch.web.sessions import Session

log = logging.getLogger(__name__)

PREFIX = "/ui"
LOGIN = f"{PREFIX}/login"

#: No script at all; styles and images only from the dashboard itself; no framing; forms post here.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_ERROR_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Refused",
    404: "Not found",
    409: "Not possible now",
    500: "Something went wrong",
    503: "The store is unavailable",
}


@dataclass(frozen=True)
class Operator:
    """Who is looking: the API token's name, and the session (None with a bearer header)."""

    name: str
    csrf: str | None  # the session's CSRF token; None for bearer requests (no cookie, no CSRF risk)
    via: str  # "session" or "bearer"
    session: Session | None = None


class LoginRequired(Exception):
    """No credentials came with a page request: send the browser to the login form."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def machine_url(subscription: str, resource_group: str, name: str) -> str:
    return f"{PREFIX}/machines/" + "/".join(quote(part, safe="") for part in (subscription, resource_group, name))


def query(base: str, params: dict[str, Any]) -> str:
    """``base`` with the non-empty ``params`` as a query string."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{base}?{urlencode(kept)}" if kept else base


environment = Environment(
    loader=PackageLoader("guestpatch.web", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(
    when=formatting.when, ago=formatting.ago, plural=formatting.plural, percent=charts.percent,
    datetime=formatting.moment,
)
environment.globals.update(
    version=__version__, prefix=PREFIX, machine_url=machine_url, query=query, donut=charts.donut, bar=charts.bar,
    stacked=charts.stacked, Slice=charts.Slice,
)


def page(
    request: Request, template: str, *, status: int = 200, operator: Operator | None, **context: Any
) -> HTMLResponse:
    """Render ``template`` with the common context (operator, active section, request path)."""
    html = environment.get_template(template).render(
        operator=operator, path=request.url.path, section=context.pop("section", ""), **context
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def error_page(request: Request, exc: GuestpatchError, *, operator: Operator | None = None) -> HTMLResponse:
    status = exc.status if 400 <= exc.status < 600 else 500
    response = page(
        request, "error.html", status=status, operator=operator, title=_ERROR_TITLES.get(status, "Error"),
        message=exc.message, code=exc.code, target=exc.target, error_status=status,
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def login_redirect(next_url: str) -> RedirectResponse:
    return RedirectResponse(query(LOGIN, {"next": next_url}), status_code=303, headers=SECURITY_HEADERS)


class DashboardRoute(APIRoute):
    """Routes whose failures are pages: login redirects, error pages, a logged 500 that says nothing."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return login_redirect(exc.next_url)
            except StarletteHTTPException as exc:  # e.g. a malformed form body
                refused = ClientError(str(exc.detail))
                refused.status = exc.status_code if 400 <= exc.status_code < 500 else 400
                return error_page(request, refused, operator=getattr(request.state, "operator", None))
            except GuestpatchError as exc:
                if exc.status >= 500:
                    log.error("%s: %s", exc.code, exc.message, exc_info=exc)
                return error_page(request, exc, operator=getattr(request.state, "operator", None))
            except Exception:
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                failure = GuestpatchError("An internal error occurred; it has been logged.")
                return error_page(request, failure, operator=getattr(request.state, "operator", None))

        return route
