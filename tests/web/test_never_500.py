"""Whatever a client puts in the machine list's or a rollout's URL or forms, the answer is a page, never a 500."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web.conftest import Board
from tests.web.rollout_data import RolloutLab

KEYS = st.sampled_from(["q", "region", "tenant", "patch_mode", "status", "page", "other"])
VALUES = st.one_of(
    st.text(max_size=120),
    st.sampled_from(["westeurope", "tenant-a", "AutomaticByPlatform", "failed", "1", "2", "0", "-3", "1e9", ""]),
)


@pytest.fixture
def seeded(sqlite_board: Board) -> Board:
    """One machine, so that the list has something to filter (shared by all examples of a test)."""
    sqlite_board.fleet.vm("web-1")
    return sqlite_board


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.lists(st.tuples(KEYS, VALUES), max_size=6))
def test_any_query_string_gets_a_200_or_a_400_page(seeded: Board, params: list[tuple[str, str]]) -> None:
    """Random and repeated parameters, any Unicode: 200 (a list) or 400 (a page that says why)."""
    response = seeded.api.client.get("/ui/machines", params=params)
    assert response.status_code in {200, 400}, response.text
    assert response.headers["content-type"].startswith("text/html")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s), min_size=3, max_size=3))
def test_any_machine_path_gets_a_page_or_a_404(seeded: Board, parts: list[str]) -> None:
    """Arbitrary tenant, resource group and name segments: 200 or 404, never 500."""
    path = "/ui/machines/" + "/".join(quote(p, safe="") for p in parts)
    response = seeded.api.client.get(path)
    assert response.status_code in {200, 404}, (path, response.status_code)


@pytest.fixture
def with_rollout(sqlite_board: Board) -> tuple[Board, str]:
    """A started rollout (freezing its patch set) over six machines, shared by all examples of a test."""
    lab = RolloutLab(sqlite_board.api).enroll()
    return sqlite_board, lab.start()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rollout=st.text(min_size=1, max_size=120).filter(lambda s: "/" not in s))
def test_any_rollout_id_gets_a_page_or_a_404(with_rollout: tuple[Board, str], rollout: str) -> None:
    """Arbitrary rollout ids (any Unicode, control characters, too long): 404 pages, never 500."""
    board, _ = with_rollout
    for suffix in ("", "/halt", "/cancel"):
        response = board.api.client.get(f"/ui/rollouts/{quote(rollout, safe='')}{suffix}")
        assert response.status_code in {200, 404}, (rollout, suffix, response.status_code)
        assert response.headers["content-type"].startswith("text/html")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.lists(st.tuples(st.sampled_from(["status", "page", "done", "other"]), VALUES), max_size=5))
def test_any_rollout_query_string_gets_a_200_or_a_400_page(
    with_rollout: tuple[Board, str], params: list[tuple[str, str]]
) -> None:
    """The machine table's filter and page, and the notice, with any values: 200 or 400."""
    board, rollout = with_rollout
    response = board.api.client.get(f"/ui/rollouts/{rollout}", params=params)
    assert response.status_code in {200, 400}, response.text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.dictionaries(st.sampled_from(["reason", "confirm", "csrf", "x"]), st.text(max_size=600), max_size=4))
def test_any_action_form_gets_an_answer_never_a_500(with_rollout: tuple[Board, str], form: dict[str, str]) -> None:
    """Halt and cancel forms with any fields (bearer: no CSRF): a redirect, a 400 or a 409, never a 500."""
    board, rollout = with_rollout
    for action in ("halt", "cancel"):
        response = board.api.client.post(f"/ui/rollouts/{rollout}/{action}", data=form, follow_redirects=False)
        assert response.status_code in {303, 400, 409}, (action, form, response.status_code)
