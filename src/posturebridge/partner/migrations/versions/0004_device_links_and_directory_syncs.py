"""device links and directory syncs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_syncs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("directory_syncs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directory_syncs_started_at"), ["started_at"], unique=False)

    op.create_table(
        "device_links",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("entra_device_id", sa.String(length=64), nullable=True),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("serial_number", sa.String(length=128), nullable=True),
        sa.Column("udid", sa.String(length=128), nullable=True),
        sa.Column("user_id", sa.String(length=64), nullable=True),
        sa.Column("user_principal_name", sa.String(length=256), nullable=True),
        sa.Column("directory_object_id", sa.String(length=64), nullable=True),
        sa.Column("registered_owner", sa.String(length=256), nullable=True),
        sa.Column("checked_entra_device_id", sa.String(length=64), nullable=True),
        sa.Column("conflict", sa.String(length=32), nullable=True),
        sa.Column("conflict_detail", sa.Text(), nullable=True),
        sa.Column("conflict_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id"),
    )
    with op.batch_alter_table("device_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_links_entra_device_id"), ["entra_device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_device_links_conflict"), ["conflict"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("device_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_links_conflict"))
        batch_op.drop_index(batch_op.f("ix_device_links_entra_device_id"))
    op.drop_table("device_links")
    with op.batch_alter_table("directory_syncs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_syncs_started_at"))
    op.drop_table("directory_syncs")
