"""installPatches parameters: accepted forms, normalisation, and every refusal with its ARM target."""

from __future__ import annotations

from typing import Any

import pytest

from guestpatch.core.patch_requests import parse_install_parameters
from guestpatch.errors import InvalidInput


def linux(**params: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"maximumDuration": "PT2H", "rebootSetting": "IfRequired",
                            "linuxParameters": {"classificationsToInclude": ["Critical", "Security"]}}
    body.update(params)
    return body


@pytest.mark.parametrize(("given", "canonical"), [("PT2H", "PT2H"), ("PT04H00M00S", "PT4H"), ("PT90M", "PT1H30M"),
                                                  ("PT5M", "PT5M"), ("PT1H0.5M", "PT1H30S")])
def test_maximum_duration_in_any_iso_form_is_normalised(given: str, canonical: str) -> None:
    """The SDK sends PT04H00M00S, az sends PT2H: both are accepted and sent to the agent canonically."""
    assert parse_install_parameters(linux(maximumDuration=given), os_type="Linux")["maximumDuration"] == canonical


@pytest.mark.parametrize("duration", ["PT4M", "PT4H1M", "P1D", "2h", "", "PT-1H"])
def test_out_of_range_or_malformed_durations_are_refused(duration: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_install_parameters(linux(maximumDuration=duration), os_type="Linux")
    assert caught.value.target == "maximumDuration"


def test_reboot_setting_is_required_and_case_insensitive() -> None:
    assert parse_install_parameters(linux(rebootSetting="never"), os_type="Linux")["rebootSetting"] == "Never"
    body = linux()
    del body["rebootSetting"]
    with pytest.raises(InvalidInput) as caught:
        parse_install_parameters(body, os_type="Linux")
    assert caught.value.target == "rebootSetting"


def test_classifications_are_normalised_and_deduplicated() -> None:
    params = parse_install_parameters(
        linux(linuxParameters={"classificationsToInclude": ["security", "Critical", "SECURITY"]}), os_type="Linux"
    )
    assert params["linuxParameters"]["classificationsToInclude"] == ["Security", "Critical"]


def test_unknown_classification_names_the_allowed_values() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_install_parameters(linux(linuxParameters={"classificationsToInclude": ["Important"]}), os_type="Linux")
    assert caught.value.target == "linuxParameters.classificationsToInclude"
    assert "Critical, Security, Other" in caught.value.message


def test_a_package_mask_alone_is_enough_but_nothing_at_all_is_not() -> None:
    only_mask = linux(linuxParameters={"packageNameMasksToInclude": ["openssl*", "libssl3=3.0.15-1~deb12u1"]})
    assert parse_install_parameters(only_mask, os_type="Linux")["linuxParameters"]["classificationsToInclude"] == []
    with pytest.raises(InvalidInput):
        parse_install_parameters(linux(linuxParameters={}), os_type="Linux")


@pytest.mark.parametrize("mask", ["-oDebug::pkgProblemResolver=1", "", "  ", "a b", "x;rm", "$(id)"])
def test_masks_that_could_be_options_or_shell_are_refused(mask: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_install_parameters(linux(linuxParameters={"packageNameMasksToExclude": [mask],
                                                        "classificationsToInclude": ["Security"]}), os_type="Linux")
    assert caught.value.target == "linuxParameters.packageNameMasksToExclude"


def test_parameters_of_the_other_os_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_install_parameters(linux(windowsParameters={"classificationsToInclude": ["Critical"]}), os_type="Linux")
    assert caught.value.target == "windowsParameters"
    windows = {"maximumDuration": "PT1H", "rebootSetting": "Always",
               "linuxParameters": {"classificationsToInclude": ["Critical"]}}
    with pytest.raises(InvalidInput) as caught:
        parse_install_parameters(windows, os_type="Windows")
    assert caught.value.target == "linuxParameters"


def test_windows_parameters_and_their_checks() -> None:
    body = {"maximumDuration": "PT1H", "rebootSetting": "Always", "windowsParameters": {
        "classificationsToInclude": ["critical", "UpdateRollUp"], "kbNumbersToInclude": ["KB5031364"],
        "excludeKbsRequiringReboot": True, "maxPatchPublishDate": "2026-11-19T02:36:43Z"}}
    params = parse_install_parameters(body, os_type="Windows")["windowsParameters"]
    assert params["classificationsToInclude"] == ["Critical", "UpdateRollUp"]
    assert params["excludeKbsRequiringReboot"] is True
    body["windowsParameters"]["maxPatchPublishDate"] = "last tuesday"
    with pytest.raises(InvalidInput) as caught:
        parse_install_parameters(body, os_type="Windows")
    assert caught.value.target == "windowsParameters.maxPatchPublishDate"
    body["windowsParameters"]["maxPatchPublishDate"] = "2026-11-19T02:36:43Z"
    body["windowsParameters"]["kbNumbersToInclude"] = ["not-a-kb"]
    with pytest.raises(InvalidInput):
        parse_install_parameters(body, os_type="Windows")


def test_unknown_members_are_refused_not_ignored() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_install_parameters(linux(maximumDurationMinutes=60), os_type="Linux")
    assert caught.value.code == "BadRequest"
    with pytest.raises(InvalidInput) as caught:
        parse_install_parameters(linux(linuxParameters={"classificationsToInclude": ["Security"], "kbs": []}),
                                 os_type="Linux")
    assert caught.value.target == "linuxParameters.kbs"
