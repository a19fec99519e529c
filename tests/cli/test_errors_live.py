"""How the CLI fails: one clear line for the server's refusals, bad credentials, untrusted or absent servers."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import run_cli, run_command
from tests.server_fixtures import LiveServer, free_port


def test_wrong_token_gives_one_line_naming_where_the_token_came_from(live_server: LiveServer) -> None:
    """A wrong --token: the server's 401 as one line `error: (AuthenticationFailed) ... (token from --token)`."""
    outcome = run_command(live_server, "vm", "list", "--token", "not-the-token")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert len(outcome.error_lines) == 1
    assert outcome.error_lines[0].startswith("error: (AuthenticationFailed) ")
    assert outcome.error_lines[0].endswith("(token from --token)")


def test_token_from_environment_is_used(live_server: LiveServer, tmp_path: Path) -> None:
    """GUESTPATCH_TOKEN authenticates when the data dir has no token (the CA still given by file)."""
    outcome = run_cli(
        live_server, "vm", "list",
        env={"GUESTPATCH_DATA_DIR": str(tmp_path), "GUESTPATCH_TOKEN": live_server.token,
             "GUESTPATCH_CA_FILE": str(live_server.ca)},
    )
    assert outcome.exit_code == 0, outcome.stderr
    assert isinstance(outcome.json(), list)


def test_certificate_of_another_ca_gives_one_clear_line(live_server: LiveServer, start_server) -> None:  # type: ignore[no-untyped-def]
    """Trusting another server's CA: one line saying the certificate cannot be verified and how to fix it."""
    other = start_server()
    outcome = run_command(live_server, "vm", "list", "--ca-file", str(other.ca))
    assert outcome.exit_code == 1
    assert len(outcome.error_lines) == 1
    line = outcome.error_lines[0]
    assert line.startswith(f"error: cannot verify the TLS certificate of {live_server.url}")
    assert "--ca-file" in line


def test_private_ca_not_in_the_system_trust_store(live_server: LiveServer, tmp_path: Path) -> None:
    """Without the data dir's CA the system trust store is used, which does not know the private CA."""
    outcome = run_cli(
        live_server, "vm", "list", env={"GUESTPATCH_DATA_DIR": str(tmp_path), "GUESTPATCH_TOKEN": live_server.token}
    )
    assert outcome.exit_code == 1
    assert len(outcome.error_lines) == 1
    assert "cannot verify the TLS certificate" in outcome.error_lines[0]
    assert "the system trust store" in outcome.error_lines[0]


def test_no_server_listening_gives_one_clear_line(live_server: LiveServer) -> None:
    """Nobody listens at --server: one line `error: cannot connect to URL (...)`, exit 1."""
    url = f"https://127.0.0.1:{free_port()}"
    outcome = run_command(live_server, "vm", "list", "--server", url)
    assert outcome.exit_code == 1
    assert len(outcome.error_lines) == 1
    assert outcome.error_lines[0].startswith(f"error: cannot connect to {url} (")


def test_no_token_anywhere_says_where_to_put_one(tmp_path: Path) -> None:
    """No --token, no GUESTPATCH_TOKEN and no admin.token in the data dir: one line listing the three."""
    outcome = run_cli(None, "vm", "list", env={"GUESTPATCH_DATA_DIR": str(tmp_path)})
    assert outcome.exit_code == 1
    assert len(outcome.error_lines) == 1
    assert outcome.error_lines[0].startswith("error: no API token: pass --token, set GUESTPATCH_TOKEN")
    assert str(tmp_path / "admin.token") in outcome.error_lines[0]


def test_malformed_server_url_is_refused(tmp_path: Path) -> None:
    """A --server that is not https://HOST[:PORT] is refused before any connection."""
    outcome = run_cli(None, "vm", "list", "--server", "ftp://example.org/x", "--token", "t")
    assert outcome.exit_code == 1
    assert "is not of the form https://HOST[:PORT]" in outcome.stderr


def test_not_found_exits_3_as_az(live_server: LiveServer) -> None:
    """A VM that does not exist: `error: (ResourceNotFound) ...` and exit status 3."""
    outcome = run_command(live_server, "vm", "get-instance-view", "-g", "rg-none", "-n", "ghost")
    assert outcome.exit_code == 3
    assert outcome.error_lines[0].startswith("error: (ResourceNotFound) ")


def test_server_side_name_rule_reaches_the_user(live_server: LiveServer) -> None:
    """An invalid VM name is judged by the server; its ARM code and message come back on one line."""
    outcome = run_cli(live_server, "vm", "create", "-g", "rg-x", "-n", "bad_name-", "--image", "Ubuntu2204",
                      "-l", "westeurope")
    assert outcome.exit_code == 1
    assert len(outcome.error_lines) == 1
    assert outcome.error_lines[0].startswith("error: (InvalidResourceName) ")
