"""Dashboard authentication over the in-process app: login, cookie, bearer, CSRF, logout, redirects."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from guestpatch.store import tokens as token_store
from guestpatch.store.tables import api_tokens
from guestpatch.web import auth as web_auth
from guestpatch.web import rollouts as web_rollouts
from guestpatch.web import routes as web_routes
from guestpatch.web.sessions import COOKIE_NAME, LIFETIME
from tests.web.conftest import Board

PUBLIC = {"/ui/login", "/ui/static/{name}"}


def _set_cookie(response: object) -> str:
    headers = response.headers  # type: ignore[attr-defined]
    cookies = [v for k, v in headers.multi_items() if k.lower() == "set-cookie"]
    assert len(cookies) == 1, cookies
    return str(cookies[0])


def test_the_site_root_redirects_to_the_dashboard(sqlite_board: Board) -> None:
    """GET / (no credentials) answers 303 to /ui/, and /ui to /ui/."""
    for path in ("/", "/ui"):
        response = sqlite_board.browser.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/ui/"


def test_a_page_without_credentials_redirects_to_login_keeping_the_target(sqlite_board: Board) -> None:
    """The login URL carries the requested page and its query as ``next``."""
    response = sqlite_board.browser.get("/ui/machines?status=failed&q=web", follow_redirects=False)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/ui/login"
    assert parse_qs(location.query)["next"] == ["/ui/machines?status=failed&q=web"]


def test_every_dashboard_page_but_login_and_the_stylesheet_needs_an_operator(sqlite_board: Board) -> None:
    """Walk the app's /ui routes: each GET/POST without credentials is sent to the login form."""
    checked = 0
    for route in [*web_auth.router.routes, *web_rollouts.router.routes, *web_routes.router.routes]:
        if not isinstance(route, APIRoute) or route.path in PUBLIC:
            continue
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        for method in route.methods:
            response = sqlite_board.browser.request(method, path, follow_redirects=False)
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/ui/login?next="), (method, path)
            checked += 1
    assert checked >= 12


