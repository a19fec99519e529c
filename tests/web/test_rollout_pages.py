"""The rollout pages over a rollout made through the real services: list, timeline, gate, halt, actions.

Each rollout is started through the operator API and driven by the engine on the fake clock, with the
machines answering through the agent protocol (``tests/web/rollout_data.py``).
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from tests.web.conftest import Board
from tests.web.rollout_data import BAD_CANARY, CANARY_LAYOUT, RolloutLab, machine_id


def _section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start:html.index("</section>", start)]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def _halted(board: Board) -> tuple[RolloutLab, str]:
    """A rollout halted by its canary's first wave (ea1 fails); the lab keeps failing ea1 until told."""
    lab = RolloutLab(board.api, failing={"ea1"}).enroll(CANARY_LAYOUT)
    rollout = lab.start(**BAD_CANARY)
    lab.run_until(rollout, "Halted")
    return lab, rollout


def _completed(board: Board) -> str:
    lab = RolloutLab(board.api).enroll()
    rollout = lab.start()
    lab.run_until(rollout, "Completed")
    return rollout


def _status(board: Board, rollout: str) -> Any:
    return board.api.client.get(f"/v1/rollouts/{rollout}").json()


# ---------------------------------------------------------------- the list


def test_without_rollouts_the_list_says_how_to_start_one(sqlite_board: Board) -> None:
    """No rollout yet: the page names the command and does not refresh itself."""
    html = sqlite_board.api.client.get("/ui/rollouts").text
    assert "No rollout yet" in html
    assert "guestpatch rollout start" in html
    assert 'http-equiv="refresh"' not in html


def test_the_list_shows_a_halted_rollout_standing_out_with_its_progress(board: Board) -> None:
    """The halted rollout has a banner with its reason, a marked row, its status badge and progress."""
    _, rollout = _halted(board)
    html = board.api.client.get("/ui/rollouts").text
    banner = _text(_section(html, "halted-banner"))
    assert "1 rollout halted" in banner
    assert "wave 0 of eastasia: 1 of 1 started machines failed" in banner
    row = html[html.index(f'data-rollout="{rollout}"'):]
    row = row[:row.index("</tr>")]
    assert 'class="row-halted"' in html[html.rindex("<tr", 0, html.index(f'data-rollout="{rollout}"')):][:80]
    assert 'data-rollout-status="Halted"' in row
    assert f'data-key="{rollout}">0 / 11 patched<' in row
    assert "availability-first" in row
    assert "2026-11" in _text(row)


def test_the_list_counts_a_completed_rollouts_machines(sqlite_board: Board) -> None:
    """Six of six patched, the Completed badge, no halt banner."""
    rollout = _completed(sqlite_board)
    html = sqlite_board.api.client.get("/ui/rollouts").text
    assert f'data-key="{rollout}">6 / 6 patched<' in html
    assert 'data-rollout-status="Completed"' in html
    assert 'id="halted-banner"' not in html


# ---------------------------------------------------------------- one rollout


def test_the_timeline_shows_phases_regions_and_waves_with_their_states(sqlite_board: Board) -> None:
    """Halted in the canary: phase 0 current, its wave 0 open with 1 failed; later phases next, by zone."""
    _, rollout = _halted(sqlite_board)
    html = sqlite_board.api.client.get(f"/ui/rollouts/{rollout}").text
    timeline = _section(html, "timeline")
    phases = re.findall(r'class="phase phase-(\w+)" data-phase="(\d+)"', timeline)
    assert phases[0] == ("current", "0")
    assert {state for state, _ in phases[1:]} == {"next"}
    canary = timeline[timeline.index('data-region="eastasia"'):]
    canary = canary[:canary.index("</ol>")]
    assert re.search(r'class="wave wave-open" data-wave="0"', canary)
    assert "▶ open" in canary
    assert "wave 0 ▶ open 0/1 · 1 failed" in _text(canary)
    assert re.search(r'class="wave wave-next" data-wave="1"', canary)
    europe = timeline[timeline.index('data-region="westeurope"'):]
    europe = _text(europe[:europe.index("</ol>")])
    assert "wave 0 next zone 1" in europe
    assert "wave 2 next zone 3" in europe


