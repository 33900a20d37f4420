"""onboarding: MDM link, platforms, consent and activation state of registrations

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mdm_url", sa.String(length=2048), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("mdm_client_id", sa.String(length=128), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("mdm_client_secret", sa.String(length=256), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("platforms", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("consent_state_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("consented_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("enabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_registrations_consent_state_hash"), ["consent_state_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registrations_consent_state_hash"))
        for column in (
            "last_heartbeat_at",
            "enabled_at",
            "consented_at",
            "last_error",
            "consent_state_hash",
            "platforms",
            "mdm_client_secret",
            "mdm_client_id",
            "mdm_url",
        ):
            batch_op.drop_column(column)
