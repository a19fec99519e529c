"""A virtual machine resource document: its validation, its interpreted view, ARM PATCH merging.

:func:`parse_vm` checks the types and enum values of every property guestpatch interprets and
returns a :class:`VmSpec`; properties it does not interpret are left alone (the caller keeps them,
as ARM does). Enum values are accepted in any case and written back in Azure's spelling.
Member names are case-sensitive, and a known member spelled in another case (``PatchMode``) is
refused rather than silently ignored. Every error is one of :mod:`guestpatch.core.rules`.

The rules that need catalogs or the previous state of the VM live in
:mod:`guestpatch.core.settings`. The order the ARM routes call things in::

    body = carry_create_only(body, stored)      # PUT on an existing VM (PATCH: merge_patch)
    spec = parse_vm(body, name=name)
    check_vm(spec, old_spec, images=..., regions=..., today=...)
    stored = normalize_document(body, spec=spec)
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from guestpatch.core import rules
from guestpatch.core.jsonread import Reader, at, carry, child, wrong_type
from guestpatch.core.regions import normalize_location
from guestpatch.core.rules import json_kind

OS_TYPES = ("Linux", "Windows")
LINUX_PATCH_MODES = ("ImageDefault", "AutomaticByPlatform")
WINDOWS_PATCH_MODES = ("Manual", "AutomaticByOS", "AutomaticByPlatform")
ASSESSMENT_MODES = ("ImageDefault", "AutomaticByPlatform")
REBOOT_SETTINGS = ("Unknown", "IfRequired", "Never", "Always")
WINDOWS_PUBLISHERS = frozenset({"microsoftwindowsserver", "microsoftwindowsdesktop"})
IMAGE_ID_FIELDS = ("id", "sharedGalleryImageId", "communityGalleryImageId")

_VM_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9_])?")
_WINDOWS_COMPUTER_NAME = re.compile(r"[A-Za-z0-9-]{1,15}")
_LINUX_COMPUTER_NAME = re.compile(r"[A-Za-z0-9.-]{1,64}")
_ZONE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_TAG_RESERVED = re.compile(r"[<>%&\\?/\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ImageRef:
    """A platform image: publisher, offer, sku (and version, which support does not depend on)."""

    publisher: str
    offer: str
    sku: str
    version: str | None = None

    @property
    def urn(self) -> str:
        """``publisher:offer:sku`` (plus ``:version`` when known)."""
        base = f"{self.publisher}:{self.offer}:{self.sku}"
        return f"{base}:{self.version}" if self.version else base

    def same_image(self, other: ImageRef) -> bool:
        """Same publisher, offer, sku and version, ignoring case."""
        return (self.publisher.lower(), self.offer.lower(), self.sku.lower(), (self.version or "").lower()) == (
            other.publisher.lower(), other.offer.lower(), other.sku.lower(), (other.version or "").lower()
        )


@dataclass(frozen=True)
class VmSpec:
    """The interpreted view of a VM resource document (defaults applied, enums canonical)."""

    name: str
    location: str  # normalised: lower-case, blanks removed
    zones: tuple[str, ...]
    os_type: str  # "Linux" | "Windows"
    vm_size: str | None
    image: ImageRef | None  # platform image; None for custom images and enrolled machines
    availability_set_id: str | None  # ARM id as given
    scale_set_id: str | None  # virtualMachineScaleSet.id (Flexible orchestration)
    computer_name: str | None
    provision_vm_agent: bool  # default True
    enable_automatic_updates: bool | None  # Windows only (default True); None on Linux
    time_zone: str | None  # windowsConfiguration.timeZone (a Windows time-zone id)
    patch_mode: str  # default Linux ImageDefault; Windows AutomaticByOS (Manual when eAU is false)
    assessment_mode: str  # default ImageDefault
    enable_hotpatching: bool | None  # Windows only
    reboot_setting: str | None  # automaticByPlatformSettings.rebootSetting
    bypass_platform_safety_checks: bool | None  # ...bypassPlatformSafetyChecksOnUserSchedule
    image_id: str | None = None  # imageReference.id / sharedGalleryImageId / communityGalleryImageId

    @property
    def os_prefix(self) -> str:
        """``linux`` or ``windows``: the prefix of the configuration's property names."""
        return self.os_type.lower()

    @property
    def configuration_key(self) -> str:
        """``linuxConfiguration`` or ``windowsConfiguration``."""
        return f"{self.os_prefix}Configuration"

    @property
    def has_platform_settings(self) -> bool:
        """True when automaticByPlatformSettings carries a value."""
        return self.reboot_setting is not None or self.bypass_platform_safety_checks is not None


