"""The demo fleet's layout (pure and seeded) and the ARM bodies that create it.

About 60 machines (``--machines``) in 4 regions forming 2 geo-pairs (westeurope/northeurope,
eastus/westus), 3 zones per region, 2 availability sets (machines spread over update domains), 4
tenants (ARM subscriptions) with two resource groups each, three Linux images, and a few machines with
a time zone of their own. Every machine is ``AutomaticByPlatform`` with an application health probe
(tag ``guestpatch-health-probe``), which its simulated agent answers. Their ``assessmentMode`` is
``ImageDefault``: periodic assessments every three days, not daily, so none of them lands on a machine
just as the orchestrator wants to patch it (see docs/demo.md).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from guestpatch.demo.knobs import MAX_MACHINES, MIN_MACHINES
from guestpatch.errors import InvalidInput
from guestpatch.services.agents import HEALTH_PROBE_TAG, TIME_ZONE_TAG

#: Regions with their share of the fleet; pairs as in the region catalog. westeurope is the canary.
REGIONS = (("westeurope", 0.2), ("northeurope", 0.25), ("eastus", 0.3), ("westus", 0.25))
SHORT = {"westeurope": "weu", "northeurope": "neu", "eastus": "eus", "westus": "wus"}
TENANTS = ("contoso", "fabrikam", "tailspin", "northwind")
GROUPS = ("web", "data")
ZONES = ("1", "2", "3")
#: OS key → (share, ARM image reference, what the agent reports as its OS).
IMAGES: dict[str, tuple[float, dict[str, str], dict[str, str]]] = {
    "ubuntu-22.04": (
        0.5,
        {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2",
         "version": "latest"},
        {"family": "Linux", "distro": "ubuntu", "version": "22.04", "prettyName": "Ubuntu 22.04.5 LTS",
         "kernel": "5.15.0-122-generic", "architecture": "x86_64"},
    ),
    "debian-12": (
        0.3,
        {"publisher": "Debian", "offer": "debian-12", "sku": "12-gen2", "version": "latest"},
        {"family": "Linux", "distro": "debian", "version": "12", "prettyName": "Debian GNU/Linux 12 (bookworm)",
         "kernel": "6.1.0-26-amd64", "architecture": "x86_64"},
    ),
    "rhel-9": (
        0.2,
        {"publisher": "RedHat", "offer": "RHEL", "sku": "9-lvm-gen2", "version": "latest"},
        {"family": "Linux", "distro": "rhel", "version": "9", "prettyName": "Red Hat Enterprise Linux 9.4 (Plow)",
         "kernel": "5.14.0-427.37.1.el9_4.x86_64", "architecture": "x86_64"},
    ),
}
#: Availability sets: (tenant, resource group, name, region, machines).
AVAILABILITY_SETS = (("contoso", "web", "web-avset", "eastus", 6), ("fabrikam", "data", "db-avset", "westeurope", 4))
#: Machines with a time zone of their own (one hour from their region's), per region.
OWN_TIME_ZONES = {"westeurope": "Europe/London", "eastus": "America/Chicago"}
PROBE = "http://127.0.0.1:8080/health"


@dataclass(frozen=True)
class DemoMachine:
    name: str
    tenant: str  # the ARM subscription
    resource_group: str
    region: str
    os_key: str
    zone: str | None = None
    availability_set: str | None = None
    time_zone: str | None = None

    @property
    def path(self) -> str:
        return (f"/subscriptions/{self.tenant}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.Compute/virtualMachines/{self.name}")

    @property
    def os(self) -> dict[str, str]:
        return dict(IMAGES[self.os_key][2])


def demo_fleet(machines: int = 60, *, seed: int = 1) -> list[DemoMachine]:
    """The fleet: ``machines`` machines laid out as the module docstring says, the same for the same seed."""
    if not MIN_MACHINES <= machines <= MAX_MACHINES:
        raise InvalidInput(f"--machines must be between {MIN_MACHINES} and {MAX_MACHINES}.", target="--machines")
    rng = random.Random(f"demo-fleet:{seed}")  # noqa: S311 - a layout, not a secret
    counts = _apportion(machines, [share for _, share in REGIONS])
    os_keys = list(IMAGES)
    os_weights = [IMAGES[k][0] for k in os_keys]
    fleet: list[DemoMachine] = []
    for (region, _), count in zip(REGIONS, counts, strict=True):
        sets = [s for s in AVAILABILITY_SETS if s[3] == region]
        in_sets = [(s, i) for s in sets for i in range(s[4])][: max(0, count - 6)]
        own_tz = OWN_TIME_ZONES.get(region)
        for i in range(count):
            name = f"{SHORT[region]}-{i + 1:02d}"
            os_key = rng.choices(os_keys, os_weights)[0]
            if i < len(in_sets):
                (tenant, group, set_name, _, _), _k = in_sets[i]
                fleet.append(DemoMachine(f"{name}-{set_name.split('-')[0]}", tenant, group, region, os_key,
                                         availability_set=set_name))
                continue
            k = i - len(in_sets)
            tenant = TENANTS[rng.randrange(len(TENANTS))]
            group = GROUPS[k % len(GROUPS)]
            zone = ZONES[k % len(ZONES)]
            time_zone = own_tz if own_tz and k in (1, 5) else None
            fleet.append(DemoMachine(f"{name}-{group}", tenant, group, region, os_key, zone=zone,
                                     time_zone=time_zone))
    return fleet


def _apportion(total: int, shares: list[float]) -> list[int]:
    raw = [total * s / sum(shares) for s in shares]
    counts = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda j: raw[j] - counts[j], reverse=True)[: total - sum(counts)]:
        counts[i] += 1
    return counts


def vm_body(machine: DemoMachine) -> dict[str, Any]:
    """The ARM ``PUT`` body of a machine: its image, zone or availability set, patch settings and tags."""
    tags = {HEALTH_PROBE_TAG: PROBE, "role": machine.resource_group}
    if machine.time_zone:
        tags[TIME_ZONE_TAG] = machine.time_zone
    properties: dict[str, Any] = {
        "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
        "storageProfile": {"imageReference": dict(IMAGES[machine.os_key][1])},
        "osProfile": {
            "computerName": machine.name,
            "linuxConfiguration": {
                "provisionVMAgent": True,
                "patchSettings": {
                    "patchMode": "AutomaticByPlatform",
                    "assessmentMode": "ImageDefault",
                    "automaticByPlatformSettings": {"rebootSetting": "IfRequired"},
                },
            },
        },
    }
    if machine.availability_set:
        properties["availabilitySet"] = {"id": (
            f"/subscriptions/{machine.tenant}/resourceGroups/{machine.resource_group}"
            f"/providers/Microsoft.Compute/availabilitySets/{machine.availability_set}"
        )}
    body: dict[str, Any] = {"location": machine.region, "tags": tags, "properties": properties}
    if machine.zone:
        body["zones"] = [machine.zone]
    return body


def host_vm_body(location: str, computer_name: str) -> dict[str, Any]:
    """This machine's VM: assessed by the platform, never patched by it (``ImageDefault``)."""
    return {
        "location": location,
        "tags": {"role": "demo-host"},
        "properties": {
            "storageProfile": {"osDisk": {"osType": "Linux"}},
            "osProfile": {
                "computerName": computer_name,
                "linuxConfiguration": {
                    "provisionVMAgent": True,
                    "patchSettings": {"patchMode": "ImageDefault", "assessmentMode": "AutomaticByPlatform"},
                },
            },
        },
    }
