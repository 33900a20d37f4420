"""What Intune does for a compliance partner: check who calls, provision the tenant, keep partner compliance
policies, accept device data upload messages and apply them to Entra device records.

How the three are tied (this project's decision; Microsoft's partner contract is not public):

- The tenant's administrator adds a ``complianceManagementPartner`` (Graph) with a display name, the
  platforms and the user groups. Microsoft's portal offers a fixed list of partners by name.
- The partner's multi-tenant application gets admin consent in the tenant (a service principal holding at
  least one application permission), then calls ``PUT PartnerTenants(guid'{tenant}')`` with an app-only
  token for Intune (``aud`` = 0000000a-0000-0000-c000-000000000000). That call binds the application to the
  partner records whose displayName equals the application's service principal displayName (the portal's
  pick from the list), stores its appId on them and sets partnerState "enabled". From then on the
  application is "the registered compliance partner" for the platforms those records onboard.
- Every later call must come from that application; any successful call is a heartbeat.

Applied reports set isManaged, isCompliant (false when notManaged), complianceExpirationDateTime = now + the
record's ``compliance_validity_days`` (default 30: Intune's default "compliance status validity period", from
memory, not re-verified), managementType "mdm", mdmAppId = the partner's appId and deviceOwnership if sent.

Helpers add rows to the caller's session; the caller commits (a message's device updates, audit entries
and status commit together).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.clock import aware
from posturebridge.directory import catalog
from posturebridge.directory.audit import Change, Initiator, Target, record
from posturebridge.directory.auth.tokens import InvalidToken, TokenIssuer
from posturebridge.directory.graph.devices import record_device_update
from posturebridge.directory.intune import errors
from posturebridge.directory.intune.partners import onboarded, user_in_scope
from posturebridge.directory.intune.wire import DeviceReport, Upload, parse_upload, platform_of
from posturebridge.directory.models import (
    AppRoleAssignment,
    ComplianceManagementPartner,
    DataUploadMessage,
    Device,
    DeviceRegisteredPrincipal,
    Group,
    PartnerCompliancePolicy,
    PartnerDeviceState,
    ServicePrincipal,
    SubscribedSku,
    Tenant,
    User,
    UserLicense,
)
from posturebridge.directory.signins import user_identity

INTUNE_AUDIENCES = frozenset(
    {catalog.INTUNE_APP_ID, "https://api.manage.microsoft.com", "https://api.manage.microsoft.com/"}
)
HEARTBEAT_RESOLUTION = dt.timedelta(seconds=30)  # heartbeats closer than this are not written again
CLAIM_TIMEOUT = dt.timedelta(seconds=30)  # a message "Processing" longer than this was abandoned; retake it
INTUNE_DISPLAY_NAME = "Microsoft Intune"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartnerCaller:
    """The application behind an Intune partner call, resolved in the tenant of the URL."""

    tenant_id: str
    app_id: str
    service_principal_id: str
    display_name: str


def authenticate(
    session: Session, tokens: TokenIssuer, tenant_id: str, authorization: str | None, now: dt.datetime
) -> PartnerCaller:
    """The calling partner application, or the error that says exactly why the call is refused."""
    if session.get(Tenant, tenant_id) is None:
        raise errors.not_found(f"Tenant '{tenant_id}' does not exist.")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.unauthorized("A bearer token for Microsoft Intune (api.manage.microsoft.com) is required.")
    try:
        claims = tokens.validate(token.strip(), audiences=INTUNE_AUDIENCES, now=now)
    except InvalidToken as exc:
        raise errors.unauthorized(f"The token is not valid for Microsoft Intune: {exc}") from None
    if claims.get("idtyp") != "app":
        raise errors.unauthorized("Only app-only tokens (client credentials) of a compliance partner are accepted.")
    if claims.get("tid") != tenant_id:
        raise errors.unauthorized(f"The token was issued for tenant '{claims.get('tid')}', not '{tenant_id}'.")
    app_id = str(claims.get("azp", ""))
    principal = session.scalars(
        select(ServicePrincipal).where(ServicePrincipal.tenant_id == tenant_id, ServicePrincipal.app_id == app_id)
    ).first()
    if principal is None or not principal.account_enabled:
        raise errors.forbidden(f"Application '{app_id}' has no enabled service principal in tenant '{tenant_id}'.")
    consented = session.scalars(
        select(AppRoleAssignment.id).where(AppRoleAssignment.principal_id == principal.id).limit(1)
    ).first()
    if consented is None:
        raise errors.forbidden(
            f"Application '{app_id}' ({principal.display_name}) holds no admin consent in tenant '{tenant_id}'."
        )
    return PartnerCaller(tenant_id, app_id, principal.id, principal.display_name)


def bound_partners(session: Session, caller: PartnerCaller) -> list[ComplianceManagementPartner]:
    return list(
        session.scalars(
            select(ComplianceManagementPartner).where(
                ComplianceManagementPartner.tenant_id == caller.tenant_id,
                ComplianceManagementPartner.partner_app_id == caller.app_id,
            )
        )
    )


def heartbeat(session: Session, caller: PartnerCaller, now: dt.datetime) -> None:
    """Record that the partner is alive on every record bound to it (at most every HEARTBEAT_RESOLUTION)."""
    session.execute(
        update(ComplianceManagementPartner)
        .where(
            ComplianceManagementPartner.tenant_id == caller.tenant_id,
            ComplianceManagementPartner.partner_app_id == caller.app_id,
            or_(
                ComplianceManagementPartner.last_heartbeat_date_time.is_(None),
                ComplianceManagementPartner.last_heartbeat_date_time < now - HEARTBEAT_RESOLUTION,
            ),
        )
        .values(last_heartbeat_date_time=now)
    )


def _partner_initiator(caller: PartnerCaller) -> Initiator:
    return Initiator(
        app_id=caller.app_id, app_display_name=caller.display_name, service_principal_id=caller.service_principal_id
    )


def intune_initiator(session: Session, tenant_id: str) -> Initiator:
    """Entra shows device writes of the partner channel as made by Intune, which writes the record."""
    principal_id = session.scalars(
        select(ServicePrincipal.id).where(
            ServicePrincipal.tenant_id == tenant_id, ServicePrincipal.app_id == catalog.INTUNE_APP_ID
        )
    ).first()
    return Initiator(
        app_id=catalog.INTUNE_APP_ID, app_display_name=INTUNE_DISPLAY_NAME, service_principal_id=principal_id
    )


# --- tenant provisioning (PUT PartnerTenants) ---


def _url(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not value.startswith(("https://", "http://")) or len(value) > 2048:
        raise errors.bad_request(f"{name} must be an absolute http(s) URL.")
    return value


def provision(session: Session, caller: PartnerCaller, body: Any, now: dt.datetime) -> dict[str, Any]:
    """``Provisioned: 1`` binds the partner records of this application and enables them; ``2`` terminates them."""
    if not isinstance(body, dict) or type(body.get("Provisioned")) is not int or body["Provisioned"] not in (1, 2):
        raise errors.bad_request("Provisioned must be 1 (provisioned) or 2 (deprovisioned).")
    provisioned = int(body["Provisioned"])
    enrollment_url, remediation_url = _url(body, "PartnerEnrollmentUrl"), _url(body, "PartnerRemediationUrl")
    candidates = list(
        session.scalars(
            select(ComplianceManagementPartner).where(
                ComplianceManagementPartner.tenant_id == caller.tenant_id,
                or_(
                    ComplianceManagementPartner.partner_app_id == caller.app_id,
                    (ComplianceManagementPartner.partner_app_id.is_(None))
                    & (func.lower(ComplianceManagementPartner.display_name) == caller.display_name.lower()),
                ),
            )
        )
    )
    if not candidates:
        raise errors.not_found(
            f"No compliance partner named '{caller.display_name}' is configured in tenant '{caller.tenant_id}'. "
            "An administrator adds it under Tenant administration > Connectors and tokens > Partner compliance "
            "management (Graph: deviceManagement/complianceManagementPartners)."
        )
    state = "enabled" if provisioned == 1 else "terminated"
    for partner in candidates:
        changes = [Change("PartnerState", partner.partner_state, state)]
        if partner.partner_app_id != caller.app_id:
            changes.append(Change("PartnerAppId", partner.partner_app_id, caller.app_id))
        partner.partner_app_id = caller.app_id
        partner.partner_state = state
        partner.partner_enrollment_url = enrollment_url
        partner.partner_remediation_url = remediation_url
        partner.last_heartbeat_date_time = now
        partner.modified_date_time = now
        record(
            session,
            tenant_id=caller.tenant_id,
            activity="Provision partner tenant" if provisioned == 1 else "Deprovision partner tenant",
            category="DeviceManagement",
            operation_type="Update",
            initiated_by=_partner_initiator(caller),
            targets=[Target(partner.id, partner.display_name, "ComplianceManagementPartner", changes=tuple(changes))],
            now=now,
            service="Intune",
        )
    return {
        "Key": str(uuid.uuid5(uuid.NAMESPACE_URL, f"partner-tenant:{caller.tenant_id}:{caller.app_id}")),
        "ContextId": caller.tenant_id,
        "Provisioned": provisioned,
        "HttpStatusCode": 200,
        "ErrorDetail": None,
    }


def require_provisioned(session: Session, caller: PartnerCaller) -> list[ComplianceManagementPartner]:
    partners = [partner for partner in bound_partners(session, caller) if partner.partner_state == "enabled"]
    if not partners:
        raise errors.forbidden(
            f"Tenant '{caller.tenant_id}' is not provisioned for partner application '{caller.app_id}' "
            "(PUT PartnerTenants with Provisioned 1 first)."
        )
    return partners


# --- partner compliance policies ---


def render_policy(policy: PartnerCompliancePolicy, base: str) -> dict[str, Any]:
    return {
        "odata.id": f"{base}/PartnerCompliancePolicies(guid'{policy.id}')",
        "odata.etag": f"W/\"datetime'{aware(policy.created_date_time).isoformat()}'\"",
        "Id": policy.id,
        "DisplayName": policy.display_name,
        "Description": policy.description,
        "Platform": policy.platform,
        "PartnerPolicyId": policy.partner_policy_id,
        "PartnerManagedCompliance": policy.partner_managed_compliance,
    }


def create_policy(session: Session, caller: PartnerCaller, body: Any, now: dt.datetime) -> PartnerCompliancePolicy:
    partners = require_provisioned(session, caller)
    if not isinstance(body, dict):
        raise errors.bad_request("The body must be a JSON object.")
    name, platform_name = body.get("DisplayName"), body.get("Platform")
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise errors.bad_request("DisplayName is required (at most 256 characters).")
    platform = platform_of(platform_name) if isinstance(platform_name, str) else None
    if platform is None:
        raise errors.bad_request(f"Platform {platform_name!r} is not a compliance partner platform.")
    if not any(onboarded(partner, platform) for partner in partners):
        raise errors.bad_request(f"The partner is not onboarded for platform '{platform_name}' in this tenant.")
    description, partner_policy_id = body.get("Description"), body.get("PartnerPolicyId")
    if description is not None and not isinstance(description, str):
        raise errors.bad_request("Description must be a string.")
    if partner_policy_id is not None and not isinstance(partner_policy_id, str):
        raise errors.bad_request("PartnerPolicyId must be a string.")
    existing = session.scalars(
        select(PartnerCompliancePolicy).where(
            PartnerCompliancePolicy.tenant_id == caller.tenant_id,
            PartnerCompliancePolicy.partner_app_id == caller.app_id,
            PartnerCompliancePolicy.platform == platform_name,
        )
    ).first()
    if existing is not None:
        raise errors.conflict(
            f"A partner compliance policy for platform '{platform_name}' already exists ({existing.id})."
        )
    policy = PartnerCompliancePolicy(
        id=str(uuid.uuid4()),
        tenant_id=caller.tenant_id,
        partner_app_id=caller.app_id,
        display_name=name.strip(),
        description=description,
        platform=platform_name,
        partner_policy_id=partner_policy_id,
        partner_managed_compliance=bool(body.get("PartnerManagedCompliance", True)),
        assignments=[],
        created_date_time=now,
    )
    session.add(policy)
    record(
        session,
        tenant_id=caller.tenant_id,
        activity="Create PartnerCompliancePolicy",
        category="DeviceManagement",
        operation_type="Add",
        initiated_by=_partner_initiator(caller),
        targets=[Target(policy.id, policy.display_name, "PartnerCompliancePolicy")],
        now=now,
        service="Intune",
    )
    return policy


def list_policies(session: Session, caller: PartnerCaller) -> list[PartnerCompliancePolicy]:
    require_provisioned(session, caller)
    return list(
        session.scalars(
            select(PartnerCompliancePolicy)
            .where(
                PartnerCompliancePolicy.tenant_id == caller.tenant_id,
                PartnerCompliancePolicy.partner_app_id == caller.app_id,
            )
            .order_by(PartnerCompliancePolicy.created_date_time)
        )
    )


def assign_policy(
    session: Session, caller: PartnerCaller, policy_id: str, body: Any, now: dt.datetime
) -> PartnerCompliancePolicy:
    require_provisioned(session, caller)
    policy = session.get(PartnerCompliancePolicy, policy_id)
    if policy is None or policy.tenant_id != caller.tenant_id or policy.partner_app_id != caller.app_id:
        raise errors.not_found(f"Partner compliance policy '{policy_id}' does not exist.")
    groups = body.get("assignments") if isinstance(body, dict) else None
    if not isinstance(groups, list) or not all(isinstance(group, str) for group in groups):
        raise errors.bad_request("assignments must be an array of group object ids.")
    for group_id in groups:
        group = session.get(Group, group_id.lower())
        if group is None or group.tenant_id != caller.tenant_id:
            raise errors.bad_request(f"Group '{group_id}' does not exist in tenant '{caller.tenant_id}'.")
    old = list(policy.assignments)
    policy.assignments = [group_id.lower() for group_id in groups]
    record(
        session,
        tenant_id=caller.tenant_id,
        activity="Assign PartnerCompliancePolicy",
        category="DeviceManagement",
        operation_type="Assign",
        initiated_by=_partner_initiator(caller),
        targets=[
            Target(
                policy.id,
                policy.display_name,
                "PartnerCompliancePolicy",
                changes=(Change("Assignments", old, policy.assignments),),
            )
        ],
        now=now,
        service="Intune",
    )
    return policy


# --- device data upload messages ---


def _content_hash(upload: Upload) -> str:
    canonical = json.dumps([report.to_json() for report in upload.reports], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def accept_upload(
    session: Session, caller: PartnerCaller, message_id: str, body: Any, now: dt.datetime
) -> tuple[DataUploadMessage, bool]:
    """Store the message as Pending (``True``), or return the stored one when it is a retry (``False``)."""
    try:
        upload = parse_upload(body)
    except ValueError as exc:
        raise errors.bad_request(f"The message is not a valid device data upload: {exc}") from None
    if upload.tenant_id != caller.tenant_id:
        raise errors.bad_request(f"TenantId '{upload.tenant_id}' differs from the tenant of the URL.")
    digest = _content_hash(upload)
    existing = session.get(DataUploadMessage, message_id)
    if existing is not None:
        if existing.tenant_id != caller.tenant_id or existing.partner_app_id != caller.app_id:
            raise errors.conflict(f"Message id '{message_id}' is already used by another partner or tenant.")
        if existing.content_hash != digest:
            raise errors.conflict(f"Message '{message_id}' was already uploaded with different content.")
        return existing, False
    message = DataUploadMessage(
        id=message_id,
        tenant_id=caller.tenant_id,
        partner_app_id=caller.app_id,
        status="Pending",
        content=[report.to_json() for report in upload.reports],
        content_hash=digest,
        upload_time=upload.upload_time,
        received_date_time=now,
    )
    session.add(message)
    return message, True


def find_message(session: Session, caller: PartnerCaller, message_id: str) -> DataUploadMessage:
    message = session.get(DataUploadMessage, message_id)
    if message is None or message.tenant_id != caller.tenant_id or message.partner_app_id != caller.app_id:
        raise errors.not_found(f"Message '{message_id}' does not exist.")
    return message


def render_message(message: DataUploadMessage) -> dict[str, Any]:
    return {
        "Id": message.id,
        "TenantId": message.tenant_id,
        "Status": message.status,
        "ErrorCode": message.error_code,
        "ErrorDetail": message.error_detail,
        "UploadTime": _iso(message.upload_time),
        "ReceivedTime": _iso(message.received_date_time),
        "ProcessedTime": _iso(message.processed_date_time),
    }


def _iso(moment: dt.datetime | None) -> str | None:
    value = aware(moment)
    return value.isoformat().replace("+00:00", "Z") if value else None


@dataclass(frozen=True)
class DeviceFailure:
    """Why one device of a message was not applied."""

    code: str
    message: str


@dataclass(frozen=True)
class TenantFacts:
    """What every device of a message is checked against, read once per message."""

    partners: tuple[ComplianceManagementPartner, ...]
    entra_p1: bool
    initiator: Initiator


def _licensed_for(session: Session, user_id: str, plan_name: str) -> bool:
    """Whether a licence of the user includes ``plan_name`` and does not disable it."""
    for row in session.scalars(select(UserLicense).where(UserLicense.user_id == user_id)):
        sku = catalog.sku(row.sku_id)
        plan = sku.plan(plan_name) if sku else None
        if plan is not None and plan.service_plan_id not in set(row.disabled_plans or []):
            return True
    return False


def _tenant_has_plan(session: Session, tenant_id: str, plan_name: str) -> bool:
    rows = session.scalars(
        select(SubscribedSku.sku_id).where(
            SubscribedSku.tenant_id == tenant_id, SubscribedSku.capability_status == "Enabled"
        )
    )
    return catalog.grants_service_plan(rows, plan_name)


def check_report(
    session: Session, facts: TenantFacts, tenant_id: str, app_id: str, report: DeviceReport
) -> tuple[Device, ComplianceManagementPartner] | DeviceFailure:
    """The device and the partner record a report applies to, or the first rule it breaks."""
    if not facts.partners:
        return DeviceFailure(
            "TenantNotProvisioned",
            f"tenant '{tenant_id}' is not provisioned for partner application '{app_id}' "
            "(PUT PartnerTenants with Provisioned 1 first)",
        )
    if not facts.entra_p1:
        return DeviceFailure(
            "TenantNotLicensed",
            f"tenant '{tenant_id}' has no Microsoft Entra ID P1 subscription (service plan AAD_PREMIUM)",
        )
    device = session.scalars(
        select(Device).where(Device.tenant_id == tenant_id, Device.device_id == report.device_id)
    ).first()
    if device is None:
        return DeviceFailure("DeviceNotFound", f"no device with deviceId '{report.device_id}' in tenant '{tenant_id}'")
    platform = platform_of(report.os or device.operating_system)
    if platform is None:
        shown = report.os or device.operating_system
        return DeviceFailure("PlatformNotSupported", f"operating system '{shown}' is not a compliance partner platform")
    partner = next((p for p in facts.partners if onboarded(p, platform)), None)
    if partner is None:
        return DeviceFailure(
            "PlatformNotOnboarded", f"the partner is not onboarded for platform '{platform}' in tenant '{tenant_id}'"
        )
    user = session.get(User, report.user_id)
    if user is None or user.tenant_id != tenant_id:
        return DeviceFailure("UserNotFound", f"no user with id '{report.user_id}' in tenant '{tenant_id}'")
    scope = user_in_scope(
        (partner.enrollment_assignments or {}).get(platform, []), user_identity(session, user).group_ids
    )
    if not scope.in_scope:
        return DeviceFailure(
            "UserNotInScope",
            f"user '{user.user_principal_name}' is not in the groups assigned to partner '{partner.display_name}' "
            f"for {platform} ({scope.reason})",
        )
    if not _licensed_for(session, user.id, "INTUNE_A"):
        return DeviceFailure(
            "UserNotLicensed", f"user '{user.user_principal_name}' has no Intune licence (service plan INTUNE_A)"
        )
    registered = set(
        session.scalars(
            select(DeviceRegisteredPrincipal.user_id).where(DeviceRegisteredPrincipal.device_object_id == device.id)
        )
    )
    if user.id not in registered:
        reason = "is registered to another user" if registered else "has no registered owner or user"
        return DeviceFailure("DeviceUserMismatch", f"device '{report.device_id}' {reason}, not '{user.id}'")
    return device, partner


def apply_report(
    session: Session,
    facts: TenantFacts,
    message: DataUploadMessage,
    report: DeviceReport,
    device: Device,
    partner: ComplianceManagementPartner,
    now: dt.datetime,
) -> bool:
    """Write the report onto the device unless a newer report was applied already; ``False`` when superseded."""
    state = session.get(PartnerDeviceState, device.id)
    if state is not None:
        newer = (
            aware(state.last_update_date_time),
            aware(state.last_check_in_date_time or state.last_update_date_time),
        )
        if report.order_key() <= newer:
            return False
    else:
        state = PartnerDeviceState(device_object_id=device.id, tenant_id=device.tenant_id)
        session.add(state)
    state.partner_app_id = message.partner_app_id
    state.last_update_date_time = report.last_update
    state.last_check_in_date_time = report.last_check_in
    state.message_id = message.id
    compliant = report.compliant and report.managed  # notManaged reads as not compliant (wire §7)
    wanted: dict[str, Any] = {
        "is_managed": report.managed,
        "is_compliant": compliant,
        "compliance_expiration_date_time": now + dt.timedelta(days=partner.compliance_validity_days),
        # managementType values (graph-facts.md §1): no value names a third-party partner other than jamf,
        # so partner-managed devices read as "mdm" (inferred). mdmAppId: the partner's application (inferred).
        "management_type": "mdm" if report.managed else None,
        "mdm_app_id": message.partner_app_id if report.managed else None,
    }
    if report.ownership is not None:
        wanted["device_ownership"] = report.ownership
    names = {
        "is_managed": "IsManaged",
        "is_compliant": "IsCompliant",
        "compliance_expiration_date_time": "ComplianceExpirationDateTime",
        "management_type": "ManagementType",
        "mdm_app_id": "MdmAppId",
        "device_ownership": "DeviceOwnership",
    }
    changes = []
    for column, value in wanted.items():
        old = getattr(device, column)
        if column == "compliance_expiration_date_time":
            old = aware(old)
        if old != value:
            changes.append(
                Change(names[column], old.isoformat() if isinstance(old, dt.datetime) else old, _plain(value))
            )
        setattr(device, column, value)
    record_device_update(
        session,
        device,
        changes,
        initiated_by=facts.initiator,
        now=now,
        additional_details={"PartnerAppId": message.partner_app_id, "MessageId": message.id},
    )
    return True


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def claim(session: Session, message_id: str, now: dt.datetime) -> bool:
    """Take a Pending message (or one abandoned mid-processing) for processing; ``False`` if someone has it."""
    result = session.execute(
        update(DataUploadMessage)
        .where(
            DataUploadMessage.id == message_id,
            or_(
                DataUploadMessage.status == "Pending",
                (DataUploadMessage.status == "Processing")
                & (DataUploadMessage.claimed_date_time < now - CLAIM_TIMEOUT),
            ),
        )
        .values(status="Processing", claimed_date_time=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def process_message(session: Session, message: DataUploadMessage, now: dt.datetime) -> None:
    """Check and apply every device of a claimed message; it ends Completed, or Failed naming each device."""
    tenant_id, app_id = message.tenant_id, message.partner_app_id
    partners = session.scalars(
        select(ComplianceManagementPartner).where(
            ComplianceManagementPartner.tenant_id == tenant_id,
            ComplianceManagementPartner.partner_app_id == app_id,
            ComplianceManagementPartner.partner_state == "enabled",
        )
    ).all()
    facts = TenantFacts(
        tuple(partners), _tenant_has_plan(session, tenant_id, "AAD_PREMIUM"), intune_initiator(session, tenant_id)
    )
    failures: list[tuple[str, DeviceFailure]] = []
    for item in message.content:
        report = DeviceReport.from_json(item)
        checked = check_report(session, facts, tenant_id, app_id, report)
        if isinstance(checked, DeviceFailure):
            failures.append((report.device_id, checked))
            continue
        apply_report(session, facts, message, report, *checked, now)
    message.processed_date_time = now
    if failures:
        codes = {failure.code for _, failure in failures}
        message.status = "Failed"
        message.error_code = codes.pop() if len(codes) == 1 else "MultipleErrors"
        message.error_detail = "; ".join(f"Device {device_id}: {failure.message}" for device_id, failure in failures)
    else:
        message.status = "Completed"
        message.error_code = None
        message.error_detail = None


class MessageProcessor:
    """Processes upload messages: right after the upload (in the background) and, as a fallback, when the
    partner polls a message still Pending. Claiming makes the two safe to race and lets another process
    take over a message whose processor died."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], dt.datetime]) -> None:
        self.sessions = sessions
        self.clock = clock

    def process(self, message_id: str) -> None:
        with self.sessions() as session:
            if not claim(session, message_id, self.clock()):
                session.rollback()
                return
            session.commit()
        with self.sessions() as session:
            message = session.get(DataUploadMessage, message_id)
            if message is None:
                return
            try:
                process_message(session, message, self.clock())
                session.commit()
            except Exception as exc:  # the message must never stay silently stuck
                session.rollback()
                message = session.get(DataUploadMessage, message_id)
                if message is not None:
                    message.status = "Failed"
                    message.error_code = "InternalError"
                    message.error_detail = f"processing failed: {type(exc).__name__}: {exc}"
                    message.processed_date_time = self.clock()
                    session.commit()
                log.exception("device data upload message %s failed", message_id)
