"""The agent's side of the agent protocol (``docs/agent-protocol.md``): one HTTPS client, stdlib only.

:class:`ControlPlane` speaks the four requests (enroll, goal state, heartbeat, operation report) and
sorts every answer by whose fault it was (h11's split):

- 2xx (and 304 on the goal state) are answers;
- 4xx: **we erred** → :class:`~guestpatch_agent.errors.RequestRejected` with the status and the ARM
  ``code`` (401 → :class:`~guestpatch_agent.errors.CredentialRevoked`); the same request is not retried;
- 5xx, no answer, a TLS or network failure, a body that is not the promised JSON: **the server erred**
  → :class:`~guestpatch_agent.errors.ServerError`; the caller retries with backoff.

One connection per request (a machine calls about once a minute; a kept-alive connection would
only add stale-socket cases). The server is trusted through an :mod:`ssl` context: the CA stored at
enrollment, or the system store.
"""

import http.client
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import quote, urlsplit

from guestpatch_agent import __version__
from guestpatch_agent.errors import CredentialRevoked, RequestRejected, ServerError, UsageError

USER_AGENT = "guestpatch-agent/" + __version__
#: Seconds a request may take, beyond the long-poll wait the server may hold it.
REQUEST_TIMEOUT = 30.0
#: The most we read of an answer (a goal state is a few kB).
MAX_ANSWER = 16 * 1024 * 1024


@dataclass(frozen=True)
class Server:
    """Where the control plane is: ``https://HOST[:PORT][/PREFIX]``."""

    host: str
    port: int
    prefix: str = ""

    @property
    def url(self) -> str:
        host = "[{}]".format(self.host) if ":" in self.host else self.host
        return "https://{}:{}{}".format(host, self.port, self.prefix)


def parse_server(text: str) -> Server:
    """Validate ``--server``: HTTPS only (the protocol carries credentials), no query or fragment."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError as exc:
        raise UsageError("--server {!r} is not a URL: {}".format(text, exc)) from exc
    if parts.scheme != "https":
        raise UsageError("--server {!r} must be an https:// URL (the agent protocol is HTTPS only)".format(text))
    if not parts.hostname:
        raise UsageError("--server {!r} has no host name".format(text))
    if parts.query or parts.fragment or parts.username or parts.password:
        raise UsageError("--server {!r} must be https://HOST[:PORT][/PATH]: no query, fragment or user".format(text))
    return Server(parts.hostname, port or 443, parts.path.rstrip("/"))


def tls_context(ca_file: Optional[str]) -> ssl.SSLContext:
    """Trust ``ca_file`` (PEM) when given, else the system store; host names are always checked."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise UsageError("--ca-file {}: not a readable PEM certificate: {}".format(ca_file, exc)) from exc


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: Any  # parsed JSON, or None for an empty body


class ControlPlane:
    """The control plane as the agent sees it. ``credential`` is the machine credential (``gpm_…``)."""

    def __init__(
        self,
        server: Server,
        *,
        context: ssl.SSLContext,
        credential: Optional[str] = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.server = server
        self._context = context
        self._credential = credential
        self._timeout = timeout

    # ------------------------------------------------------------------ the four requests
    def enroll(self, token: str, body: Dict[str, Any]) -> Dict[str, Any]:
        """``POST /agent/v1/enroll`` with an enrollment token; the server's answer (with the credential)."""
        answer = self._call("POST", "/agent/v1/enroll", body=body, bearer=token)
        if answer.status != 201 or not isinstance(answer.body, dict) or "credential" not in answer.body:
            raise ServerError("the enrollment answer is not a 201 with a credential (status {})".format(answer.status))
        return answer.body

    def goal_state(self, etag: Optional[str], *, wait: float = 0) -> Tuple[str, Optional[Dict[str, Any]]]:
        """(ETag, goal state), or (ETag, None) when ``etag`` is still current (304)."""
        path = "/agent/v1/goalstate" + ("?wait={}".format(int(wait)) if wait > 0 else "")
        headers = {"If-None-Match": etag} if etag else {}
        answer = self._call("GET", path, headers=headers, extra_timeout=max(0.0, wait))
        tag = answer.headers.get("etag") or etag or ""
        if answer.status == 304:
            return tag, None
        if answer.status != 200 or not isinstance(answer.body, dict) or not isinstance(
            answer.body.get("operations"), list
        ):
            raise ServerError("the goal state answer is not a 200 with a goal state (status {})".format(answer.status))
        return tag, answer.body

    def heartbeat(self, body: Dict[str, Any]) -> None:
        """``POST /agent/v1/heartbeat``."""
        self._call("POST", "/agent/v1/heartbeat", body=body)

    def report(self, operation_id: str, body: Dict[str, Any]) -> Dict[str, Any]:
        """``PUT /agent/v1/operations/{id}``: the server's ``{"accepted": …, "status": …}``."""
        answer = self._call("PUT", "/agent/v1/operations/" + quote(operation_id, safe=""), body=body)
        return answer.body if isinstance(answer.body, dict) else {}

    # ------------------------------------------------------------------ transport
    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Optional[Dict[str, Any]] = None,
        headers: Optional[Dict[str, str]] = None,
        bearer: Optional[str] = None,
        extra_timeout: float = 0.0,
    ) -> Answer:
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        token = bearer or self._credential
        if token:
            sent["Authorization"] = "Bearer " + token
        sent.update(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            sent["Content-Type"] = "application/json"
        where = "{} {}{}".format(method, self.server.url, path.split("?", 1)[0])
        connection = http.client.HTTPSConnection(
            self.server.host, self.server.port, context=self._context, timeout=self._timeout + extra_timeout
        )
        try:
            connection.request(method, self.server.prefix + path, body=payload, headers=sent)
            response = connection.getresponse()
            raw = response.read(MAX_ANSWER + 1)
            status = response.status
            answer_headers = {k.lower(): v for k, v in response.getheaders()}
        except ssl.SSLCertVerificationError as exc:
            trust = "{}: the server's certificate is not trusted ({})".format(where, exc.verify_message)
            raise ServerError(trust) from exc
        except (OSError, http.client.HTTPException, socket.timeout) as exc:
            raise ServerError("{}: no answer: {}".format(where, _describe(exc))) from exc
        finally:
            connection.close()
        if len(raw) > MAX_ANSWER:
            raise ServerError("{}: the answer is larger than {} bytes".format(where, MAX_ANSWER))
        parsed = _json(raw)
        if status >= 500:
            raise ServerError("{}: the server erred ({} {})".format(where, status, _error_text(parsed, raw)))
        if 400 <= status < 500:
            code, message = _arm_error(parsed, raw)
            kind = CredentialRevoked if status == 401 else RequestRejected
            raise kind("{}: {} {}: {}".format(where, status, code or "error", message), status=status, code=code)
        if raw and parsed is _INVALID:
            raise ServerError("{}: the answer ({}) is not JSON".format(where, status))
        return Answer(status, answer_headers, None if parsed is _INVALID else parsed)


_INVALID = object()


def _json(raw: bytes) -> Any:
    if not raw:
        return _INVALID
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        return _INVALID


def _arm_error(parsed: Any, raw: bytes) -> Tuple[str, str]:
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or ""), str(error.get("message") or "")
    return "", raw[:200].decode("utf-8", "replace").strip() or "(no body)"


def _error_text(parsed: Any, raw: bytes) -> str:
    code, message = _arm_error(parsed, raw)
    return "{}: {}".format(code, message) if code else message


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300]
