"""What only the zypper backend does, against the real zypper/libzypp and rpm in a fresh lab root."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from guestpatch_agent.errors import LockTimeout, RepositoryUnreachable
from guestpatch_agent.model import Classification, Update
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.pkgmgr.zypper import ZypperBackend, zypper_spec
from guestpatch_agent.runner import Runner
from tests.agent.rpm import lab
from tests.agent.rpm.conftest import SLES

pytestmark = [pytest.mark.root]


def _zypper(root: Path, rpm_lab: lab.RpmLab, *args: str) -> None:
    subprocess.run(["zypper", "--non-interactive", "--quiet", "--root", str(root), *args],
                   check=True, capture_output=True, env=lab.zypper_env(root, rpm_lab))  # fmt: skip


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "120"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def by_name(updates: list[Update]) -> dict[str, Update]:
    return {u.name: u for u in updates}


def test_an_unreachable_repository_is_a_warning_naming_it_while_others_work(
    zypper_backend: ZypperBackend, zypper_root: Path, rpm_lab: lab.RpmLab
) -> None:
    """refresh warns about the broken repository; listing still works (zypper's exit 106 is expected)."""
    _zypper(zypper_root, rpm_lab, "addrepo", "--no-gpgcheck", f"file://{zypper_root}/nonexistent", "broken")
    warnings = zypper_backend.refresh(timeout=120)
    assert warnings == ["repository broken cannot be reached; its updates are not assessed"]
    assert {u.name for u in zypper_backend.list_updates(timeout=120)} == set(lab.EXPECTED)


def test_a_repository_failing_after_refresh_is_not_silently_skipped(
    zypper_backend: ZypperBackend, zypper_root: Path, rpm_lab: lab.RpmLab
) -> None:
    """zypper skips a repository it cannot read (exit 106); unannounced, that is RepositoryUnreachable."""
    _zypper(zypper_root, rpm_lab, "addrepo", "--no-gpgcheck", f"file://{zypper_root}/nonexistent", "broken")
    with pytest.raises(RepositoryUnreachable) as caught:
        zypper_backend.list_updates(timeout=120)
    assert caught.value.repository == "broken"


def test_refresh_raises_when_no_repository_can_be_read(
    zypper_backend: ZypperBackend, zypper_root: Path, rpm_lab: lab.RpmLab
) -> None:
    """Every enabled repository unreachable: refresh raises RepositoryUnreachable naming it."""
    _zypper(zypper_root, rpm_lab, "modifyrepo", "--disable", "agt", "plain")
    _zypper(zypper_root, rpm_lab, "addrepo", "--no-gpgcheck", f"file://{zypper_root}/nonexistent", "broken")
    with pytest.raises(RepositoryUnreachable) as caught:
        zypper_backend.refresh(timeout=120)
    assert caught.value.repository == "broken"


def test_a_held_zypp_lock_ends_in_lock_timeout(
    zypper_backend: ZypperBackend, zypper_root: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    """A live process holds the zypp lock: zypper waits ZYPP_LOCK_TIMEOUT, exits 7 → LockTimeout naming it."""
    (zypper_root / "run/zypp.pid").write_text(str(sleeper.pid))
    with pytest.raises(LockTimeout, match=f"pid {sleeper.pid}"):
        zypper_backend.list_updates(timeout=6)


def test_a_new_process_learns_of_the_pending_reboot_from_zypper(
    zypper_backend: ZypperBackend, zypper_root: Path, lab_runner: Runner
) -> None:
    """agt-kernel provides installhint(reboot-needed): libzypp records it, and a fresh backend (no memory of
    the install, as after an agent restart) gets the answer from ``zypper needs-rebooting``."""
    kernel = by_name(zypper_backend.list_updates(timeout=120))["agt-kernel"]
    zypper_backend.install([kernel], timeout=300)
    fresh = ZypperBackend(lab_runner, Root(str(zypper_root)), SLES)
    assert fresh.reboot_required(timeout=60) is True


def test_a_fresh_backend_sees_no_pending_reboot_after_an_ordinary_update(
    zypper_backend: ZypperBackend, zypper_root: Path, lab_runner: Runner
) -> None:
    """agt-bravo carries no reboot hint: after installing it, needs-rebooting says no."""
    bravo = by_name(zypper_backend.list_updates(timeout=120))["agt-bravo"]
    zypper_backend.install([bravo], timeout=300)
    assert ZypperBackend(lab_runner, Root(str(zypper_root)), SLES).reboot_required(timeout=60) is False


def test_optional_patches_classify_their_packages(zypper_backend: ZypperBackend) -> None:
    """zypper lists the enhancement advisory as status "optional": it still names agt-echo's patch."""
    echo = by_name(zypper_backend.list_updates(timeout=120))["agt-echo"]
    assert (echo.classification, echo.advisories) == (Classification.OTHER, ("AGT-2026:0004",))


def test_pinned_specs_carry_arch_and_epoch() -> None:
    """name.arch=[epoch:]version-release, the form zypper resolves to exactly one package."""
    update = Update("agt-epoch", "noarch", "1:1.0-1", "2.0-1", Classification.SECURITY, "agt")
    assert zypper_spec(update) == "agt-epoch.noarch=1:1.0-1"
