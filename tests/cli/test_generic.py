"""az's generic update (`--set`/`--remove`) as pure functions, and the PATCH body it produces."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guestpatch.cli import generic
from guestpatch.core.vm import merge_patch
from guestpatch.errors import InvalidInput

VM: dict[str, Any] = {
    "location": "westeurope",
    "tags": {"team": "web"},
    "zones": ["1"],
    "properties": {
        "osProfile": {
            "computerName": "vm1",
            "linuxConfiguration": {"patchSettings": {"patchMode": "ImageDefault", "assessmentMode": "ImageDefault"}},
        }
    },
}


def edited(*expressions: str) -> dict[str, Any]:
    edits = [
        generic.parse_remove(e[1:]) if e.startswith("~") else generic.parse_set(e) for e in expressions
    ]
    return generic.apply_all(VM, edits)


def test_paths_are_relative_to_properties() -> None:
    """`osProfile.x` addresses `properties.osProfile.x`."""
    assert generic.parse_path("osProfile.computerName", flag="--set") == ("properties", "osProfile", "computerName")


def test_paths_starting_with_a_top_level_member_are_absolute() -> None:
    """`tags.owner` and `zones[0]` address the envelope, not properties."""
    assert generic.parse_path("tags.owner", flag="--set") == ("tags", "owner")
    assert generic.parse_path("zones[0]", flag="--set") == ("zones", 0)


def test_list_indexes_parse_after_a_name() -> None:
    """`a[0][1].b` is a, item 0, item 1, member b."""
    assert generic.parse_path("a[0][1].b", flag="--set") == ("properties", "a", 0, 1, "b")


@pytest.mark.parametrize("text", ["", "a..b", ".a", "a.", "a[x]", "a[0", "[0]"])
def test_malformed_paths_are_refused(text: str) -> None:
    """Empty segments and broken indexes are an InvalidInput aimed at the flag."""
    with pytest.raises(InvalidInput) as caught:
        generic.parse_path(text, flag="--set")
    assert caught.value.target == "--set"


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("3", 3), ('{"a": 1}', {"a": 1}), ('"007"', "007"), ("null", None),
     ("AutomaticByPlatform", "AutomaticByPlatform"), ("007x", "007x"), ("", "")],
)
def test_values_are_json_when_they_parse_else_strings(text: str, value: Any) -> None:
    """JSON when it parses, the text itself otherwise."""
    assert generic.parse_value(text) == value


def test_set_without_equals_is_refused() -> None:
    """`--set path` alone has no value."""
    with pytest.raises(InvalidInput, match="path=value"):
        generic.parse_set("osProfile.computerName")


def test_set_changes_a_nested_property_only() -> None:
    """Setting the patch mode leaves the assessment mode and everything else as it was."""
    after = edited("osProfile.linuxConfiguration.patchSettings.patchMode=AutomaticByPlatform")
    settings = after["properties"]["osProfile"]["linuxConfiguration"]["patchSettings"]
    assert settings == {"patchMode": "AutomaticByPlatform", "assessmentMode": "ImageDefault"}
    assert VM["properties"]["osProfile"]["linuxConfiguration"]["patchSettings"]["patchMode"] == "ImageDefault"


def test_set_creates_missing_objects_on_the_way() -> None:
    """A path through members that do not exist yet creates them."""
    after = edited("osProfile.linuxConfiguration.patchSettings.automaticByPlatformSettings.rebootSetting=Never")
    assert after["properties"]["osProfile"]["linuxConfiguration"]["patchSettings"][
        "automaticByPlatformSettings"] == {"rebootSetting": "Never"}


def test_existing_keys_match_in_any_case_and_keep_their_spelling() -> None:
    """`osprofile.LINUXCONFIGURATION...` edits the stored `osProfile.linuxConfiguration`."""
    after = edited("osprofile.LINUXCONFIGURATION.patchsettings.patchmode=AutomaticByPlatform")
    assert after["properties"]["osProfile"]["linuxConfiguration"]["patchSettings"]["patchMode"] == (
        "AutomaticByPlatform"
    )
    assert "osprofile" not in after["properties"]


def test_set_of_an_object_replaces_it() -> None:
    """`--set tags={"a":"b"}` replaces the tags, as az does."""
    assert edited('tags={"a": "b"}')["tags"] == {"a": "b"}


def test_list_items_are_set_by_index_and_appended_one_past_the_end() -> None:
    """`zones[0]=2` replaces the item; `zones[1]=3` appends to a one-item list."""
    assert edited("zones[0]=2")["zones"] == ["2"]
    assert edited("zones[1]=3")["zones"] == ["1", "3"]


def test_numbers_written_over_strings_stay_strings() -> None:
    """A string property, a tag value and an item of a list of strings keep the text, as az's typed models."""
    after = edited("osProfile.computerName=1234", "tags.build=42", "tags.new=true", "zones[0]=2")
    assert after["properties"]["osProfile"]["computerName"] == "1234"
    assert after["tags"] == {"team": "web", "build": "42", "new": "true"}
    assert after["zones"] == ["2"]


