"""The client commands of ``guestpatch``: :func:`register` adds the ``vm``, ``region``, ``enroll-token`` and
``compliance`` groups."""

from __future__ import annotations

import importlib

import typer

#: Modules that add commands to the ``vm`` group when imported, in the order they are listed in help.
VM_EXTENSIONS = ("guestpatch.cli.patches", "guestpatch.cli.history")


def register(app: typer.Typer) -> None:
    """Add the client command groups to the root ``guestpatch`` app."""
    from guestpatch.cli import vm

    for module in VM_EXTENSIONS:
        importlib.import_module(module)
    from guestpatch.cli import enroll, history, region

    app.add_typer(vm.group, name="vm")
    app.add_typer(region.group, name="region")
    app.add_typer(enroll.group, name="enroll-token")
    app.add_typer(history.compliance, name="compliance")
