"""Every patch-settings rule of Azure's automatic VM guest patching: status, ARM code, target, message,
with the accepted case next to each refusal."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from guestpatch.catalogs import load_image_catalog, load_region_catalog
from guestpatch.core.images import ImageCatalog
from guestpatch.core.regions import Region
from guestpatch.core.settings import check_vm
from guestpatch.core.vm import parse_vm
from guestpatch.errors import ClientError, Conflict, InvalidInput

TODAY = date(2026, 11, 26)
IMAGES = load_image_catalog()
REGIONS = load_region_catalog()
JAMMY = {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2",
         "version": "latest"}
BIONIC = {"publisher": "Canonical", "offer": "UbuntuServer", "sku": "18.04-LTS", "version": "latest"}
WS2022 = {"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2022-datacenter-g2",
          "version": "latest"}
WS2012 = {"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2012-R2-Datacenter",
          "version": "latest"}
AVSET = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/availabilitySets/as1"
SCALE_SET = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss1"


def linux(*, image: dict[str, str] | None = JAMMY, agent: bool | None = None, **settings: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {"patchSettings": settings}
    if agent is not None:
        conf["provisionVMAgent"] = agent
    props: dict[str, Any] = {"osProfile": {"computerName": "vm1", "linuxConfiguration": conf}}
    if image is not None:
        props["storageProfile"] = {"imageReference": dict(image)}
    return {"location": "westeurope", "properties": props}


def windows(*, eau: bool | None = None, image: dict[str, str] | None = WS2022, agent: bool | None = None,
            **settings: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {"patchSettings": settings}
    if eau is not None:
        conf["enableAutomaticUpdates"] = eau
    if agent is not None:
        conf["provisionVMAgent"] = agent
    props: dict[str, Any] = {"osProfile": {"computerName": "win1", "windowsConfiguration": conf}}
    if image is not None:
        props["storageProfile"] = {"imageReference": dict(image)}
    return {"location": "eastus", "properties": props}


def check(document: dict[str, Any], old: dict[str, Any] | None = None, *, images: ImageCatalog = IMAGES,
          today: date = TODAY) -> None:
    check_vm(parse_vm(document, name="vm1"), parse_vm(old, name="vm1") if old is not None else None,
             images=images, regions=REGIONS, today=today)


def refused(document: dict[str, Any], old: dict[str, Any] | None = None, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        check(document, old, **kwargs)
    return caught.value


# ---------------------------------------------------------------- every rule, one trigger each

PLATFORM_SETTINGS = {"rebootSetting": "IfRequired"}
RULE_TRIGGERS: list[tuple[str, int, str, str, dict[str, Any], dict[str, Any] | None]] = [
    # rule id, status, code, target, document, old document
    ("body-not-object", 400, "InvalidRequestContent", "", [], None),  # type: ignore[list-item]
    ("wrong-type", 400, "BadRequest", "zones", {"location": "eastus", "zones": "1"}, None),
    ("misspelled-member", 400, "BadRequest", "Location", {"Location": "eastus", "location": "eastus"}, None),
    ("empty-value", 400, "InvalidParameter", "vmSize",
     {"location": "eastus", "properties": {"hardwareProfile": {"vmSize": ""}}}, None),
    ("location-required", 400, "LocationRequired", "location", {"properties": {}}, None),
    ("enum-value", 400, "InvalidParameter", "linuxConfiguration.patchSettings.patchMode",
     linux(patchMode="AutomaticByOS"), None),
    ("two-configurations", 400, "InvalidParameter", "osProfile",
     {"location": "eastus", "properties": {"osProfile": {"linuxConfiguration": {}, "windowsConfiguration": {}}}},
     None),
    ("os-type-mismatch", 400, "InvalidParameter", "osDisk.osType",
     {"location": "eastus", "properties": {"storageProfile": {"osDisk": {"osType": "Windows"}},
                                           "osProfile": {"linuxConfiguration": {}}}}, None),
    ("availability-set-and-scale-set", 400, "InvalidParameter", "availabilitySet",
     {"location": "eastus", "properties": {"availabilitySet": {"id": AVSET},
                                           "virtualMachineScaleSet": {"id": SCALE_SET}}}, None),
    ("bad-resource-id", 400, "InvalidParameter", "availabilitySet.id",
     {"location": "eastus", "properties": {"availabilitySet": {"id": "as1"}}}, None),
    ("image-reference-incomplete", 400, "InvalidParameter", "imageReference.sku",
     linux(image={"publisher": "Canonical", "offer": "UbuntuServer"}), None),
    ("image-reference-ambiguous", 400, "InvalidParameter", "imageReference",
     linux(image={**JAMMY, "id": "/subscriptions/s1/images/golden"}), None),
    ("windows-computer-name", 400, "InvalidParameter", "computerName",
     {"location": "eastus", "properties": {"osProfile": {"computerName": "a-very-long-windows-name",
                                                         "windowsConfiguration": {}}}}, None),
    ("linux-computer-name", 400, "InvalidParameter", "computerName",
     {"location": "eastus", "properties": {"osProfile": {"computerName": "bad_name"}}}, None),
    ("too-many-zones", 400, "InvalidParameter", "zones", {"location": "eastus", "zones": ["1", "2"]}, None),
    ("bad-zone", 400, "InvalidParameter", "zones", {"location": "eastus", "zones": ["zone one"]}, None),
    ("bad-tags", 400, "InvalidParameter", "tags", {"location": "eastus", "tags": {"a/b": "c"}}, None),
    ("invalid-name", 400, "InvalidResourceName", "name", {}, None),  # triggered by the name, below
    ("location-unavailable", 400, "LocationNotAvailableForResourceType", "location",
     {"location": "Atlantis"}, None),
    ("property-change-not-allowed", 409, "PropertyChangeNotAllowed", "windowsConfiguration.enableAutomaticUpdates",
     windows(eau=False, patchMode="AutomaticByPlatform"), windows(eau=True, patchMode="AutomaticByPlatform")),
    ("automatic-by-os-needs-automatic-updates", 400, "InvalidParameter",
     "windowsConfiguration.patchSettings.patchMode", windows(eau=False, patchMode="AutomaticByOS"), None),
    ("manual-needs-no-automatic-updates", 400, "InvalidParameter", "windowsConfiguration.patchSettings.patchMode",
     windows(eau=True, patchMode="Manual"), None),
    ("automatic-by-os-manual-switch", 409, "PropertyChangeNotAllowed", "windowsConfiguration.patchSettings.patchMode",
     windows(eau=True, patchMode="Manual"), windows(eau=True, patchMode="AutomaticByOS")),
    ("patch-mode-switch-needs-other-automatic-updates", 409, "PropertyChangeNotAllowed",
     "windowsConfiguration.patchSettings.patchMode",
     windows(eau=True, patchMode="Manual"), windows(eau=True, patchMode="AutomaticByPlatform")),
    ("automatic-by-platform-needs-vm-agent", 400, "InvalidParameter", "linuxConfiguration.patchSettings.patchMode",
     linux(agent=False, patchMode="AutomaticByPlatform"), None),
    ("automatic-by-platform-settings-need-automatic-by-platform", 400, "InvalidParameter",
     "linuxConfiguration.patchSettings.automaticByPlatformSettings",
     linux(patchMode="ImageDefault", automaticByPlatformSettings=PLATFORM_SETTINGS), None),
    ("hotpatching-needs-automatic-by-platform", 400, "InvalidParameter",
     "windowsConfiguration.patchSettings.enableHotpatching",
     windows(eau=True, patchMode="AutomaticByOS", enableHotpatching=True), None),
    ("hotpatching-needs-vm-agent", 400, "InvalidParameter", "windowsConfiguration.patchSettings.enableHotpatching",
     windows(agent=False, patchMode="AutomaticByPlatform", enableHotpatching=True), None),
    ("hotpatching-needs-safety-checks", 400, "InvalidParameter",
     "windowsConfiguration.patchSettings.automaticByPlatformSettings.bypassPlatformSafetyChecksOnUserSchedule",
     windows(patchMode="AutomaticByPlatform", enableHotpatching=True,
             automaticByPlatformSettings={"bypassPlatformSafetyChecksOnUserSchedule": True}), None),
    ("image-os-type-mismatch", 400, "InvalidParameter", "imageReference", linux(image=WS2022), None),
    ("image-not-supported", 400, "InvalidParameter", "linuxConfiguration.patchSettings.patchMode",
     linux(image={**JAMMY, "sku": "22_04-lts-fips"}, patchMode="AutomaticByPlatform"), None),
    ("custom-image-not-supported", 400, "InvalidParameter", "linuxConfiguration.patchSettings.patchMode",
     linux(image={"id": "/subscriptions/s1/images/golden"}, patchMode="AutomaticByPlatform"), None),
    ("image-end-of-life", 400, "InvalidParameter", "linuxConfiguration.patchSettings.patchMode",
     linux(image=BIONIC, patchMode="AutomaticByPlatform"), None),
]


def test_every_rule_has_a_trigger() -> None:
    """The trigger table covers exactly the rules of core/rules.py (a new rule needs a test here)."""
    from guestpatch.core.rules import RULES

    assert sorted(t[0] for t in RULE_TRIGGERS) == sorted(r.id for r in RULES)


@pytest.mark.parametrize(("rule_id", "status", "code", "target", "document", "old"), RULE_TRIGGERS,
                         ids=[t[0] for t in RULE_TRIGGERS])
def test_each_rule_answers_with_its_status_code_and_target(
    rule_id: str, status: int, code: str, target: str, document: Any, old: dict[str, Any] | None
) -> None:
    """Each rule's trigger is refused with the rule's HTTP status, ARM code and target."""
    from guestpatch.core.rules import RULES

    rule = next(r for r in RULES if r.id == rule_id)
    name = "bad name" if rule_id == "invalid-name" else "vm1"

    def judge() -> None:
        spec = parse_vm(document, name=name)
        check_vm(spec, parse_vm(old, name=name) if old else None, images=IMAGES, regions=REGIONS, today=TODAY)

    with pytest.raises(ClientError) as caught:
        judge()
    error = caught.value
    assert (error.status, error.code, error.target or "") == (status, code, target)
    assert (rule.status, rule.code) == (status, code)
    assert isinstance(error, Conflict) == (status == 409)


# ---------------------------------------------------------------- patch modes per OS


@pytest.mark.parametrize("mode", ["ImageDefault", "AutomaticByPlatform"])
def test_linux_accepts_its_two_modes(mode: str) -> None:
    """ImageDefault and AutomaticByPlatform are the Linux patch modes."""
    check(linux(patchMode=mode))


@pytest.mark.parametrize(("mode", "eau"), [("Manual", False), ("AutomaticByOS", True),
                                          ("AutomaticByPlatform", True), ("AutomaticByPlatform", False)])
def test_windows_accepts_its_three_modes(mode: str, eau: bool) -> None:
    """Manual (eAU false), AutomaticByOS (eAU true) and AutomaticByPlatform (either) are accepted."""
    check(windows(eau=eau, patchMode=mode))


def test_check_vm_refuses_a_mode_of_the_other_os_in_a_hand_built_spec() -> None:
    """check_vm itself guards the per-OS modes (a VmSpec not made by parse_vm)."""
    spec = replace(parse_vm(linux(), name="vm1"), patch_mode="AutomaticByOS")
    with pytest.raises(InvalidInput) as caught:
        check_vm(spec, None, images=IMAGES, regions=REGIONS, today=TODAY)
    assert caught.value.target == "linuxConfiguration.patchSettings.patchMode"
    assert "Allowed values are: ImageDefault, AutomaticByPlatform." in caught.value.message


def test_check_vm_refuses_an_unknown_assessment_mode_in_a_hand_built_spec() -> None:
    """The assessment mode is guarded the same way."""
    spec = replace(parse_vm(linux(), name="vm1"), assessment_mode="Sometimes")
    with pytest.raises(InvalidInput, match="Allowed values are: ImageDefault, AutomaticByPlatform"):
        check_vm(spec, None, images=IMAGES, regions=REGIONS, today=TODAY)


# ---------------------------------------------------------------- Windows: enableAutomaticUpdates and modes


def test_automatic_by_os_without_automatic_updates_has_azures_message() -> None:
    """The exact body Azure answers (seen in the field)."""
    error = refused(windows(eau=False, patchMode="AutomaticByOS"))
    assert error.to_arm() == {"error": {
        "code": "InvalidParameter",
        "message": "The patchMode 'AutomaticByOS' is invalid. For patchMode 'AutomaticByOS', the property "
                   "'enableAutomaticUpdates' must be set to true.",
        "target": "windowsConfiguration.patchSettings.patchMode",
    }}


def test_manual_with_automatic_updates_left_at_its_default_is_refused() -> None:
    """enableAutomaticUpdates defaults to true, so an explicit Manual without eAU false is refused."""
    error = refused(windows(patchMode="Manual"))
    assert "'Manual', the property 'enableAutomaticUpdates' must be set to false" in error.message


def test_enable_automatic_updates_cannot_change_after_creation() -> None:
    """409 PropertyChangeNotAllowed with Azure's exact body, whichever the direction."""
    for before, after in ((True, False), (False, True)):
        error = refused(windows(eau=after, patchMode="AutomaticByPlatform"),
                        windows(eau=before, patchMode="AutomaticByPlatform"))
        assert error.status == 409
        assert error.to_arm() == {"error": {
            "code": "PropertyChangeNotAllowed",
            "message": "Changing property 'windowsConfiguration.enableAutomaticUpdates' is not allowed.",
            "target": "windowsConfiguration.enableAutomaticUpdates",
        }}


