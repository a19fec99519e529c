"""Schemathesis against our own OpenAPI schema: no generated request may produce a 5xx.

The app runs in-process on a fresh SQLite store with a few VMs, so that generated requests also hit
existing resources. Hypothesis example counts are kept modest so the whole run takes about a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from guestpatch.api.app import create_app
from guestpatch.api.state import AppState
from guestpatch.config import load_config
from guestpatch.services.catalogs import Catalogs
from guestpatch.store import tokens
from guestpatch.store.db import Database
from guestpatch.testing import FakeClock
from tests.integration.conftest import linux_vm

TOKEN = tokens.new_token()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    path = tmp_path_factory.mktemp("schemathesis") / "st.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    clock = FakeClock()
    with db.begin() as conn:
        tokens.create(conn, name="admin", role="admin", token=TOKEN, now=clock.now())
    state = AppState(config=load_config({"data_dir": Path("/nonexistent")}, {}), db=db, clock=clock,
                     catalogs=Catalogs())
    application = create_app(state)
    from fastapi.testclient import TestClient

    with TestClient(application) as client:
        for name in ("vm1", "vm2"):
            response = client.put(
                f"/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/{name}"
                "?api-version=2026-04-01",
                json=linux_vm(), headers={"Authorization": f"Bearer {TOKEN}"},
            )
            assert response.status_code == 201
        yield application


@pytest.fixture(scope="module")
def api_schema(app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app, headers={"Authorization": f"Bearer {TOKEN}"})


def test_no_generated_request_gets_a_server_error(api_schema: Any) -> None:
    """Whatever the generator sends to any operation, the answer is below 500 and, when an error,
    an ARM error body. (Schemathesis' pytest plugin does not load under pytest 9, so the operations
    are driven with Hypothesis directly.)"""
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 15

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
            where = f"{case.method} {case.formatted_path}"
            if response.status_code >= 500:
                failures.append(f"{where}: {response.status_code} {response.text[:300]}")
            elif response.status_code >= 400 and "json" in str(response.headers.get("content-type", "")):
                error = response.json().get("error", {})
                if not (error.get("code") and error.get("message")):
                    failures.append(f"{where}: {response.status_code} without an ARM error body: {response.text[:300]}")

        check()
    assert failures == []
