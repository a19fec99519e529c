"""The packaged catalogs: Azure's supported-OS table, current releases, end-of-life dates, aliases,
regions with valid IANA zones and their geo-pairs."""

from __future__ import annotations

import zoneinfo
from datetime import date

import pytest

from guestpatch.catalogs import load_image_aliases, load_image_catalog, load_region_catalog
from guestpatch.core.images import resolve_alias
from guestpatch.core.vm import ImageRef

TODAY = date(2026, 11, 26)

# Azure's "Supported OS images" table (automatic-vm-guest-patching.md), one row per sku, as written there.
AZURE_TABLE = [
    *[("Canonical", "UbuntuServer", s) for s in ("16.04-LTS", "16.04.0-LTS", "18.04-LTS", "18.04-LTS-gen2")],
    ("Canonical", "0001-com-ubuntu-pro-bionic", "pro-18_04-lts"),
    ("Canonical", "0001-com-ubuntu-server-focal", "20_04-lts"),
    ("Canonical", "0001-com-ubuntu-server-focal", "20_04-lts-gen2"),
    ("Canonical", "0001-com-ubuntu-pro-focal", "pro-20_04-lts"),
    ("Canonical", "0001-com-ubuntu-pro-focal", "pro-20_04-lts-gen2"),
    ("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts"),
    ("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2"),
    *[("microsoftcblmariner", "cbl-mariner", s)
      for s in ("cbl-mariner-1", "1-gen2", "cbl-mariner-2", "cbl-mariner-2-gen2")],
    *[("Redhat", "RHEL", s)
      for s in ("7.2", "7.3", "7.4", "7.5", "7.6", "7.7", "7.8", "7_9", "7-RAW", "7-LVM")],
    *[("Redhat", "RHEL", s)
      for s in ("8", "8.1", "81gen2", "8.2", "82gen2", "8_3", "83-gen2", "8_4", "84-gen2", "8_5", "85-gen2",
                "8_6", "86-gen2", "8-lvm", "8-lvm-gen2")],
    ("Redhat", "RHEL-RAW", "8-raw"),
    ("Redhat", "RHEL-RAW", "8-raw-gen2"),
    *[("OpenLogic", "CentOS", s) for s in ("7.2", "7.3", "7.4", "7.5", "7.6", "7.7", "7_8", "7_9", "7_9-gen2")],
    ("OpenLogic", "centos-lvm", "7-lvm"),
    *[("OpenLogic", "CentOS", s) for s in ("8.0", "8_1", "8_2", "8_3", "8_4", "8_5")],
    ("OpenLogic", "centos-lvm", "8-lvm"),
    *[("SUSE", offer, s) for offer in ("sles-12-sp5", "sles-15-sp2") for s in ("gen1", "gen2")],
    *[("MicrosoftWindowsServer", "WindowsServer", s) for s in (
        "2008-R2-SP1", "2012-R2-Datacenter", "2012-R2-Datacenter-gensecond", "2012-R2-Datacenter-smalldisk",
        "2012-R2-Datacenter-smalldisk-g2", "2016-Datacenter", "2016-datacenter-gensecond",
        "2016-Datacenter-Server-Core", "2016-datacenter-smalldisk", "2016-datacenter-with-containers",
        "2019-Datacenter", "2019-Datacenter-Core", "2019-datacenter-gensecond", "2019-datacenter-smalldisk",
        "2019-datacenter-smalldisk-g2", "2019-datacenter-with-containers", "2022-datacenter",
        "2022-datacenter-smalldisk", "2022-datacenter-smalldisk-g2", "2022-datacenter-g2", "2022-datacenter-core",
        "2022-datacenter-core-g2", "2022-datacenter-azure-edition", "2022-datacenter-azure-edition-core",
        "2022-datacenter-azure-edition-core-smalldisk", "2022-datacenter-azure-edition-smalldisk",
    )],
]

CURRENT_RELEASES = [
    ("Canonical", "ubuntu-24_04-lts", "server"),
    ("Canonical", "ubuntu-24_04-lts", "server-gen1"),
    ("Debian", "debian-12", "12-gen2"),
    ("Debian", "debian-13", "13-gen2"),
    ("RedHat", "RHEL", "9-lvm-gen2"),
    ("RedHat", "RHEL", "9_4"),
    ("almalinux", "almalinux-x86_64", "9-gen2"),
    ("resf", "rockylinux-x86_64", "9-base"),
    ("SUSE", "sles-15-sp7", "gen2"),
    ("MicrosoftCBLMariner", "azure-linux-3", "azure-linux-3-gen2"),
    ("MicrosoftWindowsServer", "WindowsServer", "2025-datacenter-azure-edition"),
]


@pytest.mark.parametrize(("publisher", "offer", "sku"), AZURE_TABLE + CURRENT_RELEASES)
def test_catalog_lists_every_row_of_azures_table_and_the_current_releases(publisher: str, offer: str, sku: str) -> None:
    """Every sku of the documented table, and the current release of each publisher, is supported."""
    assert load_image_catalog().lookup(ImageRef(publisher, offer, sku)) is not None


def test_every_catalog_entry_has_an_end_of_life_except_announced_none() -> None:
    """Only Azure Linux 3 lacks an announced end-of-life date in the shipped catalog."""
    undated = {e.family for e in load_image_catalog().entries() if e.end_of_life is None}
    assert undated == {"azurelinux"}


