"""The store's tables (SQLAlchemy Core). Changes here need an Alembic migration in ``migrations/``.

Conventions: ARM names compare case-insensitively, so every looked-up name has a lower-case ``*_key``
column next to the name as given; timestamps are timezone-aware UTC; JSON documents use ``JSON``
(``JSONB`` on PostgreSQL).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset, so we add it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Timestamp = UtcDateTime()

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("role", String(20), nullable=False),  # admin
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex of the token
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp, nullable=True),
)

regions = Table(
    "regions",
    metadata,
    Column("name", String(64), primary_key=True),  # normalised: lower-case, no spaces
    Column("display_name", String(100), nullable=False),
    Column("time_zone", String(64), nullable=False),  # IANA
    Column("pair", String(64), nullable=True),
    Column("geography", String(64), nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

images = Table(
    "images",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("publisher", String(128), nullable=False),
    Column("offer", String(128), nullable=False),
    Column("sku", String(128), nullable=False),
    Column("key", String(400), nullable=False, unique=True),  # lower(publisher:offer:sku)
    Column("os_type", String(16), nullable=False),
    Column("family", String(32), nullable=False),
    Column("version", String(32), nullable=False),
    Column("end_of_life", Date, nullable=True),
    Column("created_at", Timestamp, nullable=False),
)

availability_sets = Table(
    "availability_sets",
    metadata,
    Column("key", String(400), primary_key=True),  # lower-case ARM id
    Column("id", String(400), nullable=False),  # ARM id as first given
    Column("subscription", String(64), nullable=False),
    Column("update_domain_count", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

virtual_machines = Table(
    "virtual_machines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("vm_id", String(36), nullable=False, unique=True),
    Column("subscription", String(64), nullable=False),
    Column("subscription_key", String(64), nullable=False),
    Column("resource_group", String(90), nullable=False),
    Column("resource_group_key", String(90), nullable=False),
    Column("name", String(64), nullable=False),
    Column("name_key", String(64), nullable=False),
    Column("location", String(64), nullable=False),
    Column("os_type", String(16), nullable=False),
    Column("zone", String(16), nullable=True),
    Column("availability_set_key", String(400), ForeignKey("availability_sets.key"), nullable=True),
    Column("update_domain", Integer, nullable=True),
    Column("scale_set_key", String(400), nullable=True),
    Column("patch_mode", String(32), nullable=False),
    Column("assessment_mode", String(32), nullable=False),
    Column("time_zone", String(64), nullable=True),
    Column("power_state", String(16), nullable=False),  # running | deallocated | stopped | unknown
    Column("provisioning_state", String(16), nullable=False),
    Column("document", Json, nullable=False),  # the resource as stored: properties we keep and return
    Column("generation", BigInteger, nullable=False),  # bumps on every change; the ETag
    # Position of the VM's goal state in the global change sequence (agent protocol ETag).
    Column("goal_seq", BigInteger, nullable=False, server_default="0"),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("subscription_key", "resource_group_key", "name_key", name="uq_vm_resource_key"),
    Index("ix_vm_location", "location"),
    Index("ix_vm_availability_set", "availability_set_key", "update_domain"),
)

counters = Table(
    "counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

enrollment_tokens = Table(
    "enrollment_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("subscription", String(64), nullable=False),
    Column("resource_group", String(90), nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("max_uses", Integer, nullable=False),
    Column("uses", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

machine_credentials = Table(
    "machine_credentials",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("vm", Integer, ForeignKey("virtual_machines.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp, nullable=True),
)

agent_status = Table(
    "agent_status",
    metadata,
    Column("vm", Integer, ForeignKey("virtual_machines.id", ondelete="CASCADE"), primary_key=True),
    Column("agent_version", String(32), nullable=False),
    Column("os", Json, nullable=False),
    Column("boot_time", Timestamp, nullable=True),
    Column("last_seen", Timestamp, nullable=False),
    Column("configuration", Json, nullable=True),  # what the agent last applied
    Column("health", Json, nullable=True),
)

operations = Table(
    "operations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("vm", Integer, ForeignKey("virtual_machines.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),  # assessPatches | installPatches
    Column("origin", String(10), nullable=False),  # User | Platform
    Column("status", String(20), nullable=False),  # Queued | InProgress | Succeeded | Failed | Canceled
    Column("active", Boolean, nullable=False),  # Queued or InProgress: at most one per VM
    Column("parameters", Json, nullable=False),
    Column("result", Json, nullable=True),
    Column("error", Json, nullable=True),
    Column("sequence", Integer, nullable=False),  # highest report sequence accepted
    Column("location", String(64), nullable=False),
    Column("api_version", String(20), nullable=True),
    Column("idempotency_key", String(200), nullable=True, unique=True),  # engine commands
    Column("requested_at", Timestamp, nullable=False),
    Column("started_at", Timestamp, nullable=True),
    Column("last_report_at", Timestamp, nullable=True),
    Column("ended_at", Timestamp, nullable=True),
    Column("deadline", Timestamp, nullable=False),
    Index("ix_operations_vm_requested", "vm", "requested_at"),
    Index(
        "uq_operations_one_active_per_vm", "vm", unique=True,
        sqlite_where=text("active"), postgresql_where=text("active"),
    ),
    Index("ix_operations_active_deadline", "active", "deadline"),
)

vm_patches = Table(
    "vm_patches",
    metadata,
    Column("vm", Integer, ForeignKey("virtual_machines.id", ondelete="CASCADE"), primary_key=True),
    Column("patch_id", String(400), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("version", String(200), nullable=True),
    Column("classification", String(32), nullable=False),  # the first classification reported
    Column("reboot_behavior", String(32), nullable=True),
    Column("published", Timestamp, nullable=True),
    Column("operation", String(36), nullable=False),
    Index("ix_vm_patches_name", "name", "version"),
)

rollouts = Table(
    "rollouts",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("release", String(100), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("record", Json, nullable=False),  # RolloutRecord.to_dict()
)

rollout_machines = Table(
    "rollout_machines",
    metadata,
    Column("rollout", String(100), ForeignKey("rollouts.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(400), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("record", Json, nullable=False),  # MachineRecord.to_dict()
    Index("ix_rollout_machines_position", "rollout", "position"),
)

rollout_attempts = Table(
    "rollout_attempts",
    metadata,
    Column("rollout", String(100), ForeignKey("rollouts.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("record", Json, nullable=False),  # AttemptRecord.to_dict()
)

engine_outbox = Table(
    "engine_outbox",
    metadata,
    Column("key", String(400), primary_key=True),  # Command.key: the idempotency key
    Column("position", BigInteger, nullable=False, unique=True),
    Column("command", Json, nullable=False),  # Command.to_dict()
    Column("dispatched", Boolean, nullable=False),
    Index("ix_engine_outbox_pending", "dispatched", "position"),
)

consumed_reports = Table(
    "consumed_reports",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("rollout", String(100), nullable=False),
)

engine_inbox = Table(
    "engine_inbox",
    metadata,
    Column("id", String(450), primary_key=True),  # AgentReport.id: unique per report
    Column("position", BigInteger, nullable=False, unique=True),
    Column("key", String(400), nullable=False),  # the command's key
    Column("machine", String(400), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", Timestamp, nullable=False),
    Column("payload", Json, nullable=False),  # not_offered, offers, detail
    Column("acked", Boolean, nullable=False),
    Index("ix_engine_inbox_pending", "acked", "position"),
)

engine_leases = Table(
    "engine_leases",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("holder", String(100), nullable=False),
    Column("expires_at", Timestamp, nullable=False),
)

# Marker so that a test can list every table the migrations must create.
ALL_TABLES = tuple(metadata.sorted_tables)
