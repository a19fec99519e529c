"""Agents and operations: enrollment tokens, machine credentials, agent status, patch operations,
the latest assessed patches per VM, and the goal-state change sequence.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Ts = sa.DateTime(timezone=True)


def _vm_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["vm"], ["virtual_machines.id"], ondelete="CASCADE", name=f"fk_{table}_vm_virtual_machines"
    )


def upgrade() -> None:
    with op.batch_alter_table("virtual_machines") as batch:
        batch.add_column(sa.Column("goal_seq", sa.BigInteger, nullable=False, server_default="0"))
    op.create_table(
        "counters",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_counters"),
    )
    op.create_table(
        "enrollment_tokens",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("subscription", sa.String(64), nullable=False),
        sa.Column("resource_group", sa.String(90), nullable=False),
        sa.Column("expires_at", Ts, nullable=False),
        sa.Column("max_uses", sa.Integer, nullable=False),
        sa.Column("uses", sa.Integer, nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_enrollment_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_enrollment_tokens_token_hash"),
    )
    op.create_table(
        "machine_credentials",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("vm", sa.Integer, nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.Column("revoked_at", Ts, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_machine_credentials"),
        sa.UniqueConstraint("secret_hash", name="uq_machine_credentials_secret_hash"),
        _vm_fk("machine_credentials"),
    )
    op.create_index("ix_machine_credentials_vm", "machine_credentials", ["vm"])
    op.create_table(
        "agent_status",
        sa.Column("vm", sa.Integer, nullable=False),
        sa.Column("agent_version", sa.String(32), nullable=False),
        sa.Column("os", Json, nullable=False),
        sa.Column("boot_time", Ts, nullable=True),
        sa.Column("last_seen", Ts, nullable=False),
        sa.Column("configuration", Json, nullable=True),
        sa.Column("health", Json, nullable=True),
        sa.PrimaryKeyConstraint("vm", name="pk_agent_status"),
        _vm_fk("agent_status"),
    )
    op.create_table(
        "operations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("vm", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("parameters", Json, nullable=False),
        sa.Column("result", Json, nullable=True),
        sa.Column("error", Json, nullable=True),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("api_version", sa.String(20), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("requested_at", Ts, nullable=False),
        sa.Column("started_at", Ts, nullable=True),
        sa.Column("last_report_at", Ts, nullable=True),
        sa.Column("ended_at", Ts, nullable=True),
        sa.Column("deadline", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_operations"),
        sa.UniqueConstraint("idempotency_key", name="uq_operations_idempotency_key"),
        _vm_fk("operations"),
    )
    op.create_index("ix_operations_vm_requested", "operations", ["vm", "requested_at"])
    op.create_index(
        "uq_operations_one_active_per_vm", "operations", ["vm"], unique=True,
        sqlite_where=sa.text("active"), postgresql_where=sa.text("active"),
    )
    op.create_index("ix_operations_active_deadline", "operations", ["active", "deadline"])
    op.create_table(
        "vm_patches",
        sa.Column("vm", sa.Integer, nullable=False),
        sa.Column("patch_id", sa.String(400), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(200), nullable=True),
        sa.Column("classification", sa.String(32), nullable=False),
        sa.Column("reboot_behavior", sa.String(32), nullable=True),
        sa.Column("published", Ts, nullable=True),
        sa.Column("operation", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("vm", "patch_id", name="pk_vm_patches"),
        _vm_fk("vm_patches"),
    )
    op.create_index("ix_vm_patches_name", "vm_patches", ["name", "version"])


def downgrade() -> None:
    op.drop_table("vm_patches")
    op.drop_table("operations")
    op.drop_table("agent_status")
    op.drop_table("machine_credentials")
    op.drop_table("enrollment_tokens")
    op.drop_table("counters")
    with op.batch_alter_table("virtual_machines") as batch:
        batch.drop_column("goal_seq")
