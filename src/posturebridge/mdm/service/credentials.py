"""Organisations and who may call the API on their behalf: OAuth client credentials (bearer tokens),
API keys (``aw-tenant-code``), administrators, and per-device credentials issued at enrolment.

Secrets are random, shown once and stored as SHA-256 hashes; a token names its organisation, so every
authenticated call is scoped to exactly one organisation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from posturebridge.common.ids import new_id
from posturebridge.mdm.domain import ComplianceSettings, EnrollmentStatus, ImmutableIdMapping
from posturebridge.mdm.models import (
    AccessToken,
    Admin,
    ApiClient,
    ApiKey,
    DeviceRow,
    Organisation,
    OrganisationSettings,
)
from posturebridge.mdm.service import feed
from posturebridge.mdm.service.errors import BadRequest, Conflict, Forbidden, OAuthError, Unauthenticated

TOKEN_LIFETIME = dt.timedelta(hours=1)
DEVICE_TOKEN_PREFIX = "pbd_"
ACCESS_TOKEN_PREFIX = "pba_"
AdminRole = Literal["administrator", "readOnly"]
CredentialKind = Literal["clientCredentials", "apiKey"]


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class OrgPrincipal:
    """An authenticated API caller: an organisation and the credential that proved it."""

    organisation_id: str
    credential: str


@dataclass(frozen=True)
class DevicePrincipal:
    organisation_id: str
    device_id: str


@dataclass(frozen=True)
class NewCredential:
    kind: CredentialKind
    id: str
    display_name: str
    secret: str
    """Shown once: the client secret or the API key."""


@dataclass(frozen=True)
class NewOrganisation:
    organisation: Organisation
    client: NewCredential
    api_key: NewCredential


def default_directory_services() -> dict[str, object]:
    return {
        "entraIntegrationEnabled": False,
        "directoryId": None,
        "useEntraIdForIdentityServices": False,
        "tenantName": None,
        "immutableIdMapping": dict(ImmutableIdMapping().to_dict()),
        "sendComplianceForWindowsDevices": False,
    }


def create_organisation(session: Session, name: str, now: dt.datetime) -> NewOrganisation:
    """An organisation with default settings, an empty feed, one client credential and one API key."""
    name = name.strip()
    if not name or len(name) > 256:
        raise BadRequest("the organisation name must be 1 to 256 characters", target="name")
    if session.scalar(select(Organisation.id).where(Organisation.name == name)) is not None:
        raise Conflict(f"an organisation named {name!r} already exists", target="name", code="organisationExists")
    organisation = Organisation(id=new_id(), name=name, created_at=now, configuration_version=0)
    session.add(organisation)
    session.flush()
    session.add(
        OrganisationSettings(
            organisation_id=organisation.id,
            compliance=dict(ComplianceSettings().to_dict()),
            directory_services=default_directory_services(),
            intelligence_opted_in=False,
            intelligence_opted_in_at=None,
            updated_at=now,
        )
    )
    feed.create_counter(session, organisation.id)
    client = create_credential(session, organisation.id, "clientCredentials", "bootstrap client", now)
    api_key = create_credential(session, organisation.id, "apiKey", "bootstrap API key", now)
    return NewOrganisation(organisation, client, api_key)


def create_credential(
    session: Session, organisation_id: str, kind: CredentialKind, display_name: str, now: dt.datetime
) -> NewCredential:
    if kind == "clientCredentials":
        client_id = new_id()
        secret = new_secret()
        session.add(
            ApiClient(
                client_id=client_id,
                organisation_id=organisation_id,
                display_name=display_name,
                secret_hash=hash_secret(secret),
                created_at=now,
            )
        )
        return NewCredential(kind, client_id, display_name, secret)
    key = new_secret("pbk_")
    key_id = new_id()
    session.add(
        ApiKey(
            id=key_id,
            organisation_id=organisation_id,
            display_name=display_name,
            key_hash=hash_secret(key),
            created_at=now,
        )
    )
    return NewCredential(kind, key_id, display_name, key)


def list_credentials(session: Session, organisation_id: str) -> list[tuple[CredentialKind, str, str, dt.datetime]]:
    clients = session.execute(
        select(ApiClient.client_id, ApiClient.display_name, ApiClient.created_at).where(
            ApiClient.organisation_id == organisation_id
        )
    ).all()
    keys = session.execute(
        select(ApiKey.id, ApiKey.display_name, ApiKey.created_at).where(ApiKey.organisation_id == organisation_id)
    ).all()
    found: list[tuple[CredentialKind, str, str, dt.datetime]] = [
        ("clientCredentials", c[0], c[1], c[2]) for c in clients
    ]
    found.extend(("apiKey", k[0], k[1], k[2]) for k in keys)
    return sorted(found, key=lambda item: (item[3], item[1]))


def issue_token(session: Session, client_id: str, client_secret: str, now: dt.datetime) -> tuple[str, int]:
    """The OAuth client credentials grant: a bearer token and its lifetime in seconds."""
    client = session.get(ApiClient, client_id) if client_id else None
    if client is None or not hmac.compare_digest(client.secret_hash, hash_secret(client_secret)):
        raise OAuthError("invalid_client", "unknown client_id or wrong client_secret", status_code=401)
    token = new_secret(ACCESS_TOKEN_PREFIX)
    session.add(
        AccessToken(
            token_hash=hash_secret(token),
            organisation_id=client.organisation_id,
            client_id=client.client_id,
            expires_at=now + TOKEN_LIFETIME,
        )
    )
    return token, int(TOKEN_LIFETIME.total_seconds())


def authenticate_bearer(session: Session, token: str, now: dt.datetime) -> OrgPrincipal:
    row = session.get(AccessToken, hash_secret(token))
    if row is None:
        raise Unauthenticated("the bearer token is not known to this MDM", code="invalidToken")
    if row.expires_at <= now:
        raise Unauthenticated("the bearer token has expired; request a new one", code="tokenExpired")
    return OrgPrincipal(row.organisation_id, f"client:{row.client_id}")


def authenticate_api_key(session: Session, key: str) -> OrgPrincipal:
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(key)))
    if row is None:
        raise Unauthenticated("the API key (aw-tenant-code) is not known to this MDM", code="invalidApiKey")
    return OrgPrincipal(row.organisation_id, f"apiKey:{row.id}")


def authenticate_device(session: Session, token: str) -> DevicePrincipal:
    found = session.execute(
        select(DeviceRow.id, DeviceRow.organisation_id, DeviceRow.enrollment_status).where(
            DeviceRow.credential_hash == hash_secret(token)
        )
    ).one_or_none()
    return device_principal(None if found is None else (found[0], found[1], found[2]))


def device_principal(found: tuple[str, str, str] | None) -> DevicePrincipal:
    """The device a credential lookup found, as (id, organisation, enrolment status): unknown or not
    enrolled devices are refused."""
    if found is None:
        raise Unauthenticated("the device credential is not known to this MDM", code="invalidToken")
    device_id, organisation_id, status = found
    if status != EnrollmentStatus.ENROLLED.value:
        raise Forbidden(f"the device is {status}; enrol it again", code="deviceNotEnrolled")
    return DevicePrincipal(organisation_id, device_id)


def remove_expired_tokens(session: Session, now: dt.datetime) -> None:
    session.execute(delete(AccessToken).where(AccessToken.expires_at <= now))


def get_organisation(session: Session, organisation_id: str) -> Organisation:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise Unauthenticated("the organisation of this credential no longer exists", code="invalidToken")
    return organisation


def create_admin(
    session: Session, organisation_id: str, user_name: str, display_name: str, role: AdminRole, now: dt.datetime
) -> Admin:
    admin = Admin(
        id=new_id(),
        organisation_id=organisation_id,
        user_name=user_name,
        display_name=display_name,
        role=role,
        created_at=now,
    )
    session.add(admin)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"an administrator {user_name!r} already exists", target="userName") from None
    return admin


def list_admins(session: Session, organisation_id: str) -> list[Admin]:
    return list(
        session.scalars(select(Admin).where(Admin.organisation_id == organisation_id).order_by(Admin.user_name))
    )
