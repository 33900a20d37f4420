"""The directory's tables (SQLAlchemy 2 ORM). Storage only: no Graph shapes, no HTTP.

Every row belongs to a tenant; every query filters on ``tenant_id``. Graph property names map to
snake_case columns here; ``graph/`` renders them back with Graph's spelling.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

GUID = String(36)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(GUID, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(256))
    created_date_time: Mapped[dt.datetime]
    country_letter_code: Mapped[str] = mapped_column(String(2), default="US")
    throttling: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # mode, size, custom limits, faults


class Domain(Base):
    __tablename__ = "domains"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # the domain name, lowercase
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    is_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    is_initial: Mapped[bool] = mapped_column(Boolean, default=False)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "user_principal_name_lower"),)
    id: Mapped[str] = mapped_column(GUID, primary_key=True, info={"casefolded": True})
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    user_principal_name: Mapped[str] = mapped_column(String(113))
    user_principal_name_lower: Mapped[str] = mapped_column(String(113), info={"casefolded": True})
    display_name: Mapped[str] = mapped_column(String(256))
    given_name: Mapped[str | None] = mapped_column(String(64))
    surname: Mapped[str | None] = mapped_column(String(64))
    mail: Mapped[str | None] = mapped_column(String(256))
    mail_nickname: Mapped[str | None] = mapped_column(String(64))
    account_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    user_type: Mapped[str] = mapped_column(String(16), default="Member")
    on_premises_immutable_id: Mapped[str | None] = mapped_column(String(256))
    job_title: Mapped[str | None] = mapped_column(String(128))
    department: Mapped[str | None] = mapped_column(String(64))
    usage_location: Mapped[str | None] = mapped_column(String(2))
    created_date_time: Mapped[dt.datetime]
    password_hash: Mapped[str | None] = mapped_column(String(256))
    custom_security_attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Application(Base):
    __tablename__ = "applications"
    id: Mapped[str] = mapped_column(GUID, primary_key=True, info={"casefolded": True})
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[str] = mapped_column(GUID, unique=True, info={"casefolded": True})
    display_name: Mapped[str] = mapped_column(String(256))
    sign_in_audience: Mapped[str] = mapped_column(String(64), default="AzureADMyOrg")
    created_date_time: Mapped[dt.datetime]
    identifier_uris: Mapped[list[Any]] = mapped_column(JSON, default=list)
    web_redirect_uris: Mapped[list[Any]] = mapped_column(JSON, default=list)
    public_client_redirect_uris: Mapped[list[Any]] = mapped_column(JSON, default=list)
    spa_redirect_uris: Mapped[list[Any]] = mapped_column(JSON, default=list)
    required_resource_access: Mapped[list[Any]] = mapped_column(JSON, default=list)
    app_roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    is_fallback_public_client: Mapped[bool] = mapped_column(Boolean, default=False)


class ApplicationPassword(Base):
    """A ``passwordCredential``: only a hash and the first three characters (``hint``) are kept."""

    __tablename__ = "application_passwords"
    key_id: Mapped[str] = mapped_column(GUID, primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str | None] = mapped_column(String(256))
    hint: Mapped[str] = mapped_column(String(3))
    secret_hash: Mapped[str] = mapped_column(String(128))
    start_date_time: Mapped[dt.datetime]
    end_date_time: Mapped[dt.datetime]


class ApplicationCertificate(Base):
    """A ``keyCredential`` of type AsymmetricX509Cert used to verify private_key_jwt assertions."""

    __tablename__ = "application_certificates"
    key_id: Mapped[str] = mapped_column(GUID, primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str | None] = mapped_column(String(256))
    thumbprint: Mapped[str] = mapped_column(String(64), index=True)  # SHA-1, uppercase hex (customKeyIdentifier)
    certificate_pem: Mapped[str] = mapped_column(Text)
    start_date_time: Mapped[dt.datetime]
    end_date_time: Mapped[dt.datetime]


class ServicePrincipal(Base):
    __tablename__ = "service_principals"
    __table_args__ = (UniqueConstraint("tenant_id", "app_id"),)
    id: Mapped[str] = mapped_column(GUID, primary_key=True, info={"casefolded": True})
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[str] = mapped_column(GUID, index=True, info={"casefolded": True})
    display_name: Mapped[str] = mapped_column(String(256))
    app_owner_organization_id: Mapped[str | None] = mapped_column(GUID)
    service_principal_type: Mapped[str] = mapped_column(String(32), default="Application")
    account_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    app_roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    oauth2_permission_scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    custom_security_attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_date_time: Mapped[dt.datetime]


class AppRoleAssignment(Base):
    """An application permission granted to a service principal (what admin consent produces)."""

    __tablename__ = "app_role_assignments"
    __table_args__ = (UniqueConstraint("principal_id", "resource_id", "app_role_id"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    principal_id: Mapped[str] = mapped_column(ForeignKey("service_principals.id", ondelete="CASCADE"), index=True)
    principal_type: Mapped[str] = mapped_column(String(32), default="ServicePrincipal")
    resource_id: Mapped[str] = mapped_column(ForeignKey("service_principals.id", ondelete="CASCADE"))
    app_role_id: Mapped[str] = mapped_column(GUID)
    created_date_time: Mapped[dt.datetime]


class OAuth2PermissionGrant(Base):
    """Delegated permissions consented for a client on a resource."""

    __tablename__ = "oauth2_permission_grants"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("service_principals.id", ondelete="CASCADE"), index=True)
    consent_type: Mapped[str] = mapped_column(String(16))  # AllPrincipals | Principal
    principal_id: Mapped[str | None] = mapped_column(GUID)
    resource_id: Mapped[str] = mapped_column(ForeignKey("service_principals.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(Text, default="")


class SigningKey(Base):
    """RS256 keys for the tokens this directory issues; retired keys stay published until their tokens expire."""

    __tablename__ = "signing_keys"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_key_pem: Mapped[str] = mapped_column(Text)
    created_date_time: Mapped[dt.datetime]
    retired_date_time: Mapped[dt.datetime | None]


class DirectoryAudit(Base):
    __tablename__ = "directory_audits"
    __table_args__ = (Index("ix_directory_audits_tenant_time", "tenant_id", "activity_date_time"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    activity_date_time: Mapped[dt.datetime]
    activity_display_name: Mapped[str] = mapped_column(String(256))
    category: Mapped[str] = mapped_column(String(64))
    correlation_id: Mapped[str] = mapped_column(GUID)
    logged_by_service: Mapped[str] = mapped_column(String(64))
    operation_type: Mapped[str] = mapped_column(String(16))
    result: Mapped[str] = mapped_column(String(16), default="success")
    result_reason: Mapped[str] = mapped_column(String(512), default="")
    initiated_by: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    target_resources: Mapped[list[Any]] = mapped_column(JSON, default=list)
    additional_details: Mapped[list[Any]] = mapped_column(JSON, default=list)


class AuthorizationCode(Base):
    """A one-time authorization code (stored as a hash), bound to client, redirect URI and PKCE challenge."""

    __tablename__ = "authorization_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(GUID)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(512))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    device_id: Mapped[str | None] = mapped_column(GUID)
    auth_methods: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_date_time: Mapped[dt.datetime]
    expires_date_time: Mapped[dt.datetime]
    redeemed: Mapped[bool] = mapped_column(Boolean, default=False)


class RefreshToken(Base):
    """An opaque refresh token (stored as a hash). Redeeming one rotates it."""

    __tablename__ = "refresh_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(GUID)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(Text)
    device_id: Mapped[str | None] = mapped_column(GUID)
    auth_methods: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_date_time: Mapped[dt.datetime]
    expires_date_time: Mapped[dt.datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Group(Base):
    __tablename__ = "groups"
    id: Mapped[str] = mapped_column(GUID, primary_key=True, info={"casefolded": True})
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(String(1024))
    mail_nickname: Mapped[str] = mapped_column(String(64))
    mail_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    group_types: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_date_time: Mapped[dt.datetime]


class GroupMember(Base):
    """Direct membership; ``member_type`` is the Graph type of the member (user, group, device, servicePrincipal)."""

    __tablename__ = "group_members"
    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[str] = mapped_column(GUID, primary_key=True, index=True)
    member_type: Mapped[str] = mapped_column(String(32))


class DirectoryRole(Base):
    """An activated built-in role in a tenant (``/directoryRoles``), identified across tenants by its template."""

    __tablename__ = "directory_roles"
    __table_args__ = (UniqueConstraint("tenant_id", "role_template_id"),)
    id: Mapped[str] = mapped_column(GUID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    role_template_id: Mapped[str] = mapped_column(GUID)
    display_name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")


class DirectoryRoleMember(Base):
    __tablename__ = "directory_role_members"
    role_id: Mapped[str] = mapped_column(ForeignKey("directory_roles.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[str] = mapped_column(GUID, primary_key=True, index=True)
    member_type: Mapped[str] = mapped_column(String(32), default="user")


class SubscribedSku(Base):
    __tablename__ = "subscribed_skus"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    sku_id: Mapped[str] = mapped_column(GUID, primary_key=True)
    enabled_units: Mapped[int] = mapped_column(Integer, default=25)
    capability_status: Mapped[str] = mapped_column(String(16), default="Enabled")


class UserLicense(Base):
    __tablename__ = "user_licenses"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    sku_id: Mapped[str] = mapped_column(GUID, primary_key=True)
    disabled_plans: Mapped[list[Any]] = mapped_column(JSON, default=list)


class Device(Base):
    """A device object. ``id`` is the directory object id; ``device_id`` the Device Registration Service id."""

    __tablename__ = "devices"
    __table_args__ = (
        Index("ix_devices_tenant_device_id", "tenant_id", "device_id", unique=True),
        Index("ix_devices_tenant_display_name", "tenant_id", "display_name"),
    )
    id: Mapped[str] = mapped_column(GUID, primary_key=True, info={"casefolded": True})
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(GUID, info={"casefolded": True})
    display_name: Mapped[str] = mapped_column(String(256))
    account_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    operating_system: Mapped[str | None] = mapped_column(String(64))
    operating_system_version: Mapped[str | None] = mapped_column(String(64))
    trust_type: Mapped[str | None] = mapped_column(String(16))
    is_compliant: Mapped[bool | None] = mapped_column(Boolean)
    is_managed: Mapped[bool | None] = mapped_column(Boolean)
    is_rooted: Mapped[bool | None] = mapped_column(Boolean)
    mdm_app_id: Mapped[str | None] = mapped_column(String(64))
    management_type: Mapped[str | None] = mapped_column(String(64))
    device_ownership: Mapped[str | None] = mapped_column(String(16))
    enrollment_type: Mapped[str | None] = mapped_column(String(64))
    enrollment_profile_name: Mapped[str | None] = mapped_column(String(256))
    device_category: Mapped[str | None] = mapped_column(String(256))
    manufacturer: Mapped[str | None] = mapped_column(String(256))
    model: Mapped[str | None] = mapped_column(String(256))
    profile_type: Mapped[str | None] = mapped_column(String(32), default="RegisteredDevice")
    registration_date_time: Mapped[dt.datetime | None]
    approximate_last_sign_in_date_time: Mapped[dt.datetime | None]
    compliance_expiration_date_time: Mapped[dt.datetime | None]
    created_date_time: Mapped[dt.datetime]
    extension_attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    physical_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    system_labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    alternative_security_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    device_public_key_pem: Mapped[str | None] = mapped_column(Text)  # the device key proved at sign-in
    device_certificate_thumbprint: Mapped[str | None] = mapped_column(String(64), index=True)


class DeviceRegisteredPrincipal(Base):
    """``registeredOwners`` (relationship "owner") and ``registeredUsers`` ("user") of a device."""

    __tablename__ = "device_registered_principals"
    device_object_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    relationship: Mapped[str] = mapped_column(String(8), primary_key=True)


class DeviceNonce(Base):
    """A ``srv_challenge`` nonce: short-lived and single-use, so a device proof cannot be replayed."""

    __tablename__ = "device_nonces"
    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(GUID)
    created_date_time: Mapped[dt.datetime]
    expires_date_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class AttributeSet(Base):
    __tablename__ = "attribute_sets"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    description: Mapped[str | None] = mapped_column(String(128))
    max_attributes_per_set: Mapped[int | None] = mapped_column(Integer)


class CustomSecurityAttributeDefinition(Base):
    __tablename__ = "custom_security_attribute_definitions"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(65), primary_key=True)  # <attributeSet>_<name>
    attribute_set: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(String(128))
    is_collection: Mapped[bool] = mapped_column(Boolean)
    is_searchable: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), default="Available")
    type: Mapped[str] = mapped_column(String(16))
    use_pre_defined_values_only: Mapped[bool] = mapped_column(Boolean)
    allowed_values: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"id", "isActive"}]


class ConditionalAccessPolicy(Base):
    """A CA policy stored as Graph's JSON document (the engine parses it)."""

    __tablename__ = "conditional_access_policies"
    id: Mapped[str] = mapped_column(GUID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(256))
    state: Mapped[str] = mapped_column(String(48))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_date_time: Mapped[dt.datetime]
    modified_date_time: Mapped[dt.datetime | None]


