"""Storage rows to wire shapes (``mdm.schemas``)."""

from __future__ import annotations

from posturebridge.mdm import schemas
from posturebridge.mdm.models import (
    Admin,
    CaLogEntry,
    CompliancePolicyRow,
    DeviceAction,
    DeviceRow,
    DirectorySyncRequest,
    EnrollmentToken,
    FeedEntry,
    Notification,
    SmartGroupRow,
    User,
)


def device(row: DeviceRow, user_name: str | None = None) -> schemas.DeviceOut:
    return schemas.DeviceOut(
        id=row.id,
        platform=row.platform,
        ownership=row.ownership,
        enrollment_status=row.enrollment_status,
        enrolled_date_time=row.enrolled_at,
        last_seen_date_time=row.last_seen_at,
        model=row.model,
        os_version=row.os_version,
        udid=row.udid,
        serial_number=row.serial_number,
        imei=row.imei,
        user_id=row.user_id,
        user_name=user_name,
        entra_device_id=row.entra_device_id,
        compliance_state=row.compliance_state,
        is_compliant=row.is_compliant,
        last_compliance_check_date_time=row.last_evaluated_at,
        next_compliance_check_date_time=row.next_evaluation_at,
    )


def user(row: User, group_ids: list[str]) -> schemas.UserOut:
    return schemas.UserOut(
        id=row.id,
        user_name=row.user_name,
        display_name=row.display_name,
        user_principal_name=row.user_principal_name,
        mail=row.mail,
        object_guid=row.object_guid,
        custom_attributes=dict(row.custom_attributes),
        group_ids=group_ids,
        created_date_time=row.created_at,
    )


def admin(row: Admin) -> schemas.AdminOut:
    return schemas.AdminOut(
        id=row.id,
        user_name=row.user_name,
        display_name=row.display_name,
        role=row.role,
        created_date_time=row.created_at,
    )


def policy(row: CompliancePolicyRow) -> schemas.CompliancePolicyOut:
    document = dict(row.document)
    document["createdDateTime"] = row.created_at.isoformat().replace("+00:00", "Z")
    document["lastModifiedDateTime"] = row.updated_at.isoformat().replace("+00:00", "Z")
    return schemas.CompliancePolicyOut.model_validate(document)


def smart_group(row: SmartGroupRow) -> schemas.SmartGroupOut:
    return schemas.SmartGroupOut.model_validate(dict(row.definition))


def enrollment_token(row: EnrollmentToken, token: str | None = None) -> schemas.EnrollmentTokenOut:
    return schemas.EnrollmentTokenOut(
        id=row.id,
        user_id=row.user_id,
        platform=row.platform,
        ownership=row.ownership,
        expires_date_time=row.expires_at,
        max_uses=row.max_uses,
        use_count=row.use_count,
        token=token,
    )


def device_action(row: DeviceAction) -> schemas.DeviceActionOut:
    return schemas.DeviceActionOut(
        policy_id=row.policy_id,
        action_type=row.action_type,
        action_key=row.action_key,
        due_date_time=row.due_at,
        executed_date_time=row.executed_at,
    )


def feed_entry(row: FeedEntry) -> schemas.FeedEntryOut:
    return schemas.FeedEntryOut(
        sequence=row.sequence,
        kind=row.kind,
        device_id=row.device_id,
        previous_value=row.previous_value,
        value=row.value,
        occurred_date_time=row.occurred_at,
        payload=dict(row.payload),
    )


def ca_log_entry(row: CaLogEntry) -> schemas.CaLogEntryOut:
    return schemas.CaLogEntryOut(
        id=row.id,
        device_id=row.device_id,
        occurred_date_time=row.occurred_at,
        channel=row.channel,
        request_summary=row.request_summary,
        response_status=row.response_status,
        error=row.error,
        correlation_id=row.correlation_id,
        recorded_date_time=row.recorded_at,
    )


def notification(row: Notification) -> schemas.NotificationOut:
    return schemas.NotificationOut(
        id=row.id,
        device_id=row.device_id,
        title=row.title,
        body=row.body,
        deep_link=row.deep_link,
        priority=row.priority,
        created_date_time=row.created_at,
        read_date_time=row.read_at,
    )


def directory_sync(row: DirectorySyncRequest) -> schemas.DirectorySyncOut:
    return schemas.DirectorySyncOut(id=row.id, requested_date_time=row.requested_at, requested_by=row.requested_by)
