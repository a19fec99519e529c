"""The dashboard in headless Chromium against a real server: log in, fleet, search, a machine, log out.

Every test starts a fresh browser profile, so each logs in for itself. Screenshots land in
``test-artifacts/dashboard-*.png`` (laptop 1366×860 and a Pixel 7 phone).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import FLEET, RESOURCE_GROUP
from tests.browser.pages import log_in, no_horizontal_scroll, text
from tests.server_fixtures import LiveServer

pytestmark = pytest.mark.browser

Browser = Callable[..., Any]
Shot = Callable[[Any, str], Any]


def test_a_visitor_is_sent_to_login_and_a_wrong_token_is_refused(
    open_browser: Browser, dashboard_server: LiveServer, screenshot: Shot
) -> None:
    """The site root leads to the login form; a wrong token keeps the visitor there with the reason."""
    page = open_browser()
    page.goto(dashboard_server.url + "/")
    page.wait_for_url("**/ui/login?next=%2Fui%2F")
    page.fill("#token", "gpt_this-is-not-a-token")
    page.click("form[action='/ui/login'] button[type=submit]")
    assert "That token is not valid" in text(page, "#login-error")
    assert page.context.cookies() == []
    screenshot(page, "login-refused-laptop")


def test_after_login_the_fleet_page_shows_the_fleets_figures(
    open_browser: Browser, dashboard_server: LiveServer, screenshot: Shot
) -> None:
    """Tiles, the status legend and the region bars state the figures of the fleet the server holds."""
    page = open_browser()
    log_in(page, dashboard_server)
    page.wait_for_url("**/ui/")
    assert text(page, "#fig-total") == str(len(FLEET))
    assert text(page, "#fig-pending-patches") == "6"
    assert text(page, "#fig-not-reporting") == "2"
    assert text(page, "#fig-failed") == "1"
    legend = {
        item.get_attribute("data-status"): item.locator(".legend-figure").inner_text()
        for item in page.locator("#status-legend a").all()
    }
    assert legend == {"compliant": "2", "pending": "2", "never-assessed": "1", "not-reporting": "2", "failed": "1"}
    assert text(page, "#by-region [data-key='eastus']") == "1 of 2 machines · 3 patches"
    assert text(page, "#by-tenant [data-key='contoso']") == "2 of 4 machines · 3 patches"
    assert page.locator("svg.donut > title").text_content() == "Machines by patch status"
    # the stylesheet applied (the CSP lets it through): the header is the dark navy of the design
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).backgroundColor") == "rgb(20, 33, 61)"
    assert page.console_errors == []
    assert no_horizontal_scroll(page)
    screenshot(page, "fleet-laptop")


def test_search_finds_machines_and_a_row_opens_the_machine(
    open_browser: Browser, dashboard_server: LiveServer, screenshot: Shot
) -> None:
    """Searching 'db' lists the two db machines; the failed one's page explains itself and lists patches."""
    page = open_browser()
    log_in(page, dashboard_server, "/ui/machines")
    page.wait_for_url("**/ui/machines")
    page.fill("#q", "db")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/ui/machines?q=db**")
    names = page.locator("#machine-table tbody th a").all_inner_texts()
    assert names == ["db-eu-1", "db-us-1"]
    assert text(page, "#result-count").startswith("2 machines match")
    screenshot(page, "machines-search-laptop")
    page.click("text=db-eu-1")
    page.wait_for_url(f"**/ui/machines/contoso/{RESOURCE_GROUP}/db-eu-1")
    assert text(page, "h1").startswith("db-eu-1")
    assert "Last installation failed" in text(page, "h1 .badge")
    assert "The last installation failed" in text(page, "#why-not-yet")
    patches = page.locator("#patch-table tbody th").all_inner_texts()
    assert sorted(patches) == ["libssl0", "tzdata0", "tzdata1"]
    assert "Installation" in text(page, "#operation-table")
    assert page.console_errors == []
    screenshot(page, "machine-laptop")


def test_the_filters_narrow_the_list_by_status(
    open_browser: Browser, dashboard_server: LiveServer
) -> None:
    """Choosing 'Agent not reporting' in the status filter lists the two machines without an agent."""
    page = open_browser()
    log_in(page, dashboard_server, "/ui/machines")
    page.wait_for_url("**/ui/machines")
    page.select_option("#status", "not-reporting")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**status=not-reporting**")
    assert page.locator("#machine-table tbody th a").all_inner_texts() == ["batch-eu-1", "batch-us-1"]


def test_logging_out_ends_the_session(open_browser: Browser, dashboard_server: LiveServer, screenshot: Shot) -> None:
    """The Log out button lands on the login form; the dashboard then asks for a token again."""
    page = open_browser()
    log_in(page, dashboard_server)
    page.wait_for_url("**/ui/")
    page.click("form.logout button")
    page.wait_for_url("**/ui/login?logged_out=1")
    assert "You are logged out" in text(page, ".notice")
    assert [c["name"] for c in page.context.cookies()] == []
    page.goto(dashboard_server.url + "/ui/machines")
    page.wait_for_url("**/ui/login?next=%2Fui%2Fmachines")
    screenshot(page, "logged-out-laptop")


def test_the_pages_fit_a_phone(open_browser: Browser, dashboard_server: LiveServer, screenshot: Shot) -> None:
    """On a Pixel 7 nothing scrolls sideways, the sections stay reachable, and table rows become cards."""
    page = open_browser(phone=True)
    log_in(page, dashboard_server)
    page.wait_for_url("**/ui/")
    assert page.locator("nav.sections a").all_inner_texts() == ["Fleet", "Machines", "Rollouts"]
    assert no_horizontal_scroll(page)
    screenshot(page, "fleet-phone")
    page.click("nav.sections >> text=Machines")
    page.wait_for_url("**/ui/machines")
    assert no_horizontal_scroll(page)
    assert page.evaluate("getComputedStyle(document.querySelector('#machine-table tbody tr')).display") == "block"
    first_cell_label = page.evaluate(
        "getComputedStyle(document.querySelector('#machine-table tbody td'), '::before').content"
    )
    assert first_cell_label == '"Resource group"'
    screenshot(page, "machines-phone")
    page.click("text=web-us-1")
    page.wait_for_url("**/web-us-1")
    assert "3 Critical/Security patches pending" in text(page, "#why-not-yet")
    assert no_horizontal_scroll(page)
    assert page.console_errors == []
    screenshot(page, "machine-phone")


def test_a_missing_machine_is_a_404_page_in_the_browser(open_browser: Browser, dashboard_server: LiveServer) -> None:
    """A typed URL to a machine that does not exist shows the 404 page with a way back."""
    page = open_browser()
    log_in(page, dashboard_server)
    page.wait_for_url("**/ui/")
    response = page.goto(f"{dashboard_server.url}/ui/machines/contoso/{RESOURCE_GROUP}/nope")
    assert response.status == 404
    assert "There is no machine 'nope'" in text(page, ".error .message")
