"""Graph /devices against the real directory over HTTPS (learn.microsoft.com/graph/api/resources/device)."""

from __future__ import annotations

import pytest

from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.graph_support import add_devices, app_token, graph

pytestmark = pytest.mark.integration


def test_list_devices_pages_with_next_link_and_no_duplicates(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    add_devices(directory_server, tenant.id, 250)
    token = app_token(directory_server, tenant, ["Device.Read.All"])
    seen: list[str] = []
    with graph(directory_server, token) as client:
        url: str | None = "/v1.0/devices?$top=100"
        pages = 0
        while url:
            response = client.get(url)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#devices"
            seen.extend(item["id"] for item in body["value"])
            url = body.get("@odata.nextLink")
            if url:
                assert "$skiptoken=" in url
                url = url.replace(directory_server.url, "")
            pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 250


def test_filter_by_device_id_and_alternate_key(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    device = add_devices(directory_server, tenant.id, 3)[1]
    token = app_token(directory_server, tenant, ["Device.Read.All"])
    with graph(directory_server, token) as client:
        listed = client.get(f"/v1.0/devices?$filter=deviceId eq '{device.device_id}'").json()["value"]
        assert [item["id"] for item in listed] == [device.id]
        by_key = client.get(f"/v1.0/devices(deviceId='{device.device_id}')")
        assert by_key.status_code == 200
        assert by_key.json()["deviceId"] == device.device_id
        assert by_key.json()["trustType"] == "Workplace"
        missing = client.get("/v1.0/devices(deviceId='00000000-0000-0000-0000-000000000000')")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "Request_ResourceNotFound"


def test_tokens_are_enforced(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    with directory_server.client() as client:
        anonymous = client.get("/v1.0/devices")
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "InvalidAuthenticationToken"
        assert set(anonymous.json()["error"]["innerError"]) == {"date", "request-id", "client-request-id"}
        forged = client.get("/v1.0/devices", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."})
        assert forged.status_code == 401
    token = app_token(directory_server, tenant, ["User.Read.All"])
    with graph(directory_server, token) as client:
        denied = client.get("/v1.0/devices")
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "Authorization_RequestDenied"


def test_app_only_callers_update_only_extension_attributes_of_non_windows_devices(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    """learn.microsoft.com/graph/api/device-update: app-only, non-Windows -> extensionAttributes only."""
    device = add_devices(directory_server, tenant.id, 1)[0]
    token = app_token(directory_server, tenant, ["Device.ReadWrite.All", "AuditLog.Read.All"])
    with graph(directory_server, token) as client:
        ok = client.patch(
            f"/v1.0/devices/{device.id}",
            json={
                "@odata.type": "#microsoft.graph.device",
                "extensionAttributes": {"extensionAttribute1": "BYOD-Device"},
            },
        )
        assert ok.status_code == 204, ok.text
        assert (
            client.get(f"/v1.0/devices/{device.id}").json()["extensionAttributes"]["extensionAttribute1"]
            == "BYOD-Device"
        )
        renamed = client.patch(f"/v1.0/devices/{device.id}", json={"displayName": "x"})
        assert renamed.status_code == 403
        compliant = client.patch(f"/v1.0/devices/{device.id}", json={"isCompliant": True})
        assert compliant.status_code == 403
        audits = client.get("/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Update device'").json()
        entry = audits["value"][0]
        assert entry["category"] == "Device"
        assert entry["loggedByService"] == "Core Directory"
        assert entry["targetResources"][0]["id"] == device.id
        names = [p["displayName"] for p in entry["targetResources"][0]["modifiedProperties"]]
        assert names == ["ExtensionAttributes", "Included Updated Properties"]


def test_the_mdm_application_marks_its_windows_devices_compliant(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    token = app_token(directory_server, tenant, ["Device.ReadWrite.All", "AuditLog.Read.All"], name="MDM app")
    import jwt

    mdm_app_id = jwt.decode(token, options={"verify_signature": False})["azp"]
    mine = add_devices(
        directory_server,
        tenant.id,
        1,
        operating_system="Windows",
        operating_system_version="10.0.22631",
        trust_type="AzureAd",
        mdm_app_id=mdm_app_id,
        is_compliant=True,
        is_managed=True,
    )[0]
    other = add_devices(
        directory_server,
        tenant.id,
        1,
        operating_system="Windows",
        trust_type="AzureAd",
        mdm_app_id="0000000a-0000-0000-c000-000000000000",
    )[0]
    with graph(directory_server, token) as client:
        # Not yet the tenant's MDM application: no mobileDeviceManagementPolicy names it.
        assert client.patch(f"/v1.0/devices/{mine.id}", json={"isCompliant": False}).status_code == 403
    admin_token = app_token(directory_server, tenant, ["Directory.ReadWrite.All"], name="tenant admin tool")
    with graph(directory_server, admin_token) as admin:
        added = admin.post("/beta/policies/mobileDeviceManagementPolicies", json={"id": mdm_app_id, "appliesTo": "all"})
        assert added.status_code == 201, added.text
    with graph(directory_server, token) as client:
        assert (
            client.patch(f"/v1.0/devices/{mine.id}", json={"isCompliant": False, "isManaged": True}).status_code == 204
        )
        assert client.get(f"/v1.0/devices/{mine.id}").json()["isCompliant"] is False
        assert client.patch(f"/v1.0/devices/{other.id}", json={"isCompliant": True}).status_code == 403
        activities = [e["activityDisplayName"] for e in client.get("/v1.0/auditLogs/directoryAudits").json()["value"]]
        assert "Device no longer compliant" in activities
        # learn.microsoft.com/graph/api/directoryaudit-list: $filter=targetResources/any(t: t/id eq '{id}')
        about_mine = client.get(f"/v1.0/auditLogs/directoryAudits?$filter=targetResources/any(t: t/id eq '{mine.id}')")
        assert about_mine.status_code == 200, about_mine.text
        entries = about_mine.json()["value"]
        assert entries and all(any(t["id"] == mine.id for t in e["targetResources"]) for e in entries)
        assert {"Update device", "Device no longer compliant"} <= {e["activityDisplayName"] for e in entries}
        about_other = client.get(
            f"/v1.0/auditLogs/directoryAudits?$filter=targetResources/any(t: t/id eq '{other.id}')"
        )
        assert about_other.json()["value"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"displayName": 5}, "Invalid value specified for property 'displayName' of resource 'Device'."),
        ({"displayName": "x" * 257}, "Invalid value specified for property 'displayName' of resource 'Device'."),
        ({"colour": "red"}, "Invalid property 'colour'."),
        ({"trustType": "AzureAd"}, "Property 'trustType' is read-only and cannot be set."),
    ],
)
def test_bad_bodies_are_400_with_the_field_named(
    directory_server: DirectoryServer, tenant: SeededTenant, body: dict[str, object], message: str
) -> None:
    device = add_devices(directory_server, tenant.id, 1, operating_system="Windows")[0]
    token = app_token(directory_server, tenant, ["Device.ReadWrite.All"])
    with graph(directory_server, token) as client:
        response = client.patch(f"/v1.0/devices/{device.id}", json=body)
        assert response.status_code == 400
        assert response.json()["error"] == {
            **response.json()["error"],
            "code": "Request_BadRequest",
            "message": message,
        }
        malformed = client.patch(
            f"/v1.0/devices/{device.id}", content=b"{nope", headers={"Content-Type": "application/json"}
        )
        assert malformed.status_code == 400


def test_unsupported_queries_fail_as_graph_does(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    token = app_token(directory_server, tenant, ["Device.Read.All"])
    with graph(directory_server, token) as client:
        ne = client.get("/v1.0/devices?$filter=accountEnabled ne true")
        assert ne.status_code == 400 and ne.json()["error"]["code"] == "Request_UnsupportedQuery"
        advanced = client.get(
            "/v1.0/devices?$filter=accountEnabled ne true&$count=true", headers={"ConsistencyLevel": "eventual"}
        )
        assert advanced.status_code == 200 and "@odata.count" in advanced.json()
        count = client.get("/v1.0/devices/$count")
        assert count.status_code == 400
        assert client.get("/v1.0/devices/$count", headers={"ConsistencyLevel": "eventual"}).text.isdigit()
        assert client.get("/v1.0/devices?$top=1000").status_code == 400
        assert (
            client.get("/v1.0/nonsense").json()["error"]["message"] == "Resource not found for the segment 'nonsense'."
        )
