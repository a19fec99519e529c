"""The pure parts of the patch and enrollment commands: request bodies, result verdicts, --expires (no server)."""

from __future__ import annotations

import pytest

from guestpatch.cli.enroll import parse_expires
from guestpatch.cli.patch_bodies import (
    ASSESS,
    INSTALL,
    INSTALL_GRACE_SECONDS,
    InstallFlags,
    install_body,
    judge,
    summary,
    wait_budget,
)
from guestpatch.errors import InvalidInput

LINUX = InstallFlags("PT2H", "IfRequired", linux_classifications=["Critical"], exclude_packages=["tzdata"])


def test_linux_flags_make_linux_parameters_only() -> None:
    """Linux flags: linuxParameters with all three lists, no windowsParameters."""
    assert install_body(LINUX) == {
        "maximumDuration": "PT2H",
        "rebootSetting": "IfRequired",
        "linuxParameters": {
            "classificationsToInclude": ["Critical"],
            "packageNameMasksToInclude": [],
            "packageNameMasksToExclude": ["tzdata"],
        },
    }


def test_exclude_kbs_requiring_reboot_false_is_sent_when_given() -> None:
    """`--exclude-kbs-requiring-reboot false` is a Windows flag with a value worth sending."""
    body = install_body(InstallFlags("PT1H", "Never", windows_classifications=["Security"],
                                     exclude_kbs_requiring_reboot=False))
    assert body["windowsParameters"]["excludeKbsRequiringReboot"] is False
    assert "linuxParameters" not in body


def test_windows_kb_alone_is_enough_to_install() -> None:
    """A KB to include, without classifications, is something to install."""
    body = install_body(InstallFlags("PT1H", "Never", kb_numbers_to_include=["KB5034441"]))
    assert body["windowsParameters"]["kbNumbersToInclude"] == ["KB5034441"]


def test_windows_exclusions_alone_are_nothing_to_install() -> None:
    """Only --kb-numbers-to-exclude: refused, naming --classifications-to-include-win."""
    with pytest.raises(InvalidInput) as caught:
        install_body(InstallFlags("PT1H", "Never", kb_numbers_to_exclude=["KB5034441"]))
    assert caught.value.target == "--classifications-to-include-win"


def test_mixing_os_flags_names_the_first_windows_flag() -> None:
    """--include-packages with --exclude-kbs-requiring-reboot: the Windows flag is the one named."""
    with pytest.raises(InvalidInput) as caught:
        install_body(InstallFlags("PT1H", "Never", include_packages=["openssl"], exclude_kbs_requiring_reboot=True))
    assert caught.value.target == "--exclude-kbs-requiring-reboot"


@pytest.mark.parametrize("status", ["Succeeded", "CompletedWithWarnings"])
def test_successful_statuses_exit_0_without_a_line_when_there_is_no_error(status: str) -> None:
    """Succeeded and CompletedWithWarnings without an error: ok, nothing on stderr."""
    assert judge({"status": status, "error": None}, ASSESS).ok
    assert judge({"status": status, "error": None}, ASSESS).line is None


def test_a_successful_result_carrying_a_success_error_object_prints_nothing() -> None:
    """Azure's success results carry error {code: Success}: that is no warning."""
    verdict = judge({"status": "Succeeded", "error": {"code": "Success", "message": "0 error/s reported"}}, INSTALL)
    assert (verdict.ok, verdict.line) == (True, None)


@pytest.mark.parametrize("status", ["Failed", "Unknown", "InProgress"])
def test_other_statuses_fail(status: str) -> None:
    """Anything but Succeeded/CompletedWithWarnings is a failure of the command."""
    assert not judge({"status": status}, INSTALL).ok


def test_failed_result_without_an_error_gets_a_code_per_kind() -> None:
    """No error object: PatchAssessmentFailed / PatchInstallationFailed, and the status in the message."""
    assert judge({"status": "Failed"}, ASSESS).line == (
        "error: (PatchAssessmentFailed) assessPatches ended with status Failed."
    )
    assert judge({"status": "Failed", "failedPatchCount": 2}, INSTALL).line == (
        "error: (PatchInstallationFailed) installPatches ended with status Failed (2 patches failed)."
    )


def test_result_without_a_status_is_unknown_and_fails() -> None:
    """A result lacking 'status' fails with status Unknown (never a silent success)."""
    verdict = judge({}, ASSESS)
    assert not verdict.ok
    assert verdict.line is not None
    assert "status Unknown" in verdict.line


def test_install_summary_mentions_an_exceeded_window() -> None:
    """The table's summary line says when the maintenance window was exceeded."""
    line = summary({"status": "CompletedWithWarnings", "installedPatchCount": 3, "pendingPatchCount": 2,
                    "rebootStatus": "Required", "maintenanceWindowExceeded": True}, INSTALL)
    assert line == (
        "CompletedWithWarnings: 3 installed, 0 failed, 2 pending, 0 excluded, 0 not selected; reboot: Required; "
        "maintenance window exceeded."
    )


def test_wait_budget_is_the_maximum_duration_plus_grace() -> None:
    """PT2H → 2 h plus the grace time; an unparsable duration falls back to the default."""
    assert wait_budget("PT2H", 99.0) == 7200 + INSTALL_GRACE_SECONDS
    assert wait_budget("5h", 99.0) == 99.0


@pytest.mark.parametrize(
    ("text", "iso"),
    [("30m", "PT30M"), ("1H", "PT1H"), ("2d", "P2D"), ("1w", "P7D"), ("1d12h", "P1DT12H"), (" 90s ", "PT1M30S"),
     ("PT2H", "PT2H"), ("pt120m", "PT2H")],
)
def test_expires_forms(text: str, iso: str) -> None:
    """Short forms and ISO 8601 both give the canonical ISO 8601 duration."""
    assert parse_expires(text) == iso


@pytest.mark.parametrize("text", ["", "soon", "1x", "h", "1h 30m", "-1h"])
def test_expires_that_is_no_duration_names_the_flag(text: str) -> None:
    """Anything else is refused with --expires as the target."""
    with pytest.raises(InvalidInput) as caught:
        parse_expires(text)
    assert caught.value.target == "--expires"


def test_expires_in_months_is_refused_as_iso_8601_explains() -> None:
    """P1M (a month has no fixed length) is refused with the ISO parser's reason."""
    with pytest.raises(InvalidInput) as caught:
        parse_expires("P1M")
    assert caught.value.target == "--expires"
    assert "no fixed length" in caught.value.message