@pytest.mark.parametrize(
    ("old_mode", "eau", "new_mode"),
    [("AutomaticByPlatform", False, "Manual"), ("Manual", False, "AutomaticByPlatform"),
     ("AutomaticByPlatform", True, "AutomaticByOS"), ("AutomaticByOS", True, "AutomaticByPlatform"),
     ("AutomaticByOS", True, "AutomaticByOS"), ("Manual", False, "Manual")],
)
def test_supported_windows_mode_switches(old_mode: str, eau: bool, new_mode: str) -> None:
    """AutomaticByPlatform↔Manual with eAU false, AutomaticByPlatform↔AutomaticByOS with eAU true."""
    check(windows(eau=eau, patchMode=new_mode), windows(eau=eau, patchMode=old_mode))


@pytest.mark.parametrize(("old_mode", "new_mode", "eau"),
                         [("AutomaticByOS", "Manual", True), ("Manual", "AutomaticByOS", False)])
def test_switching_between_automatic_by_os_and_manual_is_refused(old_mode: str, new_mode: str, eau: bool) -> None:
    """AutomaticByOS↔Manual is 409, explaining that enableAutomaticUpdates is fixed at creation."""
    error = refused(windows(eau=eau, patchMode=new_mode), windows(eau=eau, patchMode=old_mode))
    assert (error.status, error.code) == (409, "PropertyChangeNotAllowed")
    assert f"from '{old_mode}' to '{new_mode}' is not supported" in error.message
    assert "can be set only when the VM is created" in error.message


