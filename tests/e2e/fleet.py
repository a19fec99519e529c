"""Real agents and the ARM surface, for the end-to-end tests.

:class:`AgentProcess` is one machine: a disposable root (from the apt or rpm lab) served by a real
``guestpatch-agent`` process (``enroll``, then ``run``) started from the source tree or from the
built zipapp under another Python. :class:`Arm` drives the control plane the way an Azure script
does: ARM actions, their ``Azure-AsyncOperation`` URLs, the instance view.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.server_fixtures import LiveServer

REPO = Path(__file__).resolve().parents[2]
PYTHON = str(REPO / ".venv/bin/python")
API = "api-version=2026-04-01"
SUB = "e2e-sub"
RG = "e2e-rg"


@dataclass
class AgentProcess:
    """One machine: ``root`` served by ``guestpatch-agent`` (``command`` runs it, e.g. python -m)."""

    name: str
    root: Path
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=lambda: [PYTHON, "-m", "guestpatch_agent"])
    process: subprocess.Popen[str] | None = None
    starts: int = 0
    apt: Any = None  # the apt lab's AptRoot of this root (apt machines only)

    @property
    def state_dir(self) -> Path:
        return self.root / "var/lib/guestpatch-agent"

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GUESTPATCH_", "PYTHON"))}
        env["PYTHONPATH"] = str(REPO / "src")
        env.update(self.env)
        return env

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run one agent command to completion (enroll, run --once, ...)."""
        return subprocess.run([*self.command, *args], capture_output=True, text=True, env=self._env(),
                              timeout=timeout, check=False)  # fmt: skip

    def enroll(self, server: LiveServer, token: str, *, location: str = "westeurope") -> dict[str, Any]:
        done = self.cli("enroll", "--server", server.url, "--token", token, "--ca-file", str(server.ca),
                        "--root", str(self.root), "--name", self.name, "--location", location)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    def start(self, *extra: str) -> AgentProcess:
        """``guestpatch-agent run`` in the background; its output goes to ``log`` (appended)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with self.log.open("a") as log:
            log.write(f"---- start {self.starts}\n")
            log.flush()
            self.process = subprocess.Popen(
                [*self.command, "run", "--root", str(self.root), *extra],
                stdout=log, stderr=subprocess.STDOUT, env=self._env(), text=True,
            )  # fmt: skip
        return self

    def kill(self) -> None:
        """SIGKILL the agent process (the machine's agent dies; its children live on, as they would)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM, as systemd stops the unit; the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


def wait_for(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.2) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


@dataclass
class Arm:
    """The ARM surface of one server, as an Azure script uses it."""

    server: LiveServer
    resource_group: str = RG
    subscription: str = SUB

    def client(self) -> httpx.Client:
        return self.server.client()

    def vm_path(self, name: str) -> str:
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.Compute/virtualMachines/{name}")  # fmt: skip

    def enrollment_token(self, uses: int = 10) -> str:
        with self.client() as http:
            answer = http.post("/v1/enrollmentTokens", json={"subscription": self.subscription,
                                                             "resourceGroup": self.resource_group, "uses": uses})
        assert answer.status_code in (200, 201), answer.text
        return str(answer.json()["token"])

    def action(self, name: str, action: str, body: dict[str, Any] | None = None) -> str:
        """POST an ARM action (assessPatches, installPatches); its Azure-AsyncOperation URL."""
        with self.client() as http:
            answer = http.post(f"{self.vm_path(name)}/{action}?{API}", json=body)
        assert answer.status_code == 202, answer.text
        assert int(answer.headers["Retry-After"]) >= 1
        return str(answer.headers["Azure-AsyncOperation"])

    def status(self, url: str) -> dict[str, Any]:
        with self.client() as http:
            answer = http.get(url)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def wait(self, url: str, *, timeout: float = 180) -> dict[str, Any]:
        """Follow the async operation until it is no longer InProgress; its last status body."""
        return dict(wait_for(lambda: (s := self.status(url))["status"] != "InProgress" and s,
                             timeout=timeout, what=f"the operation {url}", every=0.5))  # fmt: skip

    def instance_view(self, name: str) -> dict[str, Any]:
        with self.client() as http:
            answer = http.get(f"{self.vm_path(name)}/instanceView?{API}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def patch_vm(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.client() as http:
            answer = http.patch(f"{self.vm_path(name)}?{API}", json=body)
        assert answer.status_code in (200, 202), answer.text
        return dict(answer.json())


INSTALL_SECURITY = {
    "maximumDuration": "PT2H",
    "rebootSetting": "IfRequired",
    "linuxParameters": {"classificationsToInclude": ["Critical", "Security"]},
}
