"""`guestpatch serve` as a real process over HTTPS: first start, admin token file, TLS, auth, round trip."""

from __future__ import annotations

import os
import ssl
import stat
import subprocess
import sys

import httpx
import pytest
from cryptography import x509

from tests.integration.conftest import linux_vm
from tests.server_fixtures import LiveServer

URL = "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/{}?api-version=2026-04-01"


def test_first_start_creates_a_private_token_file_and_a_certificate_for_localhost(live_server: LiveServer) -> None:
    """admin.token is mode 0600 and not printed; the certificate names localhost and 127.0.0.1."""
    token_file = live_server.data_dir / "admin.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    log = live_server.log.read_text()
    assert str(token_file) in log
    assert live_server.token not in log
    cert = x509.load_pem_x509_certificate((live_server.data_dir / "tls" / "server.pem").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_tls_is_verified_against_the_private_ca(live_server: LiveServer) -> None:
    """Clients that trust ca.pem connect; clients that trust only the system store are refused."""
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{live_server.url}/healthz", verify=ssl.create_default_context(), timeout=5)
    assert httpx.get(f"{live_server.url}/healthz", verify=live_server.verify, timeout=5).status_code == 200


def test_round_trip_with_the_admin_token(live_server: LiveServer) -> None:
    """PUT, GET, PATCH, DELETE over real HTTPS with the token from the data dir; a wrong token gets 401."""
    with live_server.client() as client:
        assert client.put(URL.format("rt1"), json=linux_vm()).status_code == 201
        assert client.get(URL.format("rt1")).json()["name"] == "rt1"
        patched = client.patch(URL.format("rt1"), json={"tags": {"a": "b"}})
        assert patched.json()["tags"] == {"a": "b"}
        assert client.delete(URL.format("rt1")).status_code == 200
    wrong = httpx.get(
        live_server.url + URL.format("rt1"), headers={"Authorization": "Bearer gpt_wrong"}, verify=live_server.verify
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "AuthenticationFailed"


def test_restart_keeps_the_token_and_the_data(live_server: LiveServer, start_server: object) -> None:
    """A second start on the same data dir reuses the token, the CA and the VMs."""
    with live_server.client() as client:
        assert client.put(URL.format("keep"), json=linux_vm()).status_code == 201
    ca_before = live_server.ca.read_bytes() if live_server.ca else b""
    token_before = live_server.token
    live_server.stop()
    again = start_server(data_dir=live_server.data_dir)  # type: ignore[operator]
    assert again.token == token_before
    assert again.ca.read_bytes() == ca_before
    with again.client() as client:
        assert client.get(URL.format("keep")).status_code == 200


def test_insecure_http_says_so_loudly(start_server: object) -> None:
    server = start_server("--insecure-http")  # type: ignore[operator]
    assert server.url.startswith("http://")
    assert "--insecure-http" in server.log.read_text()
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_bad_flags_and_settings_fail_with_one_clear_line(tmp_path: object) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTPATCH_")}
    env["GUESTPATCH_PORT"] = "notaport"
    result = subprocess.run(
        [sys.executable, "-m", "guestpatch", "serve", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "GUESTPATCH_PORT" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "guestpatch", "serve", "--data-dir", str(tmp_path), "--tls-cert", "/nonexistent"],
        capture_output=True, text=True, env=env | {"GUESTPATCH_PORT": "18999"}, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "--tls-cert and --tls-key go together" in result.stderr
