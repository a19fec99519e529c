"""JSON schemas of the request bodies, for the OpenAPI document (the handlers parse raw JSON themselves).

They describe what the API interprets; ARM members we do not interpret are allowed and kept
(``additionalProperties: true``). Schemathesis generates requests from these.
"""

from __future__ import annotations

from typing import Any

_PATCH_MODES_LINUX = ["ImageDefault", "AutomaticByPlatform"]
_PATCH_MODES_WINDOWS = ["Manual", "AutomaticByOS", "AutomaticByPlatform"]
_ASSESSMENT = ["ImageDefault", "AutomaticByPlatform"]
_REBOOT = ["Unknown", "IfRequired", "Never", "Always"]


def obj(properties: dict[str, Any], *, required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": True}
    if required:
        schema["required"] = required
    return schema


_PLATFORM_SETTINGS = obj(
    {
        "rebootSetting": {"type": "string", "enum": _REBOOT},
        "bypassPlatformSafetyChecksOnUserSchedule": {"type": "boolean"},
    }
)
_SUB_RESOURCE = obj({"id": {"type": "string"}})

VM_PROPERTIES = obj(
    {
        "hardwareProfile": obj({"vmSize": {"type": "string"}}),
        "storageProfile": obj(
            {
                "imageReference": obj(
                    {k: {"type": "string"} for k in ("publisher", "offer", "sku", "version")}
                ),
                "osDisk": obj({"osType": {"type": "string", "enum": ["Linux", "Windows"]}}),
            }
        ),
        "osProfile": obj(
            {
                "computerName": {"type": "string"},
                "linuxConfiguration": obj(
                    {
                        "provisionVMAgent": {"type": "boolean"},
                        "patchSettings": obj(
                            {
                                "patchMode": {"type": "string", "enum": _PATCH_MODES_LINUX},
                                "assessmentMode": {"type": "string", "enum": _ASSESSMENT},
                                "automaticByPlatformSettings": _PLATFORM_SETTINGS,
                            }
                        ),
                    }
                ),
                "windowsConfiguration": obj(
                    {
                        "provisionVMAgent": {"type": "boolean"},
                        "enableAutomaticUpdates": {"type": "boolean"},
                        "timeZone": {"type": "string"},
                        "patchSettings": obj(
                            {
                                "patchMode": {"type": "string", "enum": _PATCH_MODES_WINDOWS},
                                "assessmentMode": {"type": "string", "enum": _ASSESSMENT},
                                "enableHotpatching": {"type": "boolean"},
                                "automaticByPlatformSettings": _PLATFORM_SETTINGS,
                            }
                        ),
                    }
                ),
            }
        ),
        "availabilitySet": _SUB_RESOURCE,
        "virtualMachineScaleSet": _SUB_RESOURCE,
    }
)

VIRTUAL_MACHINE = obj(
    {
        "location": {"type": "string"},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "zones": {"type": "array", "items": {"type": "string"}},
        "properties": VM_PROPERTIES,
    },
    required=["location"],
)

VIRTUAL_MACHINE_UPDATE = obj(
    {
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "zones": {"type": "array", "items": {"type": "string"}},
        "properties": VM_PROPERTIES,
    }
)

INSTALL_PATCHES = obj(
    {
        "maximumDuration": {"type": "string", "description": "ISO 8601 duration, PT5M to PT4H"},
        "rebootSetting": {"type": "string", "enum": ["IfRequired", "Never", "Always"]},
        "linuxParameters": obj(
            {
                "classificationsToInclude": {"type": "array", "items": {"type": "string",
                                                                      "enum": ["Critical", "Security", "Other"]}},
                "packageNameMasksToInclude": {"type": "array", "items": {"type": "string"}},
                "packageNameMasksToExclude": {"type": "array", "items": {"type": "string"}},
                "maintenanceRunId": {"type": "string"},
            }
        ),
        "windowsParameters": obj(
            {
                "classificationsToInclude": {"type": "array", "items": {"type": "string"}},
                "kbNumbersToInclude": {"type": "array", "items": {"type": "string"}},
                "kbNumbersToExclude": {"type": "array", "items": {"type": "string"}},
                "excludeKbsRequiringReboot": {"type": "boolean"},
            }
        ),
    },
    required=["rebootSetting"],
)

REGION = obj(
    {
        "name": {"type": "string"},
        "displayName": {"type": "string"},
        "timeZone": {"type": "string"},
        "pair": {"type": "string"},
        "geography": {"type": "string"},
    },
    required=["name", "timeZone"],
)

IMAGE = obj(
    {
        "publisher": {"type": "string"},
        "offer": {"type": "string"},
        "sku": {"type": "string"},
        "osType": {"type": "string", "enum": ["Linux", "Windows"]},
        "family": {"type": "string"},
        "version": {"type": "string"},
        "endOfLife": {"type": ["string", "null"], "format": "date"},
    },
    required=["publisher", "offer", "sku", "osType", "family", "version"],
)

ENROLLMENT_TOKEN = obj(
    {
        "subscription": {"type": "string"},
        "resourceGroup": {"type": "string"},
        "expiresIn": {"type": "string", "description": "ISO 8601 duration, PT1M to P365D"},
        "uses": {"type": "integer", "minimum": 1},
    },
    required=["resourceGroup"],
)


def body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` for a route whose handler reads this JSON body itself."""
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}
