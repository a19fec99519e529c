"""How ``rollout show`` draws a rollout: phases → regions, a bar each, the gate and a halt.

Pure functions of the server's rollout body (``GET /v1/rollouts/{id}``) and the time ``now``; they build
Rich renderables and never print. The same view serves ``rollout show -o table``, each snapshot of
``rollout show --watch`` on a pipe (ASCII bars, no colour: :data:`PLAIN`) and the live view on a terminal
(coloured bars: :data:`TERMINAL`).

A bar splits a region's (or a phase's) machines into five buckets, in this order:

- **succeeded** — ``Succeeded``;
- **in flight** — ``Installing``, ``Rebooting``, ``Verifying``;
- **failed** — ``Failed`` (it retries in a later window), ``Exhausted``, ``NotOffered``;
- **waiting** — ``Waiting``, ``Pending`` (window exceeded, retried), ``Skipped`` (powered off);
- **cancelled** — ``Cancelled``, ``Expired``, and any status this client does not know.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

BUCKETS = ("succeeded", "in flight", "failed", "waiting", "cancelled")
_BUCKET_OF = {
    "Succeeded": 0,
    "Installing": 1, "Rebooting": 1, "Verifying": 1,
    "Failed": 2, "Exhausted": 2, "NotOffered": 2,
    "Waiting": 3, "Pending": 3, "Skipped": 3,
    "Cancelled": 4, "Expired": 4,
}
ENDED = frozenset({"Completed", "Cancelled"})
BAR_WIDTH = 30
PLAIN_WIDTH = 160  # columns of the view written to a pipe or a file
MACHINES_SHOWN = 10  # failing machines listed under a halt before "… and N more"


@dataclass(frozen=True)
class BarStyle:
    """The glyph and the Rich style of each bucket (same order as :data:`BUCKETS`)."""

    glyphs: tuple[str, str, str, str, str]
    styles: tuple[str, str, str, str, str]
    empty: str


#: On a pipe or in a file: one ASCII glyph per bucket, no colour, so logs stay readable and greppable.
PLAIN = BarStyle(glyphs=("#", ">", "x", ".", "-"), styles=("", "", "", "", ""), empty=" ")
#: On a terminal: one solid line, a colour per bucket.
TERMINAL = BarStyle(
    glyphs=("━", "━", "━", "━", "━"),
    styles=("green", "yellow", "red", "grey50", "magenta"),
    empty="╌",
)
_STATUS_STYLE = {"Running": "green", "Freezing": "cyan", "Halted": "bold red", "Completed": "bold green",
                 "Cancelled": "magenta"}


def buckets(by_status: Mapping[str, Any]) -> tuple[int, int, int, int, int]:
    """Machines per bucket from a ``byStatus`` count (``{"Succeeded": 3, "Waiting": 1}``)."""
    counts = [0, 0, 0, 0, 0]
    for status, count in by_status.items():
        if isinstance(count, int) and not isinstance(count, bool):
            counts[_BUCKET_OF.get(status, 4)] += count
    return counts[0], counts[1], counts[2], counts[3], counts[4]


def segment_widths(counts: Sequence[int], width: int) -> list[int]:
    """Characters per bucket in a bar of ``width``: proportional (largest remainder), at least one for
    every bucket that has machines, and exactly ``width`` in all (nothing when there are no machines)."""
    total = sum(counts)
    if total <= 0 or width <= 0:
        return [0] * len(counts)
    present = [i for i, c in enumerate(counts) if c > 0]
    width = max(width, len(present))
    exact = [c * width / total for c in counts]
    widths = [int(x) for x in exact]
    for i in present:
        widths[i] = max(widths[i], 1)
    order = sorted(present, key=lambda i: (-(exact[i] - int(exact[i])), i))
    while sum(widths) < width:
        for i in order:
            if sum(widths) == width:
                break
            widths[i] += 1
    while sum(widths) > width:  # the minimum of one took room: shave the widest
        widest = max(present, key=lambda i: (widths[i], -i))
        widths[widest] -= 1
    return widths


def bar(counts: Sequence[int], style: BarStyle, width: int = BAR_WIDTH) -> Text:
    """``[####>>x....]``: the buckets as segments (an empty bar when there are no machines)."""
    text = Text("[")
    widths = segment_widths(counts, width)
    if not any(widths):
        text.append(style.empty * width)
    for bucket, size in enumerate(widths):
        if size:
            text.append(style.glyphs[bucket] * size, style=style.styles[bucket] or None)
    text.append("]")
    return text


def counts_line(counts: Sequence[int]) -> str:
    """``3/6 succeeded · 1 in flight · 0 failed · 2 waiting`` (cancelled only when there are some)."""
    total = sum(counts)
    parts = [f"{counts[0]}/{total} succeeded", f"{counts[1]} in flight", f"{counts[2]} failed",
             f"{counts[3]} waiting"]
    if counts[4]:
        parts.append(f"{counts[4]} cancelled/expired")
    return " · ".join(parts)


def when(text: Any, now: datetime | None = None) -> str:
    """A server timestamp as ``2026-11-26T10:34:39Z``, with ``(in 5 min)``/``(3 min ago)`` given ``now``."""
    if not isinstance(text, str):
        return "-"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    shown = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if now is None:
        return shown
    seconds = int((moment - now).total_seconds())
    return f"{shown} ({_span(seconds)})"


def _span(seconds: int) -> str:
    if seconds == 0:
        return "now"
    size = abs(seconds)
    if size < 60:
        amount = f"{size} s"
    elif size < 3600:
        amount = f"{size // 60} min"
    elif size < 48 * 3600:
        amount = f"{size // 3600} h {size % 3600 // 60:02d} min"
    else:
        amount = f"{size // 86400} d"
    return f"in {amount}" if seconds >= 0 else f"{amount} ago"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def header(detail: Mapping[str, Any], now: datetime | None = None) -> Text:
    """``rollout ID · release R · STRATEGY · STATUS`` and the created/deadline line."""
    status = str(detail.get("status", "?"))
    text = Text(f"rollout {detail.get('id')} · release {detail.get('release')} · {detail.get('strategy')} · ")
    text.append(status, style=_STATUS_STYLE.get(status))
    text.append(f"\ncreated {when(detail.get('created'))} · deadline {when(detail.get('deadline'), now)}")
    return text


def gate(detail: Mapping[str, Any], now: datetime | None = None) -> Text:
    """The current gate: the phase, its status and when it is due; the freeze; or how the rollout ended."""
    status = detail.get("status")
    phases = _list(detail.get("phases"))
    frozen = _dict(detail.get("frozen"))
    packages = sum(len(v) for v in frozen.values() if isinstance(v, dict))
    due = detail.get("phaseDue")
    if status == "Freezing":
        line = "gate: freezing the patch set from the canary phase's assessments"
        line += f", until {when(due, now)}" if due else ""
        return Text(line)
    line = f"gate: phase {detail.get('phase')} {detail.get('phaseStatus')} (phases 0-{len(phases) - 1})"
    if due and status not in ENDED:
        line += f", due {when(due, now)}"
    line += f" · frozen patch set: {packages} package version{'s' if packages != 1 else ''}"
    line += f" for {len(frozen)} OS key{'s' if len(frozen) != 1 else ''}"
    return Text(line)


def halt_lines(halt: Any, now: datetime | None = None) -> Text | None:
    """A halt's reason, who and when, what caused it, the failing machines and the machines behind it."""
    if not isinstance(halt, dict):
        return None
    text = Text("HALTED", style="bold red")
    text.append(f" by {halt.get('by', '?')} at {when(halt.get('at'), now)}: {halt.get('reason', '')}")
    where = []
    if halt.get("cause"):
        where.append(f"cause {halt['cause']}")
    if halt.get("region"):
        where.append(f"region {halt['region']}")
    if halt.get("wave") is not None:
        where.append(f"wave {halt['wave']}")
    if where:
        text.append("\n  " + " · ".join(where))
    machines = [str(m) for m in _list(halt.get("machines"))]
    if machines:
        shown = ", ".join(machines[:MACHINES_SHOWN])
        more = f" … and {len(machines) - MACHINES_SHOWN} more" if len(machines) > MACHINES_SHOWN else ""
        text.append(f"\n  failing machines ({len(machines)}): {shown}{more}")
    if isinstance(halt.get("waiting"), int):
        text.append(f"\n  behind the halt: {halt['waiting']} machine{'s' if halt['waiting'] != 1 else ''} "
                    "waiting, nothing new starts until it is resumed or cancelled")
    known = {"by", "at", "reason", "cause", "region", "wave", "machines", "waiting"}
    for key in sorted(set(halt) - known):  # whatever else the server records
        text.append(f"\n  {key}: {halt[key]}")
    return text


def _waves(region: Mapping[str, Any]) -> str:
    waves = _list(region.get("waves"))
    current = region.get("currentWave")
    if current is None:
        return f"{len(waves)} wave{'s' if len(waves) != 1 else ''}, none started"
    return f"wave {min(int(current), len(waves))}/{len(waves)} done"


def phases_table(detail: Mapping[str, Any], style: BarStyle) -> Table:
    """One row per phase (its bar sums its regions) and one per region under it."""
    table = Table.grid(padding=(0, 2))
    for _ in range(4):
        table.add_column(no_wrap=True)
    for phase in _list(detail.get("phases")):
        regions = [_dict(r) for r in _list(_dict(phase).get("regions"))]
        total = [0, 0, 0, 0, 0]
        for region in regions:
            for i, count in enumerate(buckets(_dict(region.get("byStatus")))):
                total[i] += count
        index = phase.get("index")
        label = f"phase {index}" + (" (canary)" if index == 0 else "") + f" · {phase.get('state', '')}"
        table.add_row(Text(label, style="bold"), bar(total, style), Text(counts_line(total)), Text(""))
        for region in regions:
            counts = buckets(_dict(region.get("byStatus")))
            table.add_row(Text(f"  {region.get('region')}"), bar(counts, style), Text(counts_line(counts)),
                          Text(_waves(region)))
    return table


def rollout_view(detail: Mapping[str, Any], *, style: BarStyle, now: datetime | None = None) -> RenderableType:
    """The whole view of one rollout: header, gate, halt (if any), phases → regions with bars."""
    parts: list[RenderableType] = [header(detail, now), gate(detail, now)]
    halted = halt_lines(detail.get("halt"), now)
    if halted is not None:
        parts.append(halted)
    parts.append(Text(""))
    parts.append(phases_table(detail, style))
    legend = Text("bars: ")
    for i, name in enumerate(BUCKETS):
        legend.append(style.glyphs[i], style=style.styles[i] or None)
        legend.append(f" {name}" + ("  " if i < len(BUCKETS) - 1 else ""))
    parts.append(legend)
    return Group(*parts)


def plain_text(renderable: RenderableType, width: int = PLAIN_WIDTH) -> str:
    """``renderable`` as text without colours or trailing blanks (for pipes, files and logs)."""
    stream = io.StringIO()
    Console(file=stream, width=width, no_color=True, highlight=False).print(renderable, soft_wrap=False)
    return "".join(line.rstrip() + "\n" for line in stream.getvalue().splitlines())
