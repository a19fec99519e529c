"""The ``guestpatch`` command: the composition root.

Server-side commands (``serve``, later ``simulate`` and ``demo``) are wired here because they
compose the store, the engine and the API. Client commands live in :mod:`guestpatch.cli`, which
only speaks HTTP to the API (an import-linter contract keeps it that way).
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="guestpatch",
    help="Self-hosted automatic guest patching, wire-compatible with Azure's Compute API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Self-hosted automatic guest patching, wire-compatible with Azure's Compute API."""


def build() -> typer.Typer:
    """The whole command tree (also used by the docs test that checks every command is documented)."""
    if not any(c.name == "serve" for c in app.registered_commands):
        from guestpatch import serve_command
        from guestpatch.cli import app as cli

        serve_command.register(app)
        cli.register(app)
        __import__("guestpatch.sim.cli", fromlist=["register"]).register(app)
        __import__("guestpatch.demo.command", fromlist=["register"]).register(app)
    return app


def main() -> None:
    build()(prog_name="guestpatch")


if __name__ == "__main__":  # pragma: no cover
    main()