def test_numbers_and_booleans_stay_typed_elsewhere() -> None:
    """A new non-tag property, or one that holds a boolean, gets the JSON value."""
    after = edited("osProfile.linuxConfiguration.provisionVMAgent=false", "hardwareProfile.count=3")
    assert after["properties"]["osProfile"]["linuxConfiguration"]["provisionVMAgent"] is False
    assert after["properties"]["hardwareProfile"]["count"] == 3


def test_index_out_of_range_is_refused() -> None:
    """`zones[5]` on a one-item list names the list's length."""
    with pytest.raises(InvalidInput, match="out of range"):
        edited("zones[5]=1")


def test_indexing_an_object_is_refused() -> None:
    """`tags[0]` is a list index on an object."""
    with pytest.raises(InvalidInput, match="indexes a list"):
        edited("tags[0]=x")


def test_remove_deletes_a_member_and_a_list_item() -> None:
    """`--remove tags.team` and `--remove zones[0]`."""
    after = edited("~tags.team", "~zones[0]")
    assert after["tags"] == {}
    assert after["zones"] == []


def test_remove_of_a_missing_property_is_refused() -> None:
    """Removing what is not there is an error, as in az."""
    with pytest.raises(InvalidInput, match="no such property") as caught:
        edited("~tags.nobody")
    assert caught.value.target == "--remove"


def test_diff_of_a_nested_change_is_minimal() -> None:
    """The PATCH body of a patch-mode change carries only that property."""
    after = edited("osProfile.linuxConfiguration.patchSettings.patchMode=AutomaticByPlatform")
    assert generic.merge_diff(VM, after) == {
        "properties": {"osProfile": {"linuxConfiguration": {"patchSettings": {"patchMode": "AutomaticByPlatform"}}}}
    }


def test_diff_of_a_removal_is_null_and_of_a_list_the_whole_list() -> None:
    """Removed members become null; a changed list is sent whole (arrays replace in a merge patch)."""
    after = edited("~tags.team", "zones[1]=2")
    assert generic.merge_diff(VM, after) == {"tags": {"team": None}, "zones": ["1", "2"]}


def test_diff_distinguishes_true_from_one() -> None:
    """`True == 1` in Python, but not in JSON: the change is sent."""
    assert generic.merge_diff({"a": 1}, {"a": True}) == {"a": True}


def test_diff_of_identical_documents_is_empty() -> None:
    """No edit, no change."""
    assert generic.merge_diff(VM, generic.apply_all(VM, [])) == {}


_scalars = st.one_of(st.booleans(), st.integers(), st.text(max_size=5))
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=4)),
    max_leaves=12,
)
_documents = st.dictionaries(st.text(max_size=4), _json, max_size=5)


@given(before=_documents, after=_documents)
def test_the_servers_merge_of_our_diff_gives_the_intended_document(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    """For any two null-free JSON documents, the server's merge_patch(before, merge_diff(before, after)) == after."""
    assert merge_patch(before, generic.merge_diff(before, after)) == after
