"""The OS auto-updaters: disabled for AutomaticByPlatform, restored byte for byte for ImageDefault."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from guestpatch_agent.autoupdate import disable_apt_periodic, disable_ini_updates, disable_suse_online_update
from tests.agent.agentrun import agent

AUTO_UPGRADES = 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n'
BLOCK = 'APT\n{\n  Periodic\n  {\n    Enable "1"; // on\n    AutocleanInterval "7";\n  };\n};\nAPT::Other "1";\n'
DNF = "[commands]\nupgrade_type = default\ndownload_updates = yes\napply_updates = yes\n"
TIMER = "[Unit]\nDescription=Daily apt activities\n[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n"


def test_apt_periodic_values_are_zeroed_in_line_and_block_form() -> None:
    """Every APT::Periodic value becomes "0"; other settings and comments stay as they were."""
    assert disable_apt_periodic(AUTO_UPGRADES) == AUTO_UPGRADES.replace('"1"', '"0"')
    assert disable_apt_periodic(BLOCK) == BLOCK.replace('Enable "1"', 'Enable "0"').replace('"7"', '"0"')


def test_ini_and_suse_edits() -> None:
    """dnf-automatic/yum-cron get download/apply = no; SUSE's cron job is switched off."""
    assert disable_ini_updates(DNF) == DNF.replace("= yes", "= no")
    assert disable_suse_online_update('AOU_ENABLE_CRONJOB="true"\n') == 'AOU_ENABLE_CRONJOB="false"\n'


def make_image(root: Path) -> dict[str, str]:
    files = {
        "etc/apt/apt.conf.d/20auto-upgrades": AUTO_UPGRADES,
        "etc/apt/apt.conf.d/10periodic": BLOCK,
        "etc/apt/apt.conf.d/70debconf": 'DPkg::Pre-Install-Pkgs {"/usr/sbin/dpkg-preconfigure --apt || true";};\n',
        "etc/dnf/automatic.conf": DNF,
        "lib/systemd/system/apt-daily.timer": TIMER,
        "lib/systemd/system/apt-daily-upgrade.timer": TIMER,
    }
    for relative, content in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content)
    (root / "etc/apt/apt.conf.d/20auto-upgrades").chmod(0o600)
    subprocess.run(["systemctl", "--root", str(root), "enable", "apt-daily.timer"], check=True, capture_output=True)
    return files


def is_enabled(root: Path, unit: str) -> str:
    return subprocess.run(["systemctl", "--root", str(root), "is-enabled", unit], check=False, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def image(tmp_path: Path) -> Path:
    if shutil.which("systemctl") is None:
        pytest.skip("systemctl is not installed")
    make_image(tmp_path)
    return tmp_path


def test_automatic_by_platform_disables_everything(image: Path) -> None:
    """Files under the root are edited and enabled units disabled (in the root, not on the host)."""
    code, result = agent("configure-patching", "--mode", "AutomaticByPlatform", "--root", str(image))
    assert (code, result["status"], result["automaticOSPatchState"]) == (0, "Succeeded", "Disabled")
    assert '"1"' not in (image / "etc/apt/apt.conf.d/20auto-upgrades").read_text()
    assert "apply_updates = no" in (image / "etc/dnf/automatic.conf").read_text()
    assert is_enabled(image, "apt-daily.timer") == "disabled"
    assert "disabled apt-daily.timer" in result["changes"]


def test_disabling_twice_changes_nothing_and_keeps_the_first_backup(image: Path) -> None:
    """The second AutomaticByPlatform is a no-op; the backup still holds the original files."""
    agent("configure-patching", "--mode", "AutomaticByPlatform", "--root", str(image))
    backup = (image / "var/lib/guestpatch-agent/autoupdate-backup.json").read_text()
    code, result = agent("configure-patching", "--mode", "AutomaticByPlatform", "--root", str(image))
    assert (code, result["changes"]) == (0, [])
    assert (image / "var/lib/guestpatch-agent/autoupdate-backup.json").read_text() == backup


def test_image_default_restores_exactly(image: Path) -> None:
    """ImageDefault puts every file back byte for byte (mode kept) and re-enables what was enabled."""
    before = {p: p.read_bytes() for p in image.rglob("*") if p.is_file()}
    modes = {p: p.stat().st_mode for p in before}
    agent("configure-patching", "--mode", "AutomaticByPlatform", "--root", str(image))
    code, result = agent("configure-patching", "--mode", "ImageDefault", "--root", str(image))
    assert (code, result["automaticOSPatchState"]) == (0, "Enabled")
    after = {p: p.read_bytes() for p in image.rglob("*") if p.is_file()}
    assert after == before
    assert {p: p.stat().st_mode for p in after} == modes
    assert is_enabled(image, "apt-daily.timer") == "enabled"
    assert is_enabled(image, "apt-daily-upgrade.timer") == "disabled"


def test_image_default_without_a_backup_changes_nothing(image: Path) -> None:
    """Restoring what was never disabled is a no-op that reports the current state."""
    code, result = agent("configure-patching", "--mode", "ImageDefault", "--root", str(image))
    assert (code, result["changes"], result["automaticOSPatchState"]) == (0, [], "Enabled")
