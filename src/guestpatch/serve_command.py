"""``guestpatch serve``: flags generated from :class:`guestpatch.config.Config` (each setting declared once).

Kept apart from :mod:`guestpatch.server` so that client commands do not pay for importing the server.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from pathlib import Path
from typing import Any

import typer

from guestpatch.config import env_name, flag_name, load_config, settings
from guestpatch.errors import GuestpatchError

_TYPES: dict[str, Any] = {
    "int": int | None,
    "bool": bool | None,
    "str": str | None,
    "str | None": str | None,
    "Path | None": Path | None,
}


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``, with one option per declared setting (flags are generated, not written)."""
    params = []
    for f in settings():
        params.append(
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_TYPES[str(f.type)],
                default=typer.Option(
                    None,
                    flag_name(f.name),
                    help=f"{f.metadata['help']} [env {env_name(f.name)}; default: {_show_default(f)}]",
                    show_default=False,
                ),
            )
        )

    def serve_cmd(**flags: Any) -> None:
        try:
            config = load_config(flags, os.environ)
            from guestpatch.metrics.tally import prepare

            prepare(config.data_path)  # the workers' request metrics start from zero
            from guestpatch.server import serve

            serve(config)
        except GuestpatchError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(2) from exc

    serve_cmd.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    serve_cmd.__doc__ = "Start the control plane: the HTTPS API on the store (SQLite by default)."
    app.command("serve")(serve_cmd)


def _show_default(f: dataclasses.Field[Any]) -> str:
    if f.default is None:
        return "see text"
    return str(f.default).lower() if isinstance(f.default, bool) else str(f.default)
