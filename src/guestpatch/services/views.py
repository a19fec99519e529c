"""Azure-shaped views of a VM: the resource body and its instance view."""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any

from guestpatch.core import settings as rules
from guestpatch.core import vm as vmdoc
from guestpatch.core.images import ImageCatalog
from guestpatch.store.vms import VmRecord

RESOURCE_TYPE = "Microsoft.Compute/virtualMachines"

_POWER_DISPLAY = {
    "running": "VM running",
    "deallocated": "VM deallocated",
    "stopped": "VM stopped",
    "unknown": "VM status unknown",
}


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat().replace("+00:00", "Z")


def resource_id(record: VmRecord) -> str:
    return (
        f"/subscriptions/{record.subscription}/resourceGroups/{record.resource_group}"
        f"/providers/Microsoft.Compute/virtualMachines/{record.name}"
    )


def vm_resource(record: VmRecord, *, instance_view: dict[str, Any] | None = None) -> dict[str, Any]:
    """The VM as ARM returns it: stored document plus the read-only members."""
    document = copy.deepcopy(record.document)
    body: dict[str, Any] = {
        "id": resource_id(record),
        "name": record.name,
        "type": RESOURCE_TYPE,
        "location": record.location,
    }
    for key, value in document.items():
        if key != "location":
            body[key] = value
    properties = body.setdefault("properties", {})
    properties["provisioningState"] = record.provisioning_state
    properties["vmId"] = record.vm_id
    properties["timeCreated"] = iso(record.created_at)
    if instance_view is not None:
        properties["instanceView"] = instance_view
    body["etag"] = f'"{record.generation}"'
    return body


def _unknown_summary(kind: str) -> dict[str, Any]:
    if kind == "assessment":
        return {"status": "Unknown", "rebootPending": False, "criticalAndSecurityPatchCount": 0, "otherPatchCount": 0}
    return {
        "status": "Unknown",
        "maintenanceWindowExceeded": False,
        "notSelectedPatchCount": 0,
        "excludedPatchCount": 0,
        "pendingPatchCount": 0,
        "installedPatchCount": 0,
        "failedPatchCount": 0,
    }


def instance_view(
    record: VmRecord,
    *,
    images: ImageCatalog,
    today: date,
    now: datetime,
    agent: dict[str, Any] | None = None,
    applied: dict[str, str] | None = None,
    available_summary: dict[str, Any] | None = None,
    installation_summary: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``VirtualMachineInstanceView`` for ``record``.

    ``agent`` is the agent's last report (``vmAgent`` shape), ``applied`` the patch configuration the
    agent last applied, and the summaries the latest assessment and installation; all ``None`` until an
    agent reports.
    """
    spec = vmdoc.parse_vm(record.document, name=record.name)
    view: dict[str, Any] = {}
    if spec.computer_name:
        view["computerName"] = spec.computer_name
    if record.update_domain is not None:
        view["platformUpdateDomain"] = record.update_domain
    view["vmAgent"] = agent or {
        "vmAgentVersion": "Unknown",
        "statuses": [
            {
                "code": "ProvisioningState/Unavailable",
                "level": "Warning",
                "displayStatus": "Not Ready",
                "message": "The guest agent has not reported yet: enroll the machine with guestpatch-agent.",
                "time": iso(now),
            }
        ],
    }
    view["statuses"] = [
        {
            "code": f"ProvisioningState/{record.provisioning_state.lower()}",
            "level": "Info",
            "displayStatus": f"Provisioning {record.provisioning_state.lower()}",
            "time": iso(record.updated_at),
        },
        {
            "code": f"PowerState/{record.power_state}",
            "level": "Info",
            "displayStatus": _POWER_DISPLAY.get(record.power_state, f"VM {record.power_state}"),
        },
    ]
    view["patchStatus"] = {
        "availablePatchSummary": available_summary or _unknown_summary("assessment"),
        "lastPatchInstallationSummary": installation_summary or _unknown_summary("installation"),
        "configurationStatuses": rules.configuration_statuses(
            spec, images=images, today=today, applied=applied, now=now
        ),
    }
    return view
