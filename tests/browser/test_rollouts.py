"""A rollout in headless Chromium against a real server whose engine runs: halted, resumed, moving on.

The module's server runs ``guestpatch serve --engine-interval 1`` (``GUESTPATCH_AUTO_RELEASE=false``) with a demo-like
fleet of sixteen machines played over HTTPS (``played_fleet.py``). A release is started with a policy that
opens every window now; the canary's first wave has ``ea-1``, whose installation fails, so the gate halts
the rollout. The browser logs in, finds the halt on the fleet page, opens the rollout, reads why, and —
once the test has "fixed the package" — presses Resume and watches the machines get patched.
Screenshots: ``test-artifacts/dashboard-rollout-*.png`` (laptop 1366×860 and Pixel 7).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.pages import log_in, no_horizontal_scroll, text
from tests.browser.played_fleet import FAILING, LAYOUT, PlayedFleet
from tests.server_fixtures import LiveServer, launch

pytestmark = pytest.mark.browser

Browser = Callable[..., Any]
Shot = Callable[[Any, str], Any]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, PlayedFleet, str]]:
    """The server, its played fleet, and the rollout halted by its canary."""
    server = launch(tmp_path_factory.mktemp("rollouts") / "data", "--engine-interval", "1",
                    env={"GUESTPATCH_AUTO_RELEASE": "false"})
    fleet = PlayedFleet(server)
    try:
        fleet.enroll()
        rollout = fleet.start_rollout()
        fleet.wait_for(rollout, "Halted")
        yield server, fleet, rollout
    finally:
        fleet.stop()
        server.stop()


@pytest.fixture(scope="module")
def dashboard_server(story: tuple[LiveServer, PlayedFleet, str]) -> LiveServer:
    """This module's server for the conftest's ``open_browser`` (it pins the server's key)."""
    return story[0]


def _patched(page: Any) -> int:
    """Machines patched over all phases, read from the Progress card of the rollout page."""
    figures = page.locator("#progress .bar-figure").all_inner_texts()
    return sum(int(re.match(r"(\d+) /", figure).group(1)) for figure in figures)  # type: ignore[union-attr]


def test_the_fleet_page_shows_the_halted_rollout_and_leads_to_it(
    open_browser: Browser, story: tuple[LiveServer, PlayedFleet, str], screenshot: Shot
) -> None:
    """The rollouts panel names the halted rollout and its reason; its link opens the rollout's page."""
    server, _, rollout = story
    page = open_browser()
    log_in(page, server, "/ui/")
    page.wait_for_url("**/ui/")
    assert text(page, "#fig-total") == str(len(LAYOUT))
    panel = text(page, "#rollout-panel")
    assert "Halted" in panel
    assert "wave 0 of eastasia" in text(page, "#panel-halt")
    assert page.console_errors == []
    screenshot(page, "rollout-fleet-panel-laptop")
    page.click("#rollout-panel a.panel-id")
    page.wait_for_url(f"**/ui/rollouts/{rollout}")
    assert text(page, "h1").startswith(f"Rollout {rollout}")


def test_the_rollouts_list_marks_the_halted_one(
    open_browser: Browser, story: tuple[LiveServer, PlayedFleet, str], screenshot: Shot
) -> None:
    """The list has a halt banner and the rollout's row marked, with its progress."""
    server, _, rollout = story
    page = open_browser()
    log_in(page, server, "/ui/rollouts")
    page.wait_for_url("**/ui/rollouts")
    assert "1 rollout halted" in text(page, "#halted-banner")
    row = page.locator(f"tr[data-rollout='{rollout}']")
    assert "row-halted" in (row.get_attribute("class") or "")
    assert re.fullmatch(r"\d+ / 16 patched", text(page, f"[data-key='{rollout}']"))
    assert no_horizontal_scroll(page)
    screenshot(page, "rollout-list-laptop")


def test_a_halted_rollout_explains_itself_on_a_phone(
    open_browser: Browser, story: tuple[LiveServer, PlayedFleet, str], screenshot: Shot
) -> None:
    """On a Pixel 7: the halt box with the failing machine, the Resume button, nothing scrolling sideways;
    the Cancel button leads to a confirmation page that asks for a tick."""
    server, _, rollout = story
    page = open_browser(phone=True)
    log_in(page, server, f"/ui/rollouts/{rollout}")
    page.wait_for_url(f"**/ui/rollouts/{rollout}")
    assert "wave 0 of eastasia" in text(page, "#halt-box h2")
    assert FAILING in text(page, "#halt-machines")
    assert page.locator("#resume").is_visible()
    assert no_horizontal_scroll(page)
    screenshot(page, "rollout-halted-phone")
    page.click("#cancel")
    page.wait_for_url(f"**/ui/rollouts/{rollout}/cancel")
    assert page.locator("#confirm").is_visible()
    assert no_horizontal_scroll(page)
    screenshot(page, "rollout-cancel-confirm-phone")


def test_resuming_the_halted_rollout_moves_it_forward(
    open_browser: Browser, story: tuple[LiveServer, PlayedFleet, str], screenshot: Shot
) -> None:
    """The laptop sees the halt and the open canary wave; after the fix, Resume; the notice shows and,
    as the page refreshes, more machines are patched and a later phase starts."""
    server, fleet, rollout = story
    page = open_browser()
    log_in(page, server, f"/ui/rollouts/{rollout}")
    page.wait_for_url(f"**/ui/rollouts/{rollout}")
    assert page.locator("meta[http-equiv='refresh']").count() == 1
    assert "▶ open" in text(page, "[data-region='eastasia'] .wave-open").lower()
    assert "Gate of phase 0" in text(page, "#gate")
    before = _patched(page)
    assert before < len(LAYOUT)
    screenshot(page, "rollout-halted-laptop")

    fleet.failing.clear()  # the bad package was fixed: its retry, and everything after, installs cleanly
    page.click("#resume")
    page.wait_for_url(f"**/ui/rollouts/{rollout}?done=resumed")
    assert "Resumed" in text(page, "#done")
    assert page.locator("#halt-box").count() == 0

    deadline = time.monotonic() + 120
    while True:
        page.reload()
        moved = _patched(page) > before and page.locator(".phase-done, .region-patching").count() > 0
        if moved and page.locator("[data-phase='1'] .region-patching, [data-phase='1'] .region-done").count():
            break
        assert time.monotonic() < deadline, f"no progress after resume: {text(page, '#progress')}"
        time.sleep(1)
    assert _patched(page) > before
    assert page.console_errors == []
    assert no_horizontal_scroll(page)
    screenshot(page, "rollout-resumed-laptop")