class NamedLocation(Base):
    __tablename__ = "named_locations"
    id: Mapped[str] = mapped_column(GUID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(256))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_date_time: Mapped[dt.datetime]
    modified_date_time: Mapped[dt.datetime]


class SignIn(Base):
    """A sign-in log entry; ``document`` is the Graph signIn object (beta shape, v1.0 drops beta-only fields)."""

    __tablename__ = "sign_ins"
    __table_args__ = (Index("ix_sign_ins_tenant_time", "tenant_id", "created_date_time"),)
    id: Mapped[str] = mapped_column(GUID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    created_date_time: Mapped[dt.datetime]
    user_id: Mapped[str | None] = mapped_column(GUID, index=True)
    user_principal_name: Mapped[str | None] = mapped_column(String(256))
    app_id: Mapped[str | None] = mapped_column(GUID)
    device_id: Mapped[str | None] = mapped_column(GUID)
    conditional_access_status: Mapped[str] = mapped_column(String(32))
    error_code: Mapped[int] = mapped_column(Integer, default=0)
    is_interactive: Mapped[bool] = mapped_column(Boolean)
    sign_in_event_types: Mapped[list[Any]] = mapped_column(JSON, default=list)  # beta signInEventTypes ($filter any)
    correlation_id: Mapped[str] = mapped_column(GUID)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)


