"""``guestpatch region``: the region catalog (Azure's public regions and the operator's own sites).

These call the operator API (``/v1/regions``), not the ARM routes: regions are guestpatch's topology,
which decides each machine's time zone (its off-peak window) and which regions never patch together.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from guestpatch.cli.common import Invocation, command, require_name
from guestpatch.cli.output import field

group = typer.Typer(
    name="region",
    help="List the region catalog and add your own regions or on-premises sites.",
    no_args_is_help=True,
)

REGIONS_PATH = "/v1/regions"

REGION_COLUMNS = (
    field("Name", "name"),
    field("DisplayName", "displayName"),
    field("TimeZone", "timeZone"),
    field("Pair", "pair"),
    field("Geography", "geography"),
    field("Source", "source"),
)


@command(group, "list")
def list_(invocation: Invocation) -> None:
    """List every region: the built-in catalog and the ones operators added."""
    invocation.show(invocation.every(REGIONS_PATH), REGION_COLUMNS)


@command(group, "add")
def add(
    invocation: Invocation,
    *,
    name: Annotated[str, typer.Option(
        "--name", "-n", metavar="NAME", help="Region name as VMs give it in location, e.g. onprem-berlin.",
    )],
    time_zone: Annotated[str, typer.Option(
        "--time-zone", metavar="TZ", help="IANA time zone of the site, e.g. Europe/Berlin.",
    )],
    display_name: Annotated[str | None, typer.Option(
        "--display-name", metavar="TEXT", show_default=False, help="Human name; default: the name.",
    )] = None,
    pair: Annotated[str | None, typer.Option(
        "--pair", metavar="REGION", show_default=False,
        help="Geo-pair: a region never patched in the same phase as this one.",
    )] = None,
    geography: Annotated[str | None, typer.Option(
        "--geography", metavar="TEXT", show_default=False, help="Geography, e.g. Europe; default: Custom.",
    )] = None,
) -> None:
    """Add an operator region or on-premises site to the catalog."""
    body: dict[str, Any] = {
        "name": require_name(name, "--name"),
        "timeZone": require_name(time_zone, "--time-zone"),
    }
    for key, value in (("displayName", display_name), ("pair", pair), ("geography", geography)):
        if value is not None:
            body[key] = value
    region = invocation.client().json("POST", REGIONS_PATH, body=body, arm=False)
    invocation.show(region, REGION_COLUMNS)
