"""What the browser tests do on a dashboard page: log in, read an element's text, check the width."""

from __future__ import annotations

from typing import Any

from tests.server_fixtures import LiveServer


def log_in(page: Any, server: LiveServer, path: str = "/") -> None:
    """Open ``path``, get sent to the login page, paste the admin token and submit."""
    page.goto(server.url + path)
    page.wait_for_url("**/ui/login**")
    page.fill("#token", server.token)
    page.click("form[action='/ui/login'] button[type=submit]")


def text(page: Any, selector: str) -> str:
    return str(page.locator(selector).inner_text()).strip()


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"))
