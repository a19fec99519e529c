"""One machine's page: settings and their states, agent, assessment, history, why not yet, 404s."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.web.conftest import Board

URL = "/ui/machines/tenant-a/rg-web/{}"


def _section(html: str, section_id: str) -> str:
    return html.split(f'id="{section_id}"', 1)[1].split("</section>", 1)[0]


def test_a_missing_machine_is_a_404_page(board: Board) -> None:
    """An unknown machine: 404, HTML, naming the machine and offering the way back."""
    response = board.api.client.get(URL.format("ghost"))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "There is no machine &#39;ghost&#39; in resource group &#39;rg-web&#39;" in response.text
    assert 'href="/ui/machines"' in response.text


def test_an_unknown_dashboard_path_is_a_404_page(sqlite_board: Board) -> None:
    """Paths under /ui that are no page get the dashboard's 404 page, not the API's JSON."""
    response = sqlite_board.api.client.get("/ui/machines/only/two")
    assert response.status_code == 404
    assert "There is no dashboard page at /ui/machines/only/two" in response.text


def test_the_settings_show_each_mode_and_its_configuration_state(board: Board) -> None:
    """Before the agent applies them the modes are Pending; after its report, Ready."""
    w = board.fleet
    machine = w.vm("set1", patch_mode="AutomaticByPlatform", assessment_mode="AutomaticByPlatform")
    settings = _section(board.api.client.get(URL.format("set1")).text, "settings")
    assert re.findall(r'<span class="badge tone-[a-z]+">(\w+)</span>', settings) == ["Pending", "Pending"]
    w.agent(machine)
    settings = _section(board.api.client.get(URL.format("set1")).text, "settings")
    assert "AutomaticByPlatform" in settings
    assert re.findall(r'<span class="badge tone-[a-z]+">(\w+)</span>', settings)[0] == "Ready"


def test_the_agent_box_shows_state_version_and_os(board: Board) -> None:
    """Agent version, last report and the OS its agent reported."""
    w = board.fleet
    w.agent(w.vm("agt1"), version="0.1.3")
    agent = _section(board.api.client.get(URL.format("agt1")).text, "agent")
    assert ">Ready<" in agent
    assert "0.1.3" in agent
    assert "Ubuntu 22.04.5 LTS" in agent


def test_the_last_assessment_lists_its_patches(board: Board) -> None:
    """Counts, and every patch with its version, classification and reboot behaviour, Security first."""
    w = board.fleet
    machine = w.agent(w.vm("ass1"))
    w.assess(machine, critical=2, other=1)
    html = board.api.client.get(URL.format("ass1")).text
    assert '<strong id="assessment-critical">2</strong>' in html
    assert '<strong id="assessment-other">1</strong>' in html
    rows = re.findall(
        r'<th scope="row" data-label="Patch">([^<]+)</th>\s*<td data-label="Version">([^<]+)</td>\s*'
        r'<td data-label="Classification"><span class="[^"]+">([^<]+)</span></td>\s*<td data-label="Reboot">([^<]+)<',
        _section(html, "assessment"),
    )
    assert rows == [
        ("libssl0", "3.0.0", "Security", "CanRequestReboot"),
        ("libssl1", "3.0.1", "Security", "CanRequestReboot"),
        ("tzdata0", "20260", "Other", "—"),
    ]


def test_a_newer_assessment_on_its_way_is_announced_above_the_last_result(board: Board) -> None:
    """While an assessment is queued, the box still shows the last finished one, and says a new one comes."""
    w = board.fleet
    machine = w.agent(w.vm("again1"))
    w.assess(machine, critical=1, other=0)
    board.clock.advance(timedelta(minutes=3))
    w.start_only(machine, "assessPatches")
    box = _section(board.api.client.get(URL.format("again1")).text, "assessment")
    assert "A new assessment is queued since 2026-11-26 08:03 UTC." in box
    assert re.search(r'tone-ok">Succeeded</span> 2026-11-26 08:00 UTC', box)
    assert '<strong id="assessment-critical">1</strong>' in box


def test_an_assessment_the_agent_never_answered_shows_as_failed_with_the_reason(board: Board) -> None:
    """The server fails an assessment its agent did not pick up; the box shows Failed and why."""
    w = board.fleet
    machine = w.agent(w.vm("mute1"))
    w.start_only(machine, "assessPatches")
    board.clock.advance(timedelta(seconds=board.api.state.config.agent_pickup_timeout))
    board.api.state.patch_ops.sweep()
    box = _section(board.api.client.get(URL.format("mute1")).text, "assessment")
    assert 'tone-bad">Failed</span>' in box
    assert "did not start the operation" in box


def test_the_history_lists_installations_and_assessments_newest_first(board: Board) -> None:
    """Each operation with who asked, its result and the installed/failed counts."""
    w = board.fleet
    machine = w.agent(w.vm("his1"))
    w.assess(machine, critical=1, other=0)
    board.clock.advance(timedelta(minutes=10))
    w.install(machine, installed=0, failed=1, status="Failed")
    history = _section(board.api.client.get(URL.format("his1")).text, "history")
    kinds = re.findall(r'data-label="Operation">(\w+)<', history)
    results = re.findall(r'data-label="Result"><span class="badge tone-[a-z]+">(\w+)<', history)
    # the platform's post-installation assessment (queued), the failed installation, the first assessment
    assert kinds == ["Assessment", "Installation", "Assessment"]
    assert results == ["Queued", "Failed", "Succeeded"]
    assert re.findall(r'data-label="Failed" class="num">([^<]+)<', history) == ["—", "1", "—"]


def test_why_not_yet_names_a_missing_agent_first(board: Board) -> None:
    """A machine nobody enrolled: the box says no agent has reported, as a blocker."""
    board.fleet.vm("lone1")
    why = _section(board.api.client.get(URL.format("lone1")).text, "why-not-yet")
    first = re.search(r'class="reason sev-(\w+)">.*?<strong>([^<]+)</strong>', why, re.S)
    assert first is not None
    assert first.groups() == ("blocker", "No guest agent has reported")


def test_why_not_yet_names_a_mode_the_platform_does_not_patch(board: Board) -> None:
    """An ImageDefault machine: the platform does not patch it, and the box says how to change that."""
    w = board.fleet
    w.agent(w.vm("img1", patch_mode="ImageDefault"))
    why = _section(board.api.client.get(URL.format("img1")).text, "why-not-yet")
    assert "Patch mode is ImageDefault, not AutomaticByPlatform" in why
    assert "sev-blocker" in why


def test_why_not_yet_says_pending_patches_wait_for_the_rollout(board: Board) -> None:
    """Nothing blocks an enrolled AutomaticByPlatform machine with Security patches: the rollout will."""
    w = board.fleet
    machine = w.agent(w.vm("roll1"))
    w.assess(machine, critical=2, other=0)
    why = _section(board.api.client.get(URL.format("roll1")).text, "why-not-yet")
    assert "2 Critical/Security patches pending" in why
    assert "sev-blocker" not in why


def test_machine_names_are_matched_ignoring_case(board: Board) -> None:
    """ARM names compare case-insensitively; the page shows the name as created."""
    board.fleet.vm("MixedCase1", rg="RG-Web")
    response = board.api.client.get("/ui/machines/TENANT-A/rg-web/mixedcase1")
    assert response.status_code == 200
    assert "<h1>MixedCase1" in response.text
