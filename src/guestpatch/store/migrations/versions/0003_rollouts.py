"""Rollouts: the orchestrator's durable state, command outbox, report inbox, applied reports, engine lease.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rollouts",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("release", sa.String(100), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.Column("record", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollouts"),
    )
    op.create_table(
        "rollout_machines",
        sa.Column("rollout", sa.String(100), nullable=False),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("record", Json, nullable=False),
        sa.PrimaryKeyConstraint("rollout", "name", name="pk_rollout_machines"),
        sa.ForeignKeyConstraint(["rollout"], ["rollouts.id"], ondelete="CASCADE",
                                name="fk_rollout_machines_rollout_rollouts"),
    )
    op.create_index("ix_rollout_machines_position", "rollout_machines", ["rollout", "position"])
    op.create_table(
        "rollout_attempts",
        sa.Column("rollout", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("record", Json, nullable=False),
        sa.PrimaryKeyConstraint("rollout", "position", name="pk_rollout_attempts"),
        sa.ForeignKeyConstraint(["rollout"], ["rollouts.id"], ondelete="CASCADE",
                                name="fk_rollout_attempts_rollout_rollouts"),
    )
    op.create_table(
        "engine_outbox",
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("command", Json, nullable=False),
        sa.Column("dispatched", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_engine_outbox"),
        sa.UniqueConstraint("position", name="uq_engine_outbox_position"),
    )
    op.create_index("ix_engine_outbox_pending", "engine_outbox", ["dispatched", "position"])
    op.create_table(
        "consumed_reports",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("rollout", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consumed_reports"),
    )
    op.create_table(
        "engine_inbox",
        sa.Column("id", sa.String(450), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("machine", sa.String(400), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", Ts, nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("acked", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_engine_inbox"),
        sa.UniqueConstraint("position", name="uq_engine_inbox_position"),
    )
    op.create_index("ix_engine_inbox_pending", "engine_inbox", ["acked", "position"])
    op.create_table(
        "engine_leases",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("holder", sa.String(100), nullable=False),
        sa.Column("expires_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_engine_leases"),
    )


def downgrade() -> None:
    op.drop_table("engine_leases")
    op.drop_table("engine_inbox")
    op.drop_table("consumed_reports")
    op.drop_table("engine_outbox")
    op.drop_table("rollout_attempts")
    op.drop_table("rollout_machines")
    op.drop_table("rollouts")
