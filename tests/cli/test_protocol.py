"""The client's side of ARM protocol details, including the corners our own server never produces.

Long-running operations in every form the SDK accepts (Azure-AsyncOperation, Location-only, synchronous
answers), foreign ``nextLink`` hosts and non-ARM error bodies are played by a scripted HTTP server on a
real socket (as httpx's own tests do), speaking the exchanges of the reference ``azure-compute-api.md``
§5. The real server's patch operations are exercised in ``test_patches_live.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from guestpatch.cli.client import ApiClient, Endpoint, upstream_error
from guestpatch.cli.lro import OperationTimeout, retry_after, wait_for_result
from guestpatch.errors import UpstreamError
from tests.cli.conftest import run_cli


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


@dataclass
class Script:
    """Replies per (method, path), played in order; the last one repeats. Requests are recorded."""

    url: str = ""
    routes: dict[tuple[str, str], list[Reply]] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, path)] = list(replies)

    def reply(self, method: str, target: str) -> Reply:
        self.seen.append((method, target))
        path = target.split("?", 1)[0]
        replies = self.routes.get((method, path))
        if not replies:
            return Reply(404, {"error": {"code": "NotFound", "message": f"no script for {method} {path}"}})
        return replies.pop(0) if len(replies) > 1 else replies[0]


@pytest.fixture
def script() -> Iterator[Script]:
    plan = Script()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            reply = plan.reply(self.command, self.path)
            data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
            if reply.body is None and reply.raw is None:
                data = b""
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value.replace("{base}", plan.url))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    plan.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield plan
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def client(script: Script) -> Iterator[ApiClient]:
    endpoint = Endpoint(script.url, "secret", "the test", True, "the system trust store", "sub")
    with ApiClient(endpoint, timeout=10) as api:
        yield api


class Sleeps:
    """Records the delays asked for and advances a clock by them, instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


OP = "/subscriptions/sub/providers/Microsoft.Compute/locations/westeurope/operations/op1"
RESULT = {"status": "Succeeded", "criticalAndSecurityPatchCount": 2, "otherPatchCount": 1}


def test_async_operation_is_polled_until_succeeded_then_location_gives_the_result(
    script: Script, client: ApiClient
) -> None:
    """202 + Azure-AsyncOperation + Location: status polled (Retry-After honoured), then one GET on Location."""
    script.on("POST", "/vm/assessPatches", Reply(202, headers={
        "Azure-AsyncOperation": "{base}" + OP + "?api-version=2026-04-01",
        "Location": "{base}" + OP + "/result?monitor=true&api-version=2026-04-01",
        "Retry-After": "1",
    }))
    script.on("GET", OP,
              Reply(200, {"name": "op1", "status": "InProgress"}, {"Retry-After": "3"}),
              Reply(200, {"name": "op1", "status": "InProgress"}),
              Reply(200, {"name": "op1", "status": "Succeeded"}))
    script.on("GET", OP + "/result", Reply(200, RESULT))
    sleeps = Sleeps()
    response = client.request("POST", "/vm/assessPatches")
    result = wait_for_result(client, response, sleep=sleeps.sleep, monotonic=sleeps.monotonic, default_delay=2)
    assert result == RESULT
    assert sleeps.delays == [1, 3, 2]
    assert [target.split("?")[0] for _, target in script.seen] == [
        "/vm/assessPatches", OP, OP, OP, OP + "/result",
    ]


def test_every_polled_state_is_reported_for_the_progress_line(script: Script, client: ApiClient) -> None:
    """on_status hears each state the status URL answers, then InProgress for each 202 of Location."""
    script.on("POST", "/vm/installPatches", Reply(202, headers={
        "Azure-AsyncOperation": "{base}" + OP, "Location": "{base}" + OP + "/result", "Retry-After": "1",
    }))
    script.on("GET", OP, Reply(200, {"status": "InProgress"}), Reply(200, {"status": "Succeeded"}))
    script.on("GET", OP + "/result", Reply(200, RESULT))
    heard: list[str] = []
    sleeps = Sleeps()
    response = client.request("POST", "/vm/installPatches")
    wait_for_result(client, response, sleep=sleeps.sleep, monotonic=sleeps.monotonic, on_status=heard.append)
    assert heard == ["InProgress", "Succeeded"]


