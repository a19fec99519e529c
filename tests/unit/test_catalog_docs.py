"""The rule, image, alias and region tables in docs/ are generated from code and data and must not drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from guestpatch.catalogs import generated_section, generated_tables, refresh_docs

DOCS = Path(__file__).resolve().parents[2] / "docs"
TABLES = [(doc, name) for doc, tables in generated_tables().items() for name in tables]


@pytest.mark.parametrize(("document", "table"), TABLES, ids=[f"{d}:{t}" for d, t in TABLES])
def test_committed_table_matches_the_generated_one(document: str, table: str) -> None:
    """Each generated table in docs/ is what the code renders (refresh: python -m guestpatch.catalogs)."""
    committed = generated_section((DOCS / document).read_text(encoding="utf-8"), table)
    assert committed == generated_tables()[document][table]


def test_refresh_docs_rewrites_a_stale_table_and_nothing_else(tmp_path: Path) -> None:
    """refresh_docs replaces only the text between the markers."""
    for document in generated_tables():
        (tmp_path / document).write_text((DOCS / document).read_text(encoding="utf-8"), encoding="utf-8")
    stale = (tmp_path / "regions.md").read_text(encoding="utf-8").replace("| `westeurope` |", "| `westeurop` |")
    (tmp_path / "regions.md").write_text(stale, encoding="utf-8")
    assert refresh_docs(tmp_path) == [tmp_path / "regions.md"]
    assert (tmp_path / "regions.md").read_text(encoding="utf-8") == (DOCS / "regions.md").read_text(encoding="utf-8")


def test_every_rule_id_appears_in_the_prose_or_table() -> None:
    """The patch-settings page names each rule (the generated table does, by id)."""
    from guestpatch.core.rules import RULES

    text = (DOCS / "patch-settings.md").read_text(encoding="utf-8")
    assert [rule.id for rule in RULES if f"`{rule.id}`" not in text] == []
