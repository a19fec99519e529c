"""Why not yet: ``rollout why ID --machine SUB/RG/NAME`` and ``vm why -g RG -n NAME``.

The server answers in the orchestrator's words (``docs/orchestrator.md``, "Why not yet"): outside its
window until T, waiting for wave N of a region, its phase waits for a gate, halted by …, retry at T, not
eligible because …. ``rollout why`` asks about one rollout; ``vm why`` asks about the machine's latest
rollout, or why it takes part in none.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

import typer

from guestpatch.cli.common import Invocation, command, require_name
from guestpatch.cli.history import machine_path
from guestpatch.cli.output import field
from guestpatch.cli.rollout import RolloutId, rollout_path
from guestpatch.cli.rollout import group as rollout_group
from guestpatch.cli.vm import Name, ResourceGroup
from guestpatch.cli.vm import group as vm_group

WHY_COLUMNS = (
    field("Machine", "machine"),
    field("Status", "status"),
    field("Reason", "reason"),
    field("Until", "until"),
)
VM_WHY_COLUMNS = (field("Rollout", "rollout"), *WHY_COLUMNS)


def machine_name(
    machine: str | None, resource_group: str | None, name: str | None, subscription: str
) -> str:
    """``subscription/resourceGroup/name`` from ``--machine``, or from ``-g``/``-n`` and the subscription."""
    if machine is not None:
        if resource_group is not None or name is not None:
            raise typer.BadParameter("give either --machine or --resource-group with --name, not both.",
                                     param_hint="--machine")
        parts = [part.strip() for part in machine.split("/")]
        if len(parts) != 3 or not all(parts):
            raise typer.BadParameter(
                f"'{machine}' is not of the form SUBSCRIPTION/RESOURCE_GROUP/NAME.", param_hint="--machine"
            )
        return "/".join(parts)
    if resource_group is None or name is None:
        missing = "--resource-group" if resource_group is None else "--name"
        raise typer.BadParameter(
            "name the machine: --machine SUB/RG/NAME, or --resource-group RG --name NAME.", param_hint=missing
        )
    return f"{subscription}/{require_name(resource_group, '--resource-group')}/{require_name(name, '--name')}"


@command(rollout_group, "why")
def rollout_why(
    invocation: Invocation,
    *,
    rollout_id: RolloutId,
    machine: Annotated[str | None, typer.Option(
        "--machine", metavar="SUB/RG/NAME", show_default=False,
        help="The machine as the rollout names it: subscription/resourceGroup/name.",
    )] = None,
    resource_group: Annotated[str | None, typer.Option(
        "--resource-group", "-g", metavar="RG", show_default=False,
        help="Resource group of the machine (with --name; the subscription is --subscription's).",
    )] = None,
    name: Annotated[str | None, typer.Option(
        "--name", "-n", metavar="NAME", show_default=False, help="Name of the virtual machine (with -g).",
    )] = None,
) -> None:
    """Say why a machine of a rollout is not patched yet (or what became of it), and until when."""
    who = machine_name(machine, resource_group, name, invocation.subscription)
    url = rollout_path(rollout_id, "why") + "?" + urlencode({"machine": who})
    invocation.show(invocation.client().json("GET", url, arm=False), WHY_COLUMNS)


@command(vm_group, "why")
def vm_why(invocation: Invocation, *, resource_group: ResourceGroup, name: Name) -> None:
    """Say why a virtual machine is not patched yet: in its latest rollout, or why it takes part in none."""
    resource_group, name = require_name(resource_group, "--resource-group"), require_name(name, "--name")
    path = machine_path(invocation.subscription, resource_group, name) + "/why"
    invocation.show(invocation.client().json("GET", path, arm=False), VM_WHY_COLUMNS)
