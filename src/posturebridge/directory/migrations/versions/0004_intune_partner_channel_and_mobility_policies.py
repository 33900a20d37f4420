"""intune partner channel and mobility policies

Generated with autogenerate against 0003, then reviewed: new tables only (compliance partners,
partner compliance policies, device data upload messages, per-device partner state, mobility
management policies), so no existing row needs a server default.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 13:00:22.506738
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
        "compliance_management_partners",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("partner_app_id", sa.String(length=36), nullable=True),
        sa.Column("partner_state", sa.String(length=16), nullable=False),
        sa.Column("last_heartbeat_date_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("android_onboarded", sa.Boolean(), nullable=False),
        sa.Column("ios_onboarded", sa.Boolean(), nullable=False),
        sa.Column("mac_os_onboarded", sa.Boolean(), nullable=False),
        sa.Column("linux_onboarded", sa.Boolean(), nullable=False),
        sa.Column("windows_onboarded", sa.Boolean(), nullable=False),
        sa.Column("enrollment_assignments", sa.JSON(), nullable=False),
        sa.Column("partner_enrollment_url", sa.Text(), nullable=True),
        sa.Column("partner_remediation_url", sa.Text(), nullable=True),
        sa.Column("unresponsive_threshold_days", sa.Integer(), nullable=False),
        sa.Column("compliance_validity_days", sa.Integer(), nullable=False),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("compliance_management_partners", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compliance_management_partners_partner_app_id"), ["partner_app_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_compliance_management_partners_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "data_upload_messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("partner_app_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_detail", sa.Text(), nullable=True),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("upload_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_date_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_date_time", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("data_upload_messages", schema=None) as batch_op:
        batch_op.create_index("ix_data_upload_messages_status_received", ["status", "received_date_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_data_upload_messages_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "mobility_management_policies",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("applies_to", sa.String(length=16), nullable=False),
        sa.Column("discovery_url", sa.Text(), nullable=True),
        sa.Column("terms_of_use_url", sa.Text(), nullable=True),
        sa.Column("compliance_url", sa.Text(), nullable=True),
        sa.Column("included_groups", sa.JSON(), nullable=False),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "app_id"),
    )
    op.create_table(
        "partner_compliance_policies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("partner_app_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("partner_policy_id", sa.String(length=128), nullable=True),
        sa.Column("partner_managed_compliance", sa.Boolean(), nullable=False),
        sa.Column("assignments", sa.JSON(), nullable=False),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "partner_app_id", "platform"),
    )
    with op.batch_alter_table("partner_compliance_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_compliance_policies_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "partner_device_states",
        sa.Column("device_object_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("partner_app_id", sa.String(length=36), nullable=False),
        sa.Column("last_update_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_check_in_date_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["device_object_id"], ["devices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_object_id"),
    )
    with op.batch_alter_table("partner_device_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_device_states_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("partner_device_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_device_states_tenant_id"))

    op.drop_table("partner_device_states")
    with op.batch_alter_table("partner_compliance_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_compliance_policies_tenant_id"))

    op.drop_table("partner_compliance_policies")
    op.drop_table("mobility_management_policies")
    with op.batch_alter_table("data_upload_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_upload_messages_tenant_id"))
        batch_op.drop_index("ix_data_upload_messages_status_received")

    op.drop_table("data_upload_messages")
    with op.batch_alter_table("compliance_management_partners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compliance_management_partners_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_compliance_management_partners_partner_app_id"))

    op.drop_table("compliance_management_partners")