class DeviceCertificateAuthority(Base):
    """The tenant's device CA ("MS-Organization-Access"): signs the certificates the DRS issues to devices."""

    __tablename__ = "device_certificate_authorities"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    certificate_pem: Mapped[str] = mapped_column(Text)
    private_key_pem: Mapped[str] = mapped_column(Text)
    created_date_time: Mapped[dt.datetime]


class ComplianceManagementPartner(Base):
    """An Intune ``complianceManagementPartner``: a third-party MDM allowed to report device compliance for
    the platforms it is onboarded for and the users its enrollment assignments target.

    ``partner_app_id`` ties the record to the partner's (multi-tenant) application: it is stamped when that
    application provisions the tenant (``PUT PartnerTenants``) after admin consent. ``partner_state`` holds
    what provisioning set (unknown, enabled, terminated); "unresponsive" is derived from the heartbeat.
    """

    __tablename__ = "compliance_management_partners"
    id: Mapped[str] = mapped_column(GUID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(256))
    partner_app_id: Mapped[str | None] = mapped_column(GUID, index=True)
    partner_state: Mapped[str] = mapped_column(String(16), default="unknown")
    last_heartbeat_date_time: Mapped[dt.datetime | None]
    android_onboarded: Mapped[bool] = mapped_column(Boolean, default=False)
    ios_onboarded: Mapped[bool] = mapped_column(Boolean, default=False)
    mac_os_onboarded: Mapped[bool] = mapped_column(Boolean, default=False)
    linux_onboarded: Mapped[bool] = mapped_column(Boolean, default=False)
    windows_onboarded: Mapped[bool] = mapped_column(Boolean, default=False)
    # platform ("android", "ios", "macOs", "linux", "windows") -> [deviceAndAppManagementAssignmentTarget JSON]
    enrollment_assignments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    partner_enrollment_url: Mapped[str | None] = mapped_column(Text)
    partner_remediation_url: Mapped[str | None] = mapped_column(Text)
    unresponsive_threshold_days: Mapped[int] = mapped_column(Integer, default=7)
    compliance_validity_days: Mapped[int] = mapped_column(Integer, default=30)
    created_date_time: Mapped[dt.datetime]
    modified_date_time: Mapped[dt.datetime]


