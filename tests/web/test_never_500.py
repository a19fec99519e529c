"""Whatever a client puts in the machine list's query string, the answer is a page, never a 500."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web.conftest import Board

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