@pytest.mark.parametrize(("eau", "new_mode", "partner"),
                         [(True, "Manual", "AutomaticByOS"), (False, "AutomaticByOS", "Manual")])
def test_leaving_automatic_by_platform_for_the_mode_eau_does_not_allow_is_refused(
    eau: bool, new_mode: str, partner: str
) -> None:
    """From AutomaticByPlatform a VM returns only to the mode its enableAutomaticUpdates allows."""
    error = refused(windows(eau=eau, patchMode=new_mode), windows(eau=eau, patchMode="AutomaticByPlatform"))
    assert (error.status, error.code) == (409, "PropertyChangeNotAllowed")
    assert f"switches between 'AutomaticByPlatform' and '{partner}'" in error.message


# ---------------------------------------------------------------- VM agent, platform settings, hotpatching


@pytest.mark.parametrize("mode_name", ["patchMode", "assessmentMode"])
def test_automatic_by_platform_needs_the_vm_agent(mode_name: str) -> None:
    """AutomaticByPlatform (patch or assessment) with provisionVMAgent false is 400, naming the fix."""
    error = refused(linux(agent=False, **{mode_name: "AutomaticByPlatform"}))
    assert error.target == f"linuxConfiguration.patchSettings.{mode_name}"
    assert "'linuxConfiguration.provisionVMAgent' to true" in error.message
    check(linux(agent=True, **{mode_name: "AutomaticByPlatform"}))


