"""``rollout show --watch``: follow a rollout until it ends (Completed or Cancelled).

:func:`watch` asks for the rollout every ``interval`` seconds and shows each answer:

- on a terminal (``-o table``, the default with ``--watch``): a Rich live view, redrawn in place, with a
  coloured bar per phase and region (:mod:`guestpatch.cli.rollout_view`);
- on a pipe or in a file: one plain snapshot per interval, each after a ``--- TIME ---`` line, so the
  watch can be logged and tested;
- ``-o json``: one line of JSON per interval (the server's body, JSON Lines);
- ``-o none``: nothing; the command only waits.

Fetching, sleeping and the clock are arguments, so callers decide how time passes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from rich.console import Console, Group
from rich.text import Text

from guestpatch.cli.output import OutputFormat
from guestpatch.cli.rollout_view import ENDED, PLAIN, TERMINAL, plain_text, rollout_view, when

DEFAULT_INTERVAL = 2.0


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def ended(detail: dict[str, Any]) -> bool:
    return detail.get("status") in ENDED


def watch(
    fetch: Callable[[], dict[str, Any]],
    *,
    interval: float,
    output: OutputFormat,
    stream: TextIO,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = _wall_clock,
) -> dict[str, Any]:
    """Show the rollout ``fetch`` returns every ``interval`` seconds until it has ended; return its last body."""
    if output is OutputFormat.table and stream.isatty():
        return _live(fetch, interval=interval, stream=stream, sleep=sleep, now=now)
    while True:
        detail = fetch()
        if output is OutputFormat.json:
            stream.write(json.dumps(detail, ensure_ascii=False, separators=(",", ":")) + "\n")
        elif output is OutputFormat.table:
            moment = now()
            stream.write(f"--- {when(moment.isoformat())} ---\n")
            stream.write(plain_text(rollout_view(detail, style=PLAIN, now=moment)) + "\n")
        stream.flush()
        if ended(detail):
            return detail
        sleep(interval)


def _live(
    fetch: Callable[[], dict[str, Any]],
    *,
    interval: float,
    stream: TextIO,
    sleep: Callable[[float], None],
    now: Callable[[], datetime],
) -> dict[str, Any]:
    from rich.live import Live

    console = Console(file=stream, highlight=False)
    every = f"{interval:g} s"
    with Live(console=console, auto_refresh=False, transient=False) as live:
        while True:
            detail = fetch()
            moment = now()
            footer = Text(f"updated {when(moment.isoformat())} · every {every} · ", style="dim")
            footer.append("Ctrl-C stops watching (the rollout goes on)", style="dim")
            if ended(detail):
                footer = Text(f"the rollout has ended: {detail.get('status')}", style="bold")
            live.update(Group(rollout_view(detail, style=TERMINAL, now=moment), Text(""), footer), refresh=True)
            if ended(detail):
                return detail
            sleep(interval)
