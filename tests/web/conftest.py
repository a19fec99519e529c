"""The real application in-process, on a fresh store (SQLite, then PostgreSQL), with a fleet writer.

``board`` is the app with no credentials set (a browser before login); ``board.admin`` is a client
that sends the admin token as a bearer header and writes fleets through the ARM and agent routes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import Api, make_api
from tests.web.fleet_data import FleetWriter


@dataclass
class Board:
    api: Api
    browser: TestClient  # no Authorization header: cookies only, as a browser
    fleet: FleetWriter

    @property
    def token(self) -> str:
        return self.api.token

    @property
    def clock(self) -> Any:
        return self.api.clock

    def login(self, token: str | None = None) -> str:
        """Log the browser client in; returns the CSRF token of its session."""
        response = self.browser.post("/ui/login", data={"token": token or self.token, "next": "/ui/"},
                                     follow_redirects=False)
        assert response.status_code == 303, response.text
        page = self.browser.get("/ui/")
        assert page.status_code == 200
        marker = 'name="csrf" value="'
        start = page.text.index(marker) + len(marker)
        return page.text[start:page.text.index('"', start)]


def _board(url: str) -> Iterator[Board]:
    for api in make_api(url):
        api.client.headers["Authorization"] = f"Bearer {api.token}"
        browser = TestClient(api.client.app, base_url="https://testserver")
        yield Board(api=api, browser=browser, fleet=FleetWriter(api.client))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def board(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Board]:
    """The dashboard on a fresh store, SQLite then PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'web.db'}"
    else:
        url = request.getfixturevalue("postgres_clean_url")
    yield from _board(url)


@pytest.fixture
def sqlite_board(tmp_path: Path) -> Iterator[Board]:
    """The dashboard on SQLite only, for tests about the web layer rather than the queries."""
    yield from _board(f"sqlite:///{tmp_path / 'web.db'}")
