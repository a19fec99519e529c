"""What every client command shares: the global arguments, az's argument spelling, and error reporting.

:func:`command` registers a function as a command of a group. The function receives an
:class:`Invocation` (output format, endpoint, client) plus its own options; the global arguments
(``--output/-o``, ``--server``, ``--token``, ``--ca-file``, ``--data-dir``, ``--subscription``) are added
to every command, as az does, so they go after the command name.

Errors end a command with one line on stderr and an exit status:

- ``error: (Code) message`` for an ARM error from the server — status 3 when the resource was not
  found (as az), 1 otherwise;
- ``error: message`` when the server cannot be reached or trusted, or the setup is unusable — status 1;
- a usage error (the offending flag named) for a flag value we can judge locally — status 2.
"""

from __future__ import annotations

import enum
import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import typer
from typer.core import TyperCommand

from guestpatch.cli.client import (
    DEFAULT_SERVER,
    DEFAULT_SUBSCRIPTION,
    ENV_CA_FILE,
    ENV_DATA_DIR,
    ENV_SERVER,
    ENV_SUBSCRIPTION,
    ENV_TOKEN,
    ApiClient,
    Endpoint,
    resolve_endpoint,
    resolve_subscription,
)
from guestpatch.cli.output import Column, OutputFormat, render
from guestpatch.errors import GuestpatchError, InvalidInput, UpstreamError

GLOBAL_PANEL = "Global Arguments"
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3


def choice(values: type[enum.StrEnum]) -> Callable[[str | None], str | None]:
    """A callback accepting one of ``values`` in any case (as az), normalised to its canonical spelling.

    (Click's own case-insensitive choices would show the values in lower case in help and docs.)"""

    def normalize(value: str | None) -> str | None:
        if value is None:
            return None
        for member in values:
            if member.value.lower() == value.strip().lower():
                return member.value
        raise typer.BadParameter(f"'{value}' is not one of {', '.join(m.value for m in values)}.")

    return normalize


def choice_list(values: type[enum.StrEnum]) -> Callable[[list[str] | None], list[str] | None]:
    """:func:`choice` for a multi-value option: each value checked and normalised."""
    one = choice(values)

    def normalize(items: list[str] | None) -> list[str] | None:
        if items is None:
            return None
        return [str(one(item)) for item in items]

    return normalize


def choices(values: type[enum.StrEnum]) -> str:
    """The metavar listing ``values``: ``A|B|C``."""
    return "|".join(m.value for m in values)


def _global(name: str, kind: Any, default: Any, *decls: str, help: str, **options: Any) -> inspect.Parameter:
    option = typer.Option(*decls, help=help, rich_help_panel=GLOBAL_PANEL, **options)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, option])


GLOBAL_PARAMETERS = (
    _global(
        "output", str, OutputFormat.json.value, "--output", "-o", metavar="json|table|none",
        callback=choice(OutputFormat),
        help="Output format: json (the wire shape, as az), table, or none.",
    ),
    _global(
        "server", str | None, None, "--server", metavar="URL", show_default=False,
        help=f"URL of the control plane (env {ENV_SERVER}; default {DEFAULT_SERVER}).",
    ),
    _global(
        "token", str | None, None, "--token", metavar="TOKEN", show_default=False,
        help=f"API bearer token (env {ENV_TOKEN}; default: the file DATA_DIR/admin.token).",
    ),
    _global(
        "ca_file", Path | None, None, "--ca-file", metavar="PEM", show_default=False, exists=True, dir_okay=False,
        help=f"CA certificate to trust for the server (env {ENV_CA_FILE}; default: DATA_DIR/tls/ca.pem if it "
        "exists, else the system trust store).",
    ),
    _global(
        "data_dir", Path | None, None, "--data-dir", metavar="DIR", show_default=False,
        help=f"The server's data directory, where its token and CA are (env {ENV_DATA_DIR}; default: "
        "$XDG_DATA_HOME/guestpatch or ~/.local/share/guestpatch).",
    ),
    _global(
        "subscription", str | None, None, "--subscription", metavar="ID", show_default=False,
        help=f"Subscription (tenant) of the resources (env {ENV_SUBSCRIPTION}; default: {DEFAULT_SUBSCRIPTION}).",
    ),
)
GLOBAL_NAMES = tuple(p.name for p in GLOBAL_PARAMETERS)


def _output_with_plain_default(plain: str) -> inspect.Parameter:
    """``--output`` for a command whose default is plain text (``plain`` says what it prints)."""
    return _global(
        "output", str | None, None, "--output", "-o", metavar="json|table|none", callback=choice(OutputFormat),
        show_default=False, help=f"Output format: json, table or none; default: {plain}.",
    )


