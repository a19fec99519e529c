"""os-release parsing, backend choice, and link resolution inside a root."""

from __future__ import annotations

from pathlib import Path

import pytest

from guestpatch_agent.errors import PackageManagerError
from guestpatch_agent.model import Distro
from guestpatch_agent.osrelease import distro_from_fields, parse_os_release, read_distro
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.pkgmgr.detect import choose_backend

UBUNTU = 'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\n# comment\n'


def test_parse_os_release_unquotes_and_skips_comments() -> None:
    """Quoted values are unquoted; comments and blank lines are ignored."""
    fields = parse_os_release(UBUNTU)
    assert distro_from_fields(fields) == Distro("ubuntu", "22.04", ("debian",), "Ubuntu 22.04.4 LTS")


def test_read_distro_follows_the_os_release_link_inside_the_root(tmp_path: Path) -> None:
    """/etc/os-release -> /usr/lib/os-release (absolute) is read from the root, not from the host."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "usr/lib").mkdir(parents=True)
    (tmp_path / "usr/lib/os-release").write_text(UBUNTU)
    (tmp_path / "etc/os-release").symlink_to("/usr/lib/os-release")
    assert read_distro(Root(str(tmp_path))).id == "ubuntu"


def test_missing_os_release_is_a_clear_error(tmp_path: Path) -> None:
    """A root without os-release says where it looked."""
    with pytest.raises(PackageManagerError, match="no os-release under"):
        read_distro(Root(str(tmp_path)))


def test_root_resolve_keeps_absolute_links_inside_the_root(tmp_path: Path) -> None:
    """var/run -> /run resolves to ROOT/run, and .. never climbs above the root."""
    (tmp_path / "var").mkdir()
    (tmp_path / "run").mkdir()
    (tmp_path / "var/run").symlink_to("/run")
    root = Root(str(tmp_path))
    assert root.resolve("var/run/reboot-required") == str(tmp_path / "run/reboot-required")
    assert root.resolve("../../etc/passwd") == str(tmp_path / "etc/passwd")


@pytest.mark.parametrize(
    ("os_id", "version", "like", "present", "expected"),
    [
        ("debian", "12", "", {"apt-get"}, "apt"),
        ("ubuntu", "24.04", "debian", {"apt-get", "dnf"}, "apt"),
        ("rhel", "9.4", "fedora", {"dnf", "yum"}, "dnf"),
        ("almalinux", "8.10", "rhel centos fedora", {"dnf", "yum"}, "dnf"),
        ("rocky", "9.3", "rhel centos fedora", {"dnf"}, "dnf"),
        ("ol", "8.9", "fedora", {"dnf", "yum"}, "dnf"),
        ("centos", "9", "rhel fedora", {"dnf", "yum"}, "dnf"),
        ("fedora", "40", "", {"dnf"}, "dnf"),
        ("centos", "7", "rhel fedora", {"yum", "dnf"}, "yum"),
        ("rhel", "8.9", "fedora", {"yum"}, "yum"),
        ("sles", "15.5", "suse", {"zypper", "rpm"}, "zypper"),
        ("opensuse-leap", "15.5", "suse opensuse", {"zypper"}, "zypper"),
        ("azurelinux", "3.0", "", {"tdnf"}, "tdnf"),
        ("mariner", "2.0", "", {"tdnf", "dnf"}, "tdnf"),
        ("unknownos", "1", "", {"zypper"}, "zypper"),
    ],
)
def test_backend_choice(os_id: str, version: str, like: str, present: set[str], expected: str) -> None:
    """os-release picks the family; the binaries present break ties (EL 7 -> yum, EL 8+ -> dnf)."""
    assert choose_backend(Distro(os_id, version, tuple(like.split())), present) == expected


def test_no_package_manager_names_what_was_looked_for() -> None:
    """A Debian root on a host without apt-get is an error naming the distribution and the binary."""
    with pytest.raises(PackageManagerError, match=r"Debian 12.*apt-get"):
        choose_backend(Distro("debian", "12", (), "Debian 12"), {"dnf"})
