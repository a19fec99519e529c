"""Where the CLI finds the server, the token, the CA and the tenant (flag > environment > data dir > default)."""

from __future__ import annotations

from pathlib import Path

import pytest

from guestpatch.cli.client import DEFAULT_SERVER, Endpoint, resolve_endpoint, vm_path
from guestpatch.errors import ConfigError


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "ca.pem").write_text("CA\n")
    (tmp_path / "admin.token").write_text("file-token\n")
    return tmp_path


def resolve(env: dict[str, str], **flags: object) -> Endpoint:
    values: dict[str, object] = {"server": None, "token": None, "ca_file": None, "data_dir": None,
                                 "subscription": None}
    values.update(flags)
    return resolve_endpoint(environ=env, **values)  # type: ignore[arg-type]


def test_data_dir_gives_token_and_ca_with_defaults(data_dir: Path) -> None:
    """Only GUESTPATCH_DATA_DIR: default server, the token file, the data dir's CA, tenant 'default'."""
    endpoint = resolve({"GUESTPATCH_DATA_DIR": str(data_dir)})
    assert endpoint.server == DEFAULT_SERVER
    assert endpoint.token == "file-token"
    assert endpoint.token_source == str(data_dir / "admin.token")
    assert endpoint.verify == str(data_dir / "tls" / "ca.pem")
    assert endpoint.subscription == "default"


def test_environment_wins_over_the_data_dir(data_dir: Path, tmp_path: Path) -> None:
    """GUESTPATCH_TOKEN / _CA_FILE / _SERVER / _SUBSCRIPTION win over the data dir and the defaults."""
    ca = tmp_path / "other.pem"
    ca.write_text("x")
    endpoint = resolve({
        "GUESTPATCH_DATA_DIR": str(data_dir), "GUESTPATCH_TOKEN": "env-token", "GUESTPATCH_CA_FILE": str(ca),
        "GUESTPATCH_SERVER": "https://patch.example:9443/", "GUESTPATCH_SUBSCRIPTION": "tenant-a",
    })
    assert endpoint.token == "env-token"
    assert endpoint.verify == str(ca)
    assert endpoint.server == "https://patch.example:9443"
    assert endpoint.subscription == "tenant-a"


def test_flags_win_over_the_environment(data_dir: Path) -> None:
    """--token, --server, --subscription and --data-dir beat their environment variables."""
    endpoint = resolve(
        {"GUESTPATCH_TOKEN": "env-token", "GUESTPATCH_SERVER": "https://a:1", "GUESTPATCH_DATA_DIR": "/nonexistent"},
        token="flag-token", server="https://b:2", subscription="tenant-b", data_dir=data_dir,
    )
    assert endpoint.token == "flag-token"
    assert endpoint.token_source == "--token"
    assert endpoint.server == "https://b:2"
    assert endpoint.subscription == "tenant-b"
    assert endpoint.verify == str(data_dir / "tls" / "ca.pem")


def test_plain_http_server_does_not_use_the_data_dir_ca(data_dir: Path) -> None:
    """An http:// server (serve --insecure-http) has no certificate to verify with the CA."""
    endpoint = resolve({"GUESTPATCH_DATA_DIR": str(data_dir)}, server="http://127.0.0.1:8080")
    assert endpoint.verify is True


def test_default_data_dir_follows_xdg(tmp_path: Path) -> None:
    """Without a data dir setting, $XDG_DATA_HOME/guestpatch is used, as by `guestpatch serve`."""
    (tmp_path / "guestpatch").mkdir()
    (tmp_path / "guestpatch" / "admin.token").write_text("xdg-token")
    assert resolve({"XDG_DATA_HOME": str(tmp_path)}).token == "xdg-token"


def test_empty_token_file_is_refused(tmp_path: Path) -> None:
    """An empty admin.token is a configuration error, not an empty bearer token."""
    (tmp_path / "admin.token").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        resolve({"GUESTPATCH_DATA_DIR": str(tmp_path)})


def test_ca_file_from_environment_must_exist(tmp_path: Path) -> None:
    """GUESTPATCH_CA_FILE naming a missing file is refused, naming the variable."""
    with pytest.raises(ConfigError, match="GUESTPATCH_CA_FILE"):
        resolve({"GUESTPATCH_CA_FILE": str(tmp_path / "nope.pem"), "GUESTPATCH_TOKEN": "t"})


@pytest.mark.parametrize("url", ["127.0.0.1:8443", "ftp://h", "https://", "https://h/path", "https://h?x=1"])
def test_server_must_be_a_bare_http_or_https_origin(url: str) -> None:
    """Anything but http(s)://HOST[:PORT] is refused before any connection."""
    with pytest.raises(ConfigError, match="not of the form"):
        resolve({"GUESTPATCH_TOKEN": "t"}, server=url)


def test_names_cannot_change_the_path() -> None:
    """A name with '/', '?' or '#' stays one path segment."""
    assert vm_path("sub", "rg", "a/../b?c#d") == (
        "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a%2F..%2Fb%3Fc%23d"
    )
