"""Conditional Access policies, named locations and What If through Graph
(learn.microsoft.com/graph/api/resources/conditionalaccesspolicy, conditionalaccessroot-evaluate)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.graph_support import app_token, graph

pytestmark = pytest.mark.integration

EXCHANGE = "00000002-0000-0ff1-ce00-000000000000"
PERMISSIONS = ["Policy.Read.All", "Policy.ReadWrite.ConditionalAccess", "AuditLog.Read.All"]


def compliant_device_policy(state: str = "enabled") -> dict[str, Any]:
    return {
        "displayName": "Require compliant device for Exchange",
        "state": state,
        "conditions": {
            "users": {"includeUsers": ["All"]},
            "applications": {"includeApplications": [EXCHANGE]},
            "clientAppTypes": ["all"],
        },
        "grantControls": {"operator": "OR", "builtInControls": ["compliantDevice"]},
    }


def test_policy_lifecycle_is_validated_normalised_and_audited(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    token = app_token(directory_server, tenant, PERMISSIONS)
    with graph(directory_server, token) as client:
        created = client.post("/v1.0/identity/conditionalAccess/policies", json=compliant_device_policy())
        assert created.status_code == 201, created.text
        policy = created.json()
        assert policy["conditions"]["platforms"] is None
        assert policy["conditions"]["users"]["excludeGroups"] == []
        assert policy["grantControls"]["customAuthenticationFactors"] == []
        assert policy["createdDateTime"] and policy["modifiedDateTime"] is None
        patched = client.patch(
            f"/v1.0/identity/conditionalAccess/policies/{policy['id']}",
            json={"state": "enabledForReportingButNotEnforced"},
        )
        assert patched.status_code == 204
        again = client.get(f"/v1.0/identity/conditionalAccess/policies/{policy['id']}").json()
        assert again["state"] == "enabledForReportingButNotEnforced"
        assert again["conditions"]["applications"]["includeApplications"] == [EXCHANGE]
        listed = client.get("/v1.0/identity/conditionalAccess/policies").json()["value"]
        assert [p["id"] for p in listed] == [policy["id"]]
        assert client.delete(f"/v1.0/identity/conditionalAccess/policies/{policy['id']}").status_code == 204
        assert client.get(f"/v1.0/identity/conditionalAccess/policies/{policy['id']}").status_code == 404
        audits = client.get("/v1.0/auditLogs/directoryAudits?$filter=loggedByService eq 'Conditional Access'").json()
        activities = [entry["activityDisplayName"] for entry in audits["value"]]
        assert activities == [
            "Delete conditional access policy",
            "Update conditional access policy",
            "Add conditional access policy",
        ]
        assert {entry["category"] for entry in audits["value"]} == {"Policy"}


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda p: p.update(state="sometimes"), "$.state"),
        (
            lambda p: p["conditions"].update(
                devices={"deviceFilter": {"mode": "include", "rule": "device.isCompliant -eq"}}
            ),
            "$.conditions.devices.deviceFilter.rule",
        ),
        (lambda p: p["conditions"].pop("users"), "$.conditions"),
        (lambda p: p["grantControls"].update(builtInControls=["teleport"]), "$.grantControls.builtInControls"),
    ],
    ids=["state", "device-filter-syntax", "no-users", "unknown-control"],
)
def test_invalid_policies_are_400_naming_the_json_path(
    directory_server: DirectoryServer, tenant: SeededTenant, mutate: Any, path: str
) -> None:
    token = app_token(directory_server, tenant, PERMISSIONS)
    policy = compliant_device_policy()
    mutate(policy)
    with graph(directory_server, token) as client:
        response = client.post("/v1.0/identity/conditionalAccess/policies", json=policy)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "Request_BadRequest"
        assert path in response.json()["error"]["message"]
        assert client.get("/v1.0/identity/conditionalAccess/policies").json()["value"] == []


def test_what_if_reports_policy_applies_and_reasons(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    token = app_token(directory_server, tenant, PERMISSIONS)
    with graph(directory_server, token) as client:
        policy = client.post("/v1.0/identity/conditionalAccess/policies", json=compliant_device_policy()).json()
        request = {
            "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": tenant.user.id},
            "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [EXCHANGE]},
            "signInConditions": {
                "devicePlatform": "iOS",
                "clientAppType": "mobileAppsAndDesktopClients",
                "deviceInfo": {"isCompliant": False},
            },
        }
        for version in ("v1.0", "beta"):
            result = client.post(f"/{version}/identity/conditionalAccess/evaluate", json=request)
            assert result.status_code == 200, result.text
            item = result.json()["value"][0]
            assert item["id"] == policy["id"] and item["policyApplies"] is True
            assert item["analysisReasons"] == "notSet"
            assert item["grantControls"]["builtInControls"] == ["compliantDevice"]
        other_app = {
            **request,
            "signInContext": {
                "@odata.type": "#microsoft.graph.applicationContext",
                "includeApplications": ["00000003-0000-0ff1-ce00-000000000000"],
            },
        }
        item = client.post("/v1.0/identity/conditionalAccess/evaluate", json=other_app).json()["value"][0]
        assert item["policyApplies"] is False and item["analysisReasons"] == "application"
        only_applied = client.post(
            "/v1.0/identity/conditionalAccess/evaluate", json={**other_app, "appliedPoliciesOnly": True}
        ).json()["value"]
        assert only_applied == []


def test_named_locations_round_trip(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    token = app_token(directory_server, tenant, PERMISSIONS)
    with graph(directory_server, token) as client:
        created = client.post(
            "/v1.0/identity/conditionalAccess/namedLocations",
            json={
                "@odata.type": "#microsoft.graph.ipNamedLocation",
                "displayName": "Head office",
                "isTrusted": True,
                "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"}],
            },
        )
        assert created.status_code == 201, created.text
        location = created.json()
        assert (
            client.get(f"/v1.0/identity/conditionalAccess/namedLocations/{location['id']}").json()["isTrusted"] is True
        )
        bad = client.post(
            "/v1.0/identity/conditionalAccess/namedLocations",
            json={
                "@odata.type": "#microsoft.graph.countryNamedLocation",
                "displayName": "x",
                "countriesAndRegions": ["USA"],
            },
        )
        assert bad.status_code == 400
        assert client.delete(f"/v1.0/identity/conditionalAccess/namedLocations/{location['id']}").status_code == 204
