"""Parsing and validating a VM resource document (types, enums, shapes), defaults, normalisation."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from guestpatch.core.vm import ImageRef, normalize_document, os_type_of, parse_vm, validate_vm_name
from guestpatch.errors import InvalidInput

AVSET = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/availabilitySets/as1"
SCALE_SET = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss1"


def linux_vm(**patch_settings: Any) -> dict[str, Any]:
    """The body the Azure SDK sends for a Linux VM (from the API reference)."""
    return {
        "location": "westeurope",
        "tags": {"env": "test"},
        "zones": ["1"],
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            "storageProfile": {"imageReference": {
                "publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2",
                "version": "latest",
            }},
            "osProfile": {
                "computerName": "vm1", "adminUsername": "azureuser",
                "linuxConfiguration": {"provisionVMAgent": True, "patchSettings": dict(patch_settings)},
            },
        },
    }


def windows_vm(**windows_configuration: Any) -> dict[str, Any]:
    return {
        "location": "eastus",
        "properties": {
            "storageProfile": {"imageReference": {
                "publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2022-datacenter-g2",
                "version": "latest",
            }},
            "osProfile": {"computerName": "win1", "windowsConfiguration": dict(windows_configuration)},
        },
    }


def at(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``document`` with the dotted ``path`` set to ``value`` (creating objects on the way)."""
    doc = copy.deepcopy(document)
    node = doc
    keys = path.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return doc


def refused(document: object, *, name: str = "vm1") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_vm(document, name=name)  # type: ignore[arg-type]
    return caught.value


# ---------------------------------------------------------------- happy paths and defaults


def test_parse_vm_reads_the_sdk_body() -> None:
    """Every interpreted property of the SDK's PUT body lands in the spec."""
    body = at(linux_vm(patchMode="AutomaticByPlatform", assessmentMode="AutomaticByPlatform",
                       automaticByPlatformSettings={"rebootSetting": "IfRequired",
                                                    "bypassPlatformSafetyChecksOnUserSchedule": False}),
              "properties.availabilitySet", {"id": AVSET})
    spec = parse_vm(body, name="vm1")
    assert spec.location == "westeurope"
    assert spec.zones == ("1",)
    assert spec.os_type == "Linux"
    assert spec.vm_size == "Standard_B2s"
    assert spec.image == ImageRef("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2", "latest")
    assert spec.availability_set_id == AVSET
    assert spec.computer_name == "vm1"
    assert spec.provision_vm_agent is True
    assert spec.enable_automatic_updates is None
    assert (spec.patch_mode, spec.assessment_mode) == ("AutomaticByPlatform", "AutomaticByPlatform")
    assert (spec.reboot_setting, spec.bypass_platform_safety_checks) == ("IfRequired", False)


def test_parse_vm_minimal_linux_document_gets_azures_defaults() -> None:
    """Only a location: Linux, ImageDefault modes, agent provisioned, nothing else set."""
    spec = parse_vm({"location": "West Europe"}, name="vm1")
    assert spec.location == "westeurope"
    assert (spec.os_type, spec.patch_mode, spec.assessment_mode) == ("Linux", "ImageDefault", "ImageDefault")
    assert spec.provision_vm_agent is True
    assert spec.zones == ()
    assert spec.image is None
    assert spec.has_platform_settings is False


def test_parse_vm_windows_defaults_to_automatic_by_os_with_automatic_updates() -> None:
    """A Windows VM without patch settings is AutomaticByOS with enableAutomaticUpdates true."""
    spec = parse_vm(windows_vm(), name="win1")
    assert (spec.os_type, spec.patch_mode, spec.enable_automatic_updates) == ("Windows", "AutomaticByOS", True)


def test_parse_vm_windows_without_automatic_updates_defaults_to_manual() -> None:
    """enableAutomaticUpdates false and no patchMode means Manual (AutomaticByOS would be invalid)."""
    spec = parse_vm(windows_vm(enableAutomaticUpdates=False), name="win1")
    assert (spec.patch_mode, spec.enable_automatic_updates) == ("Manual", False)


