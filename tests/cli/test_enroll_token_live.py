"""`guestpatch enroll-token create` against a real server; tokens are spent through the agent protocol."""

from __future__ import annotations

import pytest

from tests.cli.agent_player import enroll_request
from tests.cli.conftest import Cli, run_cli, run_command
from tests.server_fixtures import LiveServer


def test_last_line_is_a_token_that_enrolls_once(live_server: LiveServer) -> None:
    """The program's last stdout line is the token; it enrolls one machine, then (uses 1) is refused."""
    outcome = run_command(live_server, "enroll-token", "create", "-g", "rg-once")
    assert outcome.exit_code == 0, outcome.stderr
    token = outcome.stdout.splitlines()[-1]
    assert token.startswith("gpe_")
    assert token == token.strip()
    first = enroll_request(live_server, token, name="m1")
    second = enroll_request(live_server, token, name="m2")
    assert first.status_code == 201, first.text
    assert first.json()["resourceId"].endswith("/resourceGroups/rg-once/providers/Microsoft.Compute/virtualMachines/m1")
    assert second.status_code == 401
    assert second.json()["error"]["code"] == "AuthenticationFailed"


def test_plain_output_says_what_the_token_is_for_above_it(cli: Cli) -> None:
    """The lines above the token name the resource group, the uses and the expiry, and how to enroll."""
    lines = cli("enroll-token", "create", "-g", "rg-words", "--uses", "2").stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Enrollment token for resource group 'rg-words' of subscription 'default': 2 uses")
    assert lines[1].startswith("Enroll a machine with: guestpatch-agent enroll --server https://127.0.0.1:")


def test_json_output_is_the_servers_object(cli: Cli) -> None:
    """`-o json`: one JSON object with the token, scope, uses and lifetime (ISO 8601)."""
    token = cli("enroll-token", "create", "-g", "rg-json", "--uses", "3", "--expires", "30m", "-o", "json").json()
    assert token["token"].startswith("gpe_")
    assert (token["resourceGroup"], token["subscription"]) == ("rg-json", "default")
    assert (token["uses"], token["expiresIn"]) == (3, "PT30M")


def test_table_output_has_one_row(cli: Cli) -> None:
    """`-o table`: a header and one row with the token and its resource group."""
    lines = cli("enroll-token", "create", "-g", "rg-table", "-o", "table").stdout.splitlines()
    assert lines[0].split() == ["Token", "Subscription", "ResourceGroup", "Uses", "ExpiresAt"]
    assert lines[1].split()[1:4] == ["default", "rg-table", "1"]


@pytest.mark.parametrize(
    ("given", "sent"),
    [("30m", "PT30M"), ("1h", "PT1H"), ("2d", "P2D"), ("1h30m", "PT1H30M"), ("PT45M", "PT45M"), ("p1dt2h", "P1DT2H")],
)
def test_expires_forms_become_the_iso_duration_the_server_keeps(cli: Cli, given: str, sent: str) -> None:
    """`--expires` in short form or ISO 8601 reaches the server as the same duration."""
    token = cli("enroll-token", "create", "-g", "rg-exp", "--expires", given, "-o", "json").json()
    assert token["expiresIn"] == sent


def test_expires_that_is_no_duration_is_a_usage_error(cli: Cli) -> None:
    """`--expires soon`: exit 2, naming --expires and the accepted forms."""
    outcome = cli("enroll-token", "create", "-g", "rg-bad", "--expires", "soon")
    assert outcome.exit_code == 2
    assert "--expires" in outcome.usage_error
    assert "30m, 1h, 2d" in outcome.usage_error


def test_expires_below_the_servers_minimum_is_its_400(cli: Cli) -> None:
    """`--expires 30s` is a duration, but under the server's PT1M: its InvalidParameter line, exit 1."""
    outcome = cli("enroll-token", "create", "-g", "rg-short", "--expires", "30s")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert outcome.error_lines == ["error: (InvalidParameter) 'expiresIn' must be between PT1M and P365D."]


def test_zero_uses_is_a_usage_error(cli: Cli) -> None:
    """`--uses 0`: exit 2 naming --uses (no token is created)."""
    outcome = cli("enroll-token", "create", "-g", "rg-zero", "--uses", "0")
    assert outcome.exit_code == 2
    assert "--uses" in outcome.usage_error


def test_subscription_flag_scopes_the_enrolled_machine(live_server: LiveServer, cli: Cli) -> None:
    """A token made with --subscription tenant-b enrolls machines into tenant-b, not the default tenant."""
    token = cli("enroll-token", "create", "-g", "rg-tenant", "--subscription", "tenant-b").stdout.splitlines()[-1]
    assert enroll_request(live_server, token, name="tb1").status_code == 201
    assert cli("vm", "show", "-g", "rg-tenant", "-n", "tb1", "--subscription", "tenant-b").json()["name"] == "tb1"
    assert run_cli(live_server, "vm", "show", "-g", "rg-tenant", "-n", "tb1").exit_code == 3
