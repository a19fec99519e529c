"""docs/dashboard.md keeps up with the code: statuses, list parameters, modules."""

from __future__ import annotations

from pathlib import Path

import guestpatch.web
from guestpatch.services.fleet_views import STATUS_LABELS
from guestpatch.web.sessions import COOKIE_NAME, KEY_FILE

DOC = (Path(__file__).resolve().parents[2] / "docs" / "dashboard.md").read_text()
WEB = Path(guestpatch.web.__file__).parent


def test_every_patch_status_is_documented_with_its_label() -> None:
    """Each status appears as a table row with the label the pages show."""
    for status, label in STATUS_LABELS.items():
        assert f"| `{status}` | {label} |" in DOC


def test_every_machine_list_parameter_is_documented() -> None:
    """The parameters the list reads (filters.parse_list_query) each have a row."""
    source = (WEB / "filters.py").read_text()
    for name in ("q", "region", "tenant", "patch_mode", "status", "page"):
        assert f'"{name}"' in source
        assert f"| `{name}` |" in DOC


def test_every_dashboard_module_is_in_the_code_map() -> None:
    """A new module under guestpatch/web gets a line in the code table."""
    for path in WEB.glob("*.py"):
        assert f"`src/guestpatch/web/{path.name}`" in DOC, path.name


def test_the_cookie_and_key_file_names_are_the_documented_ones() -> None:
    """Operators look for these names on disk and in the browser."""
    assert f"`{COOKIE_NAME}`" in DOC
    assert f"`DATA_DIR/{KEY_FILE}`" in DOC
