"""Every rule a virtual machine document is judged by, as one table.

Each :class:`Rule` names the ARM error a violation produces: HTTP status, ARM ``code``, ``target``
and a message template. :mod:`guestpatch.core.vm` (document validation) and
:mod:`guestpatch.core.settings` (patch-settings rules) raise through :meth:`Rule.error`, and
``docs/patch-settings.md`` carries the table rendered by :func:`rules_markdown` (a test keeps the
two identical), so the documentation cannot drift from the code.

Targets follow Azure's habit: the path below ``properties`` with the profile level dropped
(``linuxConfiguration.patchSettings.patchMode``, ``imageReference``, ``computerName``,
``vmSize``); envelope properties are written as they are (``location``, ``zones``, ``tags``).
``{os}`` in a target stands for ``linux`` or ``windows``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from guestpatch.errors import ClientError, Conflict, InvalidInput

Origin = Literal["Azure", "guestpatch"]


@dataclass(frozen=True)
class Rule:
    """One way a document can be refused, and the ARM error that says so."""

    id: str
    status: Literal[400, 409]
    code: str
    target: str
    message: str
    origin: Origin  # "Azure": the text is Azure's own; "guestpatch": Azure's is not known, ours

    def error(self, *, target: str | None = None, **values: object) -> ClientError:
        """The exception for this rule, its message filled with ``values``."""
        message = self.message.format(**values)
        where = target if target is not None else (self.target.format(**values) if self.target else None)
        kind = Conflict if self.status == 409 else InvalidInput
        return kind(message, code=self.code, target=where)


def _rule(
    id: str, status: Literal[400, 409], code: str, target: str, message: str, *, origin: Origin = "guestpatch"
) -> Rule:
    return Rule(id, status, code, target, message, origin)


_PATCH_MODE = "{os}Configuration.patchSettings.patchMode"
_WIN_PATCH_MODE = "windowsConfiguration.patchSettings.patchMode"
_HOTPATCH = "windowsConfiguration.patchSettings.enableHotpatching"

# ---------------------------------------------------------------- document shape (core/vm.py)
BODY_NOT_OBJECT = _rule(
    "body-not-object", 400, "InvalidRequestContent", "",
    "The request content was invalid and could not be deserialized: the body must be a JSON object, "
    "not {kind}.",
)
WRONG_TYPE = _rule(
    "wrong-type", 400, "BadRequest", "{path}",
    "The value of '{where}' must be {expected}, not {actual}.",
)
MISSPELLED_MEMBER = _rule(
    "misspelled-member", 400, "BadRequest", "{path}",
    "Could not find member '{given}' on object '{parent}': member names are case-sensitive; "
    "write '{expected}'.",
)
EMPTY_VALUE = _rule(
    "empty-value", 400, "InvalidParameter", "{path}",
    "The value of '{where}' must not be empty.",
)
INVALID_NAME = _rule(
    "invalid-name", 400, "InvalidResourceName", "name",
    "The resource name '{name}' is invalid. A virtual machine name has 1 to 64 characters: letters, "
    "digits, hyphens, underscores and periods; it starts with a letter or digit and does not end "
    "with a period or hyphen.",
)
LOCATION_REQUIRED = _rule(
    "location-required", 400, "LocationRequired", "location",
    "The location property is required for this definition.", origin="Azure",
)
ENUM_VALUE = _rule(
    "enum-value", 400, "InvalidParameter", "{path}",
    "The value '{value}' of parameter '{path}' is not allowed. Allowed values are: {allowed}.{hint}",
    origin="Azure",
)
TWO_CONFIGURATIONS = _rule(
    "two-configurations", 400, "InvalidParameter", "osProfile",
    "An osProfile has either 'linuxConfiguration' or 'windowsConfiguration', not both: "
    "remove the one that does not match the image's operating system.",
)
OS_TYPE_MISMATCH = _rule(
    "os-type-mismatch", 400, "InvalidParameter", "osDisk.osType",
    "The OS disk says osType '{os_type}' but osProfile has '{configuration}': "
    "give the configuration of the disk's operating system.",
)
SET_AND_SCALE_SET = _rule(
    "availability-set-and-scale-set", 400, "InvalidParameter", "availabilitySet",
    "A virtual machine is in an availability set or in a virtual machine scale set, not both: "
    "remove 'availabilitySet' or 'virtualMachineScaleSet'.",
)
BAD_RESOURCE_ID = _rule(
    "bad-resource-id", 400, "InvalidParameter", "{path}",
    "'{value}' is not a valid {kind} id: expected "
    "/subscriptions/{{subscriptionId}}/resourceGroups/{{resourceGroup}}/providers/Microsoft.Compute/"
    "{collection}/{{name}}.",
)
IMAGE_INCOMPLETE = _rule(
    "image-reference-incomplete", 400, "InvalidParameter", "imageReference.{missing}",
    "A platform image reference names publisher, offer and sku together: "
    "'imageReference.{missing}' is missing.",
)
IMAGE_AMBIGUOUS = _rule(
    "image-reference-ambiguous", 400, "InvalidParameter", "imageReference",
    "An image reference is either a platform image (publisher, offer, sku) or an image id "
    "('{id_field}'), not both.",
)
WINDOWS_COMPUTER_NAME = _rule(
    "windows-computer-name", 400, "InvalidParameter", "computerName",
    "Windows computer name cannot be more than 15 characters long, be entirely numeric, or contain "
    "the following characters: ` ~ ! @ # $ % ^ & * ( ) = + _ [ ] {{ }} \\ | ; : . ' \" , < > / ?",
    origin="Azure",
)
LINUX_COMPUTER_NAME = _rule(
    "linux-computer-name", 400, "InvalidParameter", "computerName",
    "Linux host name cannot exceed 64 characters in length or contain the following characters: "
    "` ~ ! @ # $ % ^ & * ( ) = + _ [ ] {{ }} \\ | ; : ' \" , < > / ?",
    origin="Azure",
)
TOO_MANY_ZONES = _rule(
    "too-many-zones", 400, "InvalidParameter", "zones",
    "A virtual machine is placed in at most one availability zone; {count} were given.",
)
BAD_ZONE = _rule(
    "bad-zone", 400, "InvalidParameter", "zones",
    "The zone '{zone}' is invalid: a zone is 1 to 32 letters, digits, hyphens or underscores "
    "(Azure's zones are '1', '2' and '3').",
)
BAD_TAGS = _rule(
    "bad-tags", 400, "InvalidParameter", "tags",
    "{problem}",
)

# ---------------------------------------------------------------- patch settings (core/settings.py)
LOCATION_UNAVAILABLE = _rule(
    "location-unavailable", 400, "LocationNotAvailableForResourceType", "location",
    "The provided location '{location}' is not available for resource type "
    "'Microsoft.Compute/virtualMachines'. List of available regions for the resource type is "
    "'{available}'.",
    origin="Azure",
)
PROPERTY_CHANGE = _rule(
    "property-change-not-allowed", 409, "PropertyChangeNotAllowed", "{property}",
    "Changing property '{property}' is not allowed.",
    origin="Azure",
)
BY_OS_NEEDS_AUTO_UPDATES = _rule(
    "automatic-by-os-needs-automatic-updates", 400, "InvalidParameter", _WIN_PATCH_MODE,
    "The patchMode 'AutomaticByOS' is invalid. For patchMode 'AutomaticByOS', the property "
    "'enableAutomaticUpdates' must be set to true.",
    origin="Azure",
)
MANUAL_NEEDS_NO_AUTO_UPDATES = _rule(
    "manual-needs-no-automatic-updates", 400, "InvalidParameter", _WIN_PATCH_MODE,
    "The patchMode 'Manual' is invalid. For patchMode 'Manual', the property "
    "'enableAutomaticUpdates' must be set to false.",
)
BY_OS_MANUAL_SWITCH = _rule(
    "automatic-by-os-manual-switch", 409, "PropertyChangeNotAllowed", _WIN_PATCH_MODE,
    "Switching patchMode from '{old}' to '{new}' is not supported: 'AutomaticByOS' needs "
    "enableAutomaticUpdates true, 'Manual' needs it false, and enableAutomaticUpdates can be set "
    "only when the VM is created. Recreate the VM to change it.",
)
SWITCH_NEEDS_OTHER_AUTO_UPDATES = _rule(
    "patch-mode-switch-needs-other-automatic-updates", 409, "PropertyChangeNotAllowed", _WIN_PATCH_MODE,
    "Switching patchMode from '{old}' to '{new}' is not supported on this VM: it has "
    "enableAutomaticUpdates {eau}, which can be set only when the VM is created. With "
    "enableAutomaticUpdates {eau} a VM switches between 'AutomaticByPlatform' and '{partner}'.",
)
PLATFORM_NEEDS_AGENT = _rule(
    "automatic-by-platform-needs-vm-agent", 400, "InvalidParameter", "{os}Configuration.patchSettings.{mode}",
    "The {mode} 'AutomaticByPlatform' requires the property 'provisionVMAgent' to be true: the "
    "platform assesses and patches the machine through its VM agent. Set "
    "'{os}Configuration.provisionVMAgent' to true or choose {mode} '{fallback}'.",
)
PLATFORM_SETTINGS_NEED_PLATFORM_MODE = _rule(
    "automatic-by-platform-settings-need-automatic-by-platform", 400, "InvalidParameter",
    "{os}Configuration.patchSettings.automaticByPlatformSettings",
    "AutomaticByPlatformSettings cannot be set if the PatchMode is not 'AutomaticByPlatform'.",
    origin="Azure",
)
HOTPATCH_NEEDS_PLATFORM_MODE = _rule(
    "hotpatching-needs-automatic-by-platform", 400, "InvalidParameter", _HOTPATCH,
    "Hotpatching requires patchMode 'AutomaticByPlatform' (the patch mode is '{mode}'): set "
    "'windowsConfiguration.patchSettings.patchMode' to 'AutomaticByPlatform' or "
    "'enableHotpatching' to false.",
)
HOTPATCH_NEEDS_AGENT = _rule(
    "hotpatching-needs-vm-agent", 400, "InvalidParameter", _HOTPATCH,
    "Hotpatching requires the property 'provisionVMAgent' to be true: set "
    "'windowsConfiguration.provisionVMAgent' to true or 'enableHotpatching' to false.",
)
HOTPATCH_NEEDS_SAFETY_CHECKS = _rule(
    "hotpatching-needs-safety-checks", 400, "InvalidParameter",
    "windowsConfiguration.patchSettings.automaticByPlatformSettings.bypassPlatformSafetyChecksOnUserSchedule",
    "Hotpatch updates require platform safety checks. The 'BypassPlatformSafetyChecksOnUserSchedule' "
    "flag must be set to false to enable hotpatching.",
    origin="Azure",
)
IMAGE_OS_MISMATCH = _rule(
    "image-os-type-mismatch", 400, "InvalidParameter", "imageReference",
    "The image '{image}' is a {image_os} image but the virtual machine is configured as {os_type}: "
    "give the {image_os_lower}Configuration, or a {os_type} image.",
)
IMAGE_NOT_SUPPORTED = _rule(
    "image-not-supported", 400, "InvalidParameter", "{os}Configuration.patchSettings.{mode}",
    "The {mode} 'AutomaticByPlatform' is not supported on image '{image}': automatic VM guest "
    "patching needs an image of the supported-image catalog (exact publisher, offer and sku). "
    "Choose a supported image, ask the operator to add this image to the catalog, or set {mode} "
    "'{fallback}'.",
)
CUSTOM_IMAGE_NOT_SUPPORTED = _rule(
    "custom-image-not-supported", 400, "InvalidParameter", "{os}Configuration.patchSettings.{mode}",
    "The {mode} 'AutomaticByPlatform' is not supported on custom image '{image}': only images of "
    "the supported-image catalog (publisher, offer and sku) can be patched by the platform. "
    "Reference the image by publisher, offer and sku after the operator adds it to the catalog, or "
    "set {mode} '{fallback}'.",
)
IMAGE_END_OF_LIFE = _rule(
    "image-end-of-life", 400, "InvalidParameter", "{os}Configuration.patchSettings.{mode}",
    "The {mode} 'AutomaticByPlatform' can no longer be enabled on image '{image}': the image reached "
    "its end of life on {end_of_life} and its publisher no longer ships updates for it. Move the "
    "workload to a newer image of the catalog, or set {mode} '{fallback}'.",
)

RULES: tuple[Rule, ...] = (
    BODY_NOT_OBJECT, WRONG_TYPE, MISSPELLED_MEMBER, EMPTY_VALUE, INVALID_NAME, LOCATION_REQUIRED,
    ENUM_VALUE, TWO_CONFIGURATIONS, OS_TYPE_MISMATCH, SET_AND_SCALE_SET, BAD_RESOURCE_ID,
    IMAGE_INCOMPLETE, IMAGE_AMBIGUOUS, WINDOWS_COMPUTER_NAME, LINUX_COMPUTER_NAME, TOO_MANY_ZONES,
    BAD_ZONE, BAD_TAGS,
    LOCATION_UNAVAILABLE, PROPERTY_CHANGE, BY_OS_NEEDS_AUTO_UPDATES, MANUAL_NEEDS_NO_AUTO_UPDATES,
    BY_OS_MANUAL_SWITCH, SWITCH_NEEDS_OTHER_AUTO_UPDATES, PLATFORM_NEEDS_AGENT,
    PLATFORM_SETTINGS_NEED_PLATFORM_MODE, HOTPATCH_NEEDS_PLATFORM_MODE, HOTPATCH_NEEDS_AGENT,
    HOTPATCH_NEEDS_SAFETY_CHECKS, IMAGE_OS_MISMATCH, IMAGE_NOT_SUPPORTED, CUSTOM_IMAGE_NOT_SUPPORTED,
    IMAGE_END_OF_LIFE,
)


def rules_markdown() -> str:
    """The rules as the Markdown table that ``docs/patch-settings.md`` carries verbatim."""
    lines = [
        "| rule | status | code | target | message | text from |",
        "|---|---|---|---|---|---|",
    ]
    for rule in RULES:
        message = (
            rule.message.replace("{{", "{").replace("}}", "}").replace("|", "\\|").replace("`", "\\`")
        )
        target = f"`{rule.target}`" if rule.target else "—"
        lines.append(
            f"| `{rule.id}` | {rule.status} | `{rule.code}` | {target} | {message} | {rule.origin} |"
        )
    return "\n".join(lines) + "\n"


def json_kind(value: object) -> str:
    """How a JSON value is named in messages: 'a string', 'an array', 'null', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}" if len(repr(value)) <= 20 else "a number"
    if isinstance(value, str):
        return f"the string '{value}'" if len(value) <= 40 else "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"
