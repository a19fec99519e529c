"""The OS's own auto-updaters: disable them all for AutomaticByPlatform, restore them exactly for ImageDefault.

What is turned off (each only where it exists under the root):

- ``APT::Periodic::*`` in **every** file of ``etc/apt/apt.conf.d`` (line form and block form), set to "0";
- ``etc/dnf/automatic.conf`` and ``etc/yum/yum-cron.conf``: ``download_updates``/``apply_updates`` = no;
- ``etc/sysconfig/automatic_online_update`` (SUSE): ``AOU_ENABLE_CRONJOB="false"``;
- the units in :data:`UNITS` (apt-daily timers, unattended-upgrades, dnf-automatic timers, yum-cron,
  PackageKit) are disabled with ``systemctl`` (``systemctl --root=DIR`` under an alternate root,
  which edits the enablement links, never the running host; ``disable --now`` on the host).

The original content of every file changed and the enablement of every unit are backed up once, before
the first change, to ``autoupdate-backup.json`` in the state folder; a later AutomaticByPlatform only
adds what is new to it. ImageDefault writes the files back byte for byte, re-enables what was enabled,
and removes the backup. Both directions are idempotent. The file edits are pure functions.
"""

import json
import os
import re
from typing import Dict, List, Optional, Tuple

from guestpatch_agent.errors import AgentError, CommandError, UsageError
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.runner import Runner
from guestpatch_agent.state import write_atomically

AUTOMATIC_BY_PLATFORM = "AutomaticByPlatform"
IMAGE_DEFAULT = "ImageDefault"
MODES = (AUTOMATIC_BY_PLATFORM, IMAGE_DEFAULT)

UNITS = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "unattended-upgrades.service",
    "dnf-automatic.timer",
    "dnf-automatic-install.timer",
    "dnf-automatic-download.timer",
    "dnf-automatic-notifyonly.timer",
    "dnf5-automatic.timer",
    "yum-cron.service",
    "packagekit.service",
    "packagekit-offline-update.service",
)
UNIT_DIRS = ("etc/systemd/system", "usr/lib/systemd/system", "lib/systemd/system")
INI_FILES = ("etc/dnf/automatic.conf", "etc/yum/yum-cron.conf")
SUSE_FILE = "etc/sysconfig/automatic_online_update"
APT_PARTS = "etc/apt/apt.conf.d"
BACKUP = "autoupdate-backup.json"

_APT_VALUE_RE = re.compile(r'^(?P<head>\s*(?P<key>[A-Za-z0-9:_.-]+)\s+)"(?P<value>[^"]*)"(?P<tail>\s*;.*)$')
_APT_OPEN_RE = re.compile(r"^\s*(?P<key>[A-Za-z0-9:_.-]+)\s*\{\s*$")
_INI_RE = re.compile(r"^(?P<head>\s*(?P<key>download_updates|apply_updates)\s*=\s*)(?P<value>\S+)(?P<tail>.*)$")
_AOU_RE = re.compile(r'^(?P<head>\s*AOU_ENABLE_CRONJOB\s*=\s*)(?P<value>"[^"]*"|\S*)(?P<tail>.*)$')


# ---------------------------------------------------------------------- pure edits
def disable_apt_periodic(text: str) -> str:
    """Set every ``APT::Periodic::*`` value to "0", in ``A::B "v";`` lines and in ``APT { Periodic { ... } }``."""
    out = []
    stack: List[str] = []
    waiting: Optional[str] = None  # a block name whose "{" is on the next line
    for line in text.splitlines(keepends=True):
        body = line.split("//", 1)[0]
        opened = _APT_OPEN_RE.match(body)
        if opened:
            stack.append(opened.group("key"))
        elif body.strip() == "{" and waiting is not None:
            stack.append(waiting)
        elif body.strip().startswith("}"):
            if stack:
                stack.pop()
        else:
            value = _APT_VALUE_RE.match(line.rstrip("\n"))
            if value:
                path = "::".join([*stack, value.group("key")]).lower()
                if path.startswith("apt::periodic::") and value.group("value") != "0":
                    newline = "\n" if line.endswith("\n") else ""
                    out.append('{}"0"{}{}'.format(value.group("head"), value.group("tail"), newline))
                    continue
        bare = body.strip()
        waiting = bare if re.match(r"^[A-Za-z0-9:_.-]+$", bare) else None
        out.append(line)
    return "".join(out)


def disable_ini_updates(text: str) -> str:
    """``download_updates``/``apply_updates`` = no (dnf-automatic, yum-cron)."""
    return _rewrite(text, _INI_RE, "no")


def disable_suse_online_update(text: str) -> str:
    return _rewrite(text, _AOU_RE, '"false"')


def _rewrite(text: str, pattern: "re.Pattern[str]", value: str) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        match = pattern.match(line.rstrip("\n"))
        if match and match.group("value") != value:
            out.append(match.group("head") + value + match.group("tail") + ("\n" if line.endswith("\n") else ""))
        else:
            out.append(line)
    return "".join(out)


