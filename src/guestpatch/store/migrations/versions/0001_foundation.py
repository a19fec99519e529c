"""Foundation: API tokens, regions, operator images, availability sets, virtual machines.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.Column("revoked_at", Ts, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_table(
        "regions",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("pair", sa.String(64), nullable=True),
        sa.Column("geography", sa.String(64), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_regions"),
    )
    op.create_table(
        "images",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("publisher", sa.String(128), nullable=False),
        sa.Column("offer", sa.String(128), nullable=False),
        sa.Column("sku", sa.String(128), nullable=False),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("os_type", sa.String(16), nullable=False),
        sa.Column("family", sa.String(32), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("end_of_life", sa.Date, nullable=True),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_images"),
        sa.UniqueConstraint("key", name="uq_images_key"),
    )
    op.create_table(
        "availability_sets",
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("id", sa.String(400), nullable=False),
        sa.Column("subscription", sa.String(64), nullable=False),
        sa.Column("update_domain_count", sa.Integer, nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_availability_sets"),
    )
    op.create_table(
        "virtual_machines",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("vm_id", sa.String(36), nullable=False),
        sa.Column("subscription", sa.String(64), nullable=False),
        sa.Column("subscription_key", sa.String(64), nullable=False),
        sa.Column("resource_group", sa.String(90), nullable=False),
        sa.Column("resource_group_key", sa.String(90), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("name_key", sa.String(64), nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("os_type", sa.String(16), nullable=False),
        sa.Column("zone", sa.String(16), nullable=True),
        sa.Column("availability_set_key", sa.String(400), nullable=True),
        sa.Column("update_domain", sa.Integer, nullable=True),
        sa.Column("scale_set_key", sa.String(400), nullable=True),
        sa.Column("patch_mode", sa.String(32), nullable=False),
        sa.Column("assessment_mode", sa.String(32), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=True),
        sa.Column("power_state", sa.String(16), nullable=False),
        sa.Column("provisioning_state", sa.String(16), nullable=False),
        sa.Column("document", Json, nullable=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.Column("updated_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_virtual_machines"),
        sa.UniqueConstraint("vm_id", name="uq_virtual_machines_vm_id"),
        sa.UniqueConstraint(
            "subscription_key", "resource_group_key", "name_key",
            name="uq_vm_resource_key",
        ),
        sa.ForeignKeyConstraint(
            ["availability_set_key"], ["availability_sets.key"],
            name="fk_virtual_machines_availability_set_key_availability_sets",
        ),
    )
    op.create_index("ix_vm_location", "virtual_machines", ["location"])
    op.create_index("ix_vm_availability_set", "virtual_machines", ["availability_set_key", "update_domain"])


def downgrade() -> None:
    op.drop_table("virtual_machines")
    op.drop_table("availability_sets")
    op.drop_table("images")
    op.drop_table("regions")
    op.drop_table("api_tokens")
