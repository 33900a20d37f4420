"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 12:34:12.718020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_nonces",
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=True),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("nonce_hash"),
    )
    with op.batch_alter_table("device_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_nonces_expires_date_time"), ["expires_date_time"], unique=False)

    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_date_time", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid"),
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("country_letter_code", sa.String(length=2), nullable=False),
        sa.Column("throttling", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("sign_in_audience", sa.String(length=64), nullable=False),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("identifier_uris", sa.JSON(), nullable=False),
        sa.Column("web_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("public_client_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("spa_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("required_resource_access", sa.JSON(), nullable=False),
        sa.Column("app_roles", sa.JSON(), nullable=False),
        sa.Column("is_fallback_public_client", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("app_id"),
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_applications_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "attribute_sets",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=128), nullable=True),
        sa.Column("max_attributes_per_set", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_table(
        "conditional_access_policies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("state", sa.String(length=48), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_date_time", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conditional_access_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conditional_access_policies_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "custom_security_attribute_definitions",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=65), nullable=False),
        sa.Column("attribute_set", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=128), nullable=True),
        sa.Column("is_collection", sa.Boolean(), nullable=False),
        sa.Column("is_searchable", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("use_pre_defined_values_only", sa.Boolean(), nullable=False),
        sa.Column("allowed_values", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("account_enabled", sa.Boolean(), nullable=False),
        sa.Column("operating_system", sa.String(length=64), nullable=True),
        sa.Column("operating_system_version", sa.String(length=64), nullable=True),
        sa.Column("trust_type", sa.String(length=16), nullable=True),
        sa.Column("is_compliant", sa.Boolean(), nullable=True),
        sa.Column("is_managed", sa.Boolean(), nullable=True),
        sa.Column("is_rooted", sa.Boolean(), nullable=True),
        sa.Column("mdm_app_id", sa.String(length=64), nullable=True),
        sa.Column("management_type", sa.String(length=64), nullable=True),
        sa.Column("device_ownership", sa.String(length=16), nullable=True),
        sa.Column("enrollment_type", sa.String(length=64), nullable=True),
        sa.Column("enrollment_profile_name", sa.String(length=256), nullable=True),
        sa.Column("device_category", sa.String(length=256), nullable=True),
        sa.Column("manufacturer", sa.String(length=256), nullable=True),
        sa.Column("model", sa.String(length=256), nullable=True),
        sa.Column("profile_type", sa.String(length=32), nullable=True),
        sa.Column("registration_date_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approximate_last_sign_in_date_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("compliance_expiration_date_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("extension_attributes", sa.JSON(), nullable=False),
        sa.Column("physical_ids", sa.JSON(), nullable=False),
        sa.Column("system_labels", sa.JSON(), nullable=False),
        sa.Column("alternative_security_ids", sa.JSON(), nullable=False),
        sa.Column("device_public_key_pem", sa.Text(), nullable=True),
        sa.Column("device_certificate_thumbprint", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_devices_device_certificate_thumbprint"),
            ["device_certificate_thumbprint"],
            unique=False,
        )
        batch_op.create_index("ix_devices_tenant_device_id", ["tenant_id", "device_id"], unique=True)
        batch_op.create_index("ix_devices_tenant_display_name", ["tenant_id", "display_name"], unique=False)

    op.create_table(
        "directory_audits",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("activity_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activity_display_name", sa.String(length=256), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("correlation_id", sa.String(length=36), nullable=False),
        sa.Column("logged_by_service", sa.String(length=64), nullable=False),
        sa.Column("operation_type", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("result_reason", sa.String(length=512), nullable=False),
        sa.Column("initiated_by", sa.JSON(), nullable=False),
        sa.Column("target_resources", sa.JSON(), nullable=False),
        sa.Column("additional_details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("directory_audits", schema=None) as batch_op:
        batch_op.create_index("ix_directory_audits_tenant_time", ["tenant_id", "activity_date_time"], unique=False)

    op.create_table(
        "directory_roles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("role_template_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "role_template_id"),
    )
    with op.batch_alter_table("directory_roles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directory_roles_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "domains",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("is_verified", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("is_initial", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("domains", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_domains_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "groups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=True),
        sa.Column("mail_nickname", sa.String(length=64), nullable=False),
        sa.Column("mail_enabled", sa.Boolean(), nullable=False),
        sa.Column("security_enabled", sa.Boolean(), nullable=False),
        sa.Column("group_types", sa.JSON(), nullable=False),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_groups_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "named_locations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("named_locations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_named_locations_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "service_principals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("app_owner_organization_id", sa.String(length=36), nullable=True),
        sa.Column("service_principal_type", sa.String(length=32), nullable=False),
        sa.Column("account_enabled", sa.Boolean(), nullable=False),
        sa.Column("app_roles", sa.JSON(), nullable=False),
        sa.Column("oauth2_permission_scopes", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("custom_security_attributes", sa.JSON(), nullable=False),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "app_id"),
    )
    with op.batch_alter_table("service_principals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_principals_app_id"), ["app_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_principals_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "sign_ins",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("user_principal_name", sa.String(length=256), nullable=True),
        sa.Column("app_id", sa.String(length=36), nullable=True),
        sa.Column("device_id", sa.String(length=36), nullable=True),
        sa.Column("conditional_access_status", sa.String(length=32), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=False),
        sa.Column("is_interactive", sa.Boolean(), nullable=False),
        sa.Column("correlation_id", sa.String(length=36), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sign_ins", schema=None) as batch_op:
        batch_op.create_index("ix_sign_ins_tenant_time", ["tenant_id", "created_date_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_sign_ins_user_id"), ["user_id"], unique=False)

    op.create_table(
        "subscribed_skus",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("enabled_units", sa.Integer(), nullable=False),
        sa.Column("capability_status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "sku_id"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("user_principal_name", sa.String(length=113), nullable=False),
        sa.Column("user_principal_name_lower", sa.String(length=113), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("given_name", sa.String(length=64), nullable=True),
        sa.Column("surname", sa.String(length=64), nullable=True),
        sa.Column("mail", sa.String(length=256), nullable=True),
        sa.Column("mail_nickname", sa.String(length=64), nullable=True),
        sa.Column("account_enabled", sa.Boolean(), nullable=False),
        sa.Column("user_type", sa.String(length=16), nullable=False),
        sa.Column("on_premises_immutable_id", sa.String(length=256), nullable=True),
        sa.Column("job_title", sa.String(length=128), nullable=True),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("usage_location", sa.String(length=2), nullable=True),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("custom_security_attributes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "user_principal_name_lower"),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "app_role_assignments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("principal_id", sa.String(length=36), nullable=False),
        sa.Column("principal_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("app_role_id", sa.String(length=36), nullable=False),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["principal_id"], ["service_principals.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resource_id"], ["service_principals.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("principal_id", "resource_id", "app_role_id"),
    )
    with op.batch_alter_table("app_role_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_role_assignments_principal_id"), ["principal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_app_role_assignments_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "application_certificates",
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=True),
        sa.Column("thumbprint", sa.String(length=64), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("start_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key_id"),
    )
    with op.batch_alter_table("application_certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_certificates_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_application_certificates_thumbprint"), ["thumbprint"], unique=False)

    op.create_table(
        "application_passwords",
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=True),
        sa.Column("hint", sa.String(length=3), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("start_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key_id"),
    )
    with op.batch_alter_table("application_passwords", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_application_passwords_application_id"), ["application_id"], unique=False)

    op.create_table(
        "authorization_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("nonce", sa.String(length=512), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=True),
        sa.Column("code_challenge_method", sa.String(length=8), nullable=True),
        sa.Column("device_id", sa.String(length=36), nullable=True),
        sa.Column("auth_methods", sa.JSON(), nullable=False),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redeemed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    op.create_table(
        "device_registered_principals",
        sa.Column("device_object_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("relationship", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["device_object_id"], ["devices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_object_id", "user_id", "relationship"),
    )
    with op.batch_alter_table("device_registered_principals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_registered_principals_user_id"), ["user_id"], unique=False)

    op.create_table(
        "directory_role_members",
        sa.Column("role_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("member_type", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["role_id"], ["directory_roles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("role_id", "member_id"),
    )
    with op.batch_alter_table("directory_role_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directory_role_members_member_id"), ["member_id"], unique=False)

    op.create_table(
        "group_members",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("member_type", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "member_id"),
    )
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_members_member_id"), ["member_id"], unique=False)

    op.create_table(
        "oauth2_permission_grants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("consent_type", sa.String(length=16), nullable=False),
        sa.Column("principal_id", sa.String(length=36), nullable=True),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["service_principals.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resource_id"], ["service_principals.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("oauth2_permission_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth2_permission_grants_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_oauth2_permission_grants_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=True),
        sa.Column("auth_methods", sa.JSON(), nullable=False),
        sa.Column("created_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_date_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refresh_tokens_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refresh_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "user_licenses",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("disabled_plans", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "sku_id"),
    )


def downgrade() -> None:
    op.drop_table("user_licenses")
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_user_id"))
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_tenant_id"))

    op.drop_table("refresh_tokens")
    with op.batch_alter_table("oauth2_permission_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth2_permission_grants_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_oauth2_permission_grants_client_id"))

    op.drop_table("oauth2_permission_grants")
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_members_member_id"))

    op.drop_table("group_members")
    with op.batch_alter_table("directory_role_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_role_members_member_id"))

    op.drop_table("directory_role_members")
    with op.batch_alter_table("device_registered_principals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_registered_principals_user_id"))

    op.drop_table("device_registered_principals")
    op.drop_table("authorization_codes")
    with op.batch_alter_table("application_passwords", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_passwords_application_id"))

    op.drop_table("application_passwords")
    with op.batch_alter_table("application_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_certificates_thumbprint"))
        batch_op.drop_index(batch_op.f("ix_application_certificates_application_id"))

    op.drop_table("application_certificates")
    with op.batch_alter_table("app_role_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_role_assignments_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_app_role_assignments_principal_id"))

    op.drop_table("app_role_assignments")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_tenant_id"))

    op.drop_table("users")
    op.drop_table("subscribed_skus")
    with op.batch_alter_table("sign_ins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_ins_user_id"))
        batch_op.drop_index("ix_sign_ins_tenant_time")

    op.drop_table("sign_ins")
    with op.batch_alter_table("service_principals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_principals_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_service_principals_app_id"))

    op.drop_table("service_principals")
    with op.batch_alter_table("named_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_named_locations_tenant_id"))

    op.drop_table("named_locations")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_groups_tenant_id"))

    op.drop_table("groups")
    with op.batch_alter_table("domains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_domains_tenant_id"))

    op.drop_table("domains")
    with op.batch_alter_table("directory_roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_roles_tenant_id"))

    op.drop_table("directory_roles")
    with op.batch_alter_table("directory_audits", schema=None) as batch_op:
        batch_op.drop_index("ix_directory_audits_tenant_time")

    op.drop_table("directory_audits")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index("ix_devices_tenant_display_name")
        batch_op.drop_index("ix_devices_tenant_device_id")
        batch_op.drop_index(batch_op.f("ix_devices_device_certificate_thumbprint"))

    op.drop_table("devices")
    op.drop_table("custom_security_attribute_definitions")
    with op.batch_alter_table("conditional_access_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conditional_access_policies_tenant_id"))

    op.drop_table("conditional_access_policies")
    op.drop_table("attribute_sets")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_tenant_id"))

    op.drop_table("applications")
    op.drop_table("tenants")
    op.drop_table("signing_keys")
    with op.batch_alter_table("device_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_nonces_expires_date_time"))

    op.drop_table("device_nonces")
