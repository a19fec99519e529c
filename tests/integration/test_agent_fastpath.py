"""The agent hot paths served in plain ASGI: the edges the protocol tests do not walk.

``GET /agent/v1/goalstate`` and ``PUT /agent/v1/operations/{id}`` bypass FastAPI's routing; these tests
check that the answers at their edges (credentials, bodies, paths, methods) are the application's.
Runs in-process on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from guestpatch.api.app import create_app
from guestpatch.api.state import AppState
from guestpatch.config import load_config
from guestpatch.services.catalogs import Catalogs
from guestpatch.services.enrollment import Enrollment
from guestpatch.store.db import Database
from guestpatch.store.vms import VmKey
from guestpatch.testing import FakeClock
from tests.integration.conftest import Api
from tests.integration.test_agent_protocol import as_agent, enroll, goal, report, start


def queued_operation(api: Api, name: str) -> tuple[str, str]:
    credential = enroll(api, name)
    assert start(api, name, "assessPatches").status_code == 202
    op_id: str = goal(api, credential).json()["operations"][0]["id"]
    return credential, op_id


def test_a_report_is_answered_as_the_protocol_document_shows(api: Api) -> None:
    """200 with accepted, duplicate and status; the same report again is a duplicate."""
    credential, op_id = queued_operation(api, "host1")
    first = report(api, credential, op_id, 1, "InProgress")
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    assert first.json() == {"accepted": True, "duplicate": False, "status": "InProgress"}
    assert report(api, credential, op_id, 1, "InProgress").json()["duplicate"] is True


def test_a_report_without_a_bearer_credential_is_401_saying_so(api: Api) -> None:
    """No Authorization header, or another scheme: 401 AuthenticationFailed with WWW-Authenticate."""
    _, op_id = queued_operation(api, "host1")
    del api.client.headers["Authorization"]  # the operator's token the test client sends by default
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}):
        answer = api.client.put(f"/agent/v1/operations/{op_id}", json={"sequence": 1, "status": "InProgress"},
                                headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert "missing or is not a Bearer token" in answer.json()["error"]["message"]


def test_a_report_with_an_unknown_credential_is_401(api: Api) -> None:
    _, op_id = queued_operation(api, "host1")
    answer = report(api, "gpm_forged", op_id, 1, "InProgress")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "AuthenticationFailed"


def test_a_report_whose_body_is_not_a_json_object_is_400(api: Api) -> None:
    """Empty, not JSON, or a JSON array: 400 InvalidRequestContent, and the operation is untouched."""
    credential, op_id = queued_operation(api, "host1")
    for content in (b"", b"{not json", b"[1, 2]"):
        answer = api.client.put(f"/agent/v1/operations/{op_id}", content=content,
                                headers=as_agent(credential) | {"Content-Type": "application/json"})
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "InvalidRequestContent"
    assert report(api, credential, op_id, 1, "InProgress").json()["duplicate"] is False


def test_a_report_larger_than_the_body_limit_is_413(api_factory: object) -> None:
    """The body limit still applies to reports: 413 RequestEntityTooLarge, nothing stored."""
    api: Api = api_factory(max_body_bytes=2048)  # type: ignore[operator]
    credential, op_id = queued_operation(api, "host1")
    big = {"sequence": 1, "status": "InProgress", "padding": "x" * 4096}
    answer = api.client.put(f"/agent/v1/operations/{op_id}", json=big, headers=as_agent(credential))
    assert answer.status_code == 413
    assert report(api, credential, op_id, 1, "InProgress").json()["duplicate"] is False


def test_other_methods_and_deeper_paths_under_operations_are_the_applications_answers(api: Api) -> None:
    """Only ``PUT /agent/v1/operations/{id}`` is taken; GET is 405 and a deeper path 404, in ARM shape."""
    credential, op_id = queued_operation(api, "host1")
    wrong_method = api.client.get(f"/agent/v1/operations/{op_id}", headers=as_agent(credential))
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "MethodNotAllowed"
    deeper = api.client.put(f"/agent/v1/operations/{op_id}/extra", json={"sequence": 1, "status": "InProgress"},
                            headers=as_agent(credential))
    assert deeper.status_code == 404
    assert deeper.json()["error"]["code"] == "NotFound"


def test_the_first_authorization_header_counts(api: Api) -> None:
    """With two Authorization headers, the first decides (as in the rest of the application)."""
    credential = enroll(api, "host1")
    headers = [("Authorization", f"Bearer {credential}"), ("Authorization", "Bearer gpm_forged")]
    assert api.client.get("/agent/v1/goalstate", headers=headers).status_code == 200
    headers.reverse()
    assert api.client.get("/agent/v1/goalstate", headers=headers).status_code == 401


def test_head_of_the_goal_state_has_the_etag_and_no_body(api: Api) -> None:
    credential = enroll(api, "host1")
    etag = goal(api, credential).headers["etag"]
    answer = api.client.head("/agent/v1/goalstate", headers=as_agent(credential))
    assert answer.status_code == 200
    assert answer.headers["etag"] == etag
    assert answer.content == b""


def test_a_long_poll_is_held_even_when_this_worker_has_not_seen_the_machine_yet(tmp_path: Path) -> None:
    """Worker B, behind the store (the machine enrolled through worker A a moment ago), holds a long-poll
    with the current ETag instead of answering 304 at once, and answers 200 when the goal changes."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Database(url).migrate()
    config = load_config({"data_dir": tmp_path}, {})
    clock = FakeClock(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    one = AppState(config=config, db=Database(url), clock=clock, catalogs=Catalogs())
    other = AppState(config=config, db=Database(url), clock=clock, catalogs=Catalogs())
    with TestClient(create_app(one)), TestClient(create_app(other)) as client_b:
        token = Enrollment(one.db, clock).create_token(subscription="sub", resource_group="rg")["token"]
        credential = one.agents.enroll(token, {"name": "host1", "location": "westeurope", "agentVersion": "0.1.0",
                                               "os": {"family": "Linux", "distro": "debian", "version": "12"}})[
            "credential"]
        etag = client_b.get("/agent/v1/goalstate", headers=as_agent(credential)).headers["etag"]
        answers: list[Any] = []
        holder = threading.Thread(target=lambda: answers.append(client_b.get(
            "/agent/v1/goalstate", params={"wait": 30}, headers=as_agent(credential) | {"If-None-Match": etag})))
        holder.start()
        time.sleep(1.0)  # the poll is being held by B
        assert not answers
        one.patch_ops.start(VmKey("sub", "rg", "host1"), "assessPatches", {}, api_version="2024-03-01")
        other.index.catch_up()  # what B's follower does every second
        holder.join(timeout=60)
    assert [a.status_code for a in answers] == [200]
    assert answers[0].json()["operations"][0]["kind"] == "assessPatches"
