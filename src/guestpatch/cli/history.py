"""Patch history and compliance: ``vm patch-history``, ``vm list-patches``, ``compliance missing|pending``.

These read the operator API (``/v1``): the assessments and installations kept per machine, the patches
of a machine's latest assessment, and the fleet-wide questions "which machines still miss package X"
and "where are Critical/Security patches pending, by region".
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

import typer

from guestpatch.cli.client import quote_segment
from guestpatch.cli.common import Invocation, choice, choices, command, require_name
from guestpatch.cli.output import Column, dig, field
from guestpatch.cli.vm import Name, ResourceGroup, resource_group_of
from guestpatch.cli.vm import group as vm_group

compliance = typer.Typer(
    name="compliance",
    help="Fleet-wide compliance: machines that still miss a patch, Critical/Security patches pending by region.",
    no_args_is_help=True,
)


class OperationKind(enum.StrEnum):
    assessPatches = "assessPatches"
    installPatches = "installPatches"


def machine_path(subscription: str, resource_group: str, name: str) -> str:
    """The operator API's path of one machine."""
    return (
        f"/v1/subscriptions/{quote_segment(subscription)}/resourceGroups/{quote_segment(resource_group)}"
        f"/virtualMachines/{quote_segment(name)}"
    )


def _error_code(op: Any) -> str | None:
    """The operation's error code, else the error code inside its result (a Failed patch status)."""
    code = dig(op, "error.code") or dig(op, "result.error.code")
    return str(code) if code else None


HISTORY_COLUMNS = (
    field("Kind", "kind"),
    field("Origin", "origin"),
    field("Status", "status"),
    field("ResultStatus", "result.status"),
    field("RequestedAt", "requestedAt"),
    field("EndedAt", "endedAt"),
    Column("Error", _error_code),
    field("Id", "id"),
)
PATCH_COLUMNS = (
    field("Name", "name"),
    field("Version", "version"),
    field("Classification", "classification"),
    field("RebootBehavior", "rebootBehavior"),
    field("PublishedDate", "publishedDate"),
)
MISSING_COLUMNS = (
    field("Name", "name"),
    Column("ResourceGroup", resource_group_of),
    field("Location", "location"),
    field("Patch", "patch"),
    field("Version", "version"),
)
PENDING_COLUMNS = (
    field("Region", "region"),
    field("Machines", "machines"),
    field("Patches", "patches"),
)


@command(vm_group, "patch-history")
def patch_history(
    invocation: Invocation,
    *,
    resource_group: ResourceGroup,
    name: Name,
    kind: Annotated[str | None, typer.Option(
        "--kind", metavar=choices(OperationKind), callback=choice(OperationKind), show_default=False,
        help="Only assessments (assessPatches) or only installations (installPatches).",
    )] = None,
    limit: Annotated[int, typer.Option(
        "--limit", metavar="N", min=1, max=500, help="Newest N operations (at most 500).",
    )] = 50,
) -> None:
    """Show a virtual machine's assessments and installations, newest first (with their results)."""
    resource_group, name = require_name(resource_group, "--resource-group"), require_name(name, "--name")
    query = {"limit": str(limit), **({"kind": kind} if kind else {})}
    path = machine_path(invocation.subscription, resource_group, name) + "/operations"
    invocation.show(invocation.every(path, query), HISTORY_COLUMNS)


@command(vm_group, "list-patches")
def list_patches(invocation: Invocation, *, resource_group: ResourceGroup, name: Name) -> None:
    """List the patches the virtual machine's latest assessment found available."""
    resource_group, name = require_name(resource_group, "--resource-group"), require_name(name, "--name")
    path = machine_path(invocation.subscription, resource_group, name) + "/patches"
    invocation.show(invocation.every(path), PATCH_COLUMNS)


@command(compliance, "missing")
def missing(
    invocation: Invocation,
    *,
    name: Annotated[str, typer.Option(
        "--name", "-n", metavar="PACKAGE", help="Package name, e.g. openssl.",
    )],
    version: Annotated[str | None, typer.Option(
        "--version", metavar="VERSION", show_default=False,
        help="Only machines offered this version of it (as the assessment lists it).",
    )] = None,
) -> None:
    """List the machines whose latest assessment still offers a patch (package) — they miss it."""
    query = {"name": require_name(name, "--name"), **({"version": version} if version is not None else {})}
    invocation.show(invocation.every("/v1/compliance/missing", query), MISSING_COLUMNS)


@command(compliance, "pending")
def pending(invocation: Invocation) -> None:
    """Count the machines with Critical or Security patches pending, by region."""
    invocation.show(invocation.every("/v1/compliance/pending"), PENDING_COLUMNS)


