"""Drive ``wrk`` with one of the Lua scripts in ``bench/wrk/`` and read the figures it prints.

Each script counts the answers it expected (304 for polls, 200 for reports) and the others; the
figures come back as one ``GP_FIGURES {json}`` line from the script's ``done()``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "wrk"
MARKER = "GP_FIGURES "
SAMPLE = "GP_UNEXPECTED "


@dataclass(frozen=True)
class Load:
    """How hard to push: wrk threads, open connections, seconds of measurement (after a warm-up)."""

    threads: int = 2
    connections: int = 64
    seconds: int = 15
    warmup: int = 3


@dataclass(frozen=True)
class Figures:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    expected: int
    unexpected: int
    socket_errors: int
    samples: tuple[str, ...] = ()  # the first unexpected answer of each wrk thread: "status body"

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def clean(self) -> bool:
        """Every answer was the expected one and no connection failed."""
        return self.unexpected == 0 and self.socket_errors == 0 and self.expected == self.requests


class WrkError(RuntimeError):
    pass


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkError("wrk is not installed (Debian: apt-get install wrk)")
    return found


def run(url: str, script: str, args: list[str], load: Load, *, warmup: bool = True) -> Figures:
    """Run ``bench/wrk/SCRIPT.lua`` against ``url`` (after a warm-up run with the same arguments)."""
    if warmup:
        warm(url, script, args, load)
    return _run_once(url, script, args, load, load.seconds)


def warm(url: str, script: str, args: list[str], load: Load) -> None:
    """A short run whose figures are dropped (connections, caches, JIT of the Lua script)."""
    if load.warmup > 0:
        _run_once(url, script, args, load, load.warmup)


def _run_once(url: str, script: str, args: list[str], load: Load, seconds: int) -> Figures:
    argv = [
        wrk_path(), f"-t{load.threads}", f"-c{load.connections}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(SCRIPTS / f"{script}.lua"), url, "--", *args,
    ]
    env = {**os.environ, "GP_WRK_COMMON": str(SCRIPTS / "common.lua"), "GP_WRK_THREADS": str(load.threads)}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=seconds + 60, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        raise WrkError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    raw = json.loads(lines[-1][len(MARKER):])
    return Figures(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        expected=raw["expected"],
        unexpected=raw["unexpected"],
        socket_errors=raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"],
        samples=tuple(line.split(" ", 1)[1] for line in done.stdout.splitlines() if line.startswith(SAMPLE)),
    )