def validate_vm_name(name: str) -> None:
    """ARM's rules for a VM resource name; raises InvalidInput ``InvalidResourceName``."""
    if not isinstance(name, str) or not _VM_NAME.fullmatch(name):
        raise rules.INVALID_NAME.error(name=name)


def parse_vm(document: Mapping[str, object], *, name: str) -> VmSpec:
    """Validate ``document`` (a VM resource body) and return its interpreted view."""
    validate_vm_name(name)
    if not isinstance(document, Mapping):
        raise rules.BODY_NOT_OBJECT.error(kind=json_kind(document))
    root = Reader(document, "")
    location = root.value("location")
    if location is None or (isinstance(location, str) and not location.strip()):
        raise rules.LOCATION_REQUIRED.error()
    location = root.string("location")
    assert location is not None
    _check_tags(root)
    zones = _zones(root)
    props = root.object("properties")
    hardware = props.object("hardwareProfile")
    storage = props.object("storageProfile")
    image, image_id = _image(storage.object("imageReference"))
    disk_os = storage.object("osDisk").enum("osType", OS_TYPES)
    avset = _resource_id(props, "availabilitySet", "availabilitySets", "an availability set")
    scale_set = _resource_id(props, "virtualMachineScaleSet", "virtualMachineScaleSets", "a scale set")
    if avset is not None and scale_set is not None:
        raise rules.SET_AND_SCALE_SET.error()
    os_profile = props.object("osProfile")
    computer_name = os_profile.string("computerName")
    linux = os_profile.object("linuxConfiguration")
    windows = os_profile.object("windowsConfiguration")
    if linux.given and windows.given:
        raise rules.TWO_CONFIGURATIONS.error()
    configured = "Linux" if linux.given else "Windows" if windows.given else None
    if disk_os is not None and configured is not None and disk_os != configured:
        raise rules.OS_TYPE_MISMATCH.error(os_type=disk_os, configuration=f"{configured.lower()}Configuration")
    os_type = disk_os or configured or _os_of_image(image) or "Linux"
    if computer_name is not None:
        _check_computer_name(computer_name, os_type)
    windows_os = os_type == "Windows"
    conf = windows if windows_os else linux
    settings = conf.object("patchSettings")
    platform = settings.object("automaticByPlatformSettings")
    automatic_updates = conf.boolean("enableAutomaticUpdates") if windows_os else None
    modes: Sequence[str] = WINDOWS_PATCH_MODES if windows_os else LINUX_PATCH_MODES
    foreign: Sequence[str] = LINUX_PATCH_MODES if windows_os else WINDOWS_PATCH_MODES
    other = "Linux" if windows_os else "Windows"
    patch_mode = settings.enum(
        "patchMode", modes, foreign=[m for m in foreign if m not in modes], foreign_label=f"{other} patch mode"
    )
    default_mode = ("Manual" if automatic_updates is False else "AutomaticByOS") if windows_os else "ImageDefault"
    agent = conf.boolean("provisionVMAgent")
    return VmSpec(
        name=name,
        location=normalize_location(location),
        zones=zones,
        os_type=os_type,
        vm_size=hardware.string("vmSize"),
        image=image,
        availability_set_id=avset,
        scale_set_id=scale_set,
        computer_name=computer_name,
        provision_vm_agent=True if agent is None else agent,
        enable_automatic_updates=(True if automatic_updates is None else automatic_updates) if windows_os else None,
        time_zone=conf.string("timeZone") if windows_os else None,
        patch_mode=patch_mode or default_mode,
        assessment_mode=settings.enum("assessmentMode", ASSESSMENT_MODES) or "ImageDefault",
        enable_hotpatching=settings.boolean("enableHotpatching") if windows_os else None,
        reboot_setting=platform.enum("rebootSetting", REBOOT_SETTINGS),
        bypass_platform_safety_checks=platform.boolean("bypassPlatformSafetyChecksOnUserSchedule"),
        image_id=image_id,
    )


