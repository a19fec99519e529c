"""The real application in-process (over Starlette's TestClient), on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guestpatch.api.app import create_app
from guestpatch.api.state import AppState
from guestpatch.config import load_config
from guestpatch.services.catalogs import Catalogs
from guestpatch.store import tokens
from guestpatch.store.db import Database
from guestpatch.testing import FakeClock

API = "api-version=2026-04-01"
SUB = "00000000-0000-0000-0000-000000000001"


def vm_url(name: str, rg: str = "rg1", sub: str = SUB) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}"


def linux_vm(location: str = "westeurope", **settings: Any) -> dict[str, Any]:
    """A Linux VM body on Ubuntu 22.04 (a supported image) with the given patch settings."""
    return {
        "location": location,
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            "storageProfile": {
                "imageReference": {
                    "publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy",
                    "sku": "22_04-lts-gen2", "version": "latest",
                }
            },
            "osProfile": {"computerName": "vm", "linuxConfiguration": {"provisionVMAgent": True, **settings}},
        },
    }


def windows_vm(location: str = "westeurope", *, sku: str = "2022-datacenter", **config: Any) -> dict[str, Any]:
    return {
        "location": location,
        "properties": {
            "storageProfile": {
                "imageReference": {
                    "publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": sku, "version": "latest",
                }
            },
            "osProfile": {"computerName": "win", "windowsConfiguration": {"provisionVMAgent": True, **config}},
        },
    }


@dataclass
class Api:
    client: TestClient
    state: AppState
    clock: FakeClock
    token: str

    def put(self, name: str, body: Any, **kw: Any) -> Any:
        return self.client.put(f"{vm_url(name, **kw)}?{API}", json=body)

    def patch(self, name: str, body: Any, **kw: Any) -> Any:
        return self.client.patch(f"{vm_url(name, **kw)}?{API}", json=body)

    def get(self, name: str, **kw: Any) -> Any:
        return self.client.get(f"{vm_url(name, **kw)}?{API}")


def make_api(url: str, *, clock: FakeClock | None = None, **settings: Any) -> Iterator[Api]:
    clock = clock or FakeClock(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    config = load_config({"data_dir": Path("/nonexistent"), **settings}, {})
    db = Database(url)
    db.migrate()
    token = tokens.new_token()
    with db.begin() as conn:
        tokens.create(conn, name="admin", role="admin", token=token, now=clock.now())
    state = AppState(config=config, db=db, clock=clock, catalogs=Catalogs())
    with TestClient(create_app(state), base_url="https://testserver") as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield Api(client=client, state=state, clock=clock, token=token)
    db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """The application on a fresh store (SQLite, then PostgreSQL), authenticated as admin, on a fake clock."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'api.db'}"
    else:
        url = request.getfixturevalue("postgres_clean_url")
    yield from make_api(url)


@pytest.fixture
def api_factory(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    """Build apps with other settings (page size, timeouts) or clocks."""
    generators: list[Iterator[Api]] = []

    def build(**settings: Any) -> Api:
        gen = make_api(f"sqlite:///{tmp_path / f'api{len(generators)}.db'}", **settings)
        generators.append(gen)
        return next(gen)

    yield build
    for gen in generators:
        for _ in gen:
            pass