def test_parse_vm_reads_the_windows_only_properties() -> None:
    """timeZone, enableHotpatching and enableAutomaticUpdates are read from windowsConfiguration."""
    spec = parse_vm(windows_vm(timeZone="Pacific Standard Time", enableAutomaticUpdates=True,
                               patchSettings={"patchMode": "AutomaticByPlatform", "enableHotpatching": True}),
                    name="win1")
    assert spec.time_zone == "Pacific Standard Time"
    assert spec.enable_hotpatching is True
    assert spec.configuration_key == "windowsConfiguration"


@pytest.mark.parametrize(
    ("path", "given", "canonical"),
    [
        ("properties.osProfile.linuxConfiguration.patchSettings.patchMode", "automaticbyplatform",
         "AutomaticByPlatform"),
        ("properties.osProfile.linuxConfiguration.patchSettings.assessmentMode", "IMAGEDEFAULT", "ImageDefault"),
        ("properties.osProfile.linuxConfiguration.patchSettings.automaticByPlatformSettings.rebootSetting",
         "ifrequired", "IfRequired"),
        ("properties.storageProfile.osDisk.osType", "linux", "Linux"),
    ],
)
def test_enum_values_are_accepted_in_any_case_and_made_canonical(path: str, given: str, canonical: str) -> None:
    """Azure's enums compare case-insensitively; the spec carries Azure's spelling."""
    spec = parse_vm(at(linux_vm(), path, given), name="vm1")
    values = {spec.patch_mode, spec.assessment_mode, spec.reboot_setting, spec.os_type}
    assert canonical in values
    assert given not in values or given == canonical


def test_parse_vm_reads_a_scale_set_and_a_custom_image_id() -> None:
    """virtualMachineScaleSet.id and imageReference.id are kept as given."""
    doc = at(at({"location": "eastus"}, "properties.virtualMachineScaleSet", {"id": SCALE_SET}),
             "properties.storageProfile.imageReference", {"id": "/subscriptions/s1/images/golden"})
    spec = parse_vm(doc, name="vm1")
    assert spec.scale_set_id == SCALE_SET
    assert (spec.image, spec.image_id) == (None, "/subscriptions/s1/images/golden")


def test_parse_vm_keeps_unknown_fields_out_of_the_way() -> None:
    """Fields guestpatch does not interpret are allowed (and not read)."""
    doc = at(at(linux_vm(), "properties.diagnosticsProfile", {"bootDiagnostics": {"enabled": True}}),
             "plan", {"name": "x"})
    assert parse_vm(doc, name="vm1").name == "vm1"


def test_json_null_means_not_given() -> None:
    """A null interpreted property is treated as absent (defaults apply)."""
    doc = {"location": "eastus", "zones": None, "tags": None,
           "properties": {"osProfile": {"linuxConfiguration": {"patchSettings": None, "provisionVMAgent": None}}}}
    spec = parse_vm(doc, name="vm1")
    assert (spec.zones, spec.patch_mode, spec.provision_vm_agent) == ((), "ImageDefault", True)


# ---------------------------------------------------------------- the OS of a document


@pytest.mark.parametrize(
    ("document", "os_type"),
    [
        ({"location": "x"}, "Linux"),
        (windows_vm(), "Windows"),
        (linux_vm(), "Linux"),
        (at({"location": "x"}, "properties.storageProfile.osDisk.osType", "windows"), "Windows"),
        (at({"location": "x"}, "properties.storageProfile.imageReference",
            {"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2019-Datacenter"}), "Windows"),
        (at(linux_vm(), "properties.storageProfile.imageReference.publisher", "MicrosoftWindowsServer"), "Linux"),
        ("not a document", "Linux"),
        ({"properties": {"storageProfile": "garbage"}}, "Linux"),
    ],
)
def test_os_type_of_uses_disk_then_configuration_then_publisher(document: object, os_type: str) -> None:
    """osDisk.osType wins, then the configuration present, then a Windows publisher; Linux otherwise."""
    assert os_type_of(document) == os_type


def test_parse_vm_takes_windows_from_the_image_publisher() -> None:
    """Without osDisk or configuration, a Windows publisher makes the VM a Windows VM with its defaults."""
    doc = windows_vm()
    del doc["properties"]["osProfile"]
    spec = parse_vm(doc, name="win1")
    assert (spec.os_type, spec.patch_mode) == ("Windows", "AutomaticByOS")


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("name", ["vm1", "a", "web-01", "db_primary", "x.y_", "A" * 64])
def test_validate_vm_name_accepts_arm_names(name: str) -> None:
    """Letters, digits, '-', '_', '.', 1 to 64 characters."""
    validate_vm_name(name)


