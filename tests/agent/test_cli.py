"""The command line: bad flags are one clear line and exit 2; help exists for every command."""

from __future__ import annotations

from pathlib import Path

import pytest

from guestpatch_agent import cli
from tests.agent.conftest import agent_process

INSTALL = ["install", "--maximum-duration", "PT1H", "--reboot-setting", "IfRequired", "--classifications", "Security"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["install", "--maximum-duration", "1 hour", "--reboot-setting", "Never", "--classifications", "Security"],
         "invalid ISO 8601 duration"),
        (["install", "--maximum-duration", "PT1H", "--reboot-setting", "Sometimes", "--classifications", "Security"],
         "invalid reboot setting"),
        (["install", "--maximum-duration", "PT1H", "--reboot-setting", "Never", "--classifications", "Bugfix"],
         "unknown classification"),
        (["install", "--maximum-duration", "PT1H", "--reboot-setting", "Never"], "at least one classification"),
        ([*INSTALL, "--exclude", "--rf"], "expected one argument"),
        ([*INSTALL, "--exclude", "-rf"], "expected one argument"),
        ([*INSTALL, "--exclude=-rf"], "invalid package mask"),
        ([*INSTALL, "--include", "foo;reboot"], "invalid package mask"),
        (["install", "--reboot-setting", "Never", "--classifications", "Security"], "--maximum-duration"),
        (["configure-patching", "--mode", "Manual"], "invalid mode"),
        (["assess", "--root", "/nonexistent/guestpatch"], "no such directory"),
        (["assess", "--query-timeout", "0"], "greater than zero"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each mistake gets exactly one stderr line naming it, nothing on stdout, exit code 2."""
    try:
        code = cli.main(argv)
    except SystemExit as stopped:
        code = stopped.code  # type: ignore[assignment]
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("guestpatch-agent: error:")
    assert words in lines[0]


@pytest.mark.parametrize("command", ["assess", "install", "resume", "configure-patching"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--help of every command documents --root."""
    with pytest.raises(SystemExit) as stopped:
        cli.main([command, "--help"])
    assert stopped.value.code == 0
    assert "--root DIR" in capsys.readouterr().out


def test_the_module_runs_as_a_program(tmp_path: Path) -> None:
    """python -m guestpatch_agent is the same command (a real process, exit code 2 for bad input)."""
    result = agent_process("install", "--root", str(tmp_path), "--maximum-duration", "PT1H",
                           "--reboot-setting", "Never", "--classifications", "Security")
    assert result.returncode == 1
    assert "no os-release under" in result.stderr


def test_the_cli_offers_exactly_the_patch_modes_autoupdate_knows() -> None:
    """The CLI keeps its own copy of the modes (to import autoupdate lazily); it must not drift."""
    from guestpatch_agent.autoupdate import MODES

    assert cli.MODES == MODES


def test_every_command_and_flag_is_documented() -> None:
    """docs/agent.md names every command and every flag the CLI accepts (docs that drift fail)."""
    import argparse

    docs = (Path(__file__).resolve().parents[2] / "docs" / "agent.md").read_text()
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, sub in subparsers.choices.items():
        if "guestpatch-agent " + name not in docs:
            missing.append(name)
        for action in sub._actions:
            flags = [f for f in action.option_strings if f.startswith("--") and f != "--help"]
            missing.extend(f for f in flags if f not in docs)
    assert sorted(set(missing)) == []
