"""Beta ``/policies/mobileDeviceManagementPolicies`` (and MAM), and what they mean for Windows compliance writes."""

from __future__ import annotations

import uuid

import jwt

from posturebridge.common.clock import utcnow
from posturebridge.directory import tenants
from posturebridge.directory.models import Group, ServicePrincipal, Tenant
from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.graph_support import add_devices, app_token, graph

MDM = "/beta/policies/mobileDeviceManagementPolicies"
MAM = "/beta/policies/mobileAppManagementPolicies"


def _app(server: DirectoryServer, tenant_id: str, name: str) -> str:
    with server.session() as session:
        row = session.get(Tenant, tenant_id)
        assert row is not None
        created = tenants.add_application(session, row, display_name=name, now=utcnow())
        session.commit()
        return created.application.app_id


def _group(server: DirectoryServer, tenant_id: str) -> str:
    with server.session() as session:
        group = Group(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            display_name="Windows MDM users",
            mail_nickname="mdmusers",
            group_types=[],
            created_date_time=utcnow(),
        )
        session.add(group)
        session.commit()
        return group.id


def test_on_premises_mdm_urls_must_be_on_a_verified_domain(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    app_id = _app(directory_server, tenant.id, "UEM on premises")
    admin = app_token(directory_server, tenant, ["Directory.ReadWrite.All"], name="admin")
    with graph(directory_server, admin) as client:
        foreign = client.post(
            MDM, json={"id": app_id, "discoveryUrl": "https://uem.elsewhere.example/EnrollmentServer/Discovery.svc"}
        )
        assert foreign.status_code == 400
        assert "'https://uem.elsewhere.example/EnrollmentServer/Discovery.svc'" in foreign.json()["error"]["message"]
        assert "not on a verified domain" in foreign.json()["error"]["message"]
        plain = client.post(MDM, json={"id": app_id, "termsOfUseUrl": f"http://uem.{tenant.domain}/tou"})
        assert plain.status_code == 400 and "termsOfUseUrl" in plain.json()["error"]["message"]
        urls = {
            "discoveryUrl": f"https://uem.{tenant.domain}/EnrollmentServer/Discovery.svc",
            "termsOfUseUrl": f"https://uem.{tenant.domain}/TermsOfUse",
            "complianceUrl": f"https://uem.{tenant.domain}/Compliance",
        }
        created = client.post(MDM, json={"id": app_id, "description": "UEM", **urls})
        assert created.status_code == 201, created.text
        policy = created.json()
        assert policy["id"] == app_id and policy["displayName"] == "UEM on premises"
        assert (
            policy["appliesTo"] == "none"
            and policy["isValid"] is True
            and policy["discoveryUrl"] == urls["discoveryUrl"]
        )
        assert client.post(MDM, json={"id": app_id}).status_code == 400  # one policy per application
        assert client.get(f"/v1.0/policies/mobileDeviceManagementPolicies/{app_id}").status_code == 400  # beta only
        moved = client.patch(f"{MDM}/{app_id}", json={"complianceUrl": "https://portal.other.example/compliance"})
        assert moved.status_code == 400
        assert client.get(MAM).json()["value"] == []


def test_scope_rules_included_groups_and_delete(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    app_id = _app(directory_server, tenant.id, "Cloud MDM")
    group_id = _group(directory_server, tenant.id)
    admin = app_token(directory_server, tenant, ["Directory.ReadWrite.All", "AuditLog.Read.All"], name="admin")
    reader = app_token(directory_server, tenant, ["Directory.Read.All"], name="reader")
    with graph(directory_server, admin) as client:
        assert client.post(MDM, json={"id": app_id, "appliesTo": "selected"}).status_code == 400
        assert client.post(MDM, json={"id": str(uuid.uuid4())}).status_code == 400  # no service principal
        assert client.post(MDM, json={"id": app_id, "appliesTo": "all"}).status_code == 201
        both = client.patch(f"{MDM}/{app_id}", json={"appliesTo": "none", "displayName": "x"})
        assert both.status_code == 400 and "together" in both.json()["error"]["message"]
        assert client.patch(f"{MDM}/{app_id}", json={"appliesTo": "selected"}).status_code == 400
        added = client.post(
            f"{MDM}/{app_id}/includedGroups/$ref",
            json={"@odata.id": f"https://graph.microsoft.com/beta/groups/{group_id}"},
        )
        assert added.status_code == 204, added.text
        expanded = client.get(f"{MDM}/{app_id}?$expand=includedGroups").json()
        assert expanded["appliesTo"] == "selected"
        assert expanded["includedGroups"] == [{"id": group_id, "displayName": "Windows MDM users"}]
        assert client.get(f"{MDM}/{app_id}/includedGroups").json()["value"][0]["id"] == group_id
        assert client.patch(f"{MDM}/{app_id}", json={"appliesTo": "all"}).status_code == 204
        assert client.get(f"{MDM}/{app_id}/includedGroups").json()["value"] == []
        assert client.delete(f"{MDM}/{app_id}").status_code == 400  # still valid
    with graph(directory_server, reader) as client:
        assert client.get(MDM).status_code == 200
        assert client.patch(f"{MDM}/{app_id}", json={"appliesTo": "none"}).status_code == 403
    with directory_server.session() as session:
        principal = session.query(ServicePrincipal).filter_by(tenant_id=tenant.id, app_id=app_id).one()
        session.delete(principal)
        session.commit()
    with graph(directory_server, admin) as client:
        assert client.get(f"{MDM}/{app_id}").json()["isValid"] is False
        assert client.patch(f"{MDM}/{app_id}", json={"appliesTo": "none"}).status_code == 400
        assert client.delete(f"{MDM}/{app_id}").status_code == 204
        activities = [e["activityDisplayName"] for e in client.get("/v1.0/auditLogs/directoryAudits").json()["value"]]
    assert {"Add policy", "Update policy", "Delete policy"} <= set(activities)


def test_only_the_tenants_mdm_application_writes_windows_compliance(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    mdm_token = app_token(directory_server, tenant, ["Device.ReadWrite.All"], name="AirWatch MDM")
    mdm_app_id = jwt.decode(mdm_token, options={"verify_signature": False})["azp"]
    windows, ios = (
        add_devices(directory_server, tenant.id, 1, operating_system=os, mdm_app_id=mdm_app_id)[0]
        for os in ("Windows", "iOS")
    )
    admin = app_token(directory_server, tenant, ["Directory.ReadWrite.All"], name="admin")
    with graph(directory_server, mdm_token) as client:
        assert client.patch(f"/v1.0/devices/{windows.id}", json={"isCompliant": True}).status_code == 403
    with graph(directory_server, admin) as client:
        assert client.post(MAM, json={"id": mdm_app_id}).status_code == 201  # a MAM policy is not enough
    with graph(directory_server, mdm_token) as client:
        assert client.patch(f"/v1.0/devices/{windows.id}", json={"isCompliant": True}).status_code == 403
    with graph(directory_server, admin) as client:
        assert client.post(MDM, json={"id": mdm_app_id}).status_code == 201
    with graph(directory_server, mdm_token) as client:
        assert (
            client.patch(f"/v1.0/devices/{windows.id}", json={"isCompliant": True, "isManaged": True}).status_code
            == 204
        )
        assert client.patch(f"/v1.0/devices/{ios.id}", json={"isCompliant": True}).status_code == 403
        assert client.get(f"/v1.0/devices/{windows.id}").json()["isCompliant"] is True