@pytest.mark.parametrize("name", ["", "A" * 65, "-vm", "vm-", "vm.", "_vm", "vm 1", "vm/1", "vm#1", "vmé"])
def test_validate_vm_name_refuses_invalid_names(name: str) -> None:
    """Invalid names are 400 InvalidResourceName targeting 'name'."""
    with pytest.raises(InvalidInput) as caught:
        validate_vm_name(name)
    assert (caught.value.status, caught.value.code, caught.value.target) == (400, "InvalidResourceName", "name")


def test_parse_vm_checks_the_name() -> None:
    """parse_vm refuses an invalid name before looking at the body."""
    assert refused({"location": "x"}, name="bad name").code == "InvalidResourceName"


@pytest.mark.parametrize("body", [[], "text", 42, None])
def test_a_body_that_is_not_an_object_is_refused(body: object) -> None:
    """Anything but a JSON object is 400 InvalidRequestContent."""
    error = refused(body)
    assert (error.status, error.code) == (400, "InvalidRequestContent")


@pytest.mark.parametrize("location", [None, "", "   "])
def test_location_is_required(location: object) -> None:
    """A missing or blank location is 400 LocationRequired with Azure's message."""
    error = refused({"location": location} if location is not None else {"properties": {}})
    assert (error.code, error.target) == ("LocationRequired", "location")
    assert error.message == "The location property is required for this definition."


WRONG_TYPES = [
    ("location", 5, "location", "a string"),
    ("properties", [], "properties", "an object"),
    ("properties.hardwareProfile", "big", "hardwareProfile", "an object"),
    ("properties.hardwareProfile.vmSize", 2, "vmSize", "a string"),
    ("properties.storageProfile.imageReference", "Ubuntu2204", "imageReference", "an object"),
    ("properties.storageProfile.imageReference.sku", 22, "imageReference.sku", "a string"),
    ("properties.storageProfile.osDisk.osType", True, "osDisk.osType", "one of the strings Linux, Windows"),
    ("properties.availabilitySet", AVSET, "availabilitySet", "an object"),
    ("properties.availabilitySet", {}, "availabilitySet.id", "a resource id string"),
    ("properties.osProfile", [], "osProfile", "an object"),
    ("properties.osProfile.computerName", 1, "computerName", "a string"),
    ("properties.osProfile.linuxConfiguration", True, "linuxConfiguration", "an object"),
    ("properties.osProfile.linuxConfiguration.provisionVMAgent", "yes", "linuxConfiguration.provisionVMAgent",
     "true or false"),
    ("properties.osProfile.linuxConfiguration.provisionVMAgent", 1, "linuxConfiguration.provisionVMAgent",
     "true or false"),
    ("properties.osProfile.linuxConfiguration.patchSettings", "auto", "linuxConfiguration.patchSettings",
     "an object"),
    ("properties.osProfile.linuxConfiguration.patchSettings.patchMode", 1,
     "linuxConfiguration.patchSettings.patchMode", "one of the strings"),
    ("properties.osProfile.linuxConfiguration.patchSettings.automaticByPlatformSettings", [],
     "linuxConfiguration.patchSettings.automaticByPlatformSettings", "an object"),
    ("properties.osProfile.linuxConfiguration.patchSettings.automaticByPlatformSettings."
     "bypassPlatformSafetyChecksOnUserSchedule", "false",
     "linuxConfiguration.patchSettings.automaticByPlatformSettings.bypassPlatformSafetyChecksOnUserSchedule",
     "true or false"),
    ("zones", "1", "zones", "an array of strings"),
    ("zones", [1], "zones", "an array of strings"),
    ("tags", ["a"], "tags", "an object"),
    ("tags", {"a": 1}, "tags", "a string"),
]


@pytest.mark.parametrize(("path", "value", "target", "expected"), WRONG_TYPES)
def test_a_wrongly_typed_property_is_refused(path: str, value: object, target: str, expected: str) -> None:
    """A value of the wrong JSON type is 400 BadRequest, target in Azure's form, message naming the
    full path, the expected type and what was given."""
    error = refused(at(linux_vm(), path, value))
    assert (error.status, error.code, error.target) == (400, "BadRequest", target)
    assert expected in error.message
    assert error.message.startswith("The value of '")