def test_a_completed_rollout_has_every_phase_passed_and_every_wave_done(sqlite_board: Board) -> None:
    """All phases read 'passed' or current-and-passed, every wave 'done', nothing waiting."""
    rollout = _completed(sqlite_board)
    timeline = _section(sqlite_board.api.client.get(f"/ui/rollouts/{rollout}").text, "timeline")
    states = re.findall(r'class="wave wave-(\w+)"', timeline)
    assert len(states) == 6
    assert set(states) == {"done"}
    assert "○ waiting" not in timeline


def test_the_gate_states_the_success_share_against_the_threshold(sqlite_board: Board) -> None:
    """Phase 0 of the halted rollout: 0 of 1 decided machine succeeded, below 90 %; halts at 1 failure."""
    _, rollout = _halted(sqlite_board)
    gate = _text(_section(sqlite_board.api.client.get(f"/ui/rollouts/{rollout}").text, "gate"))
    assert "Gate of phase 0: Active" in gate
    assert "0.0 % of 1 decided machine (0 succeeded, 1 failed) — below the threshold of 90.0 %" in gate
    assert "a wave has 1 or more failures" in gate


def test_a_halt_shows_its_reason_who_when_and_the_failures_behind_it(sqlite_board: Board) -> None:
    """The halt box: the gate's reason, 'by gate', the time, the waiting machines, ea1 linked to its page."""
    _, rollout = _halted(sqlite_board)
    box = _section(sqlite_board.api.client.get(f"/ui/rollouts/{rollout}").text, "halt-box")
    text = _text(box)
    assert "Halted: wave 0 of eastasia: 1 of 1 started machines failed" in text
    assert "By gate" in text
    assert "2026-11-26" in text
    assert re.search(r"\d+ machines start nothing until someone resumes", text)
    assert 'href="/ui/machines/tenant-r/rg-roll/ea1"' in box
    assert "installation failed" in text


def test_the_machine_table_filters_on_status_and_says_why_not_yet(sqlite_board: Board) -> None:
    """status=failed (any case) lists only ea1 with its retry; the unfiltered table says why the rest wait."""
    _, rollout = _halted(sqlite_board)
    client = sqlite_board.api.client
    failed = _section(client.get(f"/ui/rollouts/{rollout}?status=failed").text, "machines")
    assert re.findall(r'data-machine="([^"]+)"', failed) == [machine_id("ea1")]
    assert "retry 2 of 3" in _text(failed)
    assert "1 machine Failed, of 11 in the rollout" in _text(failed)
    everything = _section(client.get(f"/ui/rollouts/{rollout}").text, "machines")
    assert len(re.findall(r'data-machine="', everything)) == 11
    assert "rollout halted by gate" in _text(everything)


def test_a_bad_machine_filter_or_page_is_a_400_page(sqlite_board: Board) -> None:
    """An unknown status names the statuses; page 0 says what pages are."""
    _, rollout = _halted(sqlite_board)
    bad = sqlite_board.api.client.get(f"/ui/rollouts/{rollout}?status=sleeping")
    assert bad.status_code == 400
    assert "is not a machine status in a rollout" in unescape(bad.text)
    assert sqlite_board.api.client.get(f"/ui/rollouts/{rollout}?page=0").status_code == 400


def test_the_frozen_patch_set_attempts_and_events_are_listed(sqlite_board: Board) -> None:
    """The canary froze libssl0 3.0.0; ea1's failed attempt and the halt event are on the page."""
    _, rollout = _halted(sqlite_board)
    html = sqlite_board.api.client.get(f"/ui/rollouts/{rollout}").text
    frozen = _text(_section(html, "frozen"))
    assert "debian-12" in frozen
    assert "libssl0 3.0.0" in frozen
    attempts = _text(_section(html, "attempts"))
    assert "Failed ea1 attempt 1 · phase 0 wave 0" in attempts
    events = _text(_section(html, "events"))
    assert events.index("halt") < events.index("frozen")  # newest first


def test_a_moving_rollout_refreshes_itself_and_a_finished_one_does_not(sqlite_board: Board) -> None:
    """Halted (still moving: machines in flight finish) refreshes every 5 s; Completed does not."""
    _, halted = _halted(sqlite_board)
    assert '<meta http-equiv="refresh" content="5">' in sqlite_board.api.client.get(f"/ui/rollouts/{halted}").text
    sqlite_board.api.client.post(f"/v1/rollouts/{halted}/cancel")
    assert 'http-equiv="refresh"' not in sqlite_board.api.client.get(f"/ui/rollouts/{halted}").text