def test_windows_platform_mode_without_agent_suggests_the_eau_mode() -> None:
    """On Windows the fallback offered is the mode enableAutomaticUpdates allows."""
    error = refused(windows(agent=False, eau=True, patchMode="AutomaticByPlatform"))
    assert error.target == "windowsConfiguration.patchSettings.patchMode"
    assert "choose patchMode 'AutomaticByOS'" in error.message


def test_image_default_modes_do_not_need_the_agent() -> None:
    """Without AutomaticByPlatform a VM may have no agent."""
    check(linux(agent=False, patchMode="ImageDefault", assessmentMode="ImageDefault"))


def test_platform_settings_need_the_platform_mode_with_azures_message() -> None:
    """automaticByPlatformSettings with another mode: Azure's text; with AutomaticByPlatform: accepted."""
    error = refused(linux(automaticByPlatformSettings=PLATFORM_SETTINGS))
    assert error.message == "AutomaticByPlatformSettings cannot be set if the PatchMode is not 'AutomaticByPlatform'."
    error = refused(windows(eau=True, patchMode="AutomaticByOS",
                            automaticByPlatformSettings={"bypassPlatformSafetyChecksOnUserSchedule": False}))
    assert error.target == "windowsConfiguration.patchSettings.automaticByPlatformSettings"
    check(linux(patchMode="AutomaticByPlatform", automaticByPlatformSettings=PLATFORM_SETTINGS))