@pytest.mark.parametrize(
    ("path", "conf_key"),
    [
        ("properties.osProfile.windowsConfiguration.enableAutomaticUpdates", "windowsConfiguration"),
        ("properties.osProfile.windowsConfiguration.timeZone", "windowsConfiguration"),
        ("properties.osProfile.windowsConfiguration.patchSettings.enableHotpatching", "windowsConfiguration"),
    ],
)
def test_windows_properties_are_type_checked(path: str, conf_key: str) -> None:
    """Windows-only properties are checked on Windows VMs too."""
    doc = windows_vm()
    error = refused(at(doc, path, ["x"]))
    assert error.code == "BadRequest"
    assert error.target is not None
    assert error.target.startswith(conf_key)


@pytest.mark.parametrize(
    ("path", "value", "target", "allowed"),
    [
        ("properties.osProfile.linuxConfiguration.patchSettings.patchMode", "AutomaticByOS",
         "linuxConfiguration.patchSettings.patchMode", "ImageDefault, AutomaticByPlatform"),
        ("properties.osProfile.linuxConfiguration.patchSettings.patchMode", "Manual",
         "linuxConfiguration.patchSettings.patchMode", "ImageDefault, AutomaticByPlatform"),
        ("properties.osProfile.linuxConfiguration.patchSettings.patchMode", "Sometimes",
         "linuxConfiguration.patchSettings.patchMode", "ImageDefault, AutomaticByPlatform"),
        ("properties.osProfile.linuxConfiguration.patchSettings.assessmentMode", "Manual",
         "linuxConfiguration.patchSettings.assessmentMode", "ImageDefault, AutomaticByPlatform"),
        ("properties.osProfile.linuxConfiguration.patchSettings.automaticByPlatformSettings.rebootSetting", "Maybe",
         "linuxConfiguration.patchSettings.automaticByPlatformSettings.rebootSetting",
         "Unknown, IfRequired, Never, Always"),
        ("properties.storageProfile.osDisk.osType", "BeOS", "osDisk.osType", "Linux, Windows"),
    ],
)
def test_an_unknown_enum_value_is_refused_with_azures_text(path: str, value: str, target: str, allowed: str) -> None:
    """400 InvalidParameter: "The value 'X' of parameter 'Y' is not allowed. Allowed values are: ..."."""
    error = refused(at(linux_vm(), path, value))
    assert (error.status, error.code, error.target) == (400, "InvalidParameter", target)
    assert error.message.startswith(f"The value '{value}' of parameter '{target}' is not allowed. "
                                    f"Allowed values are: {allowed}.")


def test_a_windows_patch_mode_on_linux_says_it_is_a_windows_mode() -> None:
    """The enum error for a mode of the other OS adds which OS the mode belongs to."""
    error = refused(at(linux_vm(), "properties.osProfile.linuxConfiguration.patchSettings.patchMode", "automaticbyos"))
    assert error.message.endswith("'automaticbyos' is a Windows patch mode.")


@pytest.mark.parametrize("mode", ["ImageDefault", "imagedefault"])
def test_a_linux_patch_mode_on_windows_is_refused(mode: str) -> None:
    """ImageDefault is Linux-only: on Windows it is an enum error naming the Windows modes."""
    error = refused(windows_vm(patchSettings={"patchMode": mode}))
    assert error.target == "windowsConfiguration.patchSettings.patchMode"
    assert "Allowed values are: Manual, AutomaticByOS, AutomaticByPlatform." in error.message
    assert "is a Linux patch mode" in error.message


def test_a_member_in_the_wrong_case_is_refused_not_ignored() -> None:
    """'PatchMode' instead of 'patchMode' would silently keep the default: it is 400 BadRequest."""
    doc = linux_vm()
    doc["properties"]["osProfile"]["linuxConfiguration"]["patchSettings"] = {"PatchMode": "AutomaticByPlatform"}
    error = refused(doc)
    assert (error.code, error.target) == ("BadRequest", "linuxConfiguration.patchSettings.PatchMode")
    assert "write 'patchMode'" in error.message


def test_a_blank_string_is_refused() -> None:
    """An empty vmSize is 400 InvalidParameter 'must not be empty'."""
    error = refused(at(linux_vm(), "properties.hardwareProfile.vmSize", " "))
    assert (error.code, error.target) == ("InvalidParameter", "vmSize")
    assert "must not be empty" in error.message


