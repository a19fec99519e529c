"""docs/demo.md documents every flag of ``guestpatch demo`` with its default (docs that drift fail)."""

from __future__ import annotations

from pathlib import Path

import typer

from guestpatch.demo import knobs
from guestpatch.main import build

DOC = (Path(__file__).resolve().parents[2] / "docs" / "demo.md").read_text()


def test_every_flag_of_the_demo_command_is_documented() -> None:
    """Each option string of `guestpatch demo` appears in docs/demo.md's table of knobs."""
    command = typer.main.get_command(build()).commands["demo"]  # type: ignore[attr-defined]
    flags = [opt for param in command.params for opt in (*param.opts, *param.secondary_opts)]
    assert "--speed" in flags
    assert [f for f in flags if f"`{f}" not in DOC] == []


def test_the_documented_defaults_are_the_declared_ones() -> None:
    """The knobs' table rows carry the defaults declared in guestpatch.demo.knobs."""
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in DOC.splitlines()
            if line.startswith("| `--")}  # fmt: skip
    assert rows["`--speed N`"] == f"{knobs.DEFAULT_SPEED:g}"
    assert rows["`--machines N`"] == str(knobs.DEFAULT_MACHINES)
    assert rows["`--port N`"] == str(knobs.DEFAULT_PORT)
    assert rows["`--failure-rate X`"] == f"{knobs.DEFAULT_FAILURE_RATE:g}"
