"""The fleet page's figures, on SQLite and PostgreSQL: status counts, pending by region and tenant, modes."""

from __future__ import annotations

import re
from datetime import timedelta

from guestpatch.services.instance import STALE_POLLS
from tests.web.conftest import Board
from tests.web.fleet_data import mixed_fleet


def _legend(html: str) -> dict[str, int]:
    """Status → machines, read from the donut's legend."""
    pairs = re.findall(r'data-status="([a-z-]+)">.*?class="legend-figure">(\d+)<', html, re.S)
    return {status: int(count) for status, count in pairs}


def _bars(html: str, block_id: str) -> dict[str, str]:
    """Key → figure text of one bar list (by region, by tenant, by mode)."""
    block = html.split(f'id="{block_id}"', 1)[1].split("</ul>", 1)[0]
    return dict(re.findall(r'class="bar-figure" data-key="([^"]+)">([^<]+)<', block))


def test_the_fleet_page_counts_machines_by_patch_status(board: Board) -> None:
    """Each status of the legend counts its machines; the total is in the donut and the tiles."""
    mixed_fleet(board.fleet)
    html = board.api.client.get("/ui/").text
    assert _legend(html) == {"compliant": 1, "pending": 2, "never-assessed": 1, "not-reporting": 1, "failed": 1}
    assert '<span class="figure" id="fig-total">6</span>' in html
    assert '<span class="figure" id="fig-pending-patches">5</span>' in html
    assert '<title id="status-donut-t">Machines by patch status</title>' in html


def test_pending_patches_are_counted_by_region_and_by_tenant(board: Board) -> None:
    """Per region and tenant: machines with Critical/Security pending, of all, and how many patches."""
    mixed_fleet(board.fleet)
    html = board.api.client.get("/ui/").text
    assert _bars(html, "by-region") == {
        "westeurope": "1 of 3 machines · 3 patches",
        "northeurope": "1 of 3 machines · 2 patches",
    }
    assert _bars(html, "by-tenant") == {
        "tenant-a": "1 of 3 machines · 3 patches",
        "tenant-b": "1 of 3 machines · 2 patches",
    }
    assert ">West Europe</span>" in html  # the catalog's display name


def test_machines_are_counted_by_patch_mode(board: Board) -> None:
    """AutomaticByPlatform comes first; each mode's bar links to the list filtered on it."""
    mixed_fleet(board.fleet)
    html = board.api.client.get("/ui/").text
    assert _bars(html, "by-mode") == {"AutomaticByPlatform": "5 machines · 83 %", "ImageDefault": "1 machine · 17 %"}
    assert 'href="/ui/machines?patch_mode=ImageDefault"' in html


def test_an_agent_silent_past_the_tolerance_is_not_reporting(board: Board) -> None:
    """Silent exactly as long as the instance view tolerates: still reporting; one second more: not."""
    w = board.fleet
    machine = w.agent(w.vm("quiet1"))
    w.assess(machine, critical=0, other=0)
    config = board.api.state.config
    board.clock.advance(timedelta(seconds=STALE_POLLS * config.agent_poll_interval + config.agent_long_poll))
    assert _legend(board.api.client.get("/ui/").text)["compliant"] == 1
    board.clock.advance(timedelta(seconds=1))
    assert _legend(board.api.client.get("/ui/").text)["not-reporting"] == 1
    w.heartbeat(machine)
    assert _legend(board.api.client.get("/ui/").text)["compliant"] == 1


def test_a_failed_installation_outranks_pending_patches(board: Board) -> None:
    """A machine whose last installation failed and which still has Security patches counts as failed."""
    w = board.fleet
    machine = w.agent(w.vm("both1"))
    w.assess(machine, critical=2, other=0)
    w.install(machine, installed=0, failed=2, status="Failed")
    counts = _legend(board.api.client.get("/ui/").text)
    assert counts["failed"] == 1
    assert counts["pending"] == 0


def test_a_later_successful_installation_clears_failed(board: Board) -> None:
    """Only the latest finished installation decides: a success after a failure is no longer failed."""
    w = board.fleet
    machine = w.agent(w.vm("retry1"))
    w.install(machine, installed=0, failed=1, status="Failed")
    board.clock.advance(timedelta(minutes=5))
    w.install(machine, installed=1, failed=0, status="Succeeded")
    w.assess(machine, critical=0, other=0)
    assert _legend(board.api.client.get("/ui/").text) == {
        "compliant": 1, "pending": 0, "never-assessed": 0, "not-reporting": 0, "failed": 0,
    }


def test_an_installation_the_agent_never_reported_counts_as_failed(board: Board) -> None:
    """An installation failed by the server (agent silent, no result) is a failed installation too."""
    w = board.fleet
    machine = w.agent(w.vm("lost1"))
    w.start_only(machine, "installPatches")
    board.clock.advance(timedelta(seconds=board.api.state.config.agent_pickup_timeout))
    assert board.api.state.patch_ops.sweep()
    w.heartbeat(machine)
    assert _legend(board.api.client.get("/ui/").text)["failed"] == 1


def test_an_empty_fleet_says_how_to_add_machines(board: Board) -> None:
    """No machines: no charts, but the two ways to get one."""
    html = board.api.client.get("/ui/").text
    assert "No machines yet" in html
    assert "guestpatch vm create" in html
    assert "status-donut" not in html
