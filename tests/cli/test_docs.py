"""docs/cli.md documents every command and flag, and is regenerated from the commands (no drift)."""

from __future__ import annotations

import subprocess
import sys
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
    """Each option string of each client command appears in docs/cli.md (a positional argument: its metavar)."""
    text = DOC.read_text()
    for path, cmd in docs.commands():
        assert f"### `{path}`" in text
        for param in cmd.params:
            names = [param.metavar] if param.param_type_name == "argument" else param.opts
            for opt in names:
                assert f"`{opt}`" in text, f"{path} {opt}"


def test_a_positional_argument_is_in_the_usage_line_and_the_table() -> None:
    """`rollout show ID`: ID in the usage line, and a row saying it is a required argument."""
    section = DOC.read_text().split("### `guestpatch rollout show`", 1)[1].split("###", 1)[0]
    assert "guestpatch rollout show ID [OPTIONS]" in section
    assert "| `ID` | argument | required | Rollout id" in section


def test_every_command_has_help_text_and_the_global_arguments() -> None:
    """No command without a help line, and none without --output/--server/... (added by `command`)."""
    assert all(cmd.help for _, cmd in docs.commands())
    assert docs.missing_globals() == []


def test_the_guestpatch_program_has_the_documented_groups() -> None:
    """`guestpatch` (main.build) carries the same client commands as the reference."""
    root = typer.main.get_command(build())
    listed = {
        f"guestpatch {group} {name}"
        for group in ("vm", "region", "enroll-token", "compliance", "rollout")
        for name in root.commands[group].commands  # type: ignore[attr-defined]
    }
    assert listed == {path for path, _ in docs.commands()}


def test_a_command_with_its_own_output_default_documents_it() -> None:
    """enroll-token create prints plain text by default; its --output row in the reference says so."""
    section = DOC.read_text().split("### `guestpatch enroll-token create`", 1)[1].split("###", 1)[0]
    assert "| `-o`, `--output` | `json\\|table\\|none` |  | Output format: json, table or none; default: a summary" in (
        section
    )


def test_vm_commands_keep_their_order_whichever_module_is_imported_first() -> None:
    """Commands register on import; a process that imports `guestpatch.cli.why` first still lists
    `vm why` after the patch and history commands (the reference's order)."""
    script = (
        "import guestpatch.cli.why\n"
        "from guestpatch.cli import docs\n"
        "print(' '.join(p.split()[2] for p, _ in docs.commands() if p.startswith('guestpatch vm ')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    names = done.stdout.split()
    assert names.index("why") == len(names) - 1
    assert names.index("assess-patches") < names.index("patch-history")
