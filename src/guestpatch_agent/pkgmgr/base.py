"""The backend port: what the agent needs from a package manager.

One implementation per package manager (``apt.py``, ``dnf.py`` (dnf and yum), ``zypper.py``,
``tdnf.py``). Each keeps the *running* of commands (through :class:`~guestpatch_agent.runner.Runner`)
apart from the *parsing* of their output (pure module-level ``parse_*`` functions pinned by golden
files under ``tests/agent/golden/``).
"""

import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Protocol, Sequence

from guestpatch_agent.model import Update


@dataclass(frozen=True)
class Root:
    """The file system being served: ``/`` for the host, or an alternate root (``--root DIR``)."""

    path: str = "/"

    @property
    def is_host(self) -> bool:
        return self.path.rstrip("/") == ""

    def join(self, *parts: str) -> str:
        base = self.path.rstrip("/")
        return base + "/" + "/".join(p.strip("/") for p in parts)

    def resolve(self, *parts: str) -> str:
        """Like :meth:`join`, but symbolic links are followed *inside* the root, as a chroot would.

        A mounted image's ``/var/run`` is often the absolute link ``/run``; :meth:`join` plus
        ``os.path.exists`` would then read the host's ``/run``. Links that climb above the root stay
        at the root, as ``..`` does at ``/``.
        """
        if self.is_host:
            return os.path.realpath("/" + "/".join(p.strip("/") for p in parts))
        base = os.path.realpath(self.path)
        pending = [c for p in parts for c in p.split("/") if c]
        resolved: List[str] = []
        hops = 0
        while pending:
            part = pending.pop(0)
            if part == ".":
                continue
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = os.path.join(base, *resolved, part)
            if os.path.islink(candidate):
                hops += 1
                if hops > 40:  # the kernel's limit for a loop of links
                    raise OSError("too many levels of symbolic links under {}".format(candidate))
                target = os.readlink(candidate)
                if target.startswith("/"):
                    resolved = []
                pending = [c for c in target.split("/") if c] + pending
                continue
            resolved.append(part)
        return os.path.join(base, *resolved)


@dataclass(frozen=True)
class Transaction:
    """What an install of some updates would change (from a dry run): the packages and their versions."""

    updates: Sequence[Update]
    removals: Sequence[str] = ()


class Backend(Protocol):
    """A package manager as the agent drives it. Every method has a deadline in seconds."""

    name: str

    def refresh(self, *, timeout: float) -> List[str]:
        """Refresh repository metadata; return warnings. Raise RepositoryUnreachable naming the repo."""
        ...

    def list_updates(self, *, timeout: float) -> List[Update]:
        """Every available update with its classification."""
        ...

    def simulate(self, updates: Sequence[Update], *, timeout: float) -> Transaction:
        """Dry-run installing exactly ``updates`` (pinned): what else would change (dependencies)."""
        ...

    def install(self, updates: Sequence[Update], *, timeout: float) -> None:
        """Install ``updates`` pinned to their versions. Success is verified by the caller."""
        ...

    def installed_versions(self, names: Sequence[str], *, timeout: float) -> Dict[str, str]:
        """Installed version per package name (names not installed are absent)."""
        ...

    def reboot_required(self, *, timeout: float) -> bool:
        """Does the system need a reboot to complete installed updates?"""
        ...

    def repair(self, *, timeout: float) -> Optional[str]:
        """Repair an interrupted package database (e.g. ``dpkg --configure -a``); say what was done."""
        ...
