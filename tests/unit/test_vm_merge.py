"""ARM PATCH merging, carrying create-only properties into a PUT, and parse_vm on arbitrary JSON."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from guestpatch.core.vm import carry_create_only, merge_patch, parse_vm
from guestpatch.errors import InvalidInput

AVSET = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/availabilitySets/as1"

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=5), json_values, max_size=4)
# Patches without null: merging them twice changes nothing (idempotence holds for them).
null_free_values = st.recursive(
    st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=12,
)


def test_merge_patch_merges_objects_replaces_arrays_and_removes_nulls() -> None:
    """The three rules of a JSON merge patch, on a VM document."""
    current = {"tags": {"a": "1", "b": "2"}, "zones": ["1"],
               "properties": {"osProfile": {"computerName": "vm1", "linuxConfiguration": {"provisionVMAgent": True}}}}
    patch = {"tags": {"b": None, "c": "3"}, "zones": ["2"],
             "properties": {"osProfile": {"linuxConfiguration": {"patchSettings": {"patchMode": "ImageDefault"}}}}}
    assert merge_patch(current, patch) == {
        "tags": {"a": "1", "c": "3"},
        "zones": ["2"],
        "properties": {"osProfile": {"computerName": "vm1", "linuxConfiguration": {
            "provisionVMAgent": True, "patchSettings": {"patchMode": "ImageDefault"}}}},
    }


def test_merge_patch_replaces_a_scalar_with_an_object_and_drops_its_nulls() -> None:
    """An object patched onto a non-object starts from {} (RFC 7386), so nulls inside vanish."""
    assert merge_patch({"a": 5}, {"a": {"b": None, "c": 1}}) == {"a": {"c": 1}}


@given(json_objects)
def test_an_empty_patch_changes_nothing(document: dict[str, Any]) -> None:
    """merge_patch(x, {}) == x."""
    assert merge_patch(document, {}) == document


@given(json_objects, st.dictionaries(st.text(max_size=5), null_free_values, max_size=4))
def test_merging_the_same_patch_twice_is_the_same_as_once(document: dict[str, Any], patch: dict[str, Any]) -> None:
    """Idempotence: applying a patch again changes nothing."""
    once = merge_patch(document, patch)
    assert merge_patch(once, patch) == once


@given(json_objects, json_objects)
def test_every_patched_key_reads_as_the_patch_says(document: dict[str, Any], patch: dict[str, Any]) -> None:
    """After merging, a null-patched key is gone and a non-object value equals the patch's value."""
    merged = merge_patch(document, patch)
    for key, value in patch.items():
        if value is None:
            assert key not in merged
        elif not isinstance(value, dict):
            assert merged[key] == value


@given(json_objects, json_objects)
def test_merge_patch_does_not_modify_or_alias_its_arguments(document: dict[str, Any], patch: dict[str, Any]) -> None:
    """Inputs stay as they were, and changing the result later does not reach them."""
    before, patch_before = copy.deepcopy(document), copy.deepcopy(patch)
    merged = merge_patch(document, patch)
    for value in merged.values():
        if isinstance(value, list):
            value.append("mutated")
        elif isinstance(value, dict):
            value["mutated"] = True
    assert (document, patch) == (before, patch_before)


def _stored() -> dict[str, Any]:
    return {
        "location": "eastus",
        "zones": ["2"],
        "properties": {
            "availabilitySet": {"id": AVSET},
            "storageProfile": {"imageReference": {"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer",
                                                  "sku": "2022-datacenter-g2", "version": "latest"},
                               "osDisk": {"osType": "Windows"}},
            "osProfile": {"computerName": "win1", "windowsConfiguration": {
                "provisionVMAgent": True, "enableAutomaticUpdates": False,
                "patchSettings": {"patchMode": "Manual", "assessmentMode": "ImageDefault"}}},
        },
    }


