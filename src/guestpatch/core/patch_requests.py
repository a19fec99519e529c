"""Validate ``installPatches`` request bodies (``VirtualMachineInstallPatchesParameters``).

Pure: returns the normalised parameters the agent receives, or raises
:class:`guestpatch.errors.InvalidInput` with Azure's code, message and target.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from guestpatch.core.durations import format_duration, parse_duration
from guestpatch.errors import InvalidInput

#: Azure documents maximumDuration as an ISO 8601 duration "such as PT4H (4 hours)"; we accept
#: the same upper bound and a lower bound below which nothing could be installed at all.
MIN_DURATION = timedelta(minutes=5)
MAX_DURATION = timedelta(hours=4)

REBOOT_SETTINGS = ("IfRequired", "Never", "Always")
LINUX_CLASSIFICATIONS = ("Critical", "Security", "Other")
WINDOWS_CLASSIFICATIONS = (
    "Critical", "Security", "UpdateRollUp", "FeaturePack", "ServicePack", "Definition", "Tools", "Updates",
)
_LINUX_MASK = re.compile(r"^[A-Za-z0-9*?][A-Za-z0-9.+_:~*?=-]*$")
_KB = re.compile(r"^(KB)?\d{4,10}$", re.IGNORECASE)
_WINDOWS_MASK = re.compile(r"^[A-Za-z0-9*?][A-Za-z0-9 ._*?-]*$")
_MAX_LIST = 1000


def _enum(value: object, allowed: tuple[str, ...], target: str) -> str:
    if isinstance(value, str):
        for candidate in allowed:
            if candidate.lower() == value.strip().lower():
                return candidate
    raise InvalidInput(
        f"The value '{value}' of parameter '{target}' is not allowed. Allowed values are: {', '.join(allowed)}.",
        target=target,
    )


def _string_list(body: Mapping[str, Any], key: str, target: str) -> list[str]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(f"The parameter '{target}' must be an array of strings.", target=target)
    if len(value) > _MAX_LIST:
        raise InvalidInput(f"The parameter '{target}' has more than {_MAX_LIST} entries.", target=target)
    return list(value)


def _masks(body: Mapping[str, Any], key: str, target: str, pattern: re.Pattern[str], what: str) -> list[str]:
    masks = _string_list(body, key, target)
    for mask in masks:
        if not mask.strip() or not pattern.match(mask):
            raise InvalidInput(
                f"The value '{mask}' of parameter '{target}' is not a valid {what}: use letters, digits, the "
                "characters . + _ : ~ - and the wildcards * and ?; it may not start with '-' or be empty.",
                target=target,
            )
    return masks


def parse_install_parameters(body: Mapping[str, Any], *, os_type: str) -> dict[str, Any]:
    """The validated, normalised ``installPatches`` parameters for a VM of ``os_type``."""
    known = {"maximumDuration", "rebootSetting", "linuxParameters", "windowsParameters"}
    for key in body:
        if key not in known:
            raise InvalidInput(
                f"Could not find member '{key}' on object of type 'VirtualMachineInstallPatchesParameters'.",
                code="BadRequest",
                target=key,
            )
    raw_duration = body.get("maximumDuration")
    if raw_duration is None:
        raise InvalidInput(
            "The parameter 'maximumDuration' is required: an ISO 8601 duration such as PT2H.",
            target="maximumDuration",
        )
    if not isinstance(raw_duration, str):
        raise InvalidInput(
            "The parameter 'maximumDuration' must be an ISO 8601 duration string.", target="maximumDuration"
        )
    duration = parse_duration(raw_duration, target="maximumDuration")
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise InvalidInput(
            f"The value '{raw_duration}' of parameter 'maximumDuration' is out of range: it must be between "
            f"{format_duration(MIN_DURATION)} and {format_duration(MAX_DURATION)}.",
            target="maximumDuration",
        )
    if "rebootSetting" not in body:
        raise InvalidInput("The parameter 'rebootSetting' is required.", target="rebootSetting")
    reboot = _enum(body["rebootSetting"], REBOOT_SETTINGS, "rebootSetting")
    linux, windows = body.get("linuxParameters"), body.get("windowsParameters")
    result: dict[str, Any] = {"maximumDuration": format_duration(duration), "rebootSetting": reboot}
    if os_type == "Linux":
        if windows is not None:
            raise InvalidInput(
                "The parameter 'windowsParameters' is not allowed for a Linux virtual machine; use 'linuxParameters'.",
                target="windowsParameters",
            )
        result["linuxParameters"] = _linux(linux)
    else:
        if linux is not None:
            raise InvalidInput(
                "The parameter 'linuxParameters' is not allowed for a Windows virtual machine; "
                "use 'windowsParameters'.",
                target="linuxParameters",
            )
        result["windowsParameters"] = _windows(windows)
    return result


def _object(value: object, target: str) -> Mapping[str, Any]:
    if value is None:
        raise InvalidInput(
            f"The parameter '{target}' is required: specify at least one classification or one patch to include.",
            target=target,
        )
    if not isinstance(value, Mapping):
        raise InvalidInput(f"The parameter '{target}' must be an object.", target=target)
    return value


def _classifications(params: Mapping[str, Any], allowed: tuple[str, ...], target: str) -> list[str]:
    values = _string_list(params, "classificationsToInclude", f"{target}.classificationsToInclude")
    chosen: list[str] = []
    for value in values:
        name = _enum(value, allowed, f"{target}.classificationsToInclude")
        if name not in chosen:
            chosen.append(name)
    return chosen


def _linux(value: object) -> dict[str, Any]:
    target = "linuxParameters"
    params = _object(value, target)
    allowed = {"classificationsToInclude", "packageNameMasksToInclude", "packageNameMasksToExclude", "maintenanceRunId"}
    for key in params:
        if key not in allowed:
            raise InvalidInput(f"Could not find member '{key}' on object of type 'LinuxParameters'.", code="BadRequest",
                               target=f"{target}.{key}")
    classes = _classifications(params, LINUX_CLASSIFICATIONS, target)
    include = _masks(params, "packageNameMasksToInclude", f"{target}.packageNameMasksToInclude", _LINUX_MASK,
                     "package name mask")
    exclude = _masks(params, "packageNameMasksToExclude", f"{target}.packageNameMasksToExclude", _LINUX_MASK,
                     "package name mask")
    if not classes and not include:
        raise InvalidInput(
            "Specify at least one classification in 'classificationsToInclude' or one package in "
            "'packageNameMasksToInclude'.",
            target=f"{target}.classificationsToInclude",
        )
    run_id = params.get("maintenanceRunId")
    if run_id is not None and not isinstance(run_id, str):
        raise InvalidInput("The parameter 'maintenanceRunId' must be a string.", target=f"{target}.maintenanceRunId")
    out: dict[str, Any] = {
        "classificationsToInclude": classes,
        "packageNameMasksToInclude": include,
        "packageNameMasksToExclude": exclude,
    }
    if run_id:
        out["maintenanceRunId"] = run_id
    return out


def _windows(value: object) -> dict[str, Any]:
    target = "windowsParameters"
    params = _object(value, target)
    allowed = {
        "classificationsToInclude", "kbNumbersToInclude", "kbNumbersToExclude", "excludeKbsRequiringReboot",
        "maxPatchPublishDate", "patchNameMasksToInclude", "patchNameMasksToExclude",
    }
    for key in params:
        if key not in allowed:
            raise InvalidInput(f"Could not find member '{key}' on object of type 'WindowsParameters'.",
                               code="BadRequest", target=f"{target}.{key}")
    classes = _classifications(params, WINDOWS_CLASSIFICATIONS, target)
    kb_in = _string_list(params, "kbNumbersToInclude", f"{target}.kbNumbersToInclude")
    kb_out = _string_list(params, "kbNumbersToExclude", f"{target}.kbNumbersToExclude")
    for kb, where in [(k, "kbNumbersToInclude") for k in kb_in] + [(k, "kbNumbersToExclude") for k in kb_out]:
        if not _KB.match(kb):
            raise InvalidInput(f"The value '{kb}' of parameter '{target}.{where}' is not a KB number.",
                               target=f"{target}.{where}")
    names_in = _masks(params, "patchNameMasksToInclude", f"{target}.patchNameMasksToInclude", _WINDOWS_MASK,
                      "patch name mask")
    names_out = _masks(params, "patchNameMasksToExclude", f"{target}.patchNameMasksToExclude", _WINDOWS_MASK,
                       "patch name mask")
    if not classes and not kb_in and not names_in:
        raise InvalidInput(
            "Specify at least one classification in 'classificationsToInclude' or one KB or patch to include.",
            target=f"{target}.classificationsToInclude",
        )
    reboot_only = params.get("excludeKbsRequiringReboot", False)
    if not isinstance(reboot_only, bool):
        raise InvalidInput("The parameter 'excludeKbsRequiringReboot' must be a boolean.",
                           target=f"{target}.excludeKbsRequiringReboot")
    out: dict[str, Any] = {
        "classificationsToInclude": classes, "kbNumbersToInclude": kb_in, "kbNumbersToExclude": kb_out,
        "patchNameMasksToInclude": names_in, "patchNameMasksToExclude": names_out,
        "excludeKbsRequiringReboot": reboot_only,
    }
    published = params.get("maxPatchPublishDate")
    if published is not None:
        when = None
        if isinstance(published, str):
            try:
                when = datetime.fromisoformat(published.replace("Z", "+00:00"))
            except ValueError:
                when = None
        if when is None:
            raise InvalidInput(
                f"The value '{published}' of parameter '{target}.maxPatchPublishDate' is not an ISO 8601 date-time.",
                target=f"{target}.maxPatchPublishDate",
            )
        out["maxPatchPublishDate"] = published
    return out