def test_an_unknown_rollout_is_a_404_page(sqlite_board: Board) -> None:
    """Unknown ids and ids no store would take (control characters, too long) are 404 pages."""
    client = sqlite_board.api.client
    for path in ("/ui/rollouts/nope", "/ui/rollouts/%00x", "/ui/rollouts/" + "x" * 101, "/ui/rollouts/nope/cancel"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")


# ---------------------------------------------------------------- actions


def test_resume_without_the_sessions_csrf_token_is_refused(board: Board) -> None:
    """A logged-in browser posting without (or with a foreign) token gets 403; the rollout stays halted."""
    _, rollout = _halted(board)
    board.login()
    for data in ({}, {"csrf": "not-the-token"}):
        response = board.browser.post(f"/ui/rollouts/{rollout}/resume", data=data, follow_redirects=False)
        assert response.status_code == 403
    assert _status(board, rollout)["status"] == "Halted"


def test_resume_with_the_token_resumes_and_comes_back_with_a_notice(board: Board) -> None:
    """303 to the rollout with done=resumed; the rollout runs; the history names the token and the dashboard."""
    lab, rollout = _halted(board)
    csrf = board.login()
    response = board.browser.post(f"/ui/rollouts/{rollout}/resume", data={"csrf": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/ui/rollouts/{rollout}?done=resumed"
    detail = _status(board, rollout)
    assert detail["status"] == "Running"
    assert detail["history"][-1]["by"] == "token:admin (dashboard)"
    page = board.browser.get(response.headers["location"])
    assert "Resumed: the gate that halted it is overridden" in page.text
    lab.failing.clear()
    lab.step()
    lab.step()
    after = board.browser.get(f"/ui/rollouts/{rollout}").text
    patched = re.search(r'data-phase="0">(\d+) / 6 patched', after)
    assert patched is not None
    assert int(patched.group(1)) >= 1  # progress moved


def test_cancel_asks_for_confirmation_before_it_cancels(sqlite_board: Board) -> None:
    """The confirm page has the box; a POST without it is a 400 and changes nothing; with it, Cancelled."""
    _, rollout = _halted(sqlite_board)
    csrf = sqlite_board.login()
    form = sqlite_board.browser.get(f"/ui/rollouts/{rollout}/cancel")
    assert form.status_code == 200
    assert 'name="confirm" value="yes" required' in form.text
    assert "This cannot be undone" in form.text
    refused = sqlite_board.browser.post(f"/ui/rollouts/{rollout}/cancel", data={"csrf": csrf})
    assert refused.status_code == 400
    assert _status(sqlite_board, rollout)["status"] == "Halted"
    done = sqlite_board.browser.post(f"/ui/rollouts/{rollout}/cancel", data={"csrf": csrf, "confirm": "yes"},
                                     follow_redirects=False)
    assert done.headers["location"].endswith("?done=cancelled")
    assert _status(sqlite_board, rollout)["status"] == "Cancelled"
    assert _status(sqlite_board, rollout)["history"][-1]["by"] == "token:admin (dashboard)"


def test_cancel_without_the_csrf_token_is_refused_even_when_confirmed(sqlite_board: Board) -> None:
    """The confirmation box does not replace the token: 403, still halted."""
    _, rollout = _halted(sqlite_board)
    sqlite_board.login()
    response = sqlite_board.browser.post(f"/ui/rollouts/{rollout}/cancel", data={"confirm": "yes"})
    assert response.status_code == 403
    assert _status(sqlite_board, rollout)["status"] == "Halted"


def test_halt_from_the_dashboard_records_the_operators_reason(sqlite_board: Board) -> None:
    """A running rollout: the Halt link's page asks for a reason; the POST halts with it, by the token."""
    lab = RolloutLab(sqlite_board.api).enroll()
    rollout = lab.start()
    csrf = sqlite_board.login()
    page = sqlite_board.browser.get(f"/ui/rollouts/{rollout}")
    assert f'href="/ui/rollouts/{rollout}/halt"' in page.text
    assert 'id="resume"' not in page.text
    assert 'id="reason"' in sqlite_board.browser.get(f"/ui/rollouts/{rollout}/halt").text
    response = sqlite_board.browser.post(f"/ui/rollouts/{rollout}/halt",
                                         data={"csrf": csrf, "reason": "change freeze for the sale"})
    assert response.status_code == 200  # followed the 303 to the rollout page
    detail = _status(sqlite_board, rollout)
    assert detail["status"] == "Halted"
    assert detail["halt"]["reason"] == "change freeze for the sale"
    assert detail["halt"]["by"] == "token:admin (dashboard)"
    assert "Halted: change freeze for the sale" in response.text


def test_a_halt_reason_over_the_limit_is_a_400(sqlite_board: Board) -> None:
    """501 characters: refused with the limit, and the rollout keeps running."""
    lab = RolloutLab(sqlite_board.api).enroll()
    rollout = lab.start()
    csrf = sqlite_board.login()
    response = sqlite_board.browser.post(f"/ui/rollouts/{rollout}/halt", data={"csrf": csrf, "reason": "x" * 501})
    assert response.status_code == 400
    assert _status(sqlite_board, rollout)["status"] != "Halted"


def test_an_action_the_state_does_not_allow_is_a_409_page(sqlite_board: Board) -> None:
    """Resuming a completed rollout: the page says it is not possible now and leads back to the rollouts."""
    rollout = _completed(sqlite_board)
    csrf = sqlite_board.login()
    response = sqlite_board.browser.post(f"/ui/rollouts/{rollout}/resume", data={"csrf": csrf})
    assert response.status_code == 409
    assert "Not possible now" in response.text
    assert "is Completed; it cannot take &#39;resume&#39;" in response.text


def test_scripts_with_a_bearer_token_need_no_csrf_token(sqlite_board: Board) -> None:
    """The bearer header is not sent by browsers on their own: no CSRF field needed."""
    _, rollout = _halted(sqlite_board)
    response = sqlite_board.api.client.post(f"/ui/rollouts/{rollout}/resume", follow_redirects=False)
    assert response.status_code == 303
    assert _status(sqlite_board, rollout)["status"] == "Running"


# ---------------------------------------------------------------- elsewhere on the dashboard


def test_the_fleet_page_has_a_rollouts_panel_with_the_active_rollout(sqlite_board: Board) -> None:
    """The halted rollout: its id, phase, progress, and the halt with a link to act on it."""
    _, rollout = _halted(sqlite_board)
    panel = _section(sqlite_board.api.client.get("/ui/").text, "rollout-panel")
    assert f'href="/ui/rollouts/{rollout}"' in panel
    assert 'data-rollout-status="Halted"' in panel
    assert '<strong id="panel-phase">0</strong>' in panel
    assert "0 / 11 patched" in panel
    assert "Halted: wave 0 of eastasia" in _text(panel)


def test_the_fleet_page_panel_without_rollouts_names_the_next_release(sqlite_board: Board) -> None:
    """No rollout: the day the next monthly release starts (second Tuesday of December 2026)."""
    panel = _text(_section(sqlite_board.api.client.get("/ui/").text, "rollout-panel"))
    assert "No rollout yet" in panel
    assert "2026-12-08" in panel


def test_a_machine_page_shows_its_rollouts_own_reason_first(sqlite_board: Board) -> None:
    """ea1 failed in the rollout: the why-not-yet box starts with the rollout's reason, linked."""
    _, rollout = _halted(sqlite_board)
    html = sqlite_board.api.client.get("/ui/machines/tenant-r/rg-roll/ea1").text
    why = _section(html, "why-not-yet")
    first = why[why.index("<li"):why.index("</li>")]
    assert f'href="/ui/rollouts/{rollout}"' in first
    assert f"Rollout {rollout}: Failed" in first
    assert "sev-warning" in first
    assert "retry 2 of 3 in its next window at 2026-11-27 07:00 UTC" in _text(first)
    waiting = _section(sqlite_board.api.client.get("/ui/machines/tenant-r/rg-roll/we1").text, "why-not-yet")
    assert "rollout halted by gate" in _text(waiting)


def test_a_machine_outside_every_rollout_has_no_rollout_reason(sqlite_board: Board) -> None:
    """A machine created after the rollout started: its box has only part 1's reasons."""
    _completed(sqlite_board)
    w = sqlite_board.fleet
    w.agent(w.vm("late1"))
    why = _section(sqlite_board.api.client.get("/ui/machines/tenant-a/rg-web/late1").text, "why-not-yet")
    assert "Rollout " not in why


@pytest.mark.parametrize("path", ["/ui/rollouts", "/ui/rollouts/x", "/ui/rollouts/x/halt", "/ui/rollouts/x/cancel"])
def test_rollout_pages_need_an_operator(sqlite_board: Board, path: str) -> None:
    """Without credentials every rollout page sends the browser to the login form."""
    response = sqlite_board.browser.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/ui/login?next=")
