"""What only the dnf backend does, against the real dnf 4 and rpm in a fresh lab root."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from guestpatch_agent.errors import CommandError, LockTimeout, PackageManagerError, RepositoryUnreachable
from guestpatch_agent.model import Update
from guestpatch_agent.pkgmgr import rpm
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.pkgmgr.dnf import DnfBackend, releasever
from guestpatch_agent.runner import Runner
from tests.agent.rpm import lab
from tests.agent.rpm.conftest import RHEL

pytestmark = [pytest.mark.root]


def _add_broken_repo(root: Path, name: str = "broken") -> None:
    (root / f"etc/yum.repos.d/{name}.repo").write_text(
        f"[{name}]\nname=Broken {name}\nbaseurl=file://{root}/nonexistent-{name}\ngpgcheck=0\n"
    )


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process whose pid can stand in a lock file."""
    proc = subprocess.Popen(["sleep", "120"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def by_name(updates: list[Update]) -> dict[str, Update]:
    return {u.name: u for u in updates}


def test_an_unreachable_repository_is_a_warning_naming_it_while_others_work(
    dnf_backend: DnfBackend, dnf_root: Path
) -> None:
    """refresh names the broken repository; the lab's updates are still listed (the broken one disabled)."""
    _add_broken_repo(dnf_root)
    warnings = dnf_backend.refresh(timeout=120)
    assert len(warnings) == 1
    assert "broken" in warnings[0]
    assert {u.name for u in dnf_backend.list_updates(timeout=120)} == set(lab.EXPECTED)


def test_refresh_raises_when_no_repository_can_be_read(dnf_backend: DnfBackend, dnf_root: Path) -> None:
    """With every enabled repository unreachable, refresh raises RepositoryUnreachable naming one."""
    (dnf_root / "etc/yum.repos.d/lab.repo").unlink()
    _add_broken_repo(dnf_root, "first")
    _add_broken_repo(dnf_root, "second")
    with pytest.raises(RepositoryUnreachable) as caught:
        dnf_backend.refresh(timeout=120)
    assert caught.value.repository in ("first", "second")


def test_listing_without_cached_metadata_names_the_repository_instead_of_reporting_no_updates(
    dnf_backend: DnfBackend, dnf_root: Path
) -> None:
    """A repository never refreshed has no cache: the cache-only listing fails naming it, never "no updates"."""
    _add_broken_repo(dnf_root)
    with pytest.raises(RepositoryUnreachable) as caught:
        dnf_backend.list_updates(timeout=120)
    assert caught.value.repository == "broken"


def test_install_waits_for_the_rpmdb_lock_and_gives_up_with_lock_timeout(
    dnf_backend: DnfBackend, dnf_root: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    """Another live process holds dnf's rpmdb lock: install waits, then raises LockTimeout at its deadline."""
    alpha = by_name(dnf_backend.list_updates(timeout=120))["agt-alpha"]
    (dnf_root / "var/lib/dnf/rpmdb_lock.pid").write_text(str(sleeper.pid))
    with pytest.raises(LockTimeout):
        dnf_backend.install([alpha], timeout=6)


def test_simulate_of_an_unknown_version_is_an_error_not_an_empty_transaction(dnf_backend: DnfBackend) -> None:
    """dnf cannot find agt-alpha 9.9: simulate raises instead of answering "nothing would change"."""
    ghost = Update("agt-alpha", "noarch", "9.9-1", "1.0-1", "Other", "agt")
    with pytest.raises(CommandError) as caught:
        dnf_backend.simulate([ghost], timeout=120)
    assert "agt-alpha-9.9-1.noarch" in caught.value.stdout + caught.value.stderr


def test_a_core_package_installed_after_boot_is_noticed(dnf_backend: DnfBackend, dnf_root: Path) -> None:
    """The last-resort reboot hint: a package on the core list installed since boot means a reboot."""
    runner, root = dnf_backend.runner, Root(str(dnf_root))
    assert rpm.core_updated_since_boot(runner, root, ["agt-alpha"], timeout=30) is True
    assert rpm.core_updated_since_boot(runner, root, ["kernel", "glibc"], timeout=30) is False


def test_debians_rpm_needs_the_dbpath_macro_to_read_the_roots_database(
    dnf_root: Path, rpm_lab: lab.RpmLab, tmp_path: Path
) -> None:
    """With the lab's HOME (.rpmmacros: %_dbpath /var/lib/rpm) rpm reads the root's database; with another
    HOME, Debian's rpm looks in ~/.rpmdb and sees nothing. The backend passes no --dbpath on purpose."""
    default = subprocess.run(["rpm", "--eval", "%_dbpath"], env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    if default in ("/var/lib/rpm", "/usr/lib/sysimage/rpm"):
        pytest.skip(f"this host's rpm already uses {default}: not Debian's ~/.rpmdb default")
    with_macro = DnfBackend(Runner(env=rpm_lab.env), Root(str(dnf_root)), RHEL)
    without = DnfBackend(Runner(env={"HOME": str(tmp_path)}), Root(str(dnf_root)), RHEL)
    assert with_macro.installed_versions(["agt-alpha"], timeout=30) == {"agt-alpha": "1.0-1"}
    assert without.installed_versions(["agt-alpha"], timeout=30) == {}


def test_releasever_is_the_major_version_for_el_and_the_whole_version_for_fedora(tmp_path: Path) -> None:
    """RHEL 9.3 → "9"; Fedora 41 → "41"; the host → None (dnf finds it); a root's own vars file wins."""
    root = Root(str(tmp_path))
    assert releasever(root, RHEL) == "9"
    assert releasever(root, RHEL.__class__("fedora", "41")) == "41"
    assert releasever(Root("/"), RHEL) is None
    (tmp_path / "etc/dnf/vars").mkdir(parents=True)
    (tmp_path / "etc/dnf/vars/releasever").write_text("9.3\n")
    assert releasever(root, RHEL) is None


def test_repair_never_trades_a_damaged_database_for_an_empty_one(dnf_backend: DnfBackend, dnf_root: Path) -> None:
    """A malformed rpmdb: rpm --rebuilddb would rebuild it empty, so the backend puts the original back
    (byte for byte) and raises PackageManagerError instead of "repairing"."""
    database = dnf_root / "var/lib/rpm/rpmdb.sqlite"
    with database.open("r+b") as f:
        f.seek(4096)
        f.write(bytes(range(256)) * 8)
    damaged = hashlib.sha256(database.read_bytes()).hexdigest()
    with pytest.raises(PackageManagerError, match="put back"):
        dnf_backend.repair(timeout=60)
    assert hashlib.sha256(database.read_bytes()).hexdigest() == damaged
