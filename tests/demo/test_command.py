"""``guestpatch demo``'s edges: bad flags and a taken port are one clear line and exit 2, before anything
runs; the data directory is the demo's own, emptied only when it is the demo's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from guestpatch.config import default_data_dir
from guestpatch.demo.runtime import MARKER, default_demo_dir, prepare_data_dir
from guestpatch.errors import ConfigError


def demo(*flags: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTPATCH_")}
    return subprocess.run([sys.executable, "-m", "guestpatch", "demo", *flags], capture_output=True, text=True,
                          env=env, timeout=60, check=False)  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--machines", "5"], "error: --machines must be between 20 and 400."),
        (["--speed", "0"], "error: --speed must be between 1 and 5000."),
        (["--failure-rate", "2"], "error: --failure-rate must be between 0 and 1."),
        (["--port", "70000"], "error: port 70000 is out of range 1-65535"),
    ],
)
def test_a_bad_flag_is_one_line_and_exit_2(flags: list[str], words: str, tmp_path: Path) -> None:
    """Refused before the server starts: one stderr line, nothing on stdout."""
    done = demo("--data-dir", str(tmp_path / "d"), "--no-host-agent", *flags)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [words]


def test_a_taken_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """Something already listens on the port: the demo says so and suggests --port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = demo("--data-dir", str(tmp_path / "d"), "--no-host-agent", "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "Pass --port." in done.stderr


def test_a_directory_that_is_not_the_demos_is_refused_and_left_alone(tmp_path: Path) -> None:
    """--data-dir pointing at someone's data: exit 2, every file still there."""
    (tmp_path / "guestpatch.db").write_text("precious")
    done = demo("--data-dir", str(tmp_path), "--no-host-agent")
    assert done.returncode == 2
    assert "holds files that are not a demo's" in done.stderr
    assert (tmp_path / "guestpatch.db").read_text() == "precious"


def test_the_demos_own_directory_is_emptied_unless_kept(tmp_path: Path) -> None:
    """A directory with the demo's marker starts fresh; with keep its files stay."""
    made = prepare_data_dir(tmp_path / "demo", keep=False)
    (made / "old.txt").write_text("last run")
    assert (prepare_data_dir(made, keep=True) / "old.txt").exists()
    again = prepare_data_dir(made, keep=False)
    assert sorted(p.name for p in again.iterdir()) == [MARKER]


def test_an_empty_directory_is_taken(tmp_path: Path) -> None:
    """An existing empty directory becomes the demo's (marked)."""
    assert (prepare_data_dir(tmp_path, keep=False) / MARKER).exists()


def test_a_file_is_not_a_data_directory(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="is not a directory"):
        prepare_data_dir(tmp_path / "f", keep=False)


def test_the_default_directory_is_never_the_servers() -> None:
    """The demo's default data directory differs from guestpatch serve's, for any environment."""
    for environ in ({"HOME": "/home/a"}, {"HOME": "/home/a", "XDG_DATA_HOME": "/data"}):
        assert default_demo_dir(environ) != default_data_dir(environ)
        assert default_demo_dir(environ).name == "guestpatch-demo"
