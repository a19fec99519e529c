"""The ARM request bodies of ``guestpatch vm create`` and ``vm update``, as pure functions.

``create_body`` builds the PUT body Azure's API expects (reference ``azure-compute-api.md`` §1: what SDK 39
sends); ``update_body`` turns az-style edits into the PATCH (JSON merge patch) body. No I/O: tested
without a server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from guestpatch.cli import generic
from guestpatch.core.vm import ImageRef, os_type_of
from guestpatch.errors import InvalidInput


def resolve_image(image: str, aliases: Mapping[str, ImageRef]) -> ImageRef:
    """``--image``: an alias (any case) or ``publisher:offer:sku:version``."""
    from guestpatch.core.images import resolve_alias

    try:
        return resolve_alias(image, aliases)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, target="--image") from exc


def parse_tags(values: Sequence[str]) -> dict[str, str]:
    """az's ``--tags a=b c`` → ``{"a": "b", "c": ""}``; ``--tags ""`` → no tags."""
    tags: dict[str, str] = {}
    for value in values:
        if not value.strip():
            continue
        key, _, text = value.partition("=")
        if not key.strip():
            raise InvalidInput(f"'{value}' is not a tag: write key=value (or key).", target="--tags")
        tags[key.strip()] = text
    return tags


def availability_set_id(value: str, *, subscription: str, resource_group: str) -> str:
    """``--availability-set``: an ARM id as given, or a name in the VM's resource group."""
    if value.startswith("/"):
        return value
    return (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.Compute/availabilitySets/{value}"
    )


def create_body(
    *,
    name: str,
    image: ImageRef,
    location: str,
    zone: str | None = None,
    availability_set: str | None = None,
    patch_mode: str | None = None,
    enable_auto_update: bool | None = None,
    enable_agent: bool | None = None,
    assessment_mode: str | None = None,
    reboot_setting: str | None = None,
    time_zone: str | None = None,
    computer_name: str | None = None,
    size: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ARM PUT body of a new VM, as Azure's API expects it (``azure-compute-api.md`` §1)."""
    reference = {"publisher": image.publisher, "offer": image.offer, "sku": image.sku}
    if image.version:
        reference["version"] = image.version
    storage = {"imageReference": reference}
    windows = os_type_of({"properties": {"storageProfile": storage}}) == "Windows"
    configuration: dict[str, Any] = {}
    if enable_agent is not None:
        configuration["provisionVMAgent"] = enable_agent
    for flag, value, key in (
        ("--enable-auto-update", enable_auto_update, "enableAutomaticUpdates"),
        ("--time-zone", time_zone, "timeZone"),
    ):
        if value is None:
            continue
        if not windows:
            raise InvalidInput(
                f"{flag} applies to Windows images only ({key} is a property of windowsConfiguration); "
                f"the image {image.publisher}:{image.offer}:{image.sku} is a Linux image.",
                target=flag,
            )
        configuration[key] = value
    patch_settings: dict[str, Any] = {}
    if patch_mode is not None:
        patch_settings["patchMode"] = patch_mode
    if assessment_mode is not None:
        patch_settings["assessmentMode"] = assessment_mode
    if reboot_setting is not None:
        patch_settings["automaticByPlatformSettings"] = {"rebootSetting": reboot_setting}
    if patch_settings:
        configuration["patchSettings"] = patch_settings
    os_profile = {
        "computerName": computer_name or name,
        "windowsConfiguration" if windows else "linuxConfiguration": configuration,
    }
    properties: dict[str, Any] = {}
    if size is not None:
        properties["hardwareProfile"] = {"vmSize": size}
    properties["storageProfile"] = storage
    properties["osProfile"] = os_profile
    if availability_set is not None:
        properties["availabilitySet"] = {"id": availability_set}
    body: dict[str, Any] = {"location": location}
    if tags:
        body["tags"] = dict(tags)
    if zone is not None:
        body["zones"] = [zone]
    body["properties"] = properties
    return body


def setting_edits(
    current: Mapping[str, Any],
    *,
    patch_mode: str | None = None,
    assessment_mode: str | None = None,
    reboot_setting: str | None = None,
) -> list[generic.Edit]:
    """``vm update``'s convenience flags as edits of the VM's own OS configuration."""
    os_key = "windowsConfiguration" if os_type_of(current) == "Windows" else "linuxConfiguration"
    base = ("properties", "osProfile", os_key, "patchSettings")
    edits = []
    for flag, value, path in (
        ("--patch-mode", patch_mode, ("patchMode",)),
        ("--assessment-mode", assessment_mode, ("assessmentMode",)),
        ("--reboot-setting", reboot_setting, ("automaticByPlatformSettings", "rebootSetting")),
    ):
        if value is not None:
            edits.append(generic.Edit("--set", f"{flag} {value}", (*base, *path), value))
    return edits


def update_body(current: Mapping[str, Any], edits: Sequence[generic.Edit]) -> dict[str, Any]:
    """The ARM PATCH body that applies ``edits`` to ``current`` (only what changes)."""
    return generic.merge_diff(current, generic.apply_all(current, list(edits)))
