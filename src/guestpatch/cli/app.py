"""The client commands of ``guestpatch``: :func:`register` adds the ``vm`` and ``region`` groups."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the client command groups to the root ``guestpatch`` app."""
    from guestpatch.cli import region, vm

    app.add_typer(vm.group, name="vm")
    app.add_typer(region.group, name="region")
