"""sensors, custom connectors and workflow rules

Per-device sensor results; custom connectors (HTTP actions with their credentials); workflow rules,
their runs (the outbox the workflow runner carries out), the firings of scheduled rules and the
runner's cursor in each organisation's change feed. Generated with autogenerate against 0002, then
reviewed: the models' UtcDateTime is plain DateTime(timezone=True) in the database. Runs on SQLite
(batch mode) and PostgreSQL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 15:10:07.635327
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
        "custom_connectors",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("url_template", sa.String(length=2048), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body_template", sa.Text(), nullable=True),
        sa.Column("auth", sa.JSON(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("timeout_seconds", sa.Double(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organisation_id", "name"),
    )
    with op.batch_alter_table("custom_connectors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custom_connectors_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "workflow_feed_cursors",
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("after_sequence", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organisation_id"),
    )
    op.create_table(
        "workflow_rules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("trigger_type", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organisation_id", "name"),
    )
    with op.batch_alter_table("workflow_rules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workflow_rules_organisation_trigger", ["organisation_id", "trigger_type"], unique=False
        )

    op.create_table(
        "device_sensors",
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("value", sa.String(length=1024), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_id", "name"),
    )
    with op.batch_alter_table("device_sensors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_sensors_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "workflow_firings",
        sa.Column("rule_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rule_id"], ["workflow_rules.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("rule_id", "device_id"),
    )
    with op.batch_alter_table("workflow_firings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workflow_firings_device_id"), ["device_id"], unique=False)

    op.create_table(
        "workflow_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("rule_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("trigger_type", sa.String(length=64), nullable=False),
        sa.Column("trigger_key", sa.String(length=128), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("action_index", sa.Integer(), nullable=False),
        sa.Column("action_type", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=2048), nullable=True),
        sa.Column("error", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rule_id"], ["workflow_rules.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule_id", "device_id", "trigger_key", "action_index"),
    )
    with op.batch_alter_table("workflow_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workflow_runs_device_id"), ["device_id"], unique=False)
        batch_op.create_index("ix_workflow_runs_organisation_created", ["organisation_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_workflow_runs_rule_id"), ["rule_id"], unique=False)
        batch_op.create_index("ix_workflow_runs_status_next_attempt", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("workflow_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_runs_status_next_attempt")
        batch_op.drop_index(batch_op.f("ix_workflow_runs_rule_id"))
        batch_op.drop_index("ix_workflow_runs_organisation_created")
        batch_op.drop_index(batch_op.f("ix_workflow_runs_device_id"))

    op.drop_table("workflow_runs")
    with op.batch_alter_table("workflow_firings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflow_firings_device_id"))

    op.drop_table("workflow_firings")
    with op.batch_alter_table("device_sensors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_sensors_organisation_id"))

    op.drop_table("device_sensors")
    with op.batch_alter_table("workflow_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_rules_organisation_trigger")

    op.drop_table("workflow_rules")
    op.drop_table("workflow_feed_cursors")
    with op.batch_alter_table("custom_connectors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custom_connectors_organisation_id"))

    op.drop_table("custom_connectors")
