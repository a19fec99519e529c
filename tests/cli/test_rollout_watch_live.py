"""`guestpatch rollout show --watch` as a real program (subprocess) against a real server and a played fleet:
snapshots on a pipe until the rollout completes, the live view on a terminal and Ctrl-C, and a watch that
ends because the rollout was cancelled."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from tests.cli.conftest import Outcome, command_env, spawn_command
from tests.cli.rollout_fleet import Lab, in_flight

SNAPSHOT = "--- "


class Watch:
    """`rollout show ID --watch` running in the background, its stdout and stderr read as they come."""

    def __init__(self, lab: Lab, rollout_id: str) -> None:
        self.process = spawn_command(lab.server, "rollout", "show", rollout_id, "--watch", "--interval", "0.5")
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def wait_for(self, marker: str, timeout: float = 60) -> None:
        """Until some line of stdout holds ``marker``."""
        deadline = time.monotonic() + timeout
        while not any(marker in line for line in list(self.stdout)):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"{marker!r} did not appear: {''.join(self.stdout)[-2000:]}")
            time.sleep(0.1)

    def outcome(self, timeout: float = 60) -> Outcome:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"the watch did not end within {timeout} s") from None
        for reader in self._readers:
            reader.join(timeout=10)
        return Outcome(self.process.returncode, "".join(self.stdout), "".join(self.stderr))


def snapshots(text: str) -> list[str]:
    """The snapshots of a watch's output, each without its `--- TIME ---` line."""
    return [part.split("\n", 1)[1] for part in text.split(SNAPSHOT)[1:]]


def test_watch_on_a_pipe_prints_snapshots_until_the_rollout_completes(lab_factory: Callable[..., Lab]) -> None:
    """Held installations, then released: snapshots show machines in flight first, Completed last; exit 0."""
    lab = lab_factory(hold_installs=True)
    rollout_id = lab.start()
    lab.wait_for(rollout_id, in_flight)
    watching = Watch(lab, rollout_id)
    watching.wait_for("bars: ")  # one whole snapshot is out
    lab.fleet.release()
    outcome = watching.outcome()
    assert (outcome.exit_code, outcome.stderr) == (0, "")
    shots = snapshots(outcome.stdout)
    assert len(shots) >= 2
    assert "Running" in shots[0].splitlines()[0]
    assert "1 in flight" in shots[0]
    assert "Completed" in shots[-1].splitlines()[0]
    assert "5/5" not in shots[0]
    assert all("Completed" not in shot.splitlines()[0] for shot in shots[:-1])  # it stops at the first Completed


def test_watch_ends_with_exit_1_when_the_rollout_is_cancelled(lab_factory: Callable[..., Lab]) -> None:
    """A cancel from elsewhere ends the watch: the last snapshot says Cancelled, one error line names who."""
    lab = lab_factory(hold_installs=True)
    rollout_id = lab.start()
    lab.wait_for(rollout_id, in_flight)
    watching = Watch(lab, rollout_id)
    watching.wait_for("bars: ")
    assert lab.cli("rollout", "cancel", rollout_id, "--yes", "-o", "none").exit_code == 0
    outcome = watching.outcome()
    assert outcome.exit_code == 1
    assert outcome.error_lines == [f"error: rollout {rollout_id} was cancelled by token:admin."]
    assert "Cancelled" in snapshots(outcome.stdout)[-1].splitlines()[0]


def test_watch_on_a_terminal_draws_the_live_view_and_ctrl_c_stops_it(lab_factory: Callable[..., Lab]) -> None:
    """stdout on a terminal: a coloured live view with the regions and bars; SIGINT → exit 130, one line."""
    lab = lab_factory(hold_installs=True)
    rollout_id = lab.start()
    lab.wait_for(rollout_id, in_flight)
    main, secondary = pty.openpty()
    env = command_env(lab.server, {"TERM": "xterm-256color", "COLUMNS": "160", "LINES": "50"})
    process = subprocess.Popen(
        [sys.executable, "-m", "guestpatch", "rollout", "show", rollout_id, "--watch", "--interval", "0.5"],
        stdout=secondary, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True,
    )
    os.close(secondary)
    drawn = bytearray()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and drawn.count(b"Ctrl-C stops watching") < 2:  # redrawn at least once
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    drawn += os.read(main, 65536)
                except OSError:
                    break
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()
    screen = drawn.decode(errors="replace")
    assert "\x1b[" in screen  # colours and cursor movement: a live display, not snapshots
    assert SNAPSHOT not in screen
    assert "northeurope" in screen
    assert "westeurope" in screen
    assert "━" in screen
    assert process.returncode == 130
    assert [line for line in stderr.splitlines() if line.strip()] == [
        f"error: stopped watching rollout {rollout_id}; it goes on on the server."
    ]
