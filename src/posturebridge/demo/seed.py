"""``--seed demo``: the demo tenant, written to ``<data-dir>/demo.json`` so scripts and tests can sign in.

Idempotent: a second run keeps the tenant and the credentials in demo.json; if demo.json was lost, the
tenant's admin secret and user passwords are renewed and written again. demo.json is mode 0600.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.clock import utcnow
from posturebridge.common.database import make_engine, unit_of_work
from posturebridge.common.settings import Settings
from posturebridge.demo.broker import ensure_broker
from posturebridge.directory import catalog, tenants
from posturebridge.directory.models import Application, SubscribedSku, User, UserLicense
from posturebridge.directory.secrets import hash_password, new_password
from posturebridge.partner.onboarding import CONSENT_CALLBACK_PATH
from posturebridge.partner.publisher import app_file
from posturebridge.partner.tenancy import REQUIRED_GRAPH_ROLES

PUBLISHER_NAME = "posturebridge partner (publisher)"
PUBLISHER_PREFIX = "posturebridgepartner"
PARTNER_APP_NAME = "posturebridge conditional access"
"""The partner application's name, which the compliance partner records in a customer tenant must carry."""
DEMO_TENANT_NAME = "Contoso (posturebridge demo)"
DEMO_PREFIX = "contosodemo"
DEMO_DOMAIN = "contoso.example"
ADMIN_APP_NAME = "posturebridge admin automation"
ADMIN_PERMISSIONS = [
    "Directory.ReadWrite.All",
    "User.ReadWrite.All",
    "Group.ReadWrite.All",
    "Application.ReadWrite.All",
    "Device.ReadWrite.All",
    "AuditLog.Read.All",
    "Policy.Read.All",
    "Policy.ReadWrite.ConditionalAccess",
    "CustomSecAttributeDefinition.ReadWrite.All",
    "CustomSecAttributeAssignment.ReadWrite.All",
    "DeviceManagementServiceConfig.ReadWrite.All",
]
# Entra ID P1 for Conditional Access and Intune for the partner compliance channel, as the seed requires.
DEMO_LICENCES = ("AAD_PREMIUM", "INTUNE_A")
DEMO_ADMIN = "adele.vance"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
DEMO_USERS = [
    ("adele.vance", "Adele Vance", "IT administrator"),
    ("megan.bowen", "Megan Bowen", "Marketing manager"),
    ("alex.wilber", "Alex Wilber", "Sales representative"),
]


def demo_file(settings: Settings) -> Path:
    return settings.data_dir / "demo.json"


def seed_demo(settings: Settings) -> None:
    """Create or refresh the demo tenant and the partner's publisher tenant; write demo.json and
    partner-app.json (the partner service's application credentials)."""
    engine = make_engine(settings.database_url("directory"))
    try:
        factory = sessionmaker(engine, expire_on_commit=False)
        with unit_of_work(factory) as session:
            content = _ensure(session, settings)
            partner_app = ensure_partner_application(session, settings)
            session.commit()
    finally:
        engine.dispose()
    content["partner_app"] = {key: partner_app[key] for key in ("client_id", "display_name", "publisher_tenant_id")}
    _write_private_json(app_file(settings.data_dir), partner_app)
    _write_private_json(demo_file(settings), content)


def ensure_partner_application(session: Session, settings: Settings) -> dict[str, Any]:
    """The compliance partner's publisher tenant and its multi-tenant application (requiredResourceAccess:
    the Graph application permissions the partner needs), with a client secret kept across runs."""
    now = utcnow()
    publisher = tenants.find_tenant(session, f"{PUBLISHER_PREFIX}.onmicrosoft.com")
    if publisher is None:
        publisher = tenants.create_tenant(
            session, display_name=PUBLISHER_NAME, initial_domain_prefix=PUBLISHER_PREFIX, verified_domain=None, now=now
        )
    callback = settings.url("partner") + CONSENT_CALLBACK_PATH
    application = session.scalars(
        select(Application).where(Application.tenant_id == publisher.id, Application.display_name == PARTNER_APP_NAME)
    ).first()
    secret: str | None = None
    if application is None:
        created = tenants.add_application(
            session,
            publisher,
            display_name=PARTNER_APP_NAME,
            now=now,
            redirect_uris=[callback],
            sign_in_audience="AzureADMultipleOrgs",
        )
        application, secret = created.application, created.client_secret
        tenants.require_permissions(session, application, application_permissions=list(REQUIRED_GRAPH_ROLES), now=now)
    elif callback not in application.web_redirect_uris:
        application.web_redirect_uris = [*application.web_redirect_uris, callback]
    previous = _previous_file(app_file(settings.data_dir))
    if secret is None:
        if previous.get("client_id") == application.app_id and previous.get("client_secret"):
            secret = str(previous["client_secret"])
        else:
            secret = tenants.add_client_secret(session, application, now=now, replace_existing=True)
    return {
        "client_id": application.app_id,
        "client_secret": secret,
        "display_name": PARTNER_APP_NAME,
        "publisher_tenant_id": publisher.id,
        "authority_host": settings.url("directory"),
        "graph_url": settings.url("directory"),
        "ca_bundle": str(settings.ca_bundle) if settings.directory_tls else None,
        "public_url": settings.url("partner"),
        "permissions": list(REQUIRED_GRAPH_ROLES),
    }