def test_both_configurations_are_refused() -> None:
    """linuxConfiguration and windowsConfiguration together: 400 InvalidParameter, target osProfile."""
    error = refused(at(linux_vm(), "properties.osProfile.windowsConfiguration", {}))
    assert (error.code, error.target) == ("InvalidParameter", "osProfile")


def test_an_os_disk_of_the_other_os_is_refused() -> None:
    """osDisk.osType Windows with a linuxConfiguration: 400 targeting osDisk.osType."""
    error = refused(at(linux_vm(), "properties.storageProfile.osDisk.osType", "Windows"))
    assert (error.code, error.target) == ("InvalidParameter", "osDisk.osType")
    assert "'linuxConfiguration'" in error.message


def test_an_availability_set_together_with_a_scale_set_is_refused() -> None:
    """A VM is in an availability set or a scale set, not both."""
    doc = at(at(linux_vm(), "properties.availabilitySet", {"id": AVSET}),
             "properties.virtualMachineScaleSet", {"id": SCALE_SET})
    error = refused(doc)
    assert (error.code, error.target) == ("InvalidParameter", "availabilitySet")


@pytest.mark.parametrize(
    ("key", "value", "target"),
    [
        ("availabilitySet", "as1", "availabilitySet.id"),
        ("availabilitySet", SCALE_SET, "availabilitySet.id"),
        ("virtualMachineScaleSet", AVSET, "virtualMachineScaleSet.id"),
        ("availabilitySet", AVSET + "/extra", "availabilitySet.id"),
    ],
)
def test_a_malformed_resource_id_is_refused(key: str, value: str, target: str) -> None:
    """Sub-resource ids must be ARM ids of the right collection."""
    error = refused(at(linux_vm(), f"properties.{key}", {"id": value}))
    assert (error.code, error.target) == ("InvalidParameter", target)
    assert "/providers/Microsoft.Compute/" in error.message


def test_resource_ids_compare_case_insensitively_in_syntax() -> None:
    """ARM ids are case-insensitive: a lower-case provider segment is accepted."""
    spec = parse_vm(at(linux_vm(), "properties.availabilitySet", {"id": AVSET.lower()}), name="vm1")
    assert spec.availability_set_id == AVSET.lower()


@pytest.mark.parametrize("missing", ["publisher", "offer", "sku"])
def test_an_incomplete_platform_image_reference_is_refused(missing: str) -> None:
    """publisher, offer and sku come together; the missing one is the target."""
    doc = linux_vm()
    del doc["properties"]["storageProfile"]["imageReference"][missing]
    error = refused(doc)
    assert (error.code, error.target) == ("InvalidParameter", f"imageReference.{missing}")


def test_a_platform_image_together_with_an_image_id_is_refused() -> None:
    """Either publisher/offer/sku or an image id, not both."""
    error = refused(at(linux_vm(), "properties.storageProfile.imageReference.sharedGalleryImageId", "/x"))
    assert (error.code, error.target) == ("InvalidParameter", "imageReference")
    assert "'sharedGalleryImageId'" in error.message


@pytest.mark.parametrize("name", ["a" * 16, "12345", "web_1", "web.1", "web 1"])
def test_windows_computer_name_rules(name: str) -> None:
    """Windows computer names: at most 15 characters, not all digits, no special characters (Azure's text)."""
    error = refused(at(windows_vm(), "properties.osProfile.computerName", name))
    assert (error.code, error.target) == ("InvalidParameter", "computerName")
    assert error.message.startswith("Windows computer name cannot be more than 15 characters long")


@pytest.mark.parametrize("name", ["a" * 65, "web_1", "web 1", "web/1"])
def test_linux_computer_name_rules(name: str) -> None:
    """Linux host names: at most 64 characters, no special characters (Azure's text)."""
    error = refused(at(linux_vm(), "properties.osProfile.computerName", name))
    assert (error.code, error.target) == ("InvalidParameter", "computerName")
    assert error.message.startswith("Linux host name cannot exceed 64 characters")


