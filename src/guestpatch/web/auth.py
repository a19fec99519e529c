"""Who may see the dashboard: the login form, the session cookie, the bearer header, CSRF, logout.

A browser logs in by pasting an API token (the admin token is in ``DATA_DIR/admin.token``); the
server checks it like any bearer token and answers with a session cookie (see
:mod:`guestpatch.web.sessions`): ``HttpOnly``, ``Secure``, ``SameSite=Strict``, eight hours. Scripts
and checks skip the cookie and send ``Authorization: Bearer <token>`` with each request. A page
request with neither is redirected to the login form; a bearer header that is not valid gets 401.

Every form that changes state (logout; a rollout's resume, halt and cancel) carries the session's
CSRF token in a hidden field, checked by :func:`form_operator`. The login form itself is exempt (there
is no session yet to protect).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from guestpatch.api.state import AppState
from guestpatch.errors import AuthenticationFailed, Forbidden
from guestpatch.services.counts import Counts
from guestpatch.services.fleet_views import FleetViews
from guestpatch.web.render import LOGIN, PREFIX, SECURITY_HEADERS, DashboardRoute, LoginRequired, Operator, page
from guestpatch.web.sessions import COOKIE_NAME, Session, SessionCodec

MAX_TOKEN_LENGTH = 512


@dataclass(frozen=True)
class Dashboard:
    """What the dashboard's handlers share, kept on ``app.state.dashboard``."""

    state: AppState
    codec: SessionCodec
    fleet: FleetViews
    counts: Counts


def dashboard(request: Request) -> Dashboard:
    board: Dashboard = request.app.state.dashboard
    return board


def safe_next(value: object) -> str:
    """Where to go after logging in: a dashboard path of this site, else the fleet page."""
    if isinstance(value, str) and value.startswith(f"{PREFIX}/") and "\\" not in value and "//" not in value:
        return value
    return f"{PREFIX}/"


def current_session(request: Request, board: Dashboard) -> Session | None:
    """The request's valid session: signed by us, not expired, and its API token still active."""
    value = request.cookies.get(COOKIE_NAME)
    if not value:
        return None
    session = board.codec.read(value, now=board.state.clock.now())
    if session is None or not board.fleet.token_active(session.token_id):
        return None
    return session


def operator(request: Request) -> Operator:
    """The dependency of every protected page: the bearer header, else the session cookie, else login."""
    board = dashboard(request)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("The 'Authorization' header is not a Bearer token.")
        info = board.state.tokens.check(token.strip())
        if info is None:
            raise AuthenticationFailed("The bearer token is not valid: it is unknown or revoked.")
        who = Operator(info.name, None, "bearer")
    else:
        session = current_session(request, board)
        if session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target)
        who = Operator(session.token_name, board.codec.csrf_token(session), "session", session)
    request.state.operator = who
    return who


Who = Annotated[Operator, Depends(operator)]


async def form_operator(request: Request, who: Who) -> tuple[Operator, FormData]:
    """For state-changing POSTs: the operator, once the form's CSRF token matched the session's."""
    form = await request.form()
    if who.session is not None:
        presented = form.get("csrf")
        if not isinstance(presented, str) or not dashboard(request).codec.csrf_ok(who.session, presented):
            raise Forbidden(
                "The form's security token is missing or does not belong to your session. Reload the page and "
                "try again.",
                code="CsrfTokenMismatch",
            )
    return who, form


router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)


@router.get("/login")
def login_form(request: Request) -> Response:
    board = dashboard(request)
    target = safe_next(request.query_params.get("next"))
    if current_session(request, board) is not None:
        return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    return page(request, "login.html", operator=None, title="Log in", next=target, error=None,
                logged_out=request.query_params.get("logged_out") == "1")


@router.post("/login")
async def login(request: Request) -> Response:
    board = dashboard(request)
    form = await request.form()
    target = safe_next(form.get("next"))
    token = form.get("token")
    token = token.strip() if isinstance(token, str) else ""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return page(request, "login.html", status=400, operator=None, title="Log in", next=target,
                    error="Paste an API token: the admin token is in DATA_DIR/admin.token.", logged_out=False)
    info = await run_in_threadpool(board.state.tokens.check, token)
    if info is None:
        return page(request, "login.html", status=401, operator=None, title="Log in", next=target,
                    error="That token is not valid: it is unknown or has been revoked.", logged_out=False)
    value, _session = board.codec.issue(token_id=info.id, token_name=info.name, now=board.state.clock.now())
    response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(
        COOKIE_NAME, value, max_age=int(board.codec.lifetime.total_seconds()), path="/", secure=True,
        httponly=True, samesite="strict",
    )
    return response


@router.post("/logout")
async def logout(checked: Annotated[tuple[Operator, FormData], Depends(form_operator)]) -> Response:
    response = RedirectResponse(f"{LOGIN}?logged_out=1", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(COOKIE_NAME, path="/", secure=True, httponly=True, samesite="strict")
    return response
