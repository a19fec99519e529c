"""How the dashboard writes times, durations and counts (Jinja filters and plain helpers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def when(moment: datetime | None) -> str:
    """``2026-11-26 08:00 UTC``; an em dash for no time."""
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(delta: timedelta) -> str:
    """A short, rounded-down duration: ``45 s``, ``12 min``, ``5 h``, ``3 days``."""
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{max(seconds, 0)} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``1 machine``, ``2 machines``."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def moment(text: str | None) -> datetime | None:
    """An ISO 8601 time as the orchestrator writes it (``2026-11-26T08:00:00+00:00``); None for none."""
    return datetime.fromisoformat(text) if text else None
