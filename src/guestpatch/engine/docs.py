"""Generated parts of ``docs/orchestrator.md``: the policy defaults and the transition tables.

``python -m guestpatch.engine.docs`` rewrites the blocks between ``<!-- generated: NAME -->`` and
``<!-- end generated -->``; ``tests/unit/orchestrator/test_docs.py`` fails when the page drifts.
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from guestpatch.core.policy import POLICY_FIELDS, Policy
from guestpatch.core.rollout import TABLES

DOC = Path(__file__).resolve().parents[3] / "docs" / "orchestrator.md"
_BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated -->)", re.S)


def _value(value: Any) -> str:
    if isinstance(value, timedelta):
        minutes = int(value.total_seconds() // 60)
        return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
    if hasattr(value, "to_dict"):
        d = value.to_dict()
        return f"{d['start']}-{d['end']}"
    if value == ():
        return "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def policy_table() -> str:
    policy = Policy()
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for f in POLICY_FIELDS:
        lines.append(f"| `{f.metadata['key']}` | {_value(getattr(policy, f.name))} | {f.metadata['help']} |")
    return "\n".join(lines) + "\n"


def transitions() -> str:
    out = []
    for name, table in TABLES.items():
        out.append(f"**{name}**\n\n| from | event | to |\n|---|---|---|")
        for (state, event), target in table.items():
            out.append(f"| {state} | `{event}` | {target} |")
        out.append("")
    return "\n".join(out)


GENERATORS = {"policy": policy_table, "transitions": transitions}


def render(text: str) -> str:
    """``text`` with every generated block replaced by its current content."""
    return _BLOCK.sub(lambda m: m.group(1) + GENERATORS[m.group(2)]() + m.group(4), text)


def main() -> None:
    DOC.write_text(render(DOC.read_text()))
    sys.stdout.write(f"rendered {DOC}\n")


if __name__ == "__main__":
    main()
