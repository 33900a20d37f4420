"""Organisation settings as Workspace ONE groups them: compliance settings, Directory Services (the
Entra integration and the immutable-ID mapping), the Intelligence opt-in, and "sync directory services".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from posturebridge.common.ids import is_guid, new_id
from posturebridge.mdm.domain import ComplianceSettings, ImmutableIdMapping, ValidationError
from posturebridge.mdm.models import DirectorySyncRequest, OrganisationSettings
from posturebridge.mdm.service import feed
from posturebridge.mdm.service.compliance import configuration_changed
from posturebridge.mdm.service.errors import BadRequest, Conflict, NotFound
from posturebridge.mdm.service.feed import FeedKind, NewFeedEntry
from posturebridge.mdm.service.transactions import begin_write


def _settings(session: Session, organisation_id: str, *, lock: bool = False) -> OrganisationSettings:
    statement = select(OrganisationSettings).where(OrganisationSettings.organisation_id == organisation_id)
    if lock:
        statement = statement.with_for_update()
    row = session.scalars(statement.execution_options(populate_existing=True)).one_or_none()
    if row is None:
        raise NotFound("the organisation has no settings", code="organisationNotFound")
    return row


def compliance_settings(session: Session, organisation_id: str) -> ComplianceSettings:
    return ComplianceSettings.from_dict(_settings(session, organisation_id).compliance)


def set_compliance_settings(
    session: Session, organisation_id: str, body: object, now: dt.datetime
) -> ComplianceSettings:
    try:
        settings = ComplianceSettings.from_dict(body)
    except ValueError as error:
        if isinstance(error, ValidationError):
            raise
        raise BadRequest(str(error), target="deviceComplianceCheckinThresholdDays") from None
    begin_write(session)
    row = _settings(session, organisation_id, lock=True)
    row.compliance = dict(settings.to_dict())
    row.updated_at = now
    configuration_changed(session, organisation_id, now)
    return settings


@dataclass(frozen=True)
class DirectoryServices:
    entra_integration_enabled: bool
    directory_id: str | None
    use_entra_id_for_identity_services: bool
    tenant_name: str | None
    immutable_id_mapping: ImmutableIdMapping
    send_compliance_for_windows_devices: bool

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> DirectoryServices:
        return cls(
            entra_integration_enabled=bool(data.get("entraIntegrationEnabled")),
            directory_id=data.get("directoryId"),
            use_entra_id_for_identity_services=bool(data.get("useEntraIdForIdentityServices")),
            tenant_name=data.get("tenantName"),
            immutable_id_mapping=ImmutableIdMapping.from_dict(data.get("immutableIdMapping") or {}),
            send_compliance_for_windows_devices=bool(data.get("sendComplianceForWindowsDevices")),
        )

    def to_stored(self) -> dict[str, Any]:
        return {
            "entraIntegrationEnabled": self.entra_integration_enabled,
            "directoryId": self.directory_id,
            "useEntraIdForIdentityServices": self.use_entra_id_for_identity_services,
            "tenantName": self.tenant_name,
            "immutableIdMapping": dict(self.immutable_id_mapping.to_dict()),
            "sendComplianceForWindowsDevices": self.send_compliance_for_windows_devices,
        }


def directory_services(session: Session, organisation_id: str) -> DirectoryServices:
    return DirectoryServices.from_stored(_settings(session, organisation_id).directory_services)


def set_directory_services(
    session: Session,
    organisation_id: str,
    *,
    entra_integration_enabled: bool,
    directory_id: str | None,
    use_entra_id_for_identity_services: bool,
    tenant_name: str | None,
    immutable_id_mapping: object,
    send_compliance_for_windows_devices: bool,
    now: dt.datetime,
) -> DirectoryServices:
    if directory_id is not None and not is_guid(directory_id):
        raise BadRequest(f"{directory_id!r} is not a directory (tenant) ID: a lowercase GUID", target="directoryId")
    if entra_integration_enabled and directory_id is None:
        raise BadRequest("is required when the Entra integration is on", target="directoryId")
    if tenant_name is not None and not (0 < len(tenant_name.strip()) <= 256):
        raise BadRequest("must be 1 to 256 characters", target="tenantName")
    try:
        mapping = ImmutableIdMapping.from_dict(immutable_id_mapping if immutable_id_mapping is not None else {})
    except ValidationError as error:
        raise error.under("immutableIdMapping") from None
    services = DirectoryServices(
        entra_integration_enabled,
        directory_id,
        use_entra_id_for_identity_services,
        tenant_name,
        mapping,
        send_compliance_for_windows_devices,
    )
    begin_write(session)
    row = _settings(session, organisation_id, lock=True)
    row.directory_services = services.to_stored()
    row.updated_at = now
    return services


def intelligence(session: Session, organisation_id: str) -> tuple[bool, dt.datetime | None]:
    row = _settings(session, organisation_id)
    return row.intelligence_opted_in, row.intelligence_opted_in_at


def set_intelligence(
    session: Session, organisation_id: str, opted_in: bool, now: dt.datetime
) -> tuple[bool, dt.datetime | None]:
    begin_write(session)
    row = _settings(session, organisation_id, lock=True)
    if opted_in and not row.intelligence_opted_in:
        row.intelligence_opted_in_at = now
    if not opted_in:
        row.intelligence_opted_in_at = None
    row.intelligence_opted_in = opted_in
    row.updated_at = now
    return row.intelligence_opted_in, row.intelligence_opted_in_at


def request_directory_sync(
    session: Session, organisation_id: str, requested_by: str, now: dt.datetime
) -> DirectorySyncRequest:
    """Record the request and announce it in the change feed, where the partner service picks it up."""
    begin_write(session)
    services = DirectoryServices.from_stored(_settings(session, organisation_id).directory_services)
    if not services.entra_integration_enabled:
        raise Conflict(
            "turn on the Entra integration in Directory Services before syncing", code="entraIntegrationDisabled"
        )
    request = DirectorySyncRequest(
        id=new_id(), organisation_id=organisation_id, requested_at=now, requested_by=requested_by
    )
    session.add(request)
    entry = NewFeedEntry(
        FeedKind.DIRECTORY_SYNC,
        None,
        None,
        request.id,
        {"requestId": request.id, "directoryId": services.directory_id, "requestedBy": requested_by},
    )
    feed.append(session, organisation_id, [entry], now)
    return request


def last_directory_sync(session: Session, organisation_id: str) -> DirectorySyncRequest | None:
    return session.scalars(
        select(DirectorySyncRequest)
        .where(DirectorySyncRequest.organisation_id == organisation_id)
        .order_by(DirectorySyncRequest.requested_at.desc(), DirectorySyncRequest.id)
        .limit(1)
    ).first()
