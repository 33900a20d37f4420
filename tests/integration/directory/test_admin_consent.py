"""Admin consent at /adminconsent and /v2.0/adminconsent: success, cancel, non-admin, multi-tenant apps."""

from __future__ import annotations

from contextlib import closing
from urllib.parse import urlencode

from sqlalchemy import select

from posturebridge.common.clock import utcnow
from posturebridge.directory import tenants
from posturebridge.directory.models import AppRoleAssignment, DirectoryAudit, ServicePrincipal
from tests.integration.directory.browser import redirect_params, sign_in, submit
from tests.integration.directory.conftest import DirectoryServer, SeededTenant

REDIRECT = "https://partner.example/consented"


def _multi_tenant_app(server: DirectoryServer, home: SeededTenant) -> str:
    """A multi-tenant application registered in ``home`` that needs Device.ReadWrite.All (application)."""
    with server.session() as session:
        tenant = session.get(tenants.Tenant, home.id)
        assert tenant is not None
        created = tenants.add_application(
            session,
            tenant,
            display_name="Compliance partner",
            now=utcnow(),
            redirect_uris=[REDIRECT],
            sign_in_audience="AzureADMultipleOrgs",
        )
        tenants.require_permissions(
            session,
            created.application,
            application_permissions=["Device.ReadWrite.All"],
            delegated_permissions=["User.Read"],
            now=utcnow(),
        )
        session.commit()
        return created.application.app_id


def _consent_page(server: DirectoryServer, path: str, client_id: str, **extra: str):  # type: ignore[no-untyped-def]
    http = server.client()
    query = urlencode({"client_id": client_id, "redirect_uri": REDIRECT, "state": "st8", **extra})
    return http, http.get(f"{path}?{query}")


def _state(server: DirectoryServer, tenant_id: str, app_id: str) -> tuple[list[str], list[str]]:
    with server.session() as session:
        principal = session.scalars(
            select(ServicePrincipal).where(ServicePrincipal.tenant_id == tenant_id, ServicePrincipal.app_id == app_id)
        ).first()
        roles = []
        if principal is not None:
            graph = session.scalars(
                select(ServicePrincipal).where(
                    ServicePrincipal.tenant_id == tenant_id,
                    ServicePrincipal.app_id == tenants.catalog.MICROSOFT_GRAPH_APP_ID,
                )
            ).one()
            values = {role["id"]: role["value"] for role in graph.app_roles}
            roles = [
                values[row.app_role_id]
                for row in session.scalars(
                    select(AppRoleAssignment).where(AppRoleAssignment.principal_id == principal.id)
                )
            ]
        activities = list(
            session.scalars(
                select(DirectoryAudit.activity_display_name)
                .where(DirectoryAudit.tenant_id == tenant_id)
                .order_by(DirectoryAudit.activity_date_time)
            )
        )
        return roles, activities


def test_v1_admin_consent_creates_the_principal_and_grants_application_permissions(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:

    app_id = _multi_tenant_app(directory_server, tenant)
    customer = _new_customer(directory_server)
    http, page = _consent_page(directory_server, f"/{customer['id']}/adminconsent", app_id)
    with closing(http):
        review = sign_in(http, page, customer["admin"], customer["password"])
        assert "Device.ReadWrite.All" in review.text and "User.Read" in review.text
        params = redirect_params(submit(http, review, decision="accept"))
    assert params == {"tenant": customer["id"], "admin_consent": "True", "state": "st8"}
    roles, activities = _state(directory_server, customer["id"], app_id)
    assert roles == ["Device.ReadWrite.All"]
    assert "Add service principal" in activities
    assert "Add app role assignment to service principal" in activities
    assert activities[-1] == "Consent to application"


def test_v2_admin_consent_success_echoes_the_scope(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    app_id = _multi_tenant_app(directory_server, tenant)
    scope = "https://graph.microsoft.com/.default"
    http, page = _consent_page(directory_server, f"/{tenant.id}/v2.0/adminconsent", app_id, scope=scope)
    with closing(http):
        params = redirect_params(
            submit(http, sign_in(http, page, tenant.admin.upn, tenant.admin.password), decision="accept")
        )
    assert params == {"admin_consent": "True", "tenant": tenant.id, "scope": scope, "state": "st8"}
    assert _state(directory_server, tenant.id, app_id)[0] == ["Device.ReadWrite.All"]


def test_cancel_changes_nothing(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    app_id = _multi_tenant_app(directory_server, tenant)
    customer = _new_customer(directory_server)
    http, page = _consent_page(directory_server, f"/{customer['id']}/adminconsent", app_id)
    with closing(http):
        v1 = redirect_params(
            submit(http, sign_in(http, page, customer["admin"], customer["password"]), decision="cancel")
        )
        v2_page = http.get(
            f"/{customer['id']}/v2.0/adminconsent?"
            + urlencode(
                {"client_id": app_id, "redirect_uri": REDIRECT, "scope": "https://graph.microsoft.com/.default"}
            )
        )
        v2 = redirect_params(submit(http, v2_page, decision="cancel"))  # signed in already: straight to review
    assert v1 == {"error": "permission_denied", "error_description": "The admin canceled the request", "state": "st8"}
    assert v2["admin_consent"] == "True" and v2["error"] == "consent_required"
    assert v2["error_description"].startswith("AADSTS65004")
    roles, activities = _state(directory_server, customer["id"], app_id)
    assert roles == [] and "Add service principal" not in activities and "Consent to application" not in activities


def test_non_admin_gets_the_error_and_nothing_is_granted(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    app_id = _multi_tenant_app(directory_server, tenant)
    customer = _new_customer(directory_server)
    http, page = _consent_page(directory_server, f"/{customer['id']}/adminconsent", app_id)
    with closing(http):
        params = redirect_params(sign_in(http, page, customer["user"], customer["password"]))
    assert params["error"] == "permission_denied"
    assert params["error_description"].startswith("AADSTS90094")
    assert _state(directory_server, customer["id"], app_id)[0] == []


def test_v2_admin_consent_refuses_common_and_unregistered_redirects(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    app_id = _multi_tenant_app(directory_server, tenant)
    with directory_server.client() as http:
        common = http.get(
            "/common/v2.0/adminconsent?" + urlencode({"client_id": app_id, "redirect_uri": REDIRECT, "scope": "x"})
        )
        evil = http.get(
            f"/{tenant.id}/adminconsent?" + urlencode({"client_id": app_id, "redirect_uri": "https://evil.example"})
        )
    assert common.status_code == 400 and "location" not in common.headers
    assert evil.status_code == 400 and "AADSTS50011" in evil.text


def _new_customer(server: DirectoryServer) -> dict[str, str]:
    import uuid

    prefix = f"c{uuid.uuid4().hex[:12]}"
    password = f"Pw-{uuid.uuid4().hex[:8]}!"
    with server.session() as session:
        now = utcnow()
        tenant = tenants.create_tenant(
            session, display_name="Customer", initial_domain_prefix=prefix, verified_domain=None, now=now
        )
        domain = f"{prefix}.onmicrosoft.com"
        admin = tenants.add_user(
            session, tenant, user_principal_name=f"admin@{domain}", display_name="Admin", password=password, now=now
        )
        tenants.add_user(
            session, tenant, user_principal_name=f"user@{domain}", display_name="User", password=password, now=now
        )
        session.flush()
        tenants.assign_directory_role(session, tenant, admin, "158c047a-c907-4556-b7ef-446551a6b5f7", now=now)
        session.commit()
        return {"id": tenant.id, "admin": f"admin@{domain}", "user": f"user@{domain}", "password": password}