def test_an_empty_platform_settings_object_is_not_a_setting() -> None:
    """automaticByPlatformSettings {} carries nothing and is accepted with any mode."""
    check(linux(patchMode="ImageDefault", automaticByPlatformSettings={}))


def test_hotpatching_with_the_platform_mode_agent_and_safety_checks_is_accepted() -> None:
    """The valid hotpatch configuration passes; enableHotpatching false passes with any mode."""
    check(windows(patchMode="AutomaticByPlatform", enableHotpatching=True,
                  automaticByPlatformSettings={"bypassPlatformSafetyChecksOnUserSchedule": False}))
    check(windows(eau=True, patchMode="AutomaticByOS", enableHotpatching=False))


def test_hotpatching_refuses_bypassing_safety_checks_with_azures_message() -> None:
    """Azure's text for hotpatch with bypassPlatformSafetyChecksOnUserSchedule true."""
    error = refused(windows(patchMode="AutomaticByPlatform", enableHotpatching=True,
                            automaticByPlatformSettings={"bypassPlatformSafetyChecksOnUserSchedule": True}))
    assert error.message == ("Hotpatch updates require platform safety checks. The "
                             "'BypassPlatformSafetyChecksOnUserSchedule' flag must be set to false to enable "
                             "hotpatching.")


# ---------------------------------------------------------------- supported images and end of life


def test_platform_mode_on_a_catalog_image_matched_in_any_case_is_accepted() -> None:
    """publisher + offer + sku compare case-insensitively."""
    check(linux(image={k: v.upper() for k, v in JAMMY.items()}, patchMode="AutomaticByPlatform"))


