"""How commands print what the server answered: ``--output json`` (the default, as az), ``table`` or ``none``.

JSON is the wire shape as the server sent it (lists as a JSON array of the items, like az), so scripts
can pipe it to ``jq``. A table shows the columns each command chooses (:class:`Column`) with Rich; cells
fold rather than truncate, so nothing is lost on a narrow terminal.

:func:`progress_line` is the spinner shown on stderr while a command waits for an operation — only when
stderr is a terminal, so pipes, files and scripts see nothing but the result.
"""

from __future__ import annotations

import enum
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO


class OutputFormat(enum.StrEnum):
    json = "json"
    table = "table"
    none = "none"


@dataclass(frozen=True)
class Column:
    """A table column: its header and how to read the cell from one item."""

    header: str
    read: Callable[[Any], Any]


def dig(value: Any, path: str) -> Any:
    """``dig(vm, "properties.osProfile.computerName")``: ``None`` as soon as a member is missing."""
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def field(header: str, path: str) -> Column:
    return Column(header, lambda item: dig(item, path))


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render(
    data: Any,
    output: OutputFormat,
    columns: Sequence[Column],
    *,
    stream: TextIO | None = None,
) -> None:
    """Print ``data`` (one item or a list of items) in the requested format."""
    stream = stream or sys.stdout
    if output is OutputFormat.none or data is None:
        return
    if output is OutputFormat.json:
        stream.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    items = data if isinstance(data, list) else [data]
    render_table(items, columns, stream=stream)


def render_table(items: Iterable[Any], columns: Sequence[Column], *, stream: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold", pad_edge=False, show_edge=False)
    for column in columns:
        table.add_column(column.header, overflow="fold")
    for item in items:
        table.add_row(*(Text(cell(column.read(item))) for column in columns))  # Text: no markup
    # Not a terminal (a pipe, a file): no colours, and wide enough that cells rarely fold.
    console = Console(file=stream, width=None if stream.isatty() else 200, no_color=not stream.isatty())
    console.print(table, soft_wrap=False)


@contextmanager
def progress_line(what: str, *, stream: TextIO | None = None) -> Iterator[Callable[[str], None]]:
    """A Rich spinner ``what: <state> (<n> s)`` on ``stream`` (stderr) while the block runs, if it is a
    terminal; yields the function that sets ``<state>``. Elsewhere it shows nothing."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield lambda _state: None
        return
    from rich.console import Console
    from rich.text import Text

    started = time.monotonic()
    console = Console(file=stream)
    with console.status(Text(f"{what}: starting")) as status:

        def update(state: str) -> None:
            status.update(Text(f"{what}: {state} ({int(time.monotonic() - started)} s)"))

        yield update
