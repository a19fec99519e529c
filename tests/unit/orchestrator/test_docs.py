"""docs/orchestrator.md shows the code's own defaults and transition tables (no drift)."""

from __future__ import annotations

from guestpatch.core.policy import POLICY_FIELDS
from guestpatch.engine import docs


def test_orchestrator_page_matches_the_code() -> None:
    """The generated blocks equal what the code renders now (run `python -m guestpatch.engine.docs`)."""
    text = docs.DOC.read_text()
    assert "<!-- generated: policy -->" in text
    assert "<!-- generated: transitions -->" in text
    assert docs.render(text) == text


def test_every_policy_key_is_documented() -> None:
    """Each policy knob appears on the page by its JSON key."""
    text = docs.DOC.read_text()
    assert all(f"`{f.metadata['key']}`" in text for f in POLICY_FIELDS)
