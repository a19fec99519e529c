"""Patch-settings rules and transitions of Azure's automatic VM guest patching.

:func:`check_vm` judges a parsed VM (:class:`~guestpatch.core.vm.VmSpec`) against the feature's
rules, the image and region catalogs, and (on update) the VM as it was; it raises the first
violation as an ARM error (see ``docs/patch-settings.md`` for the table, rendered from
:mod:`guestpatch.core.rules`). :func:`configuration_statuses` says, for the instance view, whether
the patch and assessment modes are applied, pending, failed or not supported.

Decisions where the sources disagree or are silent (also in ``docs/patch-settings.md``):

- Windows ``AutomaticByPlatform`` is accepted with ``enableAutomaticUpdates`` true *or* false.
  The swagger says it needs true; the feature documentation describes switching between
  AutomaticByPlatform and Manual on VMs with ``enableAutomaticUpdates=false``, which is only
  possible if AutomaticByPlatform is valid with false. The documentation wins.
- The supported-image rule applies to the patch mode and the assessment mode alike (Azure lists
  on-demand assessment among what needs a supported image), and is judged when a mode *becomes*
  AutomaticByPlatform: a VM already enabled keeps being accepted after its image passes end of
  life or leaves the catalog, as long as the update does not change that mode.
- Create-only properties are compared as given (an omitted one differs from a given one); the API
  fills omitted ones from the stored VM with :func:`~guestpatch.core.vm.carry_create_only`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from guestpatch.core import rules
from guestpatch.core.images import ImageCatalog, ImageEntry
from guestpatch.core.regions import RegionCatalog
from guestpatch.core.vm import ASSESSMENT_MODES, LINUX_PATCH_MODES, WINDOWS_PATCH_MODES, VmSpec
from guestpatch.errors import GuestpatchError

PLATFORM = "AutomaticByPlatform"
_FALLBACK = {"Linux": "ImageDefault", "Windows": "Manual"}  # what to choose instead of AutomaticByPlatform


def check_vm(
    new: VmSpec, old: VmSpec | None, *, images: ImageCatalog, regions: RegionCatalog, today: date
) -> None:
    """Raise the first patch-settings rule ``new`` breaks (``old`` is the VM before an update, or None
    when it is being created); return None when every rule holds."""
    os = new.os_prefix
    modes = WINDOWS_PATCH_MODES if new.os_type == "Windows" else LINUX_PATCH_MODES
    if new.patch_mode not in modes:
        raise rules.ENUM_VALUE.error(
            value=new.patch_mode, path=f"{new.configuration_key}.patchSettings.patchMode",
            allowed=", ".join(modes), hint="",
        )
    if new.assessment_mode not in ASSESSMENT_MODES:
        raise rules.ENUM_VALUE.error(
            value=new.assessment_mode, path=f"{new.configuration_key}.patchSettings.assessmentMode",
            allowed=", ".join(ASSESSMENT_MODES), hint="",
        )
    if old is not None:
        _check_create_only(new, old)
    elif regions.get(new.location) is None:
        raise rules.LOCATION_UNAVAILABLE.error(location=new.location, available=",".join(regions.names()))
    if old is None and new.image is not None:
        entry = images.lookup(new.image)
        if entry is not None and entry.os_type != new.os_type:
            raise rules.IMAGE_OS_MISMATCH.error(
                image=entry.urn, image_os=entry.os_type, image_os_lower=entry.os_type.lower(), os_type=new.os_type
            )
    if new.os_type == "Windows":
        _check_windows_modes(new, old)
    if new.enable_hotpatching:
        if new.patch_mode != PLATFORM:
            raise rules.HOTPATCH_NEEDS_PLATFORM_MODE.error(mode=new.patch_mode)
        if not new.provision_vm_agent:
            raise rules.HOTPATCH_NEEDS_AGENT.error()
        if new.bypass_platform_safety_checks:
            raise rules.HOTPATCH_NEEDS_SAFETY_CHECKS.error()
    for mode_name, value in (("patchMode", new.patch_mode), ("assessmentMode", new.assessment_mode)):
        if value == PLATFORM and not new.provision_vm_agent:
            raise rules.PLATFORM_NEEDS_AGENT.error(os=os, mode=mode_name, fallback=_fallback(new, mode_name))
    if new.has_platform_settings and new.patch_mode != PLATFORM:
        raise rules.PLATFORM_SETTINGS_NEED_PLATFORM_MODE.error(os=os)
    _check_image_support(new, old, images=images, today=today, mode_name="patchMode")
    _check_image_support(new, old, images=images, today=today, mode_name="assessmentMode")


def _check_create_only(new: VmSpec, old: VmSpec) -> None:
    changes: list[tuple[str, bool]] = [
        ("location", new.location != old.location),
        ("zones", new.zones != old.zones),
        ("computerName", new.computer_name != old.computer_name),
        ("availabilitySet.id", _differs(new.availability_set_id, old.availability_set_id)),
        ("virtualMachineScaleSet.id", _differs(new.scale_set_id, old.scale_set_id)),
        ("osDisk.osType", new.os_type != old.os_type),
        ("imageReference", _image_changed(new, old)),
        (
            "windowsConfiguration.enableAutomaticUpdates",
            new.os_type == "Windows" and new.enable_automatic_updates != old.enable_automatic_updates,
        ),
    ]
    for prop, changed in changes:
        if changed:
            raise rules.PROPERTY_CHANGE.error(property=prop)


def _differs(new: str | None, old: str | None) -> bool:
    return (new or "").lower() != (old or "").lower()


def _image_changed(new: VmSpec, old: VmSpec) -> bool:
    if (new.image is None) != (old.image is None) or _differs(new.image_id, old.image_id):
        return True
    return new.image is not None and old.image is not None and not new.image.same_image(old.image)


def _check_windows_modes(new: VmSpec, old: VmSpec | None) -> None:
    eau = new.enable_automatic_updates
    if old is not None and old.patch_mode != new.patch_mode:
        pair = {old.patch_mode, new.patch_mode}
        if pair == {"AutomaticByOS", "Manual"}:
            raise rules.BY_OS_MANUAL_SWITCH.error(old=old.patch_mode, new=new.patch_mode)
        needs = {"AutomaticByOS": True, "Manual": False}.get(new.patch_mode)
        if needs is not None and needs != eau:
            raise rules.SWITCH_NEEDS_OTHER_AUTO_UPDATES.error(
                old=old.patch_mode, new=new.patch_mode, eau=str(eau).lower(),
                partner="AutomaticByOS" if eau else "Manual",
            )
    if new.patch_mode == "AutomaticByOS" and eau is not True:
        raise rules.BY_OS_NEEDS_AUTO_UPDATES.error()
    if new.patch_mode == "Manual" and eau is not False:
        raise rules.MANUAL_NEEDS_NO_AUTO_UPDATES.error()


def _check_image_support(
    new: VmSpec, old: VmSpec | None, *, images: ImageCatalog, today: date, mode_name: str
) -> None:
    value = new.patch_mode if mode_name == "patchMode" else new.assessment_mode
    was = None if old is None else (old.patch_mode if mode_name == "patchMode" else old.assessment_mode)
    if value != PLATFORM or was == PLATFORM:
        return  # not enabled, or enabled before: judged when it became AutomaticByPlatform
    common = {"os": new.os_prefix, "mode": mode_name, "fallback": _fallback(new, mode_name)}
    if new.image is None:
        if new.image_id is not None:
            raise rules.CUSTOM_IMAGE_NOT_SUPPORTED.error(image=new.image_id, **common)
        return  # an enrolled machine: judged later by the OS its agent reports
    entry = images.lookup(new.image)
    if entry is None:
        raise rules.IMAGE_NOT_SUPPORTED.error(image=new.image.urn, **common)
    if entry.is_past_end_of_life(today):
        assert entry.end_of_life is not None
        raise rules.IMAGE_END_OF_LIFE.error(image=entry.urn, end_of_life=entry.end_of_life.isoformat(), **common)


def _fallback(spec: VmSpec, mode_name: str) -> str:
    if mode_name == "assessmentMode":
        return "ImageDefault"
    if spec.os_type == "Windows" and spec.enable_automatic_updates:
        return "AutomaticByOS"
    return _FALLBACK[spec.os_type]


# ---------------------------------------------------------------- instance view


def configuration_statuses(
    spec: VmSpec,
    *,
    images: ImageCatalog,
    today: date,
    applied: Mapping[str, str] | None,
    now: datetime,
) -> list[dict[str, object]]:
    """``instanceView.patchStatus.configurationStatuses`` for ``spec``.

    One status for the patch mode and one for the assessment mode, each ``Pending`` (the agent has
    not applied the desired mode), ``Ready`` (it has), ``Failed`` (its last attempt failed; the
    reason is the ``message``) or ``NotSupported`` (AutomaticByPlatform on an image the catalog does
    not list); then, when the image is past its end of life, an ``ImageLifecycleState/EndOfLife``
    warning. ``applied`` is what the agent last reported: ``{"patchMode": ..., "assessmentMode": ...,
    "error": <message of a failed attempt>, "time": <ISO 8601 of that report>}`` (every key
    optional), or None before its first report.
    """
    if now.tzinfo is None:
        raise GuestpatchError("configuration_statuses needs a timezone-aware 'now'")
    stamp = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    reported = (applied or {}).get("time") or stamp
    entry = images.lookup(spec.image) if spec.image is not None else None
    unsupported = (spec.image is not None and entry is None) or (spec.image is None and spec.image_id is not None)
    statuses = [
        _mode_status(spec, "patchMode", applied=applied, unsupported=unsupported, stamp=stamp, reported=reported),
        _mode_status(
            spec, "assessmentMode", applied=applied, unsupported=unsupported, stamp=stamp, reported=reported
        ),
    ]
    if entry is not None and entry.is_past_end_of_life(today):
        statuses.append(_end_of_life_status(entry, stamp))
    return statuses


def _mode_status(
    spec: VmSpec,
    key: str,
    *,
    applied: Mapping[str, str] | None,
    unsupported: bool,
    stamp: str,
    reported: str,
) -> dict[str, object]:
    prefix = "PatchModeConfigurationState" if key == "patchMode" else "AssessmentModeConfigurationState"
    desired = spec.patch_mode if key == "patchMode" else spec.assessment_mode
    image = spec.image.urn if spec.image is not None else spec.image_id
    if desired == PLATFORM and unsupported:
        state, level, time = "NotSupported", "Warning", stamp
        message = (
            f"The {key} 'AutomaticByPlatform' is not supported on image '{image}': it is not in the "
            "supported-image catalog, so the platform neither assesses nor patches this machine."
        )
    elif applied is not None and (applied.get(key) or "").lower() == desired.lower():
        state, level, time = "Ready", "Info", reported
        message = f"The {key} '{desired}' is applied."
    elif applied is not None and applied.get("error"):
        state, level, time = "Failed", "Error", reported
        message = f"Applying the {key} '{desired}' failed: {applied['error']}"
    else:
        state, level, time = "Pending", "Info", stamp
        message = f"The {key} '{desired}' is waiting for the VM agent to apply it."
    return {
        "code": f"{prefix}/{state}",
        "level": level,
        "displayStatus": f"Status_{prefix}_{state}",
        "message": message,
        "time": time,
    }


def _end_of_life_status(entry: ImageEntry, stamp: str) -> dict[str, object]:
    assert entry.end_of_life is not None
    return {
        "code": "ImageLifecycleState/EndOfLife",
        "level": "Warning",
        "displayStatus": "Status_ImageLifecycleState_EndOfLife",
        "message": (
            f"The image '{entry.urn}' reached its end of life on {entry.end_of_life.isoformat()}: its "
            "publisher no longer ships updates for it. The machine keeps being patched with what its "
            "repositories still offer; move the workload to a supported image."
        ),
        "time": stamp,
    }
