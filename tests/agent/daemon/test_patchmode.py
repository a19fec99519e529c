"""The goal state's modes applied to a root's auto-updaters, and what the heartbeats then say."""

from __future__ import annotations

from pathlib import Path

from guestpatch_agent.autoupdate import AutoUpdateControl
from guestpatch_agent.patchmode import PatchModes
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.runner import Runner
from guestpatch_agent.testing import FakeClock

PERIODIC = 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n'


def modes_for(root: Path) -> PatchModes:
    state = str(root / "state")
    return PatchModes(state, AutoUpdateControl(Runner(), Root(str(root)), state), FakeClock())


def apt_root(tmp_path: Path) -> Path:
    parts = tmp_path / "etc/apt/apt.conf.d"
    parts.mkdir(parents=True)
    (parts / "20auto-upgrades").write_text(PERIODIC)
    return tmp_path


def test_automatic_by_platform_is_applied_once(tmp_path: Path) -> None:
    """The first application edits the root and is Succeeded; the same modes again do nothing."""
    root = apt_root(tmp_path)
    modes = modes_for(root)
    assert modes.current() is None
    assert modes.apply("AutomaticByPlatform", "AutomaticByPlatform") is True
    assert (root / "etc/apt/apt.conf.d/20auto-upgrades").read_text() == PERIODIC.replace('"1"', '"0"')
    assert modes.current() == {"patchMode": "AutomaticByPlatform", "assessmentMode": "AutomaticByPlatform",
                               "status": "Succeeded", "error": None, "appliedAt": "2026-11-26T08:00:00Z"}  # fmt: skip
    assert modes.apply("AutomaticByPlatform", "AutomaticByPlatform") is False


def test_a_successful_application_is_remembered_across_restarts(tmp_path: Path) -> None:
    """A restarted agent does not apply again what it applied before (configuration.json)."""
    root = apt_root(tmp_path)
    modes_for(root).apply("AutomaticByPlatform", "ImageDefault")
    restarted = modes_for(root)
    assert restarted.current()["status"] == "Succeeded"  # type: ignore[index]
    assert restarted.apply("AutomaticByPlatform", "ImageDefault") is False


def test_a_windows_patch_mode_fails_with_the_reason(tmp_path: Path) -> None:
    """AutomaticByOS is not a Linux mode: Failed, the error names it, nothing is touched."""
    root = apt_root(tmp_path)
    modes = modes_for(root)
    assert modes.apply("AutomaticByOS", "ImageDefault") is True
    current = modes.current()
    assert current is not None
    assert current["status"] == "Failed"
    assert "'AutomaticByOS' is not a Linux patch mode" in current["error"]
    assert (root / "etc/apt/apt.conf.d/20auto-upgrades").read_text() == PERIODIC


def test_a_failed_application_is_tried_again_only_on_change_or_restart(tmp_path: Path) -> None:
    """An unreadable backup fails ImageDefault; the same goal is not retried in a loop, a restart retries."""
    root = apt_root(tmp_path)
    (root / "state").mkdir()
    (root / "state/autoupdate-backup.json").write_text("{broken")
    modes = modes_for(root)
    assert modes.apply("ImageDefault", "ImageDefault") is True
    assert "unreadable" in modes.current()["error"]  # type: ignore[index]
    assert modes.apply("ImageDefault", "ImageDefault") is False
    assert modes_for(root).apply("ImageDefault", "ImageDefault") is True
