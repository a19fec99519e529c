"""The application health probe: the goal state's ``healthProbe``, probed from inside the machine.

Rules (``docs/agent-protocol.md``; Azure Application Health extension's semantics):

- **http / https**: a 2xx answer is ``Healthy``; any other status, no answer or a timeout is
  ``Unhealthy``. When a 2xx body is JSON with ``ApplicationHealthState`` (``Healthy``,
  ``Unhealthy``, ``Initializing``, ``Unknown``; case-insensitive), that state is used; another
  value there is ``Unknown``. Redirects are not followed (a 3xx is Unhealthy). An https probe
  does not verify the certificate: the endpoint is the machine's own, usually self-signed, and the
  probe asks whether the application answers, not who it is.
- **tcp**: a completed connection is ``Healthy``, anything else ``Unhealthy``.

:func:`interpret_http` and :func:`parse_probe` are pure; :func:`check` does the I/O.
"""

import http.client
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import urlsplit

HEALTHY = "Healthy"
UNHEALTHY = "Unhealthy"
INITIALIZING = "Initializing"
UNKNOWN = "Unknown"
STATES = (HEALTHY, UNHEALTHY, INITIALIZING, UNKNOWN)
KINDS = ("http", "https", "tcp")
#: Longest a single probe may take, in seconds (less when the interval is shorter).
MAX_PROBE_SECONDS = 10.0
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class ProbeSpec:
    kind: str
    target: str
    interval: float
    host: str
    port: int
    path: str

    @property
    def timeout(self) -> float:
        return max(1.0, min(MAX_PROBE_SECONDS, self.interval))


def parse_probe(value: Any) -> Optional[ProbeSpec]:
    """The goal state's ``healthProbe`` as a :class:`ProbeSpec`; None when absent or not usable."""
    if not isinstance(value, dict):
        return None
    kind, target, interval = value.get("kind"), value.get("target"), value.get("intervalSeconds", 15)
    if kind not in KINDS or not isinstance(target, str) or not target.startswith(str(kind) + "://"):
        return None
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 1 <= interval <= 3600:
        return None
    try:
        parts = urlsplit(target)
        port = parts.port or (443 if kind == "https" else 80 if kind == "http" else None)
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    return ProbeSpec(str(kind), target, float(interval), parts.hostname, port, path)


def interpret_http(status: int, body: bytes) -> str:
    """The health state an HTTP answer means (see the module rules)."""
    if not 200 <= status < 300:
        return UNHEALTHY
    try:
        data = json.loads(body.decode("utf-8")) if body.strip() else None
    except ValueError:
        return HEALTHY
    if not isinstance(data, dict):
        return HEALTHY
    key = next((k for k in data if isinstance(k, str) and k.lower() == "applicationhealthstate"), None)
    if key is None:
        return HEALTHY
    value = data[key]
    for state in STATES:
        if isinstance(value, str) and value.strip().lower() == state.lower():
            return state
    return UNKNOWN


def check(spec: ProbeSpec) -> str:
    """Probe once; the resulting state."""
    if spec.kind == "tcp":
        try:
            with socket.create_connection((spec.host, spec.port), timeout=spec.timeout):
                return HEALTHY
        except OSError:
            return UNHEALTHY
    if spec.kind == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            spec.host, spec.port, timeout=spec.timeout, context=context
        )
    else:
        connection = http.client.HTTPConnection(spec.host, spec.port, timeout=spec.timeout)
    try:
        connection.request("GET", spec.path, headers={"User-Agent": "guestpatch-agent health probe"})
        response = connection.getresponse()
        return interpret_http(response.status, response.read(MAX_BODY))
    except (OSError, http.client.HTTPException):
        return UNHEALTHY
    finally:
        connection.close()
