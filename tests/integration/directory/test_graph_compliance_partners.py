"""``/deviceManagement/complianceManagementPartners`` and the Intune service principal's endPoints, over HTTPS."""

from __future__ import annotations

import uuid

from posturebridge.directory import catalog
from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.graph_support import app_token, graph
from tests.integration.directory.intune_support import group_target, onboard, seed_world

COLLECTION = "/deviceManagement/complianceManagementPartners"


def test_partner_lifecycle_in_graph_shape_with_audit(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    world = seed_world(directory_server, tenant)
    created = onboard(
        world,
        ios=[group_target(world.group_id)],
        android=[{"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"}],
    )
    assert created["@odata.context"].endswith("/beta/$metadata#deviceManagement/complianceManagementPartners/$entity")
    assert created["@odata.type"] == "#microsoft.graph.complianceManagementPartner"
    assert (
        created["iosOnboarded"] is True and created["androidOnboarded"] is True and created["macOsOnboarded"] is False
    )
    assert created["linuxOnboarded"] is False and created["windowsOnboarded"] is False  # beta shape
    target = created["iosEnrollmentAssignments"][0]["target"]
    assert target["@odata.type"] == "#microsoft.graph.groupAssignmentTarget" and target["groupId"] == world.group_id
    with world.admin() as client:
        v1 = client.get(f"/v1.0{COLLECTION}/{created['id']}").json()
        assert "linuxOnboarded" not in v1 and "windowsOnboarded" not in v1
        assert v1["partnerState"] == "unknown" and v1["displayName"] == created["displayName"]
        patched = client.patch(
            f"/v1.0{COLLECTION}/{created['id']}",
            json={"iosEnrollmentAssignments": [{"target": group_target(world.group_id, exclude=True)}]},
        )
        assert patched.status_code == 200, patched.text
        excluded = patched.json()["iosEnrollmentAssignments"][0]["target"]
        assert excluded["@odata.type"] == "#microsoft.graph.exclusionGroupAssignmentTarget"
        assert client.get(f"/v1.0{COLLECTION}").json()["value"][0]["id"] == created["id"]
        assert client.delete(f"/v1.0{COLLECTION}/{created['id']}").status_code == 204
        assert client.get(f"/v1.0{COLLECTION}/{created['id']}").status_code == 404
        activities = [
            e["activityDisplayName"]
            for e in client.get("/v1.0/auditLogs/directoryAudits").json()["value"]
            if e["loggedByService"] == "Intune"
        ]
    assert sorted(activities) == [
        "Create ComplianceManagementPartner",
        "Delete ComplianceManagementPartner",
        "Patch ComplianceManagementPartner",
    ]


def test_one_partner_per_platform_and_bad_bodies(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    world = seed_world(directory_server, tenant)
    onboard(world)
    with world.admin() as client:
        second = client.post(f"/beta{COLLECTION}", json={"displayName": "Another MDM", "iosOnboarded": True})
        assert second.status_code == 400
        assert second.json()["error"]["code"] == "BadRequest"
        assert "Platform 'ios' is already onboarded" in second.json()["error"]["message"]
        other = client.post(f"/beta{COLLECTION}", json={"displayName": "Another MDM", "macOsOnboarded": True})
        assert other.status_code == 201
        clash = client.patch(f"/beta{COLLECTION}/{other.json()['id']}", json={"iosOnboarded": True})
        assert clash.status_code == 400
        bad = [
            ({"displayName": "x", "partnerState": "enabled"}, "set by the partner"),
            ({"displayName": "x", "linuxOnboarded": "yes"}, "linuxOnboarded"),
            ({"iosOnboarded": False}, "displayName' is required"),
            (
                {"displayName": "x", "iosEnrollmentAssignments": [{"target": group_target(str(uuid.uuid4()))}]},
                "does not exist in the tenant",
            ),
            (
                {"displayName": "x", "macOsEnrollmentAssignments": [{"target": {"@odata.type": "#microsoft.graph.x"}}]},
                "is not supported",
            ),
        ]
        for body, text in bad:
            response = client.post(f"/beta{COLLECTION}", json=body)
            assert response.status_code == 400 and text in response.json()["error"]["message"], response.text
        assert client.post(f"/v1.0{COLLECTION}", json={"displayName": "x", "linuxOnboarded": False}).status_code == 400


def test_permissions_and_the_intune_endpoints(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    reader = app_token(directory_server, tenant, ["DeviceManagementServiceConfig.Read.All"], name="reader")
    nobody = app_token(directory_server, tenant, ["User.Read.All"], name="nobody")
    with graph(directory_server, reader) as client:
        assert client.get(f"/v1.0{COLLECTION}").status_code == 200
        assert client.post(f"/v1.0{COLLECTION}", json={"displayName": "x"}).status_code == 403
    with graph(directory_server, nobody) as client:
        assert client.get(f"/v1.0{COLLECTION}").status_code == 403
    apps = app_token(directory_server, tenant, ["Application.Read.All"], name="apps")
    with graph(directory_server, apps) as client:
        principals = client.get("/v1.0/servicePrincipals").json()["value"]
        intune = next(p for p in principals if p["appId"] == catalog.INTUNE_APP_ID)
        graph_sp = next(p for p in principals if p["appId"] == catalog.MICROSOFT_GRAPH_APP_ID)
        endpoints = client.get(f"/v1.0/servicePrincipals/{intune['id']}/endpoints").json()["value"]
        assert {e["providerName"]: e["uri"] for e in endpoints} == {
            "PartnerTenantDataSyncService": f"{directory_server.url}/intune/{tenant.id}/TenantDataSync",
            "PartnerDeviceDataSyncService": f"{directory_server.url}/intune/{tenant.id}/DeviceDataSync",
        }
        assert client.get(f"/v1.0/servicePrincipals/{graph_sp['id']}/endPoints").json()["value"] == []
        assert client.get(f"/v1.0/servicePrincipals/{uuid.uuid4()}/endPoints").status_code == 404
