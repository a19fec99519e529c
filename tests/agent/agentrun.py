"""Run the agent in-process through its real CLI (real apt against the lab root) and read its JSON."""

from __future__ import annotations

import io
import json
from typing import Any

from guestpatch_agent import cli


def agent(*args: str) -> tuple[int, dict[str, Any]]:
    """``guestpatch-agent ARGS``: the exit code and the printed JSON."""
    out = io.StringIO()
    code = cli.main(list(args), out=out)
    text = out.getvalue()
    return code, (json.loads(text) if text.strip() else {})


def patches_by_name(result: dict[str, Any], key: str = "patches") -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in result[key]}