@pytest.mark.parametrize("mode_name", ["patchMode", "assessmentMode"])
def test_platform_mode_on_an_image_outside_the_catalog_is_refused(mode_name: str) -> None:
    """Patch and assessment AutomaticByPlatform need a catalog image; the message names image and fix."""
    image = {"publisher": "Contoso", "offer": "golden", "sku": "v1", "version": "1.0.0"}
    error = refused(linux(image=image, **{mode_name: "AutomaticByPlatform"}))
    assert error.target == f"linuxConfiguration.patchSettings.{mode_name}"
    assert "'Contoso:golden:v1:1.0.0'" in error.message
    assert "ask the operator to add this image to the catalog" in error.message
    check(linux(image=image, **{mode_name: "ImageDefault"}))


def test_an_operator_image_makes_a_golden_image_supported() -> None:
    """Once the operator adds the image, the same VM is accepted."""
    image = {"publisher": "Contoso", "offer": "golden", "sku": "v1", "version": "1.0.0"}
    operator = ImageCatalog.from_json([{"publisher": "Contoso", "offer": "golden", "sku": "v1", "osType": "Linux",
                                        "family": "debian", "version": "12", "endOfLife": None}], source="operator")
    check(linux(image=image, patchMode="AutomaticByPlatform"), images=IMAGES.merged(operator))


def test_platform_mode_on_an_image_past_end_of_life_is_refused_naming_the_date() -> None:
    """Ubuntu 18.04 ended 2023-05-31: AutomaticByPlatform can no longer be enabled on it."""
    error = refused(linux(image=BIONIC, patchMode="AutomaticByPlatform"))
    assert "reached its end of life on 2023-05-31" in error.message
    assert "'Canonical:UbuntuServer:18.04-LTS'" in error.message


def test_an_image_is_still_supported_on_its_end_of_life_date() -> None:
    """The end-of-life day itself is the last supported day."""
    check(linux(image=BIONIC, patchMode="AutomaticByPlatform"), today=date(2023, 5, 31))
    refused(linux(image=BIONIC, patchMode="AutomaticByPlatform"), today=date(2023, 6, 1))


def test_a_windows_image_past_end_of_life_is_refused() -> None:
    """Windows Server 2012 R2 ended 2023-10-10."""
    error = refused(windows(image=WS2012, patchMode="AutomaticByPlatform"))
    assert "2023-10-10" in error.message
    assert error.target == "windowsConfiguration.patchSettings.patchMode"


def test_a_vm_enabled_before_end_of_life_keeps_being_accepted_on_updates() -> None:
    """A VM already on AutomaticByPlatform stays valid after its image's end of life, while the mode stays."""
    enabled = linux(image=BIONIC, patchMode="AutomaticByPlatform")
    updated = copy.deepcopy(enabled)
    updated["tags"] = {"owner": "ops"}
    check(updated, enabled)


def test_turning_automatic_by_platform_back_on_after_end_of_life_is_refused() -> None:
    """Leaving the mode and coming back is a new enablement, judged against today's catalog."""
    off = linux(image=BIONIC, patchMode="ImageDefault")
    error = refused(linux(image=BIONIC, patchMode="AutomaticByPlatform"), off)
    assert "end of life" in error.message


def test_a_vm_enabled_on_an_image_that_left_the_catalog_keeps_being_accepted() -> None:
    """An image removed from the catalog does not break updates of VMs already enabled on it."""
    image = {"publisher": "Contoso", "offer": "golden", "sku": "v1"}
    enabled = linux(image=image, patchMode="AutomaticByPlatform")
    check(enabled, enabled)


def test_an_enrolled_machine_without_an_image_reference_is_accepted() -> None:
    """No image reference: AutomaticByPlatform is accepted and judged later by the agent's OS report."""
    check(linux(image=None, patchMode="AutomaticByPlatform", assessmentMode="AutomaticByPlatform"))


def test_a_custom_image_id_cannot_enable_the_platform_mode() -> None:
    """A custom image (imageReference.id) cannot be matched against the catalog: refused, with the fix."""
    error = refused(linux(image={"id": "/subscriptions/s1/images/golden"}, patchMode="AutomaticByPlatform"))
    assert "custom image '/subscriptions/s1/images/golden'" in error.message
    check(linux(image={"id": "/subscriptions/s1/images/golden"}, patchMode="ImageDefault"))


