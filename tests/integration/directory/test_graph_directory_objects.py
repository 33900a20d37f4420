"""Graph users, groups, memberships, licences, service principals and audit entries."""

from __future__ import annotations

import pytest

from posturebridge.directory import catalog
from posturebridge.directory.models import SubscribedSku
from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.graph_support import app_token, graph

pytestmark = pytest.mark.integration

ADMIN = [
    "User.ReadWrite.All",
    "Group.ReadWrite.All",
    "Application.ReadWrite.All",
    "AuditLog.Read.All",
    "Organization.Read.All",
    "CustomSecAttributeAssignment.ReadWrite.All",
    "Directory.Read.All",
]


def test_users_default_properties_select_and_upn_lookup(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    token = app_token(directory_server, tenant, ADMIN)
    with graph(directory_server, token) as client:
        listed = client.get("/v1.0/users").json()["value"]
        assert {"id", "displayName", "userPrincipalName", "businessPhones"} <= set(listed[0])
        assert "accountEnabled" not in listed[0], "not in the default property set"
        selected = client.get("/v1.0/users?$select=id,accountEnabled").json()["value"][0]
        assert set(selected) == {"id", "accountEnabled"}
        one = client.get(f"/v1.0/users/{tenant.user.upn}")
        assert one.status_code == 200 and one.json()["id"] == tenant.user.id
        assert client.get("/v1.0/users?$select=colour").status_code == 400


def test_create_user_then_assign_a_licence(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    p1 = catalog.sku("AAD_PREMIUM")
    assert p1 is not None
    with directory_server.session() as session:
        session.add(SubscribedSku(tenant_id=tenant.id, sku_id=p1.sku_id))
        session.commit()
    token = app_token(directory_server, tenant, ADMIN)
    with graph(directory_server, token) as client:
        created = client.post(
            "/v1.0/users",
            json={
                "accountEnabled": True,
                "displayName": "Alex Wilber",
                "mailNickname": "alex",
                "userPrincipalName": f"alex@{tenant.domain}",
                "usageLocation": "US",
                "passwordProfile": {"forceChangePasswordNextSignIn": False, "password": "Xy-123456789!"},
            },
        )
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        duplicate = client.post(
            "/v1.0/users",
            json={
                "accountEnabled": True,
                "displayName": "Alex",
                "mailNickname": "alex",
                "userPrincipalName": f"alex@{tenant.domain}",
                "passwordProfile": {"password": "Xy-123456789!"},
            },
        )
        assert duplicate.status_code == 400
        missing = client.post("/v1.0/users", json={"displayName": "No UPN"})
        assert missing.status_code == 400
        licensed = client.post(
            f"/v1.0/users/{user_id}/assignLicense",
            json={"addLicenses": [{"skuId": p1.sku_id, "disabledPlans": []}], "removeLicenses": []},
        )
        assert licensed.status_code == 200, licensed.text
        assert licensed.json()["assignedLicenses"] == [{"disabledPlans": [], "skuId": p1.sku_id}]
        unknown = client.post(
            f"/v1.0/users/{user_id}/assignLicense",
            json={"addLicenses": [{"skuId": "11111111-1111-1111-1111-111111111111"}], "removeLicenses": []},
        )
        assert unknown.status_code == 400
        skus = client.get("/v1.0/subscribedSkus").json()["value"]
        assert skus[0]["skuPartNumber"] == "AAD_PREMIUM" and skus[0]["consumedUnits"] == 1
        filtered = client.get(f"/v1.0/users?$filter=assignedLicenses/any(x:x/skuId eq {p1.sku_id})").json()["value"]
        assert [u["id"] for u in filtered] == [user_id]
        activities = [e["activityDisplayName"] for e in client.get("/v1.0/auditLogs/directoryAudits").json()["value"]]
        assert {"Add user", "Change user license"} <= set(activities)


def test_nested_groups_transitive_members_and_member_checks(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    token = app_token(directory_server, tenant, ADMIN)
    with graph(directory_server, token) as client:

        def group(name: str) -> str:
            response = client.post(
                "/v1.0/groups",
                json={"displayName": name, "mailNickname": name.lower(), "mailEnabled": False, "securityEnabled": True},
            )
            assert response.status_code == 201, response.text
            group_id: str = response.json()["id"]
            return group_id

        outer, inner = group("Outer"), group("Inner")
        ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{inner}"}
        assert client.post(f"/v1.0/groups/{outer}/members/$ref", json=ref).status_code == 204
        assert client.post(f"/v1.0/groups/{outer}/members/$ref", json=ref).status_code == 400, "already a member"
        user_ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{tenant.user.id}"}
        assert client.post(f"/v1.0/groups/{inner}/members/$ref", json=user_ref).status_code == 204
        direct = [m["id"] for m in client.get(f"/v1.0/groups/{outer}/members").json()["value"]]
        assert direct == [inner]
        transitive = {
            m["id"]: m["@odata.type"] for m in client.get(f"/v1.0/groups/{outer}/transitiveMembers").json()["value"]
        }
        assert transitive == {inner: "#microsoft.graph.group", tenant.user.id: "#microsoft.graph.user"}
        checked = client.post(f"/v1.0/users/{tenant.user.id}/checkMemberGroups", json={"groupIds": [outer, inner]})
        assert sorted(checked.json()["value"]) == sorted([outer, inner])
        groups = client.post(f"/v1.0/users/{tenant.user.id}/getMemberGroups", json={"securityEnabledOnly": True})
        assert sorted(groups.json()["value"]) == sorted([outer, inner])
        assert client.delete(f"/v1.0/groups/{inner}/members/{tenant.user.id}/$ref").status_code == 204
        assert (
            client.post(f"/v1.0/users/{tenant.user.id}/checkMemberGroups", json={"groupIds": [outer]}).json()["value"]
            == []
        )


def test_custom_security_attributes_on_service_principals(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    """learn.microsoft.com/graph/custom-security-attributes-examples: assign, read with $select, remove."""
    token = app_token(directory_server, tenant, ADMIN)
    with graph(directory_server, token) as client:
        path = f"/v1.0/servicePrincipals(appId='{tenant.confidential_app.client_id}')"
        body = {
            "customSecurityAttributes": {
                "ConditionalAccess": {
                    "@odata.type": "#Microsoft.DirectoryServices.CustomSecurityAttributeValue",
                    "mdmApp": "true",
                }
            }
        }
        assert client.patch(path, json=body).status_code == 204
        read = client.get(f"{path}?$select=id,customSecurityAttributes").json()
        assert read["customSecurityAttributes"] == {"ConditionalAccess": {"mdmApp": "true"}}
        assert "customSecurityAttributes" not in client.get(path).json()
        assert (
            client.patch(path, json={"customSecurityAttributes": {"ConditionalAccess": {"mdmApp": None}}}).status_code
            == 204
        )
        assert client.get(f"{path}?$select=customSecurityAttributes").json()["customSecurityAttributes"] is None
        audits = client.get("/v1.0/auditLogs/directoryAudits?$filter=category eq 'AttributeManagement'").json()["value"]
        assert audits and audits[0]["activityDisplayName"] == "Update attribute values assigned to a servicePrincipal"


def test_organization_and_role_templates(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    token = app_token(directory_server, tenant, ADMIN)
    with graph(directory_server, token) as client:
        org = client.get("/v1.0/organization").json()["value"][0]
        assert org["id"] == tenant.id
        assert {d["name"] for d in org["verifiedDomains"]} >= {tenant.domain}
        templates = {t["displayName"] for t in client.get("/v1.0/directoryRoleTemplates").json()["value"]}
        assert "Global Administrator" in templates
        roles = client.get("/v1.0/directoryRoles").json()["value"]
        assert [r["roleTemplateId"] for r in roles] == ["62e90394-69f5-4237-9190-012177145e10"]
        members = client.get(f"/v1.0/directoryRoles/{roles[0]['id']}/members").json()["value"]
        assert [m["id"] for m in members] == [tenant.admin.id]
