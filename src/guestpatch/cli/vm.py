"""``guestpatch vm``: create, update, show, list, delete and read the instance view of virtual machines.

The spelling is az's (``az vm create -g RG -n NAME --image Ubuntu2204 --patch-mode AutomaticByPlatform``),
and every command is one or two calls of the ARM routes with ``api-version=2026-04-01``. The request
bodies are built by the pure functions of :mod:`guestpatch.cli.vm_bodies`.
"""

from __future__ import annotations

import enum
import sys
from typing import Annotated, Any

import typer

from guestpatch.cli import generic
from guestpatch.cli.client import body_json, vm_path
from guestpatch.cli.common import Invocation, choice, choices, command, require_name
from guestpatch.cli.lro import wait_for_result
from guestpatch.cli.output import Column, dig, field
from guestpatch.cli.vm_bodies import (
    availability_set_id,
    create_body,
    parse_tags,
    resolve_image,
    setting_edits,
    update_body,
)
from guestpatch.core.vm import os_type_of

group = typer.Typer(
    name="vm",
    help="Manage virtual machines: their patch settings and instance view (az vm).",
    no_args_is_help=True,
)


class PatchMode(enum.StrEnum):
    ImageDefault = "ImageDefault"
    AutomaticByPlatform = "AutomaticByPlatform"
    AutomaticByOS = "AutomaticByOS"
    Manual = "Manual"


class AssessmentMode(enum.StrEnum):
    ImageDefault = "ImageDefault"
    AutomaticByPlatform = "AutomaticByPlatform"


class RebootSetting(enum.StrEnum):
    IfRequired = "IfRequired"
    Never = "Never"
    Always = "Always"


class Toggle(enum.StrEnum):
    true = "true"
    false = "false"


# ---------------------------------------------------------------------------------------------- options
ResourceGroup = Annotated[str, typer.Option("--resource-group", "-g", metavar="RG", help="Resource group.")]
Name = Annotated[str, typer.Option("--name", "-n", metavar="NAME", help="Name of the virtual machine.")]
PatchModeOpt = Annotated[str | None, typer.Option(
    "--patch-mode", metavar=choices(PatchMode), callback=choice(PatchMode), show_default=False,
    help="Patch orchestration mode. Linux: ImageDefault, AutomaticByPlatform; Windows: AutomaticByOS, Manual, "
    "AutomaticByPlatform.",
)]
AssessmentModeOpt = Annotated[str | None, typer.Option(
    "--assessment-mode", metavar=choices(AssessmentMode), callback=choice(AssessmentMode), show_default=False,
    help="Patch assessment mode: ImageDefault or AutomaticByPlatform (periodic assessment by the platform).",
)]
RebootSettingOpt = Annotated[str | None, typer.Option(
    "--reboot-setting", metavar=choices(RebootSetting), callback=choice(RebootSetting), show_default=False,
    help="Reboot setting of patch mode AutomaticByPlatform "
    "(automaticByPlatformSettings.rebootSetting).",
)]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", metavar="PATH=VALUE", show_default=False,
    help="Set properties, az style: paths relative to 'properties' unless they start with a top-level member "
    "(tags.x, zones[0]); values are JSON when they parse as JSON, else strings. Several may follow one --set.",
)]


# ---------------------------------------------------------------------------------------------- columns
def resource_group_of(item: Any) -> str | None:
    parts = str(dig(item, "id") or "").split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered[:-1] else None


def os_configuration(item: Any) -> dict[str, Any]:
    profile = dig(item, "properties.osProfile") or {}
    for key in ("linuxConfiguration", "windowsConfiguration"):
        if isinstance(profile.get(key), dict):
            value: dict[str, Any] = profile[key]
            return value
    return {}


def power_state(item: Any) -> str | None:
    for status in dig(item, "properties.instanceView.statuses") or []:
        if str(status.get("code", "")).startswith("PowerState/"):
            return str(status.get("displayStatus") or status["code"].split("/", 1)[1])
    return None


def _configuration_state(item: Any) -> str | None:
    for status in dig(item, "properties.instanceView.patchStatus.configurationStatuses") or []:
        code = str(status.get("code", ""))
        if code.startswith("PatchModeConfigurationState/"):
            return code.split("/", 1)[1]
    return None


