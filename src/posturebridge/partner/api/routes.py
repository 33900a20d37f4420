"""``/api/v1`` of the partner service.

- ``POST /api/v1/organisations``: register (or re-register) an MDM organisation; answers with the admin consent
  URL to send the administrator to.
- ``GET /api/v1/organisations/{organisationId}``: the registration's state and last error.
- ``POST /api/v1/organisations/{organisationId}/completeSetup``: verify the consent, provision the Intune
  partner tenant, start delivery.
- ``GET /api/v1/consent/callback``: where the directory redirects the administrator after admin consent.

The three organisation routes take ``Authorization: Bearer <registration key>`` (``publisher.py``): only the
MDM holds it. The callback is reached by a browser and is authenticated by the one-time ``state``. Routes
parse, call one service function and render; ``OnboardingError`` is rendered by one handler.
"""

# No ``from __future__ import annotations``: FastAPI resolves the routes' local Annotated dependencies at
# definition time.
import datetime as dt
import hmac
import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.clock import aware
from posturebridge.common.database import unit_of_work
from posturebridge.partner import hosting, onboarding
from posturebridge.partner.api import schemas
from posturebridge.partner.hosting import OrganisationHost
from posturebridge.partner.models import Registration
from posturebridge.partner.onboarding import ConsentAnswer, ConsentLink, OnboardingError, RegistrationRequest
from posturebridge.partner.publisher import PublisherSource, consent_link
from posturebridge.partner.settings import PartnerSettings
from posturebridge.partner.tenancy import Publisher


class Unauthenticated(OnboardingError):
    status_code = 401
    code = "unauthenticated"


class NotConfigured(OnboardingError):
    status_code = 503
    code = "partnerApplicationNotConfigured"


@dataclass
class PartnerApi:
    """What the routes share; built by ``partner.app.create_app``."""

    sessions: sessionmaker[Session]
    settings: PartnerSettings
    registration_key: str
    publishers: PublisherSource
    default_url: str
    host: OrganisationHost
    clock: Callable[[], dt.datetime]


_bearer = HTTPBearer(auto_error=False, scheme_name="registrationKey", description="The partner's registration key")


def render(row: Registration, consent_url: str | None = None) -> schemas.OrganisationOut:
    return schemas.OrganisationOut(
        id=row.id,
        organisation_id=row.mdm_organisation_id,
        tenant_id=row.tenant_id,
        state=row.state,
        platforms=list(row.platforms or []),
        admin_consent_url=consent_url,
        last_error=row.last_error,
        consented_date_time=aware(row.consented_at),
        enabled_date_time=aware(row.enabled_at),
        last_heartbeat_date_time=aware(row.last_heartbeat_at),
        created_date_time=aware(row.created_at),
        modified_date_time=aware(row.updated_at),
    )


def router(api: PartnerApi) -> APIRouter:
    routes = APIRouter(prefix="/api/v1")

    def authenticate(bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
        if bearer is None or not hmac.compare_digest(bearer.credentials.encode(), api.registration_key.encode()):
            raise Unauthenticated("send the partner's registration key as a bearer token")

    def configured() -> tuple[Publisher, ConsentLink]:
        publisher = api.publishers.get()
        if publisher is None:
            raise NotConfigured(
                "the partner service has no multi-tenant application: set POSTUREBRIDGE_PARTNER_CLIENT_ID and a "
                "secret, or start with `posturebridge up --seed demo`"
            )
        return publisher, consent_link(api.settings, publisher, api.default_url)

    Authenticated = Annotated[None, Depends(authenticate)]

    @routes.post("/organisations", response_model=schemas.OrganisationOut, tags=["onboarding"])
    def register(body: schemas.OrganisationRegistration, _auth: Authenticated) -> schemas.OrganisationOut:
        """Register the organisation (again); the answer carries the admin consent URL for its tenant."""
        _, consent = configured()
        request = RegistrationRequest(
            mdm_organisation_id=body.organisation_id,
            tenant_id=body.tenant_id.lower(),
            mdm_url=body.mdm_url,
            mdm_client_id=body.mdm_credential.client_id,
            mdm_client_secret=body.mdm_credential.client_secret,
            platforms=tuple(body.platforms) or onboarding.DEFAULT_PLATFORMS,
        )
        with unit_of_work(api.sessions) as session:
            row, state = onboarding.register(session, request, api.clock())
            session.commit()
            shown = render(row, consent.url(row.tenant_id, state))
        if shown.state == onboarding.OnboardingState.ENABLED:
            api.host.wake()  # a new MDM credential or new platforms: the hosted worker restarts with them
        return shown

    @routes.get("/organisations/{organisation_id}", response_model=schemas.OrganisationOut, tags=["onboarding"])
    def get(organisation_id: str, _auth: Authenticated) -> schemas.OrganisationOut:
        with unit_of_work(api.sessions) as session:
            return render(onboarding.find(session, organisation_id))

    @routes.post(
        "/organisations/{organisation_id}/completeSetup", response_model=schemas.OrganisationOut, tags=["onboarding"]
    )
    def complete(organisation_id: str, _auth: Authenticated) -> schemas.OrganisationOut:
        """Verify the admin consent, provision the Intune partner tenant and start delivery."""
        publisher, _ = configured()
        with unit_of_work(api.sessions) as session:
            row = onboarding.begin_complete(session, organisation_id)
            registration_id, tenant_id, platforms = row.id, row.tenant_id, list(row.platforms)
        _, error = hosting.complete_setup(api.settings, publisher, tenant_id, platforms)
        with unit_of_work(api.sessions) as session:
            row = onboarding.finish_complete(session, registration_id, error, api.clock())
            session.commit()
            shown = render(row)
        api.host.wake()
        return shown

    @routes.get("/consent/callback", response_class=HTMLResponse, include_in_schema=False)
    def consent_callback(request: Request) -> HTMLResponse:
        params = request.query_params
        answer = ConsentAnswer(
            state=params.get("state"),
            tenant=params.get("tenant"),
            admin_consent=params.get("admin_consent"),
            error=params.get("error"),
            error_description=params.get("error_description"),
        )
        with unit_of_work(api.sessions) as session:
            row = onboarding.record_consent(session, answer, api.clock())
            session.commit()
            granted, reason = row.consented_at is not None and row.last_error is None, row.last_error or ""
        if granted:
            title, text = "Consent granted", "Close this window and complete the setup in the MDM console."
        else:
            title, text = "Consent not granted", reason
        return HTMLResponse(_page(title, text), status_code=200 if title == "Consent granted" else 400)

    return routes


def _page(title: str, text: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )


def install_errors(app: FastAPI) -> None:
    @app.exception_handler(OnboardingError)
    async def onboarding_error(request: Request, error: OnboardingError) -> Response:
        if request.url.path.endswith("/consent/callback"):
            return HTMLResponse(_page("Consent not recorded", error.message), status_code=error.status_code)
        body = schemas.ErrorBody(error=schemas.ErrorInfo(code=error.code, message=error.message))
        headers = {"WWW-Authenticate": 'Bearer realm="partner"'} if error.status_code == 401 else None
        return JSONResponse(body.model_dump(), status_code=error.status_code, headers=headers)
