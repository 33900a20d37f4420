"""Onboarding of MDM organisations, as the seed walks it: registration, admin consent, complete setup.

States of a :class:`~posturebridge.partner.models.Registration`:

``registered`` -> ``consentPending`` (an admin consent URL was handed out) -> ``consented`` (the directory
redirected back with ``admin_consent=True``) -> ``enabled`` (complete setup verified the token and provisioned
the Intune partner tenant; the hosted worker delivers) or ``failed`` (complete setup failed; ``last_error``
says why and complete setup may be tried again). A denied or cancelled consent keeps the state and records
the directory's error in ``last_error``. Registering again (the MDM's "enable" clicked twice) hands out a new
consent URL and keeps an enabled organisation enabled.

Functions here work in the caller's unit of work and never commit; the HTTP calls of complete setup are in
``tenancy.py`` and happen between two units of work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from posturebridge.common.ids import is_guid, new_id
from posturebridge.partner.models import Registration

GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"
CONSENT_CALLBACK_PATH = "/api/v1/consent/callback"
# Platforms delivered through the Intune partner compliance channel (MDM vocabulary). Windows goes through the
# tenant's own MDM application (``posturebridge partner worker``, docs/real-tenant.md §1).
INTUNE_PLATFORMS = ("iOS", "iPadOS", "android", "macOS", "linux")
# "windows": the partner's application is also the tenant's Windows MDM application (Mobility (MDM and MAM));
# Windows devices joined with it get isManaged/isCompliant by PATCH /devices as that application.
WINDOWS_PLATFORM = "windows"
SUPPORTED_PLATFORMS = (*INTUNE_PLATFORMS, WINDOWS_PLATFORM)
DEFAULT_PLATFORMS = ("iOS", "android", "macOS")


class OnboardingState(StrEnum):
    REGISTERED = "registered"
    CONSENT_PENDING = "consentPending"
    CONSENTED = "consented"
    ENABLED = "enabled"
    FAILED = "failed"


class OnboardingError(Exception):
    """An expected refusal: HTTP status, a stable code and a message for the administrator."""

    status_code = 400
    code = "badRequest"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotRegistered(OnboardingError):
    status_code = 404
    code = "organisationNotRegistered"


class WrongState(OnboardingError):
    status_code = 409
    code = "conflict"


@dataclass(frozen=True)
class RegistrationRequest:
    """What the MDM sends when its administrator clicks "enable"."""

    mdm_organisation_id: str
    tenant_id: str
    mdm_url: str
    mdm_client_id: str
    mdm_client_secret: str
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS


@dataclass(frozen=True)
class ConsentLink:
    """How this partner's admin consent URL is built: the directory's authority and the partner application."""

    authority_host: str
    client_id: str
    redirect_uri: str

    def url(self, tenant_id: str, state: str) -> str:
        query = urlencode(
            {
                "client_id": self.client_id,
                "scope": GRAPH_DEFAULT_SCOPE,
                "redirect_uri": self.redirect_uri,
                "state": state,
            }
        )
        return f"{self.authority_host.rstrip('/')}/{tenant_id}/v2.0/adminconsent?{query}"


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _check(request: RegistrationRequest) -> tuple[str, ...]:
    if not is_guid(request.tenant_id):
        raise OnboardingError(f"tenantId {request.tenant_id!r} is not a directory (tenant) id", code="invalidTenant")
    if not request.mdm_url.startswith(("https://", "http://")):
        raise OnboardingError("mdmUrl must be an absolute http(s) URL", code="invalidMdmUrl")
    if not request.mdm_client_id or not request.mdm_client_secret:
        raise OnboardingError("mdmCredential needs clientId and clientSecret", code="invalidMdmCredential")
    platforms = tuple(dict.fromkeys(request.platforms or DEFAULT_PLATFORMS))
    unsupported = [p for p in platforms if p not in SUPPORTED_PLATFORMS]
    if unsupported:
        raise OnboardingError(
            f"platform(s) {', '.join(unsupported)} are not supported (supported: {', '.join(SUPPORTED_PLATFORMS)}; "
            "windows means this application is the tenant's Windows MDM application)",
            code="platformNotSupported",
        )
    return platforms


def find(session: Session, mdm_organisation_id: str, *, lock: bool = False) -> Registration:
    statement = select(Registration).where(Registration.mdm_organisation_id == mdm_organisation_id)
    if lock:
        statement = statement.with_for_update()
    found = session.scalars(statement.execution_options(populate_existing=True)).first()
    if found is None:
        raise NotRegistered(f"organisation {mdm_organisation_id} is not registered with the compliance partner")
    return found


def register(session: Session, request: RegistrationRequest, now: dt.datetime) -> tuple[Registration, str]:
    """Create or refresh the organisation's registration; returns it and the new opaque consent ``state``."""
    platforms = _check(request)
    try:
        row = find(session, request.mdm_organisation_id, lock=True)
    except NotRegistered:
        row = Registration(
            id=new_id(),
            mdm_organisation_id=request.mdm_organisation_id,
            tenant_id=request.tenant_id,
            state=OnboardingState.REGISTERED.value,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    if row.tenant_id != request.tenant_id:
        # Another tenant: the consent and the provisioning of the old one say nothing about the new one.
        row.tenant_id = request.tenant_id
        row.state = OnboardingState.REGISTERED.value
        row.consented_at = None
        row.enabled_at = None
    row.mdm_url = request.mdm_url.rstrip("/")
    row.mdm_client_id = request.mdm_client_id
    row.mdm_client_secret = request.mdm_client_secret
    row.platforms = list(platforms)
    state = secrets.token_urlsafe(24)
    row.consent_state_hash = _hash(state)
    if row.state in (OnboardingState.REGISTERED, OnboardingState.FAILED) and row.consented_at is None:
        row.state = OnboardingState.CONSENT_PENDING.value
    row.last_error = None
    row.updated_at = now
    session.flush()
    return row, state


@dataclass(frozen=True)
class ConsentAnswer:
    """The directory's redirect to the consent callback."""

    state: str | None
    tenant: str | None
    admin_consent: str | None
    error: str | None
    error_description: str | None

    @property
    def granted(self) -> bool:
        return self.error is None and (self.admin_consent or "").lower() == "true"


def record_consent(session: Session, answer: ConsentAnswer, now: dt.datetime) -> Registration:
    """Apply the consent callback to the registration its ``state`` names. A denial is recorded in
    ``last_error`` and changes nothing else."""
    if not answer.state:
        raise OnboardingError("the consent callback carries no state", code="invalidState")
    row = session.scalars(
        select(Registration).where(Registration.consent_state_hash == _hash(answer.state)).with_for_update()
    ).first()
    if row is None:
        raise NotRegistered("the consent callback's state matches no registration (expired or already used)")
    row.updated_at = now
    if not answer.granted:
        reason = answer.error or "consent_not_granted"
        description = (answer.error_description or "the administrator did not grant consent").strip()
        row.last_error = f"admin consent was not granted: {reason}: {description.splitlines()[0]}"
        return row
    if answer.tenant and answer.tenant.lower() != row.tenant_id.lower():
        row.last_error = (
            f"admin consent was granted in tenant {answer.tenant}, not in {row.tenant_id} (sign in as an "
            "administrator of the organisation's tenant)"
        )
        return row
    row.consent_state_hash = None  # a state is used once
    row.consented_at = now
    row.last_error = None
    if row.state != OnboardingState.ENABLED:
        row.state = OnboardingState.CONSENTED.value
    return row


def begin_complete(session: Session, mdm_organisation_id: str) -> Registration:
    """The registration complete setup may work on; WrongState before consent."""
    row = find(session, mdm_organisation_id)
    if row.consented_at is None:
        hint = f" (last consent attempt: {row.last_error})" if row.last_error else ""
        raise WrongState(
            "an administrator of the tenant must grant admin consent (open adminConsentUrl) before complete setup"
            + hint,
            code="consentRequired",
        )
    return row


def finish_complete(session: Session, registration_id: str, error: str | None, now: dt.datetime) -> Registration:
    row = session.get(Registration, registration_id, with_for_update=True, populate_existing=True)
    assert row is not None
    row.updated_at = now
    if error is None:
        row.state = OnboardingState.ENABLED.value
        row.enabled_at = now
        row.last_error = None
        row.last_heartbeat_at = now
    else:
        # A repeated complete setup that fails keeps an enabled organisation delivering; the error is shown.
        if row.state != OnboardingState.ENABLED:
            row.state = OnboardingState.FAILED.value
        row.last_error = error
    return row


@dataclass(frozen=True)
class EnabledOrganisation:
    """What the hosted worker of an enabled organisation is built from."""

    registration_id: str
    mdm_organisation_id: str
    tenant_id: str
    mdm_url: str
    mdm_client_id: str
    mdm_client_secret: str
    platforms: tuple[str, ...]


def enabled(session: Session) -> list[EnabledOrganisation]:
    rows = session.scalars(select(Registration).where(Registration.state == OnboardingState.ENABLED.value))
    return [
        EnabledOrganisation(
            row.id,
            row.mdm_organisation_id,
            row.tenant_id,
            row.mdm_url,
            row.mdm_client_id,
            row.mdm_client_secret,
            tuple(row.platforms or ()),
        )
        for row in rows
    ]


def heartbeat_sent(session: Session, registration_id: str, now: dt.datetime, error: str | None) -> None:
    row = session.get(Registration, registration_id, with_for_update=True)
    if row is None:
        return
    if error is None:
        row.last_heartbeat_at = now
    row.last_error = error
    row.updated_at = now
