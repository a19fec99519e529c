"""`guestpatch region list|add` against a real server."""

from __future__ import annotations

from tests.cli.conftest import Cli


def test_added_region_is_listed(cli: Cli) -> None:
    """`region add` creates an operator region that `region list` then returns with its time zone."""
    added = cli(
        "region", "add", "--name", "onprem-berlin", "--time-zone", "Europe/Berlin",
        "--display-name", "Berlin DC", "--geography", "Europe",
    ).json()
    assert added["name"] == "onprem-berlin"
    regions = {r["name"]: r for r in cli("region", "list").json()}
    assert regions["onprem-berlin"]["timeZone"] == "Europe/Berlin"
    assert regions["onprem-berlin"]["displayName"] == "Berlin DC"
    assert regions["onprem-berlin"]["source"] == "operator"


def test_region_list_includes_the_builtin_catalog_with_pairs(cli: Cli) -> None:
    """The built-in regions come back with their geo-pairs (westeurope <-> northeurope)."""
    regions = {r["name"]: r for r in cli("region", "list").json()}
    assert regions["westeurope"]["pair"] == "northeurope"
    assert regions["northeurope"]["pair"] == "westeurope"


def test_region_paired_with_an_operator_region(cli: Cli) -> None:
    """A second site paired with the first is accepted and shows the pair."""
    cli("region", "add", "--name", "onprem-a", "--time-zone", "America/Chicago").json()
    paired = cli("region", "add", "--name", "onprem-b", "--time-zone", "America/Denver", "--pair", "onprem-a").json()
    assert paired["pair"] == "onprem-a"


def test_region_with_unknown_time_zone_is_refused_by_the_server(cli: Cli) -> None:
    """An unknown IANA time zone: the server's ARM error on one line, exit 1, and no region added."""
    outcome = cli("region", "add", "--name", "onprem-mars", "--time-zone", "Mars/Olympus")
    assert outcome.exit_code == 1
    assert len(outcome.error_lines) == 1
    assert outcome.error_lines[0].startswith("error: (InvalidParameter) ")
    assert "onprem-mars" not in {r["name"] for r in cli("region", "list").json()}


def test_region_table_output_renders(cli: Cli) -> None:
    """`region list -o table` prints the header and a row per region, the operator's included."""
    cli("region", "add", "--name", "onprem-table", "--time-zone", "Asia/Tokyo").json()
    lines = cli("region", "list", "-o", "table").stdout.splitlines()
    assert lines[0].split() == ["Name", "DisplayName", "TimeZone", "Pair", "Geography", "Source"]
    row = next(line for line in lines if line.startswith("onprem-table "))
    assert "Asia/Tokyo" in row.split()
    assert row.split()[-1] == "operator"
