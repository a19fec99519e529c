"""``guestpatch demo``: the command (flags only; the work is in :mod:`guestpatch.demo.runtime`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from guestpatch.demo import knobs
from guestpatch.errors import GuestpatchError


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    speed: Annotated[float, typer.Option(help="Fleet minutes per wall minute: 360 shows a night in two minutes.")]
    = knobs.DEFAULT_SPEED,
    machines: Annotated[int, typer.Option(help=f"Simulated machines ({knobs.MIN_MACHINES}-{knobs.MAX_MACHINES}).")]
    = knobs.DEFAULT_MACHINES,
    port: Annotated[int, typer.Option(help="HTTPS port of the demo's control plane.")] = knobs.DEFAULT_PORT,
    data_dir: Annotated[Path | None, typer.Option(
        help="Data directory (default: $XDG_DATA_HOME/guestpatch-demo, never the server's own); emptied on every "
             "run unless --keep.")] = None,
    host_agent: Annotated[bool, typer.Option(
        "--host-agent/--no-host-agent", help="Enroll this machine's real agent, assessment-only.")] = True,
    seed: Annotated[int, typer.Option(help="Seed of the fleet's layout and the agents' draws.")] = 1,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the data directory of the last run and go on.")] = False,
    failure_rate: Annotated[float, typer.Option(help="Share of installations that fail (a maintainer script).")]
    = knobs.DEFAULT_FAILURE_RATE,
) -> None:
    """Live demo: a fleet of simulated machines patched phase by phase on an accelerated clock, a bad release
    halted, this machine assessed; dashboard at https://127.0.0.1:PORT/ui/. Ctrl-C stops everything."""
    from guestpatch.demo.runtime import DemoOptions, run

    options = DemoOptions(speed=speed, machines=machines, port=port, data_dir=data_dir, host_agent=host_agent,
                          seed=seed, keep=keep, failure_rate=failure_rate)  # fmt: skip
    try:
        code = run(options, environ=os.environ)
    except GuestpatchError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    raise typer.Exit(code)
