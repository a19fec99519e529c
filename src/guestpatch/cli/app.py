"""The client commands of ``guestpatch``: :func:`register` adds the ``vm``, ``region``, ``enroll-token``,
``compliance`` and ``rollout`` groups."""

from __future__ import annotations

import importlib

import typer

#: Modules that add commands to the ``vm`` group when imported, in the order they are listed in help.
VM_EXTENSIONS = ("guestpatch.cli.patches", "guestpatch.cli.history", "guestpatch.cli.why")


def register(app: typer.Typer) -> None:
    """Add the client command groups to the root ``guestpatch`` app."""
    from guestpatch.cli import vm

    for module in VM_EXTENSIONS:
        importlib.import_module(module)
    # Importing a module registers its commands, so the order would follow whoever imported first (a test
    # importing guestpatch.cli.why early); list them in the order of the modules above instead.
    order = (vm.__name__, *VM_EXTENSIONS)
    vm.group.registered_commands.sort(
        key=lambda info: order.index(info.callback.__module__) if info.callback.__module__ in order else len(order)
    )
    from guestpatch.cli import enroll, history, region, rollout

    app.add_typer(vm.group, name="vm")
    app.add_typer(region.group, name="region")
    app.add_typer(enroll.group, name="enroll-token")
    app.add_typer(history.compliance, name="compliance")
    app.add_typer(rollout.group, name="rollout")
