"""This machine's own agent in the demo: the real ``guestpatch-agent``, assessment-only.

Its VM (``ImageDefault``, ``assessmentMode=AutomaticByPlatform``) is created through ARM, the agent is
enrolled with ``guestpatch-agent enroll`` and served by ``guestpatch-agent run --assessment-only`` as a
child process (its log in ``DATA_DIR/host-agent.log``); the demo then asks for an assessment through
ARM, so the host's real available patches appear in the dashboard. Nothing is installed on the host:
the platform never patches an ``ImageDefault`` VM, and the agent refuses installations anyway. Run
without root, the agent assesses from the package lists as they are (``--no-refresh``).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from guestpatch.core.vm import validate_vm_name
from guestpatch.errors import GuestpatchError

SUBSCRIPTION = "demo-host"
RESOURCE_GROUP = "this-machine"
LOCATION = "westeurope"


def host_vm_name(hostname: str | None = None) -> str:
    """This host's name as a VM resource name (``this-host`` if nothing usable is left of it)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", (hostname or socket.gethostname()).split(".")[0])[:64].strip("-.")
    try:
        validate_vm_name(name)
    except GuestpatchError:
        return "this-host"
    return name


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@dataclass
class HostAgent:
    """Enrolls and runs the host's agent; :meth:`stop` ends it (SIGTERM, then SIGKILL)."""

    server: str
    ca_file: Path
    data_dir: Path
    name: str = field(default_factory=host_vm_name)
    refresh: bool = field(default_factory=is_root)  # refreshing package lists needs root
    process: subprocess.Popen[bytes] | None = None

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "host-agent"

    @property
    def log(self) -> Path:
        return self.data_dir / "host-agent.log"

    def _command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "guestpatch_agent", *args, "--root", "/", "--state-dir", str(self.state_dir)]

    def enroll(self, token: str) -> None:
        """``guestpatch-agent enroll`` (blocking; a few seconds at most)."""
        done = subprocess.run(
            self._command("enroll", "--server", self.server, "--token", token, "--ca-file", str(self.ca_file),
                          "--name", self.name, "--location", LOCATION),
            capture_output=True, text=True, timeout=60, check=False, env=_environment(),
        )  # fmt: skip
        if done.returncode != 0:
            raise GuestpatchError(f"the host agent could not enroll: {done.stderr.strip() or done.stdout.strip()}")

    def run_command(self) -> list[str]:
        """``guestpatch-agent run --assessment-only`` (with ``--no-refresh`` unless root)."""
        return self._command("run", "--assessment-only", *([] if self.refresh else ["--no-refresh"]))

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.run_command(), stdout=log, stderr=subprocess.STDOUT, env=_environment(),
                start_new_session=True,  # Ctrl-C reaches the demo, which stops the agent itself
            )

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTPATCH_")}
    env["LC_ALL"] = "C"
    return env