def test_carry_create_only_fills_what_a_put_omits() -> None:
    """Azure's documented PUT (location + patch settings) keeps the stored image, set, zone, name and eAU."""
    body = {"location": "eastus", "properties": {"osProfile": {"windowsConfiguration": {
        "provisionVMAgent": True, "patchSettings": {"patchMode": "AutomaticByPlatform"}}}}}
    carried = carry_create_only(body, _stored())
    spec = parse_vm(carried, name="win1")
    old = parse_vm(_stored(), name="win1")
    assert (spec.zones, spec.availability_set_id, spec.image, spec.computer_name, spec.os_type) == (
        old.zones, old.availability_set_id, old.image, old.computer_name, old.os_type
    )
    assert spec.enable_automatic_updates is False
    assert spec.patch_mode == "AutomaticByPlatform"


def test_carry_create_only_keeps_what_the_put_gives() -> None:
    """A value in the body is not overwritten (check_vm then refuses the change)."""
    body = copy.deepcopy(_stored())
    body["zones"] = ["3"]
    body["properties"]["osProfile"]["windowsConfiguration"]["enableAutomaticUpdates"] = True
    carried = carry_create_only(body, _stored())
    assert carried["zones"] == ["3"]
    assert carried["properties"]["osProfile"]["windowsConfiguration"]["enableAutomaticUpdates"] is True


def test_carry_create_only_does_not_give_a_linux_body_windows_settings() -> None:
    """With a linuxConfiguration in the body, the stored Windows enableAutomaticUpdates is not carried."""
    body = {"location": "eastus", "properties": {"osProfile": {"linuxConfiguration": {}}}}
    carried = carry_create_only(body, _stored())
    assert "windowsConfiguration" not in carried["properties"]["osProfile"]


def test_carry_create_only_leaves_a_wrongly_typed_body_for_parse_vm() -> None:
    """A body whose 'properties' is not an object is returned as is, so parse_vm reports it."""
    carried = carry_create_only({"location": "eastus", "properties": "oops"}, _stored())
    assert carried["properties"] == "oops"


near_vm = st.fixed_dictionaries(
    {"location": json_values},
    optional={
        "zones": json_values,
        "tags": json_values,
        "properties": st.fixed_dictionaries(
            {},
            optional={
                "hardwareProfile": st.fixed_dictionaries({}, optional={"vmSize": json_values}),
                "storageProfile": st.fixed_dictionaries({}, optional={
                    "imageReference": st.dictionaries(
                        st.sampled_from(["publisher", "offer", "sku", "version", "id"]), json_values, max_size=4),
                    "osDisk": st.fixed_dictionaries({}, optional={"osType": json_values}),
                }),
                "availabilitySet": json_values,
                "osProfile": st.fixed_dictionaries({}, optional={
                    "computerName": json_values,
                    "linuxConfiguration": st.fixed_dictionaries({}, optional={
                        "provisionVMAgent": json_values,
                        "patchSettings": st.dictionaries(
                            st.sampled_from(["patchMode", "assessmentMode", "automaticByPlatformSettings",
                                             "PatchMode"]),
                            json_values | st.sampled_from(["AutomaticByPlatform", "ImageDefault", "Manual"]),
                            max_size=3),
                    }),
                    "windowsConfiguration": st.dictionaries(
                        st.sampled_from(["enableAutomaticUpdates", "timeZone", "patchSettings"]), json_values,
                        max_size=3),
                }),
            },
        ),
    },
)


@given(json_values)
def test_parse_vm_raises_only_invalid_input_on_arbitrary_json(document: Any) -> None:
    """Any JSON value is either a VM or an InvalidInput (never a 500)."""
    try:
        parse_vm(document, name="vm1")
    except InvalidInput:
        pass


@given(near_vm)
def test_parse_vm_raises_only_invalid_input_on_near_miss_documents(document: dict[str, Any]) -> None:
    """Documents shaped like a VM with arbitrary values in interpreted places never crash parse_vm."""
    try:
        spec = parse_vm(document, name="vm1")
    except InvalidInput:
        return
    assert spec.os_type in {"Linux", "Windows"}
