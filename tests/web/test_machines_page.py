"""The machine list: search, filters, paging, links, and 400 pages for bad values."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import Board


def _names(html: str) -> list[str]:
    """Machine names of the list, in page order."""
    return re.findall(r'<th scope="row" data-label="Machine"><a href="[^"]+">([^<]+)</a>', html)


def _small_fleet(board: Board) -> None:
    w = board.fleet
    web = w.agent(w.vm("web-01", rg="rg-Shop", sub="tenant-a", location="westeurope"))
    w.assess(web, critical=1, other=0)
    w.agent(w.vm("web-02", rg="rg-shop", sub="tenant-b", location="northeurope"))
    w.vm("db-01", rg="rg-erp", sub="tenant-a", location="westeurope", patch_mode="ImageDefault")
    w.vm("cache_01", rg="rg-webcache", sub="tenant-b", location="eastus")


def test_the_list_shows_every_machine_ordered_by_name(board: Board) -> None:
    """No filter: all machines, by name, with the count."""
    _small_fleet(board)
    html = board.api.client.get("/ui/machines").text
    assert _names(html) == ["cache_01", "db-01", "web-01", "web-02"]
    assert "4 machines" in html


def test_search_matches_name_or_resource_group_ignoring_case(board: Board) -> None:
    """'WEB' finds the web machines by name and the machine in resource group rg-webcache."""
    _small_fleet(board)
    html = board.api.client.get("/ui/machines", params={"q": "WEB"}).text
    assert _names(html) == ["cache_01", "web-01", "web-02"]
    assert "3 machines match" in html


def test_search_takes_like_wildcards_literally(board: Board) -> None:
    """'_' matches an underscore only, '%' matches nothing (no machine name holds one)."""
    _small_fleet(board)
    assert _names(board.api.client.get("/ui/machines", params={"q": "_"}).text) == ["cache_01"]
    assert _names(board.api.client.get("/ui/machines", params={"q": "%"}).text) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"region": "westeurope"}, ["db-01", "web-01"]),
        ({"region": "West Europe"}, ["db-01", "web-01"]),  # the display form is normalised
        ({"tenant": "TENANT-B"}, ["cache_01", "web-02"]),
        ({"patch_mode": "imagedefault"}, ["db-01"]),
        ({"status": "pending"}, ["web-01"]),
        ({"status": "not-reporting"}, ["cache_01", "db-01"]),
        ({"status": "never-assessed", "region": "northeurope"}, ["web-02"]),
        ({"q": "web", "tenant": "tenant-a"}, ["web-01"]),
    ],
)
def test_filters_narrow_the_list(board: Board, params: dict[str, str], expected: list[str]) -> None:
    """Region, tenant, patch mode and status filter alone and together with the search."""
    _small_fleet(board)
    assert _names(board.api.client.get("/ui/machines", params=params).text) == expected


def test_the_filters_keep_their_values_in_the_form(board: Board) -> None:
    """After filtering, the form shows what was chosen (so the next change keeps it)."""
    _small_fleet(board)
    html = board.api.client.get("/ui/machines", params={"q": "web", "status": "pending"}).text
    assert 'name="q" type="search" value="web"' in html
    assert '<option value="pending" selected>' in html


def test_rows_link_to_their_machine_pages(board: Board) -> None:
    """Each row's link opens that machine's page."""
    _small_fleet(board)
    html = board.api.client.get("/ui/machines", params={"q": "db-01"}).text
    link = re.search(r'href="(/ui/machines/[^"]+)">db-01<', html)
    assert link is not None
    assert link.group(1) == "/ui/machines/tenant-a/rg-erp/db-01"
    page = board.api.client.get(link.group(1))
    assert page.status_code == 200
    assert "<h1>db-01" in page.text


def test_long_lists_are_paged_by_fifty(sqlite_board: Board) -> None:
    """55 machines: page 1 shows 50 with a next link, page 2 the last 5 with a previous link."""
    for i in range(55):
        sqlite_board.fleet.vm(f"vm-{i:03d}")
    first = sqlite_board.api.client.get("/ui/machines").text
    assert len(_names(first)) == 50
    assert "page 1 of 2" in first
    assert 'rel="next" href="/ui/machines?page=2"' in first
    second = sqlite_board.api.client.get("/ui/machines", params={"page": "2"}).text
    assert _names(second) == [f"vm-{i:03d}" for i in range(50, 55)]
    assert 'rel="prev" href="/ui/machines?page=1"' in second


def test_paging_keeps_the_filters(sqlite_board: Board) -> None:
    """The next-page link carries the search and filters."""
    for i in range(51):
        sqlite_board.fleet.vm(f"app-{i:03d}", location="eastus")
    html = sqlite_board.api.client.get("/ui/machines", params={"q": "app", "region": "eastus"}).text
    assert 'rel="next" href="/ui/machines?q=app&amp;region=eastus&amp;page=2"' in html


def test_a_page_past_the_end_is_empty_not_an_error(board: Board) -> None:
    """Page 9 of a one-page list says nothing matches there, with a way back."""
    _small_fleet(board)
    response = board.api.client.get("/ui/machines", params={"page": "9"})
    assert response.status_code == 200
    assert _names(response.text) == []


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"region": "atlantis"}, "'atlantis' is not a known region"),
        ({"tenant": "not a tenant!"}, "is not a tenant (subscription) name"),
        ({"patch_mode": "Sometimes"}, "'Sometimes' is not a patch mode"),
        ({"status": "bogus"}, "'bogus' is not a patch status"),
        ({"page": "0"}, "The page must be a whole number from 1"),
        ({"page": "two"}, "not 'two'"),
        ({"page": "-1"}, "not '-1'"),
        ({"q": "x" * 101}, "at most 100 printable characters"),
        ({"q": "a\x00b"}, "at most 100 printable characters"),
    ],
)
def test_bad_filter_values_get_a_400_page_that_says_why(board: Board, params: dict[str, str], says: str) -> None:
    """A value the filters cannot mean is the user's mistake: an HTML 400 page naming the value."""
    response = board.api.client.get("/ui/machines", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert says in response.text.replace("&#39;", "'")


def test_the_search_text_is_escaped_in_the_page(sqlite_board: Board) -> None:
    """Markup typed into the search box comes back as text, never as HTML."""
    html = sqlite_board.api.client.get("/ui/machines", params={"q": '"><script>alert(1)</script>'}).text
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
