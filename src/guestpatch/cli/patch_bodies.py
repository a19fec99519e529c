"""The pure half of ``vm assess-patches`` and ``vm install-patches``: the request body from the flags, and
what a result means (exit status, the one line on stderr, the summary above a table).

The server judges the values (``maximumDuration`` range, package masks, KB numbers, Linux flags on a
Windows VM): its ARM error comes back on one line. What can be told without asking — an unknown
classification, Linux and Windows flags mixed in one request, nothing to include — is a usage error
raised here as :class:`~guestpatch.errors.InvalidInput` naming the flag.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from guestpatch.core.durations import parse_duration
from guestpatch.errors import InvalidInput

ASSESS = "assessPatches"
INSTALL = "installPatches"

#: Result statuses (``PatchOperationStatus``) after which the command exits 0.
SUCCESSFUL = frozenset({"Succeeded", "CompletedWithWarnings"})
#: How long to wait for an installation beyond its maximum duration (reboots, the final report).
INSTALL_GRACE_SECONDS = 3600.0


class LinuxClassification(enum.StrEnum):
    Critical = "Critical"
    Security = "Security"
    Other = "Other"


class WindowsClassification(enum.StrEnum):
    Critical = "Critical"
    Security = "Security"
    UpdateRollUp = "UpdateRollUp"
    FeaturePack = "FeaturePack"
    ServicePack = "ServicePack"
    Definition = "Definition"
    Tools = "Tools"
    Updates = "Updates"


@dataclass(frozen=True)
class InstallFlags:
    """The flags of ``vm install-patches`` as given (lists empty when a flag is absent)."""

    maximum_duration: str
    reboot_setting: str
    linux_classifications: Sequence[str] = ()
    include_packages: Sequence[str] = ()
    exclude_packages: Sequence[str] = ()
    windows_classifications: Sequence[str] = ()
    kb_numbers_to_include: Sequence[str] = ()
    kb_numbers_to_exclude: Sequence[str] = ()
    exclude_kbs_requiring_reboot: bool | None = None


def install_body(flags: InstallFlags) -> dict[str, Any]:
    """``VirtualMachineInstallPatchesParameters`` for the flags: ``linuxParameters`` or ``windowsParameters``."""
    linux = {
        "--classifications-to-include-linux": flags.linux_classifications,
        "--include-packages": flags.include_packages,
        "--exclude-packages": flags.exclude_packages,
    }
    windows = {
        "--classifications-to-include-win": flags.windows_classifications,
        "--kb-numbers-to-include": flags.kb_numbers_to_include,
        "--kb-numbers-to-exclude": flags.kb_numbers_to_exclude,
        "--exclude-kbs-requiring-reboot": [] if flags.exclude_kbs_requiring_reboot is None else [True],
    }
    linux_given = [flag for flag, values in linux.items() if values]
    windows_given = [flag for flag, values in windows.items() if values]
    if linux_given and windows_given:
        raise InvalidInput(
            f"{linux_given[0]} is for Linux machines and {windows_given[0]} for Windows machines: give the flags "
            "of one OS.",
            target=windows_given[0],
        )
    body: dict[str, Any] = {"maximumDuration": flags.maximum_duration, "rebootSetting": flags.reboot_setting}
    if windows_given:
        if not (flags.windows_classifications or flags.kb_numbers_to_include):
            raise InvalidInput(
                "nothing to install: give --classifications-to-include-win or --kb-numbers-to-include.",
                target="--classifications-to-include-win",
            )
        windows_parameters: dict[str, Any] = {
            "classificationsToInclude": list(flags.windows_classifications),
            "kbNumbersToInclude": list(flags.kb_numbers_to_include),
            "kbNumbersToExclude": list(flags.kb_numbers_to_exclude),
        }
        if flags.exclude_kbs_requiring_reboot is not None:
            windows_parameters["excludeKbsRequiringReboot"] = flags.exclude_kbs_requiring_reboot
        body["windowsParameters"] = windows_parameters
        return body
    if not (flags.linux_classifications or flags.include_packages):
        raise InvalidInput(
            "nothing to install: give --classifications-to-include-linux (Critical, Security, Other) or "
            "--include-packages (or, for Windows, --classifications-to-include-win / --kb-numbers-to-include).",
            target="--classifications-to-include-linux",
        )
    body["linuxParameters"] = {
        "classificationsToInclude": list(flags.linux_classifications),
        "packageNameMasksToInclude": list(flags.include_packages),
        "packageNameMasksToExclude": list(flags.exclude_packages),
    }
    return body


def wait_budget(maximum_duration: str, default: float) -> float:
    """Seconds to wait for an installation: its maximum duration plus a grace time (``default`` when the
    duration does not parse; the server refuses it then, before anything waits)."""
    try:
        return parse_duration(maximum_duration).total_seconds() + INSTALL_GRACE_SECONDS
    except InvalidInput:
        return default


@dataclass(frozen=True)
class Verdict:
    """What a finished operation's result means: success or not, and the line for stderr (if any)."""

    ok: bool
    line: str | None = None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def judge(result: dict[str, Any], kind: str) -> Verdict:
    """Succeeded / CompletedWithWarnings → ok (a warning line when the result carries an error);
    any other status → ``error: (Code) …`` with the result's ARM error code."""
    status = str(result.get("status") or "Unknown")
    error = result.get("error") if isinstance(result.get("error"), dict) else None
    code = str(error.get("code")) if error and error.get("code") else None
    detail = _one_line(str(error.get("message"))) if error and error.get("message") else None
    if status in SUCCESSFUL:
        if status == "CompletedWithWarnings" and code:
            ending = f": {detail}" if detail else "."
            return Verdict(True, f"warning: ({code}) {kind} completed with warnings{ending}")
        return Verdict(True)
    fallback = "PatchAssessmentFailed" if kind == ASSESS else "PatchInstallationFailed"
    message = f"{kind} ended with status {status}"
    failed = result.get("failedPatchCount")
    if kind == INSTALL and isinstance(failed, int) and failed > 0:
        message += f" ({failed} patch{'es' if failed != 1 else ''} failed)"
    message += f": {detail}" if detail else "."
    return Verdict(False, f"error: ({code or fallback}) {message}")


def summary(result: dict[str, Any], kind: str) -> str:
    """One line above the table: the status and the counts."""
    status = result.get("status", "Unknown")
    if kind == ASSESS:
        reboot = "yes" if result.get("rebootPending") else "no"
        return (
            f"{status}: {result.get('criticalAndSecurityPatchCount', 0)} critical/security and "
            f"{result.get('otherPatchCount', 0)} other patches available; reboot pending: {reboot}."
        )
    counts = ", ".join(
        f"{result.get(key, 0)} {word}"
        for key, word in (
            ("installedPatchCount", "installed"),
            ("failedPatchCount", "failed"),
            ("pendingPatchCount", "pending"),
            ("excludedPatchCount", "excluded"),
            ("notSelectedPatchCount", "not selected"),
        )
    )
    line = f"{status}: {counts}; reboot: {result.get('rebootStatus', 'Unknown')}"
    if result.get("maintenanceWindowExceeded"):
        line += "; maintenance window exceeded"
    return line + "."
