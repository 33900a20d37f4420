"""shadow mode records

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shadow_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("entra_device_id", sa.String(length=36), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("would_write", sa.JSON(), nullable=False),
        sa.Column("directory_before", sa.JSON(), nullable=True),
        sa.Column("lost_access", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("shadow_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shadow_records_device_id"), ["device_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shadow_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shadow_records_device_id"))
    op.drop_table("shadow_records")
