"""Helpers to run the ``guestpatch`` client commands against a real server.

``run_cli`` runs a command in-process with Typer's CliRunner (fast; the real command tree from
``guestpatch.main.build()``); ``run_command`` runs ``python -m guestpatch`` as a subprocess, for the
tests where the whole program (entry point, streams, exit status) is what is checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


def run_command(server: LiveServer | None, *args: str, env: Mapping[str, str] | None = None) -> Outcome:
    if server is not None:
        full_env = server.cli_env()
    else:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTPATCH_")}
    full_env.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "guestpatch", *args], capture_output=True, text=True, env=full_env, timeout=120,
        stdin=subprocess.DEVNULL, check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


Cli = Callable[..., Outcome]


@pytest.fixture
def cli(live_server: LiveServer) -> Cli:
    """``cli("vm", "show", ...)`` against the module's live server."""

    def run(*args: str, env: Mapping[str, str] | None = None) -> Outcome:
        return run_cli(live_server, *args, env=env)

    return run