VM_COLUMNS = (
    field("Name", "name"),
    Column("ResourceGroup", resource_group_of),
    field("Location", "location"),
    field("Zones", "zones"),
    Column("OsType", os_type_of),
    Column("PatchMode", lambda vm: dig(os_configuration(vm), "patchSettings.patchMode")),
    Column("AssessmentMode", lambda vm: dig(os_configuration(vm), "patchSettings.assessmentMode")),
    field("ProvisioningState", "properties.provisioningState"),
)
DETAIL_COLUMNS = (*VM_COLUMNS[:4], Column("PowerState", power_state), *VM_COLUMNS[4:])
_VIEW = "properties.instanceView."
INSTANCE_VIEW_COLUMNS = (
    field("Name", "name"),
    Column("PowerState", power_state),
    Column("VmAgent", lambda vm: dig((dig(vm, _VIEW + "vmAgent.statuses") or [{}])[0], "displayStatus")),
    field("UpdateDomain", _VIEW + "platformUpdateDomain"),
    Column("PatchMode", lambda vm: dig(os_configuration(vm), "patchSettings.patchMode")),
    Column("PatchModeState", _configuration_state),
    field("Assessment", _VIEW + "patchStatus.availablePatchSummary.status"),
    field("CriticalAndSecurity", _VIEW + "patchStatus.availablePatchSummary.criticalAndSecurityPatchCount"),
    field("Other", _VIEW + "patchStatus.availablePatchSummary.otherPatchCount"),
    field("LastInstallation", _VIEW + "patchStatus.lastPatchInstallationSummary.status"),
)


# ---------------------------------------------------------------------------------------------- commands
@command(group, "create", bare_true=("--enable-auto-update", "--enable-agent"))
def create(
    invocation: Invocation,
    *,
    resource_group: ResourceGroup,
    name: Name,
    image: Annotated[str, typer.Option(
        "--image", metavar="IMAGE",
        help="publisher:offer:sku:version, or an alias such as Ubuntu2204, Debian12, Win2022Datacenter.",
    )],
    location: Annotated[str | None, typer.Option(
        "--location", "-l", metavar="LOCATION", show_default=False,
        help="Region, e.g. westeurope. Default: the location of the resource group's machines.",
    )] = None,
    zone: Annotated[str | None, typer.Option("--zone", "-z", metavar="ZONE", show_default=False,
                                             help="Availability zone, e.g. 1.")] = None,
    availability_set: Annotated[str | None, typer.Option(
        "--availability-set", metavar="NAME_OR_ID", show_default=False,
        help="Availability set: a name in the resource group, or an ARM id.",
    )] = None,
    patch_mode: PatchModeOpt = None,
    enable_auto_update: Annotated[str | None, typer.Option(
        "--enable-auto-update", metavar=choices(Toggle), callback=choice(Toggle), show_default=False,
        help="Windows only: enableAutomaticUpdates (set at creation only). A bare flag means true.",
    )] = None,
    enable_agent: Annotated[str | None, typer.Option(
        "--enable-agent", metavar=choices(Toggle), callback=choice(Toggle), show_default=False,
        help="provisionVMAgent (AutomaticByPlatform needs it; Azure's default is true). A bare flag means true.",
    )] = None,
    assessment_mode: AssessmentModeOpt = None,
    reboot_setting: RebootSettingOpt = None,
    time_zone: Annotated[str | None, typer.Option(
        "--time-zone", metavar="TZ", show_default=False,
        help="Windows only: windowsConfiguration.timeZone, e.g. 'Pacific Standard Time'.",
    )] = None,
    computer_name: Annotated[str | None, typer.Option(
        "--computer-name", metavar="NAME", show_default=False, help="Host name of the OS. Default: the VM name.",
    )] = None,
    size: Annotated[str | None, typer.Option("--size", metavar="SIZE", show_default=False,
                                             help="hardwareProfile.vmSize, e.g. Standard_B2s.")] = None,
    tags: Annotated[list[str] | None, typer.Option(
        "--tags", metavar="KEY=VALUE", show_default=False,
        help="Tags, az style: key=value (or key) pairs, several may follow one --tags.",
    )] = None,
    set_: SetOpt = None,
) -> None:
    """Create a virtual machine (or replace one of that name), as az vm create."""
    from guestpatch.catalogs import load_image_aliases

    resource_group, name = require_name(resource_group, "--resource-group"), require_name(name, "--name")
    subscription = invocation.subscription
    edits = [generic.parse_set(text) for text in set_ or []]
    reference = resolve_image(image, load_image_aliases())
    client = invocation.client()
    if location is None:
        location = _group_location(invocation, resource_group)
    body = create_body(
        name=name,
        image=reference,
        location=location,
        zone=zone,
        availability_set=(
            availability_set_id(availability_set, subscription=subscription, resource_group=resource_group)
            if availability_set else None
        ),
        patch_mode=patch_mode,
        enable_auto_update=None if enable_auto_update is None else enable_auto_update == Toggle.true,
        enable_agent=None if enable_agent is None else enable_agent == Toggle.true,
        assessment_mode=assessment_mode,
        reboot_setting=reboot_setting,
        time_zone=time_zone,
        computer_name=computer_name,
        size=size,
        tags=parse_tags(tags or []),
    )
    body = generic.apply_all(body, edits)
    response = client.request("PUT", vm_path(subscription, resource_group, name), body=body)
    invocation.show(wait_for_result(client, response), VM_COLUMNS)


