"""installPatches parameters from the goal state become the step machine's request, or a clear error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guestpatch_agent.errors import AgentError
from guestpatch_agent.model import Selection
from guestpatch_agent.work import install_request

OPERATION = {
    "id": "op-1",
    "kind": "installPatches",
    "requestedAt": "2026-11-26T09:00:00Z",
    "parameters": {
        "maximumDuration": "PT2H",
        "rebootSetting": "IfRequired",
        "linuxParameters": {"classificationsToInclude": ["Critical", "Security"],
                            "packageNameMasksToInclude": ["openssl*"], "packageNameMasksToExclude": ["kernel*"]},
    },
}  # fmt: skip


def with_parameters(**changes: Any) -> dict[str, Any]:
    parameters = {**OPERATION["parameters"], **changes}  # type: ignore[dict-item]
    return {**OPERATION, "parameters": parameters}


def with_linux(**changes: Any) -> dict[str, Any]:
    return with_parameters(linuxParameters={**OPERATION["parameters"]["linuxParameters"], **changes})  # type: ignore[index]


def test_the_request_counts_the_window_from_requested_at() -> None:
    """maximumDuration, rebootSetting, classifications and masks; the start is requestedAt, not now."""
    request = install_request(OPERATION)
    assert request.maximum_duration == timedelta(hours=2)
    assert request.reboot_setting == "IfRequired"
    assert request.selection == Selection(("Critical", "Security"), ("openssl*",), ("kernel*",))
    assert request.start == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_the_sdks_duration_spelling_and_lower_case_values_are_accepted() -> None:
    """PT04H00M00S and rebootsetting/classification spelled in lower case, as Azure accepts them."""
    request = install_request(with_parameters(maximumDuration="PT04H00M00S", rebootSetting="never",
                                              linuxParameters={"classificationsToInclude": ["security"]}))  # fmt: skip
    assert (request.maximum_duration, request.reboot_setting) == (timedelta(hours=4), "Never")
    assert request.selection.classifications == ("Security",)


@pytest.mark.parametrize(
    ("operation", "words"),
    [
        ({**OPERATION, "parameters": None}, "no parameters"),
        (with_parameters(maximumDuration=None), "maximumDuration is missing"),
        (with_parameters(maximumDuration="two hours"), "invalid ISO 8601 duration"),
        (with_parameters(rebootSetting="Sometimes"), "rebootSetting 'Sometimes'"),
        (with_parameters(linuxParameters=["Security"]), "must be an object"),
        (with_linux(classificationsToInclude=["Bugfix"]), "unknown classification"),
        (with_linux(classificationsToInclude="Security"), "must be a list of strings"),
        (with_linux(packageNameMasksToExclude=["-rf"]), "invalid package mask"),
        (with_linux(classificationsToInclude=[], packageNameMasksToInclude=[]), "selects nothing"),
        ({**OPERATION, "requestedAt": "yesterday"}, "requestedAt is not a time"),
    ],
)
def test_bad_parameters_are_an_error_naming_the_field(operation: dict[str, Any], words: str) -> None:
    """Each problem is an AgentError whose message names it (the operation then ends Failed with it)."""
    with pytest.raises(AgentError, match=words):
        install_request(operation)
