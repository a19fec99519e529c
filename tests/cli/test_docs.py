"""docs/cli.md documents every command and flag, and is regenerated from the commands (no drift)."""

from __future__ import annotations

from pathlib import Path

import typer

from guestpatch.cli import docs
from guestpatch.main import build

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_reference_matches_the_commands() -> None:
    """The generated part of docs/cli.md is what the commands render (run `python -m guestpatch.cli.docs`)."""
    current = DOC.read_text()
    assert current == docs.render(current)


def test_every_flag_of_every_command_is_in_the_document() -> None:
    """Each option string of each client command appears in docs/cli.md."""
    text = DOC.read_text()
    for path, cmd in docs.commands():
        assert f"### `{path}`" in text
        for param in cmd.params:
            for opt in param.opts:
                assert f"`{opt}`" in text, f"{path} {opt}"


def test_every_command_has_help_text_and_the_global_arguments() -> None:
    """No command without a help line, and none without --output/--server/... (added by `command`)."""
    assert all(cmd.help for _, cmd in docs.commands())
    assert docs.missing_globals() == []


def test_the_guestpatch_program_has_the_documented_groups() -> None:
    """`guestpatch` (main.build) carries the same client commands as the reference."""
    root = typer.main.get_command(build())
    listed = {
        f"guestpatch {group} {name}"
        for group in ("vm", "region", "enroll-token", "compliance")
        for name in root.commands[group].commands  # type: ignore[attr-defined]
    }
    assert listed == {path for path, _ in docs.commands()}


def test_a_command_with_its_own_output_default_documents_it() -> None:
    """enroll-token create prints plain text by default; its --output row in the reference says so."""
    section = DOC.read_text().split("### `guestpatch enroll-token create`", 1)[1].split("###", 1)[0]
    assert "| `-o`, `--output` | `json\\|table\\|none` |  | Output format: json, table or none; default: a summary" in (
        section
    )