def _group_location(invocation: Invocation, resource_group: str) -> str:
    client = invocation.client()
    for vm in client.list_all(vm_path(invocation.subscription, resource_group)):
        if isinstance(vm.get("location"), str):
            return str(vm["location"])
    raise typer.BadParameter(
        f"resource group '{resource_group}' has no machines to take the location from; give one.",
        param_hint="--location",
    )


@command(group, "update")
def update(
    invocation: Invocation,
    *,
    resource_group: ResourceGroup,
    name: Name,
    patch_mode: PatchModeOpt = None,
    assessment_mode: AssessmentModeOpt = None,
    reboot_setting: RebootSettingOpt = None,
    set_: SetOpt = None,
    remove: Annotated[list[str] | None, typer.Option(
        "--remove", metavar="PATH", show_default=False,
        help="Remove properties (same paths as --set; zones[0] for a list item). Several may follow one --remove.",
    )] = None,
) -> None:
    """Update a virtual machine's properties with PATCH, as az vm update (--set/--remove, patch settings)."""
    resource_group, name = require_name(resource_group, "--resource-group"), require_name(name, "--name")
    edits = [generic.parse_set(text) for text in set_ or []] + [generic.parse_remove(t) for t in remove or []]
    if not edits and not (patch_mode or assessment_mode or reboot_setting):
        raise typer.BadParameter(
            "nothing to update: give --set, --remove, --patch-mode, --assessment-mode or --reboot-setting.",
            param_hint="--set",
        )
    client = invocation.client()
    path = vm_path(invocation.subscription, resource_group, name)
    current_response = client.request("GET", path)
    current = body_json(current_response)
    edits = setting_edits(
        current, patch_mode=patch_mode, assessment_mode=assessment_mode, reboot_setting=reboot_setting
    ) + edits
    body = update_body(current, edits)
    etag = current_response.headers.get("ETag")
    response = client.request("PATCH", path, body=body, headers={"If-Match": etag} if etag else None)
    invocation.show(wait_for_result(client, response), VM_COLUMNS)


@command(group, "show")
def show(
    invocation: Invocation,
    *,
    resource_group: ResourceGroup,
    name: Name,
    show_details: Annotated[bool, typer.Option(
        "--show-details", "-d", help="Add the instance view and the power state (powerState), as az -d.",
    )] = False,
) -> None:
    """Show a virtual machine."""
    resource_group, name = require_name(resource_group, "--resource-group"), require_name(name, "--name")
    params = {"$expand": "instanceView"} if show_details else None
    vm = invocation.client().json("GET", vm_path(invocation.subscription, resource_group, name), params=params)
    if show_details:
        vm["powerState"] = power_state(vm)
    invocation.show(vm, DETAIL_COLUMNS if show_details else VM_COLUMNS)


@command(group, "list")
def list_(
    invocation: Invocation,
    *,
    resource_group: Annotated[str | None, typer.Option(
        "--resource-group", "-g", metavar="RG", show_default=False,
        help="Resource group; default: every VM of the subscription.",
    )] = None,
) -> None:
    """List virtual machines (every page: follows nextLink)."""
    group_name = require_name(resource_group, "--resource-group") if resource_group is not None else None
    client = invocation.client()
    invocation.show(list(client.list_all(vm_path(invocation.subscription, group_name))), VM_COLUMNS)


@command(group, "delete")
def delete(
    invocation: Invocation,
    *,
    resource_group: ResourceGroup,
    name: Name,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not prompt for confirmation.")] = False,
) -> None:
    """Delete a virtual machine (deleting one that does not exist succeeds, as az)."""
    resource_group, name = require_name(resource_group, "--resource-group"), require_name(name, "--name")
    if not yes:
        if not sys.stdin.isatty():
            raise typer.BadParameter("no terminal to confirm on: pass --yes to delete.", param_hint="--yes")
        typer.confirm(f"Delete virtual machine '{name}' of resource group '{resource_group}'?", abort=True)
    client = invocation.client()
    response = client.request("DELETE", vm_path(invocation.subscription, resource_group, name))
    wait_for_result(client, response)


@command(group, "get-instance-view")
def get_instance_view(invocation: Invocation, *, resource_group: ResourceGroup, name: Name) -> None:
    """Show a virtual machine with its instance view (power state, agent, patchStatus), as az."""
    resource_group, name = require_name(resource_group, "--resource-group"), require_name(name, "--name")
    vm = invocation.client().json(
        "GET", vm_path(invocation.subscription, resource_group, name), params={"$expand": "instanceView"}
    )
    invocation.show(vm, INSTANCE_VIEW_COLUMNS)