def test_logging_in_sets_a_hardened_session_cookie(sqlite_board: Board) -> None:
    """A valid token answers 303 to ``next`` with a __Host- cookie: HttpOnly, Secure, SameSite=Strict, 8 h."""
    response = sqlite_board.browser.post(
        "/ui/login", data={"token": sqlite_board.token, "next": "/ui/machines"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/machines"
    cookie = _set_cookie(response)
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert {"httponly", "secure", "path", "samesite", "max-age"} <= attributes.keys()
    assert attributes["samesite"].lower() == "samesite=strict"
    assert attributes["path"] == "Path=/"
    assert attributes["max-age"] == f"Max-Age={int(LIFETIME.total_seconds())}"
    assert "domain" not in attributes


def test_the_session_opens_the_pages(sqlite_board: Board) -> None:
    """After login the fleet page renders for the browser, with the token's name and a logout form."""
    sqlite_board.login()
    page = sqlite_board.browser.get("/ui/")
    assert page.status_code == 200
    assert 'class="who-name"' in page.text
    assert ">admin<" in page.text
    assert 'action="/ui/logout"' in page.text


def test_a_wrong_token_is_refused_with_401_and_no_cookie(sqlite_board: Board) -> None:
    """An unknown token gets the login form again, with the reason, status 401 and no cookie."""
    response = sqlite_board.browser.post("/ui/login", data={"token": "gpt_not-a-token"}, follow_redirects=False)
    assert response.status_code == 401
    assert "That token is not valid" in response.text
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("token", ["", "   ", "x" * 513])
def test_an_empty_or_oversized_token_is_a_400(sqlite_board: Board, token: str) -> None:
    """No token (or an absurdly long one) is the user's mistake: 400 and the form says what to paste."""
    response = sqlite_board.browser.post("/ui/login", data={"token": token}, follow_redirects=False)
    assert response.status_code == 400
    assert "admin.token" in response.text


@pytest.mark.parametrize(
    ("next_url", "lands"),
    [
        ("/ui/machines?q=web", "/ui/machines?q=web"),
        ("https://evil.example/ui/", "/ui/"),
        ("//evil.example/ui/", "/ui/"),
        ("/ui/..//evil.example", "/ui/"),
        ("/ui\\@evil.example", "/ui/"),
        ("/v1/regions", "/ui/"),
    ],
)
def test_login_only_redirects_inside_the_dashboard(sqlite_board: Board, next_url: str, lands: str) -> None:
    """``next`` must be a dashboard path of this site; anything else lands on the fleet page."""
    response = sqlite_board.browser.post(
        "/ui/login", data={"token": sqlite_board.token, "next": next_url}, follow_redirects=False
    )
    assert response.headers["location"] == lands


def test_the_login_form_sends_a_logged_in_browser_on(sqlite_board: Board) -> None:
    """GET /ui/login with a valid session redirects to ``next`` instead of asking again."""
    sqlite_board.login()
    response = sqlite_board.browser.get("/ui/login?next=/ui/rollouts", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/rollouts"


def test_a_forged_cookie_is_no_session(sqlite_board: Board) -> None:
    """A cookie whose signature does not match is ignored: back to the login form."""
    sqlite_board.login()
    value = sqlite_board.browser.cookies[COOKIE_NAME]
    body, _, signature = value.partition(".")
    sqlite_board.browser.cookies.clear()
    sqlite_board.browser.cookies.set(COOKIE_NAME, body + "." + signature[::-1])
    response = sqlite_board.browser.get("/ui/", follow_redirects=False)
    assert response.status_code == 303


def test_a_session_ends_when_its_lifetime_is_over(sqlite_board: Board) -> None:
    """Eight hours after login (on the server's clock) the cookie no longer opens pages."""
    sqlite_board.login()
    sqlite_board.clock.advance(LIFETIME - timedelta(seconds=1))
    assert sqlite_board.browser.get("/ui/", follow_redirects=False).status_code == 200
    sqlite_board.clock.advance(timedelta(seconds=1))
    assert sqlite_board.browser.get("/ui/", follow_redirects=False).status_code == 303


def test_revoking_the_api_token_ends_its_sessions(sqlite_board: Board) -> None:
    """A session lives only as long as the token it was opened with."""
    sqlite_board.login()
    state = sqlite_board.api.state
    with state.db.begin() as conn:
        token_id = conn.execute(select(api_tokens.c.id).where(api_tokens.c.name == "admin")).scalar_one()
        token_store.revoke(conn, token_id, now=sqlite_board.clock.now())
    assert sqlite_board.browser.get("/ui/", follow_redirects=False).status_code == 303


def test_logout_needs_the_session_csrf_token(sqlite_board: Board) -> None:
    """POST /ui/logout without the hidden token is refused (403) and the session goes on."""
    sqlite_board.login()
    response = sqlite_board.browser.post("/ui/logout", data={}, follow_redirects=False)
    assert response.status_code == 403
    assert "security token" in response.text
    assert sqlite_board.browser.get("/ui/", follow_redirects=False).status_code == 200


def test_a_non_ascii_csrf_value_is_refused_not_a_crash(sqlite_board: Board) -> None:
    """Whatever a form sends as its token, the answer is 403, never 500."""
    sqlite_board.login()
    response = sqlite_board.browser.post("/ui/logout", data={"csrf": "jeton-é-🙂"}, follow_redirects=False)
    assert response.status_code == 403


def test_logout_refuses_another_sessions_csrf_token(sqlite_board: Board) -> None:
    """The CSRF token of one session does not work with the cookie of another."""
    first_csrf = sqlite_board.login()
    second_csrf = sqlite_board.login()  # a new session replaces the cookie
    assert first_csrf != second_csrf
    response = sqlite_board.browser.post("/ui/logout", data={"csrf": first_csrf}, follow_redirects=False)
    assert response.status_code == 403


def test_logout_with_its_csrf_token_ends_the_session(sqlite_board: Board) -> None:
    """The cookie is cleared (Max-Age=0), the browser lands on the login form, pages redirect again."""
    csrf = sqlite_board.login()
    response = sqlite_board.browser.post("/ui/logout", data={"csrf": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?logged_out=1"
    cookie = _set_cookie(response)
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "Max-Age=0" in cookie
    assert sqlite_board.browser.get("/ui/", follow_redirects=False).status_code == 303
    assert "You are logged out" in sqlite_board.browser.get("/ui/login?logged_out=1").text


def test_a_bearer_header_opens_pages_without_a_cookie(sqlite_board: Board) -> None:
    """Scripts send the API token as a bearer header: 200, no cookie set, no logout form."""
    response = sqlite_board.browser.get("/ui/machines", headers={"Authorization": f"Bearer {sqlite_board.token}"})
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert 'action="/ui/logout"' not in response.text


@pytest.mark.parametrize("header", ["Bearer gpt_wrong", "Bearer ", "Basic YWRtaW46YWRtaW4="])
def test_a_bad_authorization_header_is_a_401_page(sqlite_board: Board, header: str) -> None:
    """Explicit credentials that fail get 401 with WWW-Authenticate (a script wants a status, not a form)."""
    response = sqlite_board.browser.get("/ui/", headers={"Authorization": header}, follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"].startswith("text/html")


def test_the_session_cookie_does_not_authenticate_the_api(sqlite_board: Board) -> None:
    """ARM and operator routes still need the bearer header, so a cookie cannot be ridden cross-site."""
    sqlite_board.login()
    response = sqlite_board.browser.get("/v1/regions")
    assert response.status_code == 401


def test_pages_carry_security_headers(sqlite_board: Board) -> None:
    """No script may run, no framing, no caching of pages that hold a CSRF token."""
    sqlite_board.login()
    for path in ("/ui/", "/ui/login"):
        headers = sqlite_board.browser.get(path, follow_redirects=False).headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "script-src" not in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["cache-control"] == "no-store"
        assert headers["x-content-type-options"] == "nosniff"


def test_the_stylesheet_is_served_without_login(sqlite_board: Board) -> None:
    """The login page needs its CSS before anyone is logged in; unknown static names are 404."""
    css = sqlite_board.browser.get("/ui/static/dashboard.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "@media (max-width: 720px)" in css.text
    escaped = sqlite_board.browser.get("/ui/static/..%2Fauth.py", follow_redirects=False)
    assert escaped.status_code in {303, 404}
    assert "import" not in escaped.text
    assert sqlite_board.browser.get("/ui/static/other.css").status_code == 404
