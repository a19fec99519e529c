"""Reference documents are generated from the code; a stale committed copy fails the build."""

from __future__ import annotations

from pathlib import Path

from guestpatch import docgen
from guestpatch.config import settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_configuration_doc_matches_the_declared_settings() -> None:
    """docs/configuration.md is exactly what docgen renders from Config (run `make docs` to refresh)."""
    assert (DOCS / "configuration.md").read_text() == docgen.configuration_md()


def test_every_setting_has_help_text() -> None:
    """A setting without help would leave an empty row in the reference."""
    assert all(f.metadata["help"].strip() for f in settings())


def test_api_doc_matches_the_openapi_schema() -> None:
    """docs/api.md lists every route of the OpenAPI schema (run `make docs` to refresh)."""
    assert (DOCS / "api.md").read_text() == docgen.api_md()