# ---------------------------------------------------------------------- the shell
class AutoUpdateControl:
    """Applies a patch mode to the auto-updaters under ``root``; the backup lives in ``state_dir``."""

    def __init__(self, runner: Runner, root: Root, state_dir: str) -> None:
        self._runner = runner
        self._root = root
        self._backup_path = os.path.join(state_dir, BACKUP)

    def configure(self, mode: str) -> Tuple[str, List[str]]:
        """Apply ``mode``; return the resulting automaticOSPatchState and the changes made."""
        if mode == AUTOMATIC_BY_PLATFORM:
            changes = self._disable()
        elif mode == IMAGE_DEFAULT:
            changes = self._restore()
        else:
            raise UsageError("unknown patch mode {!r}: use {}".format(mode, " or ".join(MODES)))
        return self.state(), changes

    def state(self) -> str:
        """``Enabled`` when any auto-updater would run, ``Disabled`` when none would."""
        for unit in self._present_units():
            if self._unit_state(unit) == "enabled":
                return "Enabled"
        return "Enabled" if self._edits() else "Disabled"

    # ------------------------------------------------------------------
    def _edits(self) -> List[Tuple[str, str]]:
        """(relative path, new content) for every file whose content the disable would change."""
        edits = []
        for relative, content in self._candidate_files():
            if relative.startswith(APT_PARTS):
                new = disable_apt_periodic(content)
            elif relative == SUSE_FILE:
                new = disable_suse_online_update(content)
            else:
                new = disable_ini_updates(content)
            if new != content:
                edits.append((relative, new))
        return edits

    def _candidate_files(self) -> List[Tuple[str, str]]:
        files = []
        parts = self._root.resolve(APT_PARTS)
        names = sorted(os.listdir(parts)) if os.path.isdir(parts) else []
        relatives = [APT_PARTS + "/" + n for n in names] + list(INI_FILES) + [SUSE_FILE]
        for relative in relatives:
            path = self._root.resolve(relative)
            if os.path.isfile(path):
                with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                    files.append((relative, handle.read()))
        return files

    def _disable(self) -> List[str]:
        backup = self._load_backup() or {"files": {}, "units": {}}
        edits = self._edits()
        units = {u: self._unit_state(u) for u in self._present_units()}
        for relative, _ in edits:
            if relative not in backup["files"]:
                with open(self._root.resolve(relative), encoding="utf-8", errors="surrogateescape") as handle:
                    backup["files"][relative] = handle.read()
        for unit, state in units.items():
            backup["units"].setdefault(unit, state)
        write_atomically(self._backup_path, json.dumps(backup, indent=1, sort_keys=True) + "\n")
        changes = []
        for relative, content in edits:
            _write_keeping_mode(self._root.resolve(relative), content)
            changes.append("disabled automatic updates in /{}".format(relative))
        for unit, state in units.items():
            if state == "enabled":
                self._systemctl("disable", unit)
                changes.append("disabled {}".format(unit))
        return changes

    def _restore(self) -> List[str]:
        backup = self._load_backup()
        if backup is None:
            return []
        changes = []
        for relative, content in sorted(backup["files"].items()):
            path = self._root.resolve(relative)
            current: Optional[str] = None
            if os.path.isfile(path):
                with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                    current = handle.read()
            if current != content:
                _write_keeping_mode(path, content)
                changes.append("restored /{}".format(relative))
        for unit, state in sorted(backup["units"].items()):
            if state == "enabled" and self._unit_state(unit) != "enabled":
                self._systemctl("enable", unit)
                changes.append("enabled {}".format(unit))
        os.unlink(self._backup_path)
        return changes

    def _load_backup(self) -> Optional[Dict[str, Dict[str, str]]]:
        try:
            with open(self._backup_path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise AgentError("the auto-update backup {} is unreadable: {}".format(self._backup_path, exc)) from exc
        if not isinstance(data, dict) or not all(isinstance(data.get(k), dict) for k in ("files", "units")):
            raise AgentError("the auto-update backup {} is malformed".format(self._backup_path))
        return data

    def _present_units(self) -> List[str]:
        return [u for u in UNITS if any(os.path.exists(self._root.resolve(d, u)) for d in UNIT_DIRS)]

    def _unit_state(self, unit: str) -> str:
        try:
            result = self._runner.run([*self._systemctl_base(), "is-enabled", unit], timeout=60, ok_codes=range(0, 256))
        except CommandError as exc:
            raise AgentError("systemctl is not usable here: {}".format(exc)) from exc
        return result.stdout.strip().splitlines()[0] if result.stdout.strip() else "unknown"

    def _systemctl(self, verb: str, unit: str) -> None:
        argv = [*self._systemctl_base(), verb]
        if self._root.is_host:
            argv.append("--now")
        self._runner.run([*argv, "--", unit], timeout=120)

    def _systemctl_base(self) -> List[str]:
        if self._root.is_host:
            return ["systemctl"]
        return ["systemctl", "--root=" + os.path.realpath(self._root.path)]


def _write_keeping_mode(path: str, content: str) -> None:
    mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644
    temporary = path + ".guestpatch-tmp"
    with open(temporary, "w", encoding="utf-8", errors="surrogateescape") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, mode)
    os.replace(temporary, path)
