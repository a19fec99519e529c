"""Helpers to run the ``guestpatch`` client commands against a real server.

``run_cli`` runs a command in-process with Typer's CliRunner (fast; the real command tree from
``guestpatch.main.build()``); ``run_command`` runs ``python -m guestpatch`` as a subprocess, for the
tests where the whole program (entry point, streams, exit status) is what is checked; ``spawn_command``
starts one in the background (a command that waits while the test plays the agent) and ``outcome_of``
collects it. ``lab_factory`` starts a server with a fleet whose agents the test plays, for the rollout
commands (:mod:`tests.cli.rollout_fleet`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from guestpatch.main import build
from tests.server_fixtures import LiveServer


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.exit_code == 0, f"exit {self.exit_code}: {self.stderr}"
        return json.loads(self.stdout)

    @property
    def usage_error(self) -> str:
        """The usage message without Rich's box and line wrapping."""
        text = "".join(ch for ch in self.stderr if ch not in "│╭╮╰╯─")
        return " ".join(text.split())

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def server_env(server: LiveServer | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {"GUESTPATCH_SERVER": server.url, "GUESTPATCH_DATA_DIR": str(server.data_dir)} if server else {}
    env.update(extra or {})
    return env


def run_cli(server: LiveServer | None, *args: str, env: Mapping[str, str] | None = None) -> Outcome:
    result = CliRunner().invoke(build(), list(args), env=server_env(server, env), catch_exceptions=False)
    return Outcome(result.exit_code, result.stdout, result.stderr)


def command_env(server: LiveServer | None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    if server is not None:
        full_env = server.cli_env()
    else:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTPATCH_")}
    full_env.update(env or {})
    return full_env


def run_command(server: LiveServer | None, *args: str, env: Mapping[str, str] | None = None) -> Outcome:
    done = subprocess.run(
        [sys.executable, "-m", "guestpatch", *args], capture_output=True, text=True, env=command_env(server, env),
        timeout=120, stdin=subprocess.DEVNULL, check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def spawn_command(server: LiveServer, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m guestpatch ARGS`` started in the background (collect it with :func:`outcome_of`)."""
    return subprocess.Popen(
        [sys.executable, "-m", "guestpatch", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=command_env(server, env), stdin=subprocess.DEVNULL,
    )


def outcome_of(process: subprocess.Popen[str], timeout: float = 120) -> Outcome:
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        raise AssertionError(f"the command did not end within {timeout} s; stderr: {stderr}") from None
    return Outcome(process.returncode, stdout, stderr)


def enrollment_token(server: LiveServer, resource_group: str, *args: str) -> str:
    """A fresh enrollment token from `guestpatch enroll-token create` (its last line)."""
    outcome = run_cli(server, "enroll-token", "create", "-g", resource_group, *args)
    assert outcome.exit_code == 0, outcome.stderr
    return outcome.stdout.splitlines()[-1]


Cli = Callable[..., Outcome]


@pytest.fixture
def cli(live_server: LiveServer) -> Cli:
    """``cli("vm", "show", ...)`` against the module's live server."""

    def run(*args: str, env: Mapping[str, str] | None = None) -> Outcome:
        return run_cli(live_server, *args, env=env)

    return run


@pytest.fixture
def lab_factory(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``lab_factory(failing=…, hold_installs=…)``: a fresh server with a played fleet
    (:func:`tests.cli.rollout_fleet.start_lab`), stopped after the test."""
    from tests.cli.rollout_fleet import start_lab

    made: list[Any] = []

    def make(**fleet_options: Any) -> Any:
        made.append(start_lab(tmp_path / f"lab{len(made)}", **fleet_options))
        return made[-1]

    try:
        yield make
    finally:
        for lab in made:
            lab.stop()