class PartnerCompliancePolicy(Base):
    """A partner-managed compliance policy a partner creates through the Intune tenant data sync service."""

    __tablename__ = "partner_compliance_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "partner_app_id", "platform"),)
    id: Mapped[str] = mapped_column(GUID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    partner_app_id: Mapped[str] = mapped_column(GUID)
    display_name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(String(32))
    partner_policy_id: Mapped[str | None] = mapped_column(String(128))
    partner_managed_compliance: Mapped[bool] = mapped_column(Boolean, default=True)
    assignments: Mapped[list[Any]] = mapped_column(JSON, default=list)  # group object ids
    created_date_time: Mapped[dt.datetime]


class DataUploadMessage(Base):
    """One device data upload from a compliance partner, kept until processed and after (its status is polled).

    ``content`` is the parsed entity array; ``content_hash`` lets a repeated PUT of the same message id be
    recognised as a retry (same content) or refused as a conflict (different content).
    """

    __tablename__ = "data_upload_messages"
    __table_args__ = (Index("ix_data_upload_messages_status_received", "status", "received_date_time"),)
    id: Mapped[str] = mapped_column(GUID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    partner_app_id: Mapped[str] = mapped_column(GUID)
    status: Mapped[str] = mapped_column(String(16))  # Pending | Processing | Completed | Failed
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_detail: Mapped[str | None] = mapped_column(Text)
    content: Mapped[list[Any]] = mapped_column(JSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    upload_time: Mapped[dt.datetime | None]
    received_date_time: Mapped[dt.datetime]
    claimed_date_time: Mapped[dt.datetime | None]
    processed_date_time: Mapped[dt.datetime | None]


class PartnerDeviceState(Base):
    """The newest partner report applied to a device: an older report never overwrites it."""

    __tablename__ = "partner_device_states"
    device_object_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    partner_app_id: Mapped[str] = mapped_column(GUID)
    last_update_date_time: Mapped[dt.datetime]
    last_check_in_date_time: Mapped[dt.datetime | None]
    message_id: Mapped[str] = mapped_column(GUID)


class MobilityManagementPolicy(Base):
    """A ``mobilityManagementPolicy`` (Windows MDM or MAM application of the tenant); ``app_id`` is its id."""

    __tablename__ = "mobility_management_policies"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(3), primary_key=True)  # "mdm" | "mam"
    app_id: Mapped[str] = mapped_column(GUID, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(Text)
    applies_to: Mapped[str] = mapped_column(String(16), default="none")  # none | all | selected
    discovery_url: Mapped[str | None] = mapped_column(Text)
    terms_of_use_url: Mapped[str | None] = mapped_column(Text)
    compliance_url: Mapped[str | None] = mapped_column(Text)
    included_groups: Mapped[list[Any]] = mapped_column(JSON, default=list)  # group object ids
    created_date_time: Mapped[dt.datetime]
