"""The HTTP client of the CLI: where the server is, how to trust it, and how to read its answers.

:func:`resolve_endpoint` turns flags and the environment into an :class:`Endpoint` (server URL, bearer
token, CA to trust, tenant); :class:`ApiClient` sends requests with it and turns every failure into
one of our errors, so commands never see an httpx exception:

- an ARM error body (``{"error": {"code", "message", "target"}}``) → :class:`~guestpatch.errors.UpstreamError`;
- a refused connection, a timeout, an untrusted certificate → :class:`ServerUnreachable`;
- a flag, environment variable or file that cannot be used → :class:`~guestpatch.errors.ConfigError`.

Precedence for each setting: flag > environment variable > data directory > built-in default.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from guestpatch import __version__
from guestpatch.config import default_data_dir
from guestpatch.errors import ConfigError, GuestpatchError, UpstreamError

#: The Compute api-version every ARM call sends (the newest the server answers, as SDK 39 does).
API_VERSION = "2026-04-01"
DEFAULT_SERVER = "https://127.0.0.1:8443"
DEFAULT_SUBSCRIPTION = "default"
DEFAULT_TIMEOUT = 30.0

ENV_SERVER = "GUESTPATCH_SERVER"
ENV_TOKEN = "GUESTPATCH_TOKEN"  # noqa: S105 - the name of a variable, not a secret
ENV_CA_FILE = "GUESTPATCH_CA_FILE"
ENV_DATA_DIR = "GUESTPATCH_DATA_DIR"
ENV_SUBSCRIPTION = "GUESTPATCH_SUBSCRIPTION"

TOKEN_FILE = "admin.token"  # noqa: S105 - a file name
CA_FILE = Path("tls") / "ca.pem"


class ServerUnreachable(GuestpatchError):
    """No HTTP answer: connection refused, name not resolved, timeout, or a certificate we do not trust."""

    default_code = "ServerUnreachable"


@dataclass(frozen=True)
class Endpoint:
    """Everything needed to talk to one control plane, and where each piece came from (for hints)."""

    server: str
    token: str
    token_source: str
    verify: str | bool  # a CA file, or True for the system trust store
    ca_source: str
    subscription: str


def resolve_endpoint(
    *,
    server: str | None,
    token: str | None,
    ca_file: Path | None,
    data_dir: Path | None,
    subscription: str | None,
    environ: Mapping[str, str],
) -> Endpoint:
    """The endpoint from flags (``None`` = not given), then ``environ``, then the data directory."""
    url = (server or environ.get(ENV_SERVER) or DEFAULT_SERVER).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path or parts.query:
        raise ConfigError(
            f"the server URL '{url}' is not of the form https://HOST[:PORT] (set --server or {ENV_SERVER}).",
            target="--server",
        )
    if data_dir is None:
        data_dir = Path(environ[ENV_DATA_DIR]) if environ.get(ENV_DATA_DIR) else default_data_dir(environ)
    secret, token_source = _token(token, environ, data_dir)
    verify, ca_source = _trust(ca_file, environ, data_dir, https=parts.scheme == "https")
    return Endpoint(url, secret, token_source, verify, ca_source, resolve_subscription(subscription, environ))


def resolve_subscription(flag: str | None, environ: Mapping[str, str]) -> str:
    """The tenant: ``--subscription``, else ``GUESTPATCH_SUBSCRIPTION``, else ``default``."""
    return (flag or environ.get(ENV_SUBSCRIPTION) or DEFAULT_SUBSCRIPTION).strip()


def _token(given: str | None, environ: Mapping[str, str], data_dir: Path) -> tuple[str, str]:
    if given:
        return given.strip(), "--token"
    if environ.get(ENV_TOKEN):
        return environ[ENV_TOKEN].strip(), ENV_TOKEN
    path = data_dir / TOKEN_FILE
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise ConfigError(
            f"no API token: pass --token, set {ENV_TOKEN}, or point --data-dir / {ENV_DATA_DIR} at the "
            f"server's data directory ({path} does not exist).",
            target="--token",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the API token {path}: {exc.strerror}; pass --token or set {ENV_TOKEN}.", target="--token"
        ) from exc
    if not text:
        raise ConfigError(f"the API token file {path} is empty.", target="--token")
    return text, str(path)


def _trust(ca_file: Path | None, environ: Mapping[str, str], data_dir: Path, *, https: bool) -> tuple[str | bool, str]:
    if ca_file is None and environ.get(ENV_CA_FILE):
        ca_file, source = Path(environ[ENV_CA_FILE]), ENV_CA_FILE
    else:
        source = "--ca-file"
    if ca_file is not None:
        if not ca_file.is_file():
            raise ConfigError(f"the CA file {ca_file} given by {source} does not exist.", target=source)
        return str(ca_file), str(ca_file)
    if https and (data_dir / CA_FILE).is_file():
        return str(data_dir / CA_FILE), str(data_dir / CA_FILE)
    return True, "the system trust store"


def quote_segment(value: str) -> str:
    """One path segment, escaped so that a name can never change the path it is put in."""
    return quote(value, safe="()")


def vm_path(subscription: str, resource_group: str | None = None, name: str | None = None) -> str:
    """The ARM path of a VM, of the VMs of a resource group, or of all VMs of a subscription."""
    path = f"/subscriptions/{quote_segment(subscription)}"
    if resource_group is None:
        return path + "/providers/Microsoft.Compute/virtualMachines"
    path += f"/resourceGroups/{quote_segment(resource_group)}/providers/Microsoft.Compute/virtualMachines"
    return path if name is None else f"{path}/{quote_segment(name)}"


class ApiClient:
    """Requests to one control plane; failures come back as :mod:`guestpatch.errors` exceptions."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._http = httpx.Client(
            base_url=endpoint.server,
            headers={
                "Authorization": f"Bearer {endpoint.token}",
                "Accept": "application/json",
                "User-Agent": f"guestpatch-cli/{__version__}",
            },
            verify=_ssl_context(endpoint.verify),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ requests
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        arm: bool = True,
    ) -> httpx.Response:
        """Send one request; ``arm`` adds ``api-version`` unless the URL (a nextLink) carries one."""
        self.check_same_origin(url)
        query = dict(params or {})
        if arm and "api-version=" not in url:
            query.setdefault("api-version", API_VERSION)
        try:
            response = self._http.request(
                method,
                url,
                params=query or None,
                json=body,
                headers=dict(headers or {}),
            )
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        if response.status_code >= 400:
            raise upstream_error(response, token_source=self.endpoint.token_source)
        return response

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        """The JSON body of a successful request (``None`` when the body is empty)."""
        return body_json(self.request(method, url, **kwargs))

    def list_all(self, url: str, *, arm: bool = True) -> Iterator[dict[str, Any]]:
        """Every item of an ARM list, following ``nextLink`` page after page."""
        seen: set[str] = set()
        next_url: str | None = url
        while next_url is not None:
            page = self.json("GET", next_url, arm=arm)
            if not isinstance(page, dict) or not isinstance(page.get("value"), list):
                raise UpstreamError(
                    f"the server answered GET {next_url} without a 'value' list.", status=502, code="BadResponse"
                )
            yield from page["value"]
            link = page.get("nextLink")
            if link is not None and (not isinstance(link, str) or link in seen):
                raise UpstreamError(f"the server sent an unusable nextLink {link!r}.", status=502, code="BadResponse")
            if link:
                seen.add(link)
            next_url = link or None

    def check_same_origin(self, url: str) -> None:
        """Refuse to send the token to another host (a nextLink or an operation URL must stay on the server)."""
        parts = urlsplit(url)
        if not parts.scheme:
            return
        ours = urlsplit(self.endpoint.server)
        if (parts.scheme, parts.hostname, parts.port) != (ours.scheme, ours.hostname, ours.port):
            raise UpstreamError(
                f"the server sent a link to another origin ({parts.scheme}://{parts.netloc}); "
                "refusing to send the token there.",
                status=502,
                code="BadResponse",
            )

    def _unreachable(self, exc: httpx.HTTPError) -> ServerUnreachable:
        server = self.endpoint.server
        if _is_certificate_error(exc):
            return ServerUnreachable(
                f"cannot verify the TLS certificate of {server} with {self.endpoint.ca_source} "
                f"({_reason(exc)}); trust the server's CA with --ca-file or {ENV_CA_FILE} "
                "(guestpatch serve writes it to DATA_DIR/tls/ca.pem).",
                target="--ca-file",
            )
        if isinstance(exc, httpx.TimeoutException):
            return ServerUnreachable(f"{server} did not answer within {self._http.timeout.read} s.")
        return ServerUnreachable(
            f"cannot connect to {server} ({_reason(exc)}); is `guestpatch serve` running there? "
            f"Set --server or {ENV_SERVER}.",
            target="--server",
        )