def test_an_image_of_the_other_os_is_refused_at_creation() -> None:
    """A Windows catalog image with a Linux configuration is refused; a matching one is accepted."""
    error = refused(linux(image=WS2022))
    assert "is a Windows image but the virtual machine is configured as Linux" in error.message
    check(windows(image=WS2022))


# ---------------------------------------------------------------- create-only properties and location

AVSET_VM = {**linux(), "zones": ["1"]}
AVSET_VM["properties"]["availabilitySet"] = {"id": AVSET}


@pytest.mark.parametrize(
    ("path", "value", "target"),
    [
        ("location", "northeurope", "location"),
        ("zones", ["2"], "zones"),
        ("zones", None, "zones"),
        ("properties.osProfile.computerName", "vm2", "computerName"),
        ("properties.availabilitySet", {"id": AVSET.replace("as1", "as2")}, "availabilitySet.id"),
        ("properties.availabilitySet", None, "availabilitySet.id"),
        ("properties.storageProfile.imageReference.sku", "22_04-lts", "imageReference"),
        ("properties.storageProfile.imageReference.version", "22.04.202401010", "imageReference"),
        ("properties.storageProfile.imageReference", None, "imageReference"),
    ],
)
def test_create_only_properties_cannot_change(path: str, value: Any, target: str) -> None:
    """409 PropertyChangeNotAllowed "Changing property 'X' is not allowed." for each create-only property."""
    changed = copy.deepcopy(AVSET_VM)
    node = changed
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[key]
    if value is None:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    error = refused(changed, AVSET_VM)
    assert (error.status, error.code, error.target) == (409, "PropertyChangeNotAllowed", target)
    assert error.message == f"Changing property '{target}' is not allowed."


def test_create_only_changes_of_os_and_scale_set_are_refused() -> None:
    """osDisk.osType and virtualMachineScaleSet.id cannot change either."""
    as_windows = {**windows(image=None), "location": "westeurope"}
    as_windows["properties"]["osProfile"]["computerName"] = "vm1"
    assert refused(as_windows, linux(image=None)).target == "osDisk.osType"
    in_scale_set = linux()
    in_scale_set["properties"]["virtualMachineScaleSet"] = {"id": SCALE_SET}
    assert refused(linux(), in_scale_set).target == "virtualMachineScaleSet.id"


def test_create_only_properties_compare_ids_and_images_case_insensitively() -> None:
    """The same availability set id or image in another case is no change; tags may change."""
    same = copy.deepcopy(AVSET_VM)
    same["properties"]["availabilitySet"]["id"] = AVSET.upper()
    same["properties"]["storageProfile"]["imageReference"] = {k: v.upper() for k, v in JAMMY.items()}
    same["location"] = "West Europe"
    same["tags"] = {"new": "tag"}
    check(same, AVSET_VM)


def test_an_unknown_location_is_refused_with_azures_message() -> None:
    """400 LocationNotAvailableForResourceType listing the available regions."""
    error = refused({**linux(), "location": "Atlantis"})
    assert error.message.startswith(
        "The provided location 'atlantis' is not available for resource type 'Microsoft.Compute/virtualMachines'. "
        "List of available regions for the resource type is 'eastus,eastus2,"
    )


def test_an_operator_site_is_a_known_location() -> None:
    """A region the operator added is accepted as a location."""
    regions = REGIONS.merged([Region("onprem-fra1", "On-prem Frankfurt 1", "Europe/Berlin", None, "Germany",
                                     "operator")])
    check_vm(parse_vm({**linux(), "location": "onprem-fra1"}, name="vm1"), None, images=IMAGES, regions=regions,
             today=TODAY)


def test_updates_do_not_recheck_an_unchanged_location() -> None:
    """A VM in a site that has since been removed can still be updated (its location did not change)."""
    vm = {**linux(), "location": "onprem-fra1"}
    check(vm, vm)