def test_location_polling_reports_in_progress_while_202(script: Script, client: ApiClient) -> None:
    """Location-only operations: each 202 is reported as InProgress."""
    script.on("POST", "/vm/assessPatches", Reply(202, headers={"Location": "{base}/ops/2", "Retry-After": "1"}))
    script.on("GET", "/ops/2", Reply(202, headers={"Retry-After": "1"}), Reply(202), Reply(200, RESULT))
    heard: list[str] = []
    sleeps = Sleeps()
    response = client.request("POST", "/vm/assessPatches")
    result = wait_for_result(client, response, sleep=sleeps.sleep, monotonic=sleeps.monotonic, on_status=heard.append)
    assert result == RESULT
    assert heard == ["InProgress", "InProgress"]


def test_failed_operation_raises_its_arm_error(script: Script, client: ApiClient) -> None:
    """A status of Failed with an error body becomes an UpstreamError carrying that code and message."""
    script.on("POST", "/vm/installPatches", Reply(202, headers={"Azure-AsyncOperation": "{base}" + OP}))
    script.on("GET", OP, Reply(200, {"status": "Failed", "error": {
        "code": "VMGuestPatchInternalError", "message": "An internal execution error occurred."}}))
    sleeps = Sleeps()
    response = client.request("POST", "/vm/installPatches")
    with pytest.raises(UpstreamError) as caught:
        wait_for_result(client, response, sleep=sleeps.sleep, monotonic=sleeps.monotonic)
    assert caught.value.code == "VMGuestPatchInternalError"
    assert caught.value.message == "An internal execution error occurred."


def test_put_with_async_operation_reads_the_resource_at_the_end(script: Script, client: ApiClient) -> None:
    """For PUT, after Succeeded the final state is a GET of the resource URL itself."""
    vm = {"name": "vm1", "properties": {"provisioningState": "Succeeded"}}
    script.on("PUT", "/vms/vm1", Reply(201, {"name": "vm1", "properties": {"provisioningState": "Creating"}},
                                       {"Azure-AsyncOperation": "{base}" + OP}))
    script.on("GET", OP, Reply(200, {"status": "Succeeded"}))
    script.on("GET", "/vms/vm1", Reply(200, vm))
    sleeps = Sleeps()
    response = client.request("PUT", "/vms/vm1", body={"location": "x"})
    assert wait_for_result(client, response, sleep=sleeps.sleep, monotonic=sleeps.monotonic) == vm


def test_location_only_operation_is_polled_while_202(script: Script, client: ApiClient) -> None:
    """202 + Location only: GET Location while it answers 202; its first other answer is the result."""
    script.on("POST", "/vm/assessPatches", Reply(202, headers={"Location": "{base}/ops/1"}))
    script.on("GET", "/ops/1", Reply(202, headers={"Retry-After": "5"}), Reply(202), Reply(200, RESULT))
    sleeps = Sleeps()
    response = client.request("POST", "/vm/assessPatches")
    result = wait_for_result(client, response, sleep=sleeps.sleep, monotonic=sleeps.monotonic, default_delay=2)
    assert result == RESULT
    assert sleeps.delays == [2, 5, 2]


def test_operation_that_outlives_the_timeout_stops_waiting(script: Script, client: ApiClient) -> None:
    """Still InProgress when the deadline comes: OperationTimeout naming the status URL."""
    script.on("POST", "/vm/assessPatches", Reply(202, headers={"Azure-AsyncOperation": "{base}" + OP}))
    script.on("GET", OP, Reply(200, {"status": "InProgress"}, {"Retry-After": "10"}))
    sleeps = Sleeps()
    response = client.request("POST", "/vm/assessPatches")
    with pytest.raises(OperationTimeout, match="goes on on the server"):
        wait_for_result(client, response, sleep=sleeps.sleep, monotonic=sleeps.monotonic, timeout=35)
    assert sum(sleeps.delays) <= 35


def test_synchronous_answer_is_the_result(script: Script, client: ApiClient) -> None:
    """200 with a body and no operation headers: no polling at all."""
    script.on("PATCH", "/vms/vm1", Reply(200, {"name": "vm1"}))
    sleeps = Sleeps()
    response = client.request("PATCH", "/vms/vm1", body={})
    assert wait_for_result(client, response, sleep=sleeps.sleep, monotonic=sleeps.monotonic) == {"name": "vm1"}
    assert sleeps.delays == []