def body_json(response: httpx.Response) -> Any:
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise UpstreamError(
            f"the server answered {response.request.method} {response.request.url.path} with a body that is not "
            "JSON.",
            status=502,
            code="BadResponse",
        ) from exc


def upstream_error(response: httpx.Response, *, token_source: str | None = None) -> UpstreamError:
    """The error an HTTP error response carries; its ARM body when there is one."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        message = str(error.get("message") or response.reason_phrase)
        target = error.get("target") if isinstance(error.get("target"), str) else None
        code = error["code"]
    else:
        text = " ".join(response.text.split())[:200]
        code = f"HTTP{response.status_code}"
        message = f"{response.reason_phrase}{': ' + text if text else ''}"
        target = None
    if response.status_code == 401 and token_source:
        message = f"{message} (token from {token_source})"
    return UpstreamError(message, status=response.status_code, code=code, target=target)


def _ssl_context(verify: str | bool) -> ssl.SSLContext | bool:
    if isinstance(verify, bool):
        return verify
    try:
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"the CA file {verify} is not a PEM certificate ({exc}).", target="--ca-file") from exc


def _is_certificate_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _reason(exc: BaseException) -> str:
    """The innermost useful message of an exception chain, on one line."""
    messages = []
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) and seen.verify_message:
            messages.append(seen.verify_message)
        elif str(seen):
            messages.append(str(seen))
        seen = seen.__cause__ or seen.__context__
    text = messages[-1] if messages else type(exc).__name__
    return " ".join(text.split())