def _previous_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _previous(settings: Settings) -> dict[str, Any] | None:
    return _previous_file(demo_file(settings)) or None


def _ensure(session: Session, settings: Settings) -> dict[str, Any]:
    now = utcnow()
    tenant = tenants.find_tenant(session, DEMO_DOMAIN)
    previous = _previous(settings)
    if tenant is None:
        tenant = tenants.create_tenant(
            session,
            display_name=DEMO_TENANT_NAME,
            initial_domain_prefix=DEMO_PREFIX,
            verified_domain=DEMO_DOMAIN,
            now=now,
        )
        for part_number in DEMO_LICENCES:
            sku = catalog.sku(part_number)
            assert sku is not None, part_number
            session.add(SubscribedSku(tenant_id=tenant.id, sku_id=sku.sku_id))
        users = []
        for alias, name, title in DEMO_USERS:
            password = new_password()
            user = tenants.add_user(
                session,
                tenant,
                user_principal_name=f"{alias}@{DEMO_DOMAIN}",
                display_name=name,
                password=password,
                now=now,
                mail=f"{alias}@{DEMO_DOMAIN}",
                job_title=title,
                usage_location="US",
            )
            session.flush()
            for part_number in DEMO_LICENCES:
                sku = catalog.sku(part_number)
                assert sku is not None
                session.add(UserLicense(user_id=user.id, sku_id=sku.sku_id, disabled_plans=[]))
            if alias == DEMO_ADMIN:
                tenants.assign_directory_role(session, tenant, user, GLOBAL_ADMINISTRATOR, now=now)
            users.append({"id": user.id, "userPrincipalName": user.user_principal_name, "password": password})
        created = tenants.add_application(session, tenant, display_name=ADMIN_APP_NAME, now=now)
        tenants.grant_application_permissions(session, tenant, created.service_principal, ADMIN_PERMISSIONS, now=now)
        admin = {"client_id": created.application.app_id, "client_secret": created.client_secret}
    elif previous is not None and previous.get("tenant_id") == tenant.id:
        users = previous["users"]
        admin = previous["admin_app"]
    else:
        users, admin = _renew_credentials(session, tenant.id, now)
    broker = ensure_broker(session, tenant, now)
    return {
        "tenant_id": tenant.id,
        "tenant_domain": DEMO_DOMAIN,
        "directory_url": settings.url("directory"),
        "authority": f"{settings.url('directory')}/{tenant.id}",
        "graph_url": f"{settings.url('directory')}/v1.0",
        "mdm_url": settings.url("mdm"),
        "partner_url": settings.url("partner"),
        "ca_bundle": str(settings.ca_bundle) if settings.directory_tls else None,
        "admin_app": {**admin, "display_name": ADMIN_APP_NAME, "permissions": ADMIN_PERMISSIONS},
        "users": users,
        "broker": broker,
    }


def _renew_credentials(
    session: Session, tenant_id: str, now: dt.datetime
) -> tuple[list[dict[str, str]], dict[str, str]]:
    users = []
    for user in session.scalars(select(User).where(User.tenant_id == tenant_id).order_by(User.user_principal_name)):
        password = new_password()
        user.password_hash = hash_password(password)
        users.append({"id": user.id, "userPrincipalName": user.user_principal_name, "password": password})
    application = session.scalars(
        select(Application).where(Application.tenant_id == tenant_id, Application.display_name == ADMIN_APP_NAME)
    ).one()
    secret = tenants.add_client_secret(session, application, now=now, replace_existing=True)
    return users, {"client_id": application.app_id, "client_secret": secret}


def _write_private_json(path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(content, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)
