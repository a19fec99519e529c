"""What the agent says about its machine: OS, kernel, architecture, host name, boot time.

The distribution comes from os-release *under the root being served* (``--root``); the kernel and the
architecture are those of the running system (an offline image has no kernel of its own running).
The boot time is ``btime`` of ``/proc/stat`` under the root, ``None`` where there is none (an image).
"""

import platform
import socket
from datetime import datetime, timezone
from typing import Any, Dict, Optional

from guestpatch_agent.model import Distro
from guestpatch_agent.pkgmgr.base import Root


def os_facts(distro: Distro) -> Dict[str, Any]:
    """The ``os`` object of enroll and heartbeat."""
    facts: Dict[str, Any] = {
        "family": "Linux",
        "distro": distro.id or "linux",
        "kernel": platform.release(),
        "architecture": platform.machine(),
    }
    if distro.version_id:
        facts["version"] = distro.version_id
    if distro.pretty_name:
        facts["prettyName"] = distro.pretty_name
    return facts


def host_name(root: Root) -> str:
    """``/etc/hostname`` under the root, else the running system's host name."""
    try:
        with open(root.resolve("etc/hostname"), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                name = line.split("#", 1)[0].strip()
                if name:
                    return name
    except OSError:
        pass
    return socket.gethostname()


def parse_boot_time(stat_text: str) -> Optional[datetime]:
    """``btime`` (seconds since the epoch) of a ``/proc/stat`` text, as a UTC time."""
    for line in stat_text.splitlines():
        key, _, value = line.partition(" ")
        if key == "btime" and value.strip().isdigit():
            return datetime.fromtimestamp(int(value.strip()), tz=timezone.utc)
    return None


def boot_time(root: Root) -> Optional[datetime]:
    try:
        with open(root.resolve("proc/stat"), encoding="ascii", errors="replace") as handle:
            return parse_boot_time(handle.read())
    except OSError:
        return None