def os_type_of(document: object) -> str:
    """The OS a document describes: ``osDisk.osType``, else the configuration present, else the image
    publisher (Windows publishers), else Linux. Never raises; invalid parts are skipped."""
    props = at(document, "properties")
    disk_os = at(props, "storageProfile", "osDisk", "osType")
    if isinstance(disk_os, str) and disk_os.lower() in {"linux", "windows"}:
        return "Windows" if disk_os.lower() == "windows" else "Linux"
    linux = at(props, "osProfile", "linuxConfiguration")
    windows = at(props, "osProfile", "windowsConfiguration")
    if isinstance(windows, Mapping) and not isinstance(linux, Mapping):
        return "Windows"
    if isinstance(linux, Mapping):
        return "Linux"
    publisher = at(props, "storageProfile", "imageReference", "publisher")
    if isinstance(publisher, str) and publisher.lower() in WINDOWS_PUBLISHERS:
        return "Windows"
    return "Linux"


def merge_patch(current: Mapping[str, object], patch: Mapping[str, object]) -> dict[str, object]:
    """ARM PATCH (JSON merge patch, RFC 7386): objects merge recursively, arrays and scalars
    replace, JSON null removes. Neither argument is modified; the result shares nothing with them."""
    result: dict[str, object] = {key: copy.deepcopy(value) for key, value in current.items()}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping):
            base = result.get(key)
            result[key] = merge_patch(base if isinstance(base, Mapping) else {}, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def normalize_document(document: Mapping[str, object], *, spec: VmSpec) -> dict[str, object]:
    """``document`` with the defaults Azure shows in GET made explicit: location in normal form,
    ``osDisk.osType``, ``provisionVMAgent``, Windows ``enableAutomaticUpdates``, ``patchMode`` and
    ``assessmentMode``, enums in canonical spelling. Everything else is untouched."""
    doc: dict[str, object] = copy.deepcopy(dict(document))
    doc["location"] = spec.location
    props = child(doc, "properties")
    child(child(props, "storageProfile"), "osDisk")["osType"] = spec.os_type
    conf = child(child(props, "osProfile"), spec.configuration_key)
    conf["provisionVMAgent"] = spec.provision_vm_agent
    if spec.os_type == "Windows":
        conf["enableAutomaticUpdates"] = spec.enable_automatic_updates
    settings = child(conf, "patchSettings")
    settings["patchMode"] = spec.patch_mode
    settings["assessmentMode"] = spec.assessment_mode
    if spec.reboot_setting is not None:
        child(settings, "automaticByPlatformSettings")["rebootSetting"] = spec.reboot_setting
    return doc


_CREATE_ONLY_PATHS: tuple[tuple[str, ...], ...] = (
    ("zones",),
    ("properties", "availabilitySet"),
    ("properties", "virtualMachineScaleSet"),
    ("properties", "storageProfile", "imageReference"),
    ("properties", "storageProfile", "osDisk", "osType"),
    ("properties", "osProfile", "computerName"),
)


def carry_create_only(new_document: Mapping[str, object], old_document: Mapping[str, object]) -> dict[str, object]:
    """A PUT body for an existing VM with the create-only properties it omits taken from the stored
    document (zones, availabilitySet, virtualMachineScaleSet, imageReference, osDisk.osType,
    computerName, Windows enableAutomaticUpdates), so that a PUT changing only the patch settings
    (as in Azure's documentation) is not read as removing them. Properties the body gives are kept
    as given: changing them is refused by ``check_vm``."""
    doc: dict[str, object] = copy.deepcopy(dict(new_document))
    for path in _CREATE_ONLY_PATHS:
        carry(doc, old_document, path)
    if at(doc, "properties", "osProfile", "linuxConfiguration") is None:
        carry(doc, old_document, ("properties", "osProfile", "windowsConfiguration", "enableAutomaticUpdates"))
    return doc


# ---------------------------------------------------------------- reading the document


def _check_tags(root: Reader) -> None:
    tags = root.value("tags")
    if tags is None:
        return
    if not isinstance(tags, Mapping):
        raise wrong_type("tags", "an object of tag names to string values", tags)
    if len(tags) > 50:
        raise rules.BAD_TAGS.error(problem=f"A resource has at most 50 tags; {len(tags)} were given.")
    for tag, value in tags.items():
        if not isinstance(value, str):
            raise rules.WRONG_TYPE.error(
                where=f"tags.{tag}", path="tags", expected="a string", actual=json_kind(value)
            )
        if not tag or len(tag) > 512:
            raise rules.BAD_TAGS.error(problem=f"The tag name '{tag[:40]}' must have 1 to 512 characters.")
        if _TAG_RESERVED.search(tag):
            raise rules.BAD_TAGS.error(
                problem=f"The tag name '{tag[:40]}' has a reserved character (< > % & \\ ? /) or a "
                "control character."
            )
        if len(value) > 256:
            raise rules.BAD_TAGS.error(problem=f"The value of tag '{tag[:40]}' is longer than 256 characters.")


def _zones(root: Reader) -> tuple[str, ...]:
    zones = root.value("zones")
    if zones is None:
        return ()
    if not isinstance(zones, list) or not all(isinstance(zone, str) for zone in zones):
        raise wrong_type("zones", "an array of strings such as [\"1\"]", zones)
    if len(zones) > 1:
        raise rules.TOO_MANY_ZONES.error(count=len(zones))
    for zone in zones:
        if not _ZONE.fullmatch(zone):
            raise rules.BAD_ZONE.error(zone=zone)
    return tuple(zones)


def _image(ref: Reader) -> tuple[ImageRef | None, str | None]:
    parts = {key: ref.string(key) for key in ("publisher", "offer", "sku", "version")}
    ids = [(key, ref.string(key)) for key in IMAGE_ID_FIELDS]
    given_id = next(((key, value) for key, value in ids if value is not None), None)
    if not any(parts[key] for key in ("publisher", "offer", "sku")):
        return None, given_id[1] if given_id else None
    if given_id is not None:
        raise rules.IMAGE_AMBIGUOUS.error(id_field=given_id[0])
    for key in ("publisher", "offer", "sku"):
        if parts[key] is None:
            raise rules.IMAGE_INCOMPLETE.error(missing=key)
    publisher, offer, sku = (parts[key] or "" for key in ("publisher", "offer", "sku"))
    return ImageRef(publisher, offer, sku, parts["version"]), None


def _resource_id(props: Reader, key: str, collection: str, kind: str) -> str | None:
    sub = props.object(key)
    if not sub.given:
        return None
    value = sub.string("id")
    if value is None:
        raise wrong_type(f"properties.{key}.id", "a resource id string", None)
    pattern = rf"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/{collection}/[^/]+"
    if not re.fullmatch(pattern, value, re.IGNORECASE):
        raise rules.BAD_RESOURCE_ID.error(path=f"{key}.id", value=value, kind=kind, collection=collection)
    return value


def _check_computer_name(name: str, os_type: str) -> None:
    if os_type == "Windows":
        if not _WINDOWS_COMPUTER_NAME.fullmatch(name) or name.isdigit():
            raise rules.WINDOWS_COMPUTER_NAME.error()
    elif not _LINUX_COMPUTER_NAME.fullmatch(name):
        raise rules.LINUX_COMPUTER_NAME.error()


def _os_of_image(image: ImageRef | None) -> str | None:
    return "Windows" if image is not None and image.publisher.lower() in WINDOWS_PUBLISHERS else None