@pytest.mark.parametrize(
    ("publisher", "offer", "sku", "past"),
    [
        ("Canonical", "UbuntuServer", "18.04-LTS", True),
        ("Canonical", "0001-com-ubuntu-server-focal", "20_04-lts", True),
        ("Canonical", "0001-com-ubuntu-pro-focal", "pro-20_04-lts", False),  # Ubuntu Pro: ESM to 2030
        ("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2", False),
        ("OpenLogic", "CentOS", "7_9", True),
        ("OpenLogic", "CentOS", "8_5", True),
        ("Debian", "debian-11", "11-backports-gen2", True),
        ("Debian", "debian-12", "12-gen2", False),
        ("SUSE", "sles-15-sp5", "gen2", True),
        ("MicrosoftWindowsServer", "WindowsServer", "2012-R2-Datacenter", True),
        ("MicrosoftWindowsServer", "WindowsServer", "2016-Datacenter", False),
        ("MicrosoftWindowsServer", "WindowsServer", "2022-datacenter-g2", False),
    ],
)
def test_end_of_life_on_2026_11_26(publisher: str, offer: str, sku: str, past: bool) -> None:
    """On the project's today some listed images are past end of life and others are not."""
    entry = load_image_catalog().lookup(ImageRef(publisher, offer, sku))
    assert entry is not None
    assert entry.is_past_end_of_life(TODAY) is past


@pytest.mark.parametrize(
    ("publisher", "offer", "sku", "end"),
    [
        ("Canonical", "UbuntuServer", "18.04-LTS", date(2023, 5, 31)),
        ("Canonical", "0001-com-ubuntu-server-focal", "20_04-lts", date(2025, 5, 31)),
        ("OpenLogic", "CentOS", "7_9", date(2024, 6, 30)),
        ("OpenLogic", "CentOS", "8_5", date(2021, 12, 31)),
        ("MicrosoftWindowsServer", "WindowsServer", "2012-R2-Datacenter", date(2023, 10, 10)),
        ("MicrosoftWindowsServer", "WindowsServer", "2016-Datacenter", date(2027, 1, 12)),
    ],
)
def test_end_of_life_dates_the_brief_names(publisher: str, offer: str, sku: str, end: date) -> None:
    """The well-known end-of-standard-support dates are the ones shipped."""
    entry = load_image_catalog().lookup(ImageRef(publisher, offer, sku))
    assert entry is not None
    assert entry.end_of_life == end


def test_windows_entries_and_only_they_are_windows() -> None:
    """osType Windows goes with the family 'windows' and the MicrosoftWindowsServer publisher."""
    for entry in load_image_catalog().entries():
        assert (entry.os_type == "Windows") == (entry.family == "windows") == (
            entry.publisher == "MicrosoftWindowsServer"
        )


@pytest.mark.parametrize(
    "alias",
    ["Ubuntu2204", "Ubuntu2404", "Debian11", "Debian12", "RHELRaw8LVMGen2", "CentOS85Gen2", "OpenSuseLeap154Gen2",
     "SuseSles15SP5", "Win2022Datacenter", "Win2019Datacenter", "Win2016Datacenter", "Win2025Datacenter"],
)
def test_the_az_cli_aliases_resolve(alias: str) -> None:
    """Each alias the brief names resolves to a publisher:offer:sku:version."""
    ref = resolve_alias(alias, load_image_aliases())
    assert ref.version == "latest"


@pytest.mark.parametrize(
    ("alias", "in_catalog"),
    [("Ubuntu2204", True), ("Ubuntu2404", True), ("Debian12", True), ("Win2022Datacenter", True),
     ("Win2025Datacenter", True), ("CentOS85Gen2", True), ("OpenSuseLeap154Gen2", False),
     ("FlatcarLinuxFreeGen2", False)],
)
def test_aliases_point_into_the_catalog_where_azure_supports_the_image(alias: str, in_catalog: bool) -> None:
    """Aliases of supported images land on catalog entries; openSUSE Leap and Flatcar are not supported."""
    ref = resolve_alias(alias, load_image_aliases())
    assert (load_image_catalog().lookup(ref) is not None) is in_catalog


def test_every_region_time_zone_is_an_iana_zone() -> None:
    """Each shipped region's time zone is known to zoneinfo."""
    zones = zoneinfo.available_timezones()
    assert [r.name for r in load_region_catalog().regions() if r.time_zone not in zones] == []


@pytest.mark.parametrize(
    ("a", "b"),
    [("eastus", "westus"), ("eastus2", "centralus"), ("northcentralus", "southcentralus"),
     ("westus2", "westcentralus"), ("northeurope", "westeurope"), ("uksouth", "ukwest"),
     ("germanywestcentral", "germanynorth"), ("eastasia", "southeastasia"), ("japaneast", "japanwest"),
     ("australiaeast", "australiasoutheast"), ("centralindia", "southindia"), ("brazilsouth", "brazilsoutheast"),
     ("canadacentral", "canadaeast"), ("southafricanorth", "southafricawest")],
)
def test_published_geo_pairs_are_shipped_both_ways(a: str, b: str) -> None:
    """Azure's published pairs read the same from both regions."""
    regions = load_region_catalog()
    assert (regions.pair_of(a), regions.pair_of(b)) == (b, a)


@pytest.mark.parametrize("name", ["westus3", "westindia", "polandcentral", "italynorth", "qatarcentral",
                                  "israelcentral", "mexicocentral", "newzealandnorth"])
def test_regions_without_a_symmetric_pair_are_unpaired(name: str) -> None:
    """Regions Azure leaves unpaired, or pairs one-way (westus3, westindia), have no pair here."""
    regions = load_region_catalog()
    assert name in regions
    assert regions.pair_of(name) is None


def test_region_catalog_covers_azures_public_cloud() -> None:
    """About sixty public regions are shipped, each tagged builtin."""
    regions = load_region_catalog().regions()
    assert len(regions) >= 55
    assert {r.source for r in regions} == {"builtin"}
