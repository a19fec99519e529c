"""Alembic environment: migrations run on the connection handed in by ``Database.migrate``."""

from __future__ import annotations

from alembic import context

from guestpatch.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called through Database.migrate
    raise RuntimeError("run migrations through guestpatch.store.db.Database.migrate()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
