"""``guestpatch serve``: start the control plane (placeholder until the store and API land)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve() -> None:
        """Start the control plane."""
        typer.echo("not implemented yet", err=True)
        raise typer.Exit(2)
