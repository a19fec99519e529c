"""Installation with the real apt/dpkg in disposable roots; every outcome checked in the root's dpkg database."""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest

from tests.agent import aptlab
from tests.agent.agentrun import agent, patches_by_name

pytestmark = pytest.mark.root


def install(root: aptlab.AptRoot, *extra: str, duration: str = "PT2H", reboot: str = "Never") -> tuple[int, dict]:  # type: ignore[type-arg]
    return agent("install", "--root", str(root.path), "--maximum-duration", duration, "--reboot-setting", reboot,
                 *extra)


def changed(before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    return {name: version for name, version in after.items() if before.get(name) != version}


def test_security_only_install_changes_exactly_the_security_packages(apt_root: aptlab.AptRoot) -> None:
    """--classifications Security upgrades the six security packages to their security versions, nothing else."""
    before = apt_root.installed()
    code, result = install(apt_root, "--classifications", "Security")
    assert changed(before, apt_root.installed()) == aptlab.SECURITY
    assert (result["installedPatchCount"], result["notSelectedPatchCount"], result["failedPatchCount"]) == (6, 6, 0)
    states = {n: p["installationState"] for n, p in patches_by_name(result).items()}
    assert {n for n, s in states.items() if s == "Installed"} == set(aptlab.SECURITY)
    # agt-kernel asked for a reboot; Never leaves it Required and ends with a warning
    assert (code, result["status"], result["rebootStatus"]) == (0, "CompletedWithWarnings", "Required")
    assert result["error"]["details"][0]["code"] == "RebootNotPerformed"


def test_every_patch_ends_in_a_state_verified_against_dpkg(apt_root: aptlab.AptRoot) -> None:
    """Installing everything: the failing postinst is Failed (retried alone), the rest Installed as dpkg says."""
    code, result = install(apt_root, "--classifications", "Critical,Security,Other")
    installed = apt_root.installed()
    states = {n: p["installationState"] for n, p in patches_by_name(result).items()}
    assert states.pop("agt-broken") == "Failed"
    assert all(s == "Installed" for s in states.values())
    assert all(installed[n] == v for n, v in {**aptlab.SECURITY, **aptlab.OTHER}.items() if n != "agt-broken")
    assert apt_root.dpkg_status()["agt-broken"] == ("1.1", "iF")
    assert (code, result["status"], result["failedPatchCount"]) == (1, "Failed", 1)
    failure = [d for d in result["error"]["details"] if d["code"] == "PackageInstallFailed"]
    assert "agt-broken" in failure[0]["message"]
    assert "post-installation script" in failure[0]["message"]


def test_a_new_dependency_is_installed_with_its_parent(apt_root: aptlab.AptRoot) -> None:
    """agt-needsdep 1.1 pulls in the new package agt-newdep: allowed, and not a patch of its own."""
    code, result = install(apt_root, "--classifications", "Security", "--include", "agt-needsdep")
    assert code == 0
    assert apt_root.installed()["agt-newdep"] == "1.0"
    assert patches_by_name(result)["agt-needsdep"]["installationState"] == "Installed"
    assert "agt-newdep" not in patches_by_name(result)


def test_a_patch_needing_an_excluded_update_is_excluded_too(apt_root: aptlab.AptRoot) -> None:
    """Excluding agt-child excludes agt-parent (which requires agt-child >= 1.1), with the reason."""
    code, result = install(apt_root, "--classifications", "Other", "--exclude", "agt-child", "--exclude", "agt-broken")
    patches = patches_by_name(result)
    assert patches["agt-child"]["installationState"] == "Excluded"
    assert patches["agt-parent"]["installationState"] == "Excluded"
    installed = apt_root.installed()
    assert (installed["agt-parent"], installed["agt-child"]) == ("1.0", "1.0")
    assert installed["agt-charlie"] == "1.1"
    assert code == 0
    assert result["excludedPatchCount"] == 3


def test_include_masks_select_by_name_and_version(apt_root: aptlab.AptRoot) -> None:
    """Without classifications, only the packages the masks name are installed (epoch version matched)."""
    before = apt_root.installed()
    code, result = install(apt_root, "--include", "agt-epoch=1:1.*", "--include", "libstdc++?", "--include",
                           "agt-tilde=9.*")
    assert code == 0
    assert changed(before, apt_root.installed()) == {"agt-epoch": "1:1.1", "libstdc++6": "1.1"}
    assert result["installedPatchCount"] == 2
    assert patches_by_name(result)["agt-tilde"]["installationState"] == "NotSelected"


def test_no_transaction_starts_when_the_window_is_too_short(apt_root: aptlab.AptRoot) -> None:
    """Four minutes cannot hold the 5-minute worst case: nothing is installed, all stay Pending."""
    before = apt_root.installed()
    code, result = install(apt_root, "--classifications", "Security", duration="PT4M")
    assert apt_root.installed() == before
    assert result["maintenanceWindowExceeded"] is True
    assert (code, result["status"], result["pendingPatchCount"], result["installedPatchCount"]) == (1, "Failed", 6, 0)


def test_the_reboot_buffer_is_kept_when_rebooting_is_allowed(apt_root: aptlab.AptRoot) -> None:
    """Fifteen minutes suffice with Never, but not with IfRequired (5 + 15-minute reboot buffer)."""
    rebooting = install(apt_root, "--classifications", "Security", "--reboot-command", "true",
                        duration="PT15M", reboot="IfRequired")[1]
    assert (rebooting["maintenanceWindowExceeded"], rebooting["installedPatchCount"]) == (True, 0)
    never = install(apt_root, "--classifications", "Security", duration="PT15M")[1]
    assert (never["maintenanceWindowExceeded"], never["installedPatchCount"]) == (False, 6)


def test_an_interrupted_dpkg_is_repaired_and_reported(apt_root: aptlab.AptRoot) -> None:
    """A dpkg journal left behind is repaired with dpkg --configure -a before installing, and said so."""
    (apt_root.path / "var/lib/dpkg/updates/0001").write_text("")
    code, result = install(apt_root, "--include", "agt-alpha")
    assert code == 0
    assert result["status"] == "CompletedWithWarnings"
    assert result["error"]["details"][0]["code"] == "PackageManagerRepaired"
    assert "dpkg --configure -a" in result["error"]["details"][0]["message"]
    assert apt_root.installed()["agt-alpha"] == "1.1"


def test_the_dpkg_lock_is_waited_for_within_the_budget(apt_root: aptlab.AptRoot) -> None:
    """While another process holds the dpkg frontend lock the install waits, then proceeds."""
    lock_path = apt_root.path / "var/lib/dpkg/lock-frontend"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    released = threading.Event()

    def release() -> None:
        time.sleep(3)
        os.close(fd)
        released.set()

    threading.Thread(target=release, daemon=True).start()
    code, result = install(apt_root, "--include", "agt-alpha", "--no-refresh")
    assert released.is_set()
    assert (code, result["installedPatchCount"]) == (0, 1)
    assert apt_root.installed()["agt-alpha"] == "1.1"
