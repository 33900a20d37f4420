"""The demo tenant's broker: the public client the device agent signs in with (Microsoft Authenticator on iOS
and Android, Company Portal on macOS in a real tenant, where they are first-party applications that need no
registration), with the delegated grants a broker has: device registration and Exchange Online.

Idempotent: the application is found by its display name.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from posturebridge.directory import catalog, tenants
from posturebridge.directory.models import Application, Tenant

BROKER_NAME = "posturebridge broker (Authenticator / Company Portal)"
BROKER_REDIRECT_URI = "http://localhost/broker"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"


def ensure_broker(session: Session, tenant: Tenant, now: dt.datetime) -> dict[str, str]:
    """The broker application of ``tenant`` (created with its grants if absent): client id and redirect URI."""
    application = session.scalars(
        select(Application).where(Application.tenant_id == tenant.id, Application.display_name == BROKER_NAME)
    ).first()
    if application is None:
        created = tenants.add_application(
            session, tenant, display_name=BROKER_NAME, now=now, public_client_redirect_uris=[BROKER_REDIRECT_URI]
        )
        application, principal = created.application, created.service_principal
        tenants.grant_delegated_permissions(
            session,
            tenant,
            principal,
            ["user_impersonation"],
            now=now,
            resource_app_id=tenants.DEVICE_REGISTRATION_SERVICE_APP_ID,
        )
        tenants.grant_delegated_permissions(
            session,
            tenant,
            principal,
            ["EWS.AccessAsUser.All"],
            now=now,
            resource_app_id=catalog.EXCHANGE_ONLINE_APP_ID,
        )
    return {"client_id": application.app_id, "redirect_uri": BROKER_REDIRECT_URI}