@dataclass
class Invocation:
    """One run of a command: the global arguments, resolved lazily into an endpoint and a client."""

    output: OutputFormat | None  # None: the command's plain text (see ``command(plain_output=...)``)
    server: str | None = None
    token: str | None = None
    ca_file: Path | None = None
    data_dir: Path | None = None
    subscription_flag: str | None = None
    environ: Mapping[str, str] = field(default_factory=dict)
    _client: ApiClient | None = None

    @property
    def subscription(self) -> str:
        return resolve_subscription(self.subscription_flag, self.environ)

    def endpoint(self) -> Endpoint:
        return resolve_endpoint(
            server=self.server,
            token=self.token,
            ca_file=self.ca_file,
            data_dir=self.data_dir,
            subscription=self.subscription_flag,
            environ=self.environ,
        )

    def client(self) -> ApiClient:
        if self._client is None:
            self._client = ApiClient(self.endpoint())
        return self._client

    def every(self, path: str, query: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every item of an operator-API list (following nextLink, should the server page it)."""
        url = f"{path}?{urlencode(query)}" if query else path
        return list(self.client().list_all(url, arm=False))

    def show(self, data: Any, columns: Sequence[Column]) -> None:
        render(data, self.output or OutputFormat.json, columns)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def expand_az_arguments(
    args: Sequence[str], *, variadic: frozenset[str], bare_true: frozenset[str]
) -> list[str]:
    """az's spelling in Click's terms: ``--set a=1 b=2`` → ``--set a=1 --set b=2``; a bare
    ``--enable-agent`` (no value follows) → ``--enable-agent true``."""
    out: list[str] = []
    current: str | None = None
    for index, arg in enumerate(args):
        if arg == "--":
            out.extend(args[index:])
            break
        if arg.startswith("-") and len(arg) > 1:
            name, inline, _ = arg.partition("=")
            out.append(arg)
            current = name if name in variadic else None
            if name in bare_true and not inline:
                following = args[index + 1] if index + 1 < len(args) else None
                if following is None or following.startswith("-"):
                    out.append("true")
            continue
        if current is not None and out[-1] != current:
            out.append(current)
        out.append(arg)
    return out


class AzCommand(TyperCommand):
    """A command that accepts az's multi-value options and bare boolean flags."""

    bare_true: frozenset[str] = frozenset()

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        variadic = frozenset(
            opt for param in self.params if getattr(param, "multiple", False) for opt in getattr(param, "opts", ())
        )
        return super().parse_args(ctx, expand_az_arguments(args, variadic=variadic, bare_true=self.bare_true))


def command(
    group: typer.Typer, name: str, *, bare_true: Sequence[str] = (), plain_output: str | None = None
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``fn(invocation, **options)`` as ``group name`` with the global arguments added.

    With ``plain_output`` (what the command prints by default, for the help text) ``--output`` has no
    default and ``invocation.output`` is ``None`` unless the user chose a format."""

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        own = [p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name != "invocation"]
        global_parameters = list(GLOBAL_PARAMETERS)
        if plain_output is not None:
            global_parameters[0] = _output_with_plain_default(plain_output)

        def callback(**values: Any) -> None:
            output = values.pop("output")
            invocation = Invocation(
                output=OutputFormat(output) if output is not None else None,
                server=values.pop("server"),
                token=values.pop("token"),
                ca_file=values.pop("ca_file"),
                data_dir=values.pop("data_dir"),
                subscription_flag=values.pop("subscription"),
                environ=dict(os.environ),
            )
            try:
                fn(invocation, **values)
            finally:
                invocation.close()

        callback.__signature__ = inspect.Signature([*own, *global_parameters])  # type: ignore[attr-defined]
        callback.__doc__ = fn.__doc__
        callback.__name__ = fn.__name__
        callback.__module__ = fn.__module__  # where the command is defined (app.register orders by it)
        cls = type("AzCommand", (AzCommand,), {"bare_true": frozenset(bare_true)})
        group.command(name, cls=cls)(reporting_errors(callback))
        return fn

    return decorate


def reporting_errors(fn: Callable[..., None]) -> Callable[..., None]:
    """Turn our errors into one line on stderr and an exit status (see the module docstring)."""

    def run(**values: Any) -> None:
        try:
            fn(**values)
        except UpstreamError as exc:
            typer.echo(f"error: ({exc.code}) {one_line(exc.message)}", err=True)
            raise typer.Exit(EXIT_NOT_FOUND if exc.status == 404 else EXIT_ERROR) from exc
        except InvalidInput as exc:
            raise typer.BadParameter(exc.message, param_hint=exc.target) from exc
        except GuestpatchError as exc:
            typer.echo(f"error: {one_line(exc.message)}", err=True)
            raise typer.Exit(EXIT_ERROR) from exc

    run.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    run.__doc__ = fn.__doc__
    run.__name__ = fn.__name__
    run.__module__ = fn.__module__
    return run


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of blanks folded into single spaces."""
    return " ".join(text.split())


def require_name(value: str, flag: str) -> str:
    """A resource name must be non-empty (an empty path segment would address another resource)."""
    if not value.strip():
        raise typer.BadParameter("must not be empty.", param_hint=flag)
    return value.strip()