def test_operation_url_on_another_host_is_refused(script: Script, client: ApiClient) -> None:
    """The token is never sent to a status URL on another origin."""
    script.on("POST", "/vm/assessPatches", Reply(202, headers={
        "Azure-AsyncOperation": "http://elsewhere.example:8080/op"}))
    sleeps = Sleeps()
    response = client.request("POST", "/vm/assessPatches")
    with pytest.raises(UpstreamError, match="another origin"):
        wait_for_result(client, response, sleep=sleeps.sleep, monotonic=sleeps.monotonic)
    assert len(script.seen) == 1


def test_next_link_to_another_host_is_refused(script: Script, client: ApiClient) -> None:
    """A list page whose nextLink leaves the server stops the listing with an error."""
    script.on("GET", "/vms", Reply(200, {"value": [{"name": "a"}], "nextLink": "https://evil.example/vms?page=2"}))
    with pytest.raises(UpstreamError, match="another origin"):
        list(client.list_all("/vms"))


def test_next_link_that_repeats_is_refused(script: Script, client: ApiClient) -> None:
    """A server that sends the same nextLink again would loop forever: refused on the repeat."""
    script.on("GET", "/vms", Reply(200, {"value": [{"name": "a"}], "nextLink": script.url + "/vms?page=2"}))
    with pytest.raises(UpstreamError, match="unusable nextLink"):
        list(client.list_all("/vms"))


def test_every_arm_request_carries_the_api_version_and_the_token(script: Script, client: ApiClient) -> None:
    """ARM calls add api-version=2026-04-01; operator calls (arm=False) do not."""
    script.on("GET", "/vms", Reply(200, {"value": []}))
    list(client.list_all("/vms"))
    list(client.list_all("/vms", arm=False))
    assert script.seen == [("GET", "/vms?api-version=2026-04-01"), ("GET", "/vms")]


def test_error_without_an_arm_body_still_gives_one_line(script: Script, client: ApiClient) -> None:
    """A proxy's HTML 502 becomes code HTTP502 with the reason and the text squeezed to one line."""
    script.on("GET", "/vms", Reply(502, raw=b"<html>\n<b>Bad gateway</b>\n</html>"))
    with pytest.raises(UpstreamError) as caught:
        client.request("GET", "/vms")
    assert caught.value.code == "HTTP502"
    assert caught.value.message == "Bad Gateway: <html> <b>Bad gateway</b> </html>"


def test_multi_line_arm_message_is_printed_on_one_line(script: Script) -> None:
    """A server message with line breaks still ends the command with exactly one stderr line."""
    script.on("POST", "/subscriptions/default/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/"
              "assessPatches", Reply(409, {"error": {"code": "OperationNotAllowed", "message": "first\n  second"}}))
    outcome = run_cli(None, "vm", "assess-patches", "-g", "rg", "-n", "vm", "--server", script.url, "--token", "t")
    assert outcome.exit_code == 1
    assert outcome.error_lines == ["error: (OperationNotAllowed) first second"]


def test_success_with_a_body_that_is_not_json_is_reported(script: Script, client: ApiClient) -> None:
    """A 200 whose body is not JSON is a BadResponse error, not a traceback."""
    script.on("GET", "/vms/vm1", Reply(200, raw=b"not json"))
    with pytest.raises(UpstreamError, match="not JSON"):
        client.json("GET", "/vms/vm1")


def test_401_names_the_token_source() -> None:
    """The AuthenticationFailed message ends with where the token came from."""
    response = httpx.Response(
        401, json={"error": {"code": "AuthenticationFailed", "message": "Bad token."}},
        request=httpx.Request("GET", "https://h/x"),
    )
    error = upstream_error(response, token_source="GUESTPATCH_TOKEN")
    assert (error.code, error.message) == ("AuthenticationFailed", "Bad token. (token from GUESTPATCH_TOKEN)")


@pytest.mark.parametrize(
    ("headers", "delay"),
    [({"Retry-After": "4"}, 4.0), ({"retry-after-ms": "1500"}, 1.5), ({"Retry-After": "0"}, None),
     ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None), ({"Retry-After": "9999"}, 60.0), ({}, None)],
)
def test_retry_after_forms(headers: dict[str, str], delay: float | None) -> None:
    """Seconds, milliseconds, zero (use the default), dates (default), and a 60 s ceiling."""
    assert retry_after(httpx.Response(200, headers=headers)) == delay