def test_computer_names_valid_for_their_os_are_accepted() -> None:
    """A 15-character Windows name and a dotted 64-character Linux name are fine."""
    assert parse_vm(at(windows_vm(), "properties.osProfile.computerName", "w" * 15), name="w").computer_name
    assert parse_vm(at(linux_vm(), "properties.osProfile.computerName", "a." * 32), name="l").computer_name


def test_more_than_one_zone_is_refused() -> None:
    """A VM sits in at most one availability zone."""
    error = refused(at(linux_vm(), "zones", ["1", "2"]))
    assert (error.code, error.target) == ("InvalidParameter", "zones")
    assert "2 were given" in error.message


@pytest.mark.parametrize("zone", ["", "zone one", "x" * 33])
def test_a_malformed_zone_is_refused(zone: str) -> None:
    """Zones are short tokens."""
    assert refused(at(linux_vm(), "zones", [zone])).target == "zones"


@pytest.mark.parametrize(
    ("tags", "fragment"),
    [
        ({f"t{i}": "v" for i in range(51)}, "at most 50 tags"),
        ({"": "v"}, "1 to 512 characters"),
        ({"n" * 513: "v"}, "1 to 512 characters"),
        ({"a<b": "v"}, "reserved character"),
        ({"a/b": "v"}, "reserved character"),
        ({"ok": "v" * 257}, "longer than 256"),
    ],
)
def test_tag_limits(tags: dict[str, str], fragment: str) -> None:
    """ARM's tag limits: 50 tags, names up to 512 characters without reserved characters, values up to 256."""
    error = refused(at(linux_vm(), "tags", tags))
    assert (error.code, error.target) == ("InvalidParameter", "tags")
    assert fragment in error.message


def test_fifty_tags_at_the_limits_are_accepted() -> None:
    """The limits themselves are allowed."""
    tags = {f"{i:02d}" + "n" * 510: "v" * 256 for i in range(50)}
    assert parse_vm(at(linux_vm(), "tags", tags), name="vm1").name == "vm1"


# ---------------------------------------------------------------- normalize_document


def test_normalize_document_makes_azures_defaults_explicit() -> None:
    """GET shows location normalised, osDisk.osType, provisionVMAgent, patchMode and assessmentMode."""
    doc = {"location": "West Europe", "properties": {"osProfile": {"adminUsername": "me"}}}
    spec = parse_vm(doc, name="vm1")
    out = normalize_document(doc, spec=spec)
    assert out["location"] == "westeurope"
    assert out["properties"]["storageProfile"]["osDisk"]["osType"] == "Linux"
    assert out["properties"]["osProfile"] == {
        "adminUsername": "me",
        "linuxConfiguration": {
            "provisionVMAgent": True, "patchSettings": {"patchMode": "ImageDefault", "assessmentMode": "ImageDefault"}
        },
    }


def test_normalize_document_shows_windows_automatic_updates_and_canonical_enums() -> None:
    """Windows gets enableAutomaticUpdates; enums given in another case are written canonically."""
    doc = windows_vm(patchSettings={"patchMode": "automaticbyplatform",
                                    "automaticByPlatformSettings": {"rebootSetting": "never"}})
    out = normalize_document(doc, spec=parse_vm(doc, name="win1"))
    conf = out["properties"]["osProfile"]["windowsConfiguration"]
    assert conf["enableAutomaticUpdates"] is True
    assert conf["patchSettings"]["patchMode"] == "AutomaticByPlatform"
    assert conf["patchSettings"]["automaticByPlatformSettings"]["rebootSetting"] == "Never"


def test_normalize_document_leaves_unknown_fields_and_the_input_alone() -> None:
    """Unknown fields pass through unchanged and the input document is not modified."""
    doc = at(linux_vm(), "properties.diagnosticsProfile", {"bootDiagnostics": {"enabled": True}})
    before = copy.deepcopy(doc)
    out = normalize_document(doc, spec=parse_vm(doc, name="vm1"))
    assert doc == before
    assert out["properties"]["diagnosticsProfile"] == {"bootDiagnostics": {"enabled": True}}
    assert out["tags"] == {"env": "test"}


def test_a_normalized_document_parses_to_the_same_spec() -> None:
    """Normalisation is stable: parsing its result gives the spec it was made from."""
    doc = windows_vm(enableAutomaticUpdates=False)
    spec = parse_vm(doc, name="win1")
    assert parse_vm(normalize_document(doc, spec=spec), name="win1") == spec
