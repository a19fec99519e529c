"""Agent version comparison (dotted numbers; anything unparsable counts as oldest)."""

from __future__ import annotations


def version_key(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.strip().split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            return (-1,)
        parts.append(int(digits))
    return tuple(parts) if parts else (-1,)


def older_than(version: str, minimum: str) -> bool:
    a, b = version_key(version), version_key(minimum)
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)) < b + (0,) * (width - len(b))
