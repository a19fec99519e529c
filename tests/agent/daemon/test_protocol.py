"""The agent's HTTPS client: answers sorted by whose fault they are, against the real server and a stub."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from guestpatch_agent.errors import CredentialRevoked, RequestRejected, ServerError, UsageError
from guestpatch_agent.protocol import ControlPlane, Server, parse_server, tls_context
from tests.agent.daemon.conftest import enrolled, plane_for, queue_assessment
from tests.agent.daemon.stub import Scripted, StubControlPlane
from tests.server_fixtures import LiveServer, free_port


@pytest.mark.parametrize(
    ("text", "server"),
    [
        ("https://patch.example.com", Server("patch.example.com", 443)),
        ("https://127.0.0.1:8443/", Server("127.0.0.1", 8443)),
        ("https://cp.example.com:9443/guestpatch/", Server("cp.example.com", 9443, "/guestpatch")),
        ("https://[::1]:8443", Server("::1", 8443)),
    ],
)
def test_server_urls_that_are_accepted(text: str, server: Server) -> None:
    """https://HOST[:PORT][/PATH] is parsed into host, port (443 by default) and path prefix."""
    assert parse_server(text) == server


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("http://127.0.0.1:8443", "must be an https:// URL"),
        ("127.0.0.1:8443", "must be an https:// URL"),
        ("https://", "no host name"),
        ("https://h:99999", "not a URL"),
        ("https://h/x?a=1", "no query"),
        ("https://user:pw@h", "no query, fragment or user"),
    ],
)
def test_server_urls_that_are_refused(text: str, words: str) -> None:
    """Plain HTTP, missing hosts, bad ports, queries and user info are refused with the reason."""
    with pytest.raises(UsageError, match=words):
        parse_server(text)


def test_a_ca_file_that_is_not_pem_is_refused(tmp_path: Path) -> None:
    """--ca-file pointing at something else is a usage error naming the file."""
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    with pytest.raises(UsageError, match="not a readable PEM certificate"):
        tls_context(str(bogus))


def test_a_current_etag_answers_not_modified(live_server: LiveServer) -> None:
    """The first poll gets the goal state and its ETag; polling with that ETag answers None (304)."""
    plane = enrolled(live_server, "proto-etag")
    etag, goal = plane.goal_state(None)
    assert goal is not None
    assert goal["operations"] == []
    assert etag == goal["etag"]
    assert plane.goal_state(etag) == (etag, None)


def test_a_long_poll_returns_the_new_goal_state_when_it_changes(live_server: LiveServer) -> None:
    """Polls waiting with ?wait= (re-sent when one ends 304) get the goal state with the queued operation."""
    plane = enrolled(live_server, "proto-wait")
    etag, _ = plane.goal_state(None)
    answers: list[tuple[str, dict | None]] = []

    def long_poll() -> None:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and (not answers or answers[-1][1] is None):
            answers.append(plane.goal_state(etag, wait=30))

    poll = threading.Thread(target=long_poll)
    poll.start()
    operation = queue_assessment(live_server, "proto-wait")
    poll.join(timeout=60)
    new_etag, goal = answers[-1]
    assert new_etag != etag
    assert goal is not None
    assert [o["id"] for o in goal["operations"]] == [operation]


def test_an_unknown_credential_is_credential_revoked(live_server: LiveServer) -> None:
    """401 on the goal state → CredentialRevoked (a RequestRejected with status 401)."""
    with pytest.raises(CredentialRevoked) as caught:
        plane_for(live_server, "gpm_not-a-credential").goal_state(None)
    assert caught.value.status == 401


def test_a_malformed_heartbeat_is_rejected_with_the_arm_code(live_server: LiveServer) -> None:
    """400 → RequestRejected carrying the status and the ARM error code (we erred: not retried)."""
    plane = enrolled(live_server, "proto-bad")
    with pytest.raises(RequestRejected) as caught:
        plane.heartbeat({"agentVersion": "0.1.0", "os": {"family": "Plan9", "distro": "x"}})
    assert (caught.value.status, caught.value.code) == (400, "InvalidParameter")
    assert "os.family" in str(caught.value)


def test_an_unknown_operation_is_rejected_404(live_server: LiveServer) -> None:
    """A report for an operation that is not this machine's → RequestRejected 404 OperationNotFound."""
    plane = enrolled(live_server, "proto-404")
    with pytest.raises(RequestRejected) as caught:
        plane.report("00000000-0000-0000-0000-000000000000", {"sequence": 1, "status": "InProgress"})
    assert (caught.value.status, caught.value.code) == (404, "OperationNotFound")


def test_a_server_without_the_stored_ca_is_not_trusted(live_server: LiveServer) -> None:
    """Without the server's CA (system store only) the TLS handshake fails: ServerError naming trust."""
    plane = ControlPlane(parse_server(live_server.url), context=tls_context(None), credential="gpm_x")
    with pytest.raises(ServerError, match="certificate is not trusted"):
        plane.goal_state(None)


def test_no_server_listening_is_server_error() -> None:
    """A refused connection is the server's fault (retry later), not a rejection."""
    plane = ControlPlane(Server("127.0.0.1", free_port()), context=tls_context(None), credential="gpm_x")
    with pytest.raises(ServerError, match="no answer"):
        plane.heartbeat({})


def test_a_5xx_is_server_error_with_the_arm_message(stub: StubControlPlane) -> None:
    """503 with an ARM error body → ServerError quoting the code and message."""
    stub.goal.append(Scripted(503, {"error": {"code": "ServiceUnavailable", "message": "database is locked"}}))
    with pytest.raises(ServerError, match="503 ServiceUnavailable: database is locked"):
        plane_for(stub, "gpm_x").goal_state(None)


def test_an_answer_that_is_not_json_is_server_error(stub: StubControlPlane) -> None:
    """A 200 whose body is not JSON is the server's fault, not a goal state."""
    stub.goal.append(Scripted(200, b"<html>proxy error</html>", {"ETag": '"3"'}))
    with pytest.raises(ServerError, match="not JSON"):
        plane_for(stub, "gpm_x").goal_state(None)


def test_requests_carry_the_credential_the_etag_and_the_wait(stub: StubControlPlane) -> None:
    """Bearer credential, If-None-Match with the ETag held, and ?wait= on a long-poll."""
    plane_for(stub, "gpm_secret").goal_state('"7"', wait=12)
    seen = stub.requests("/agent/v1/goalstate")[0]
    assert seen.path == "/agent/v1/goalstate?wait=12"
    assert seen.headers["authorization"] == "Bearer gpm_secret"
    assert seen.headers["if-none-match"] == '"7"'
