"""Waiting for ARM long-running operations, the way the Azure SDK's ``ARMPolling`` does.

An ARM write may answer at once (200/201 with the resource) or start an operation: ``201``/``202`` with an
``Azure-AsyncOperation`` header (a status resource to poll until ``Succeeded``, ``Failed`` or
``Canceled``) and often a ``Location`` header (the result once done; ``202`` while running). See
``docs/cli.md`` and the reference ``azure-compute-api.md`` §5.

:func:`wait_for_result` follows whichever the server sent and returns the final JSON body. Sleeping and the
clock are arguments so that callers (and tests) decide how time passes; ``on_status`` hears the state of
every poll (``InProgress``, ``Succeeded``, …), for a progress line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from guestpatch.cli.client import ApiClient, body_json
from guestpatch.errors import UpstreamError

TERMINAL = frozenset({"succeeded", "failed", "canceled"})
DEFAULT_DELAY = 2.0  # seconds between polls when the server sends no Retry-After
MAX_DELAY = 60.0
DEFAULT_TIMEOUT = 3600.0


class OperationTimeout(UpstreamError):
    """The operation was still running when the caller stopped waiting (it goes on on the server)."""


def wait_for_result(
    client: ApiClient,
    response: httpx.Response,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    timeout: float = DEFAULT_TIMEOUT,
    default_delay: float = DEFAULT_DELAY,
    on_status: Callable[[str], None] = lambda _state: None,
) -> Any:
    """The final result of the request that produced ``response``: at once, or after polling."""
    status_url = response.headers.get("Azure-AsyncOperation")
    location = response.headers.get("Location")
    method = response.request.method
    deadline = monotonic() + timeout
    poll = _Polling(client, sleep, monotonic, deadline, default_delay, on_status)
    if status_url:
        status = _poll_status(poll, status_url, response)
        if isinstance(status.get("resourceLocation"), str):
            return client.json("GET", status["resourceLocation"])
        if location:
            return _poll_location(poll, location, None)
        if method in {"PUT", "PATCH"}:
            return client.json("GET", str(response.request.url))
        if method == "DELETE":
            return None
        properties = status.get("properties")
        if isinstance(properties, dict) and "output" in properties:
            return properties["output"]
        return status
    if location and response.status_code == 202:
        return _poll_location(poll, location, response)
    return body_json(response)


@dataclass(frozen=True)
class _Polling:
    """How one wait polls: the client, how time passes, when to give up, whom to tell."""

    client: ApiClient
    sleep: Callable[[float], None]
    monotonic: Callable[[], float]
    deadline: float
    default_delay: float
    on_status: Callable[[str], None]

    def wait(self, response: httpx.Response, url: str) -> None:
        delay = retry_after(response) or self.default_delay
        if self.monotonic() + delay > self.deadline:
            raise OperationTimeout(
                f"the operation did not finish in time; it goes on on the server (status: {url}).",
                status=504,
                code="OperationTimedOut",
            )
        self.sleep(delay)


def _poll_status(poll: _Polling, url: str, previous: httpx.Response) -> dict[str, Any]:
    while True:
        poll.wait(previous, url)
        previous = poll.client.request("GET", url)
        status = body_json(previous)
        if not isinstance(status, dict) or not isinstance(status.get("status"), str):
            raise UpstreamError(
                f"the operation status at {url} has no 'status' member.", status=502, code="BadResponse"
            )
        poll.on_status(status["status"])
        state = status["status"].lower()
        if state == "succeeded":
            return status
        if state in TERMINAL:
            raise _operation_error(status)


def _poll_location(poll: _Polling, url: str, previous: httpx.Response | None) -> Any:
    while True:
        if previous is not None:
            poll.wait(previous, url)
        previous = poll.client.request("GET", url)
        if previous.status_code != 202:
            return body_json(previous)
        poll.on_status("InProgress")
        url = previous.headers.get("Location") or url


def retry_after(response: httpx.Response) -> float | None:
    """The delay the server asked for (``retry-after-ms``, ``x-ms-retry-after-ms``, ``Retry-After`` seconds)."""
    for header, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001), ("Retry-After", 1.0)):
        raw = response.headers.get(header)
        if raw is None:
            continue
        try:
            value = float(raw) * scale
        except ValueError:
            continue  # an HTTP date: fall back to the default delay
        if value > 0:
            return min(value, MAX_DELAY)
    return None


def _operation_error(status: dict[str, Any]) -> UpstreamError:
    error = status.get("error")
    state = str(status["status"])
    code = f"Operation{state}"
    message = f"the operation ended with status {state}."
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
    return UpstreamError(message, status=500, code=code)
