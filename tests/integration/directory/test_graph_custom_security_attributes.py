"""Custom security attributes (learn.microsoft.com/graph/custom-security-attributes-overview) and the seed's
use of them: a Conditional Access policy for all apps that excludes apps tagged by an application filter."""

from __future__ import annotations

import pytest

from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.graph_support import app_token, graph
from tests.integration.directory.helpers import browser_code, grant_delegated, redeem
from tests.integration.directory.test_graph_conditional_access import EXCHANGE

pytestmark = pytest.mark.integration
GRAPH = "00000003-0000-0000-c000-000000000000"
PERMISSIONS = [
    "CustomSecAttributeDefinition.ReadWrite.All",
    "CustomSecAttributeAssignment.ReadWrite.All",
    "Policy.ReadWrite.ConditionalAccess",
    "AuditLog.Read.All",
    "Application.Read.All",
]


def test_attribute_sets_and_definitions(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    token = app_token(directory_server, tenant, PERMISSIONS)
    with graph(directory_server, token) as client:
        created = client.post(
            "/v1.0/directory/attributeSets", json={"id": "Engineering", "description": "Eng", "maxAttributesPerSet": 25}
        )
        assert created.status_code == 201, created.text
        assert client.post("/v1.0/directory/attributeSets", json={"id": "Engineering"}).status_code == 409
        assert client.post("/v1.0/directory/attributeSets", json={"id": "has space"}).status_code == 400
        definition = client.post(
            "/v1.0/directory/customSecurityAttributeDefinitions",
            json={
                "attributeSet": "Engineering",
                "description": "Active projects",
                "isCollection": True,
                "isSearchable": True,
                "name": "Project",
                "status": "Available",
                "type": "String",
                "usePreDefinedValuesOnly": True,
                "allowedValues": [{"id": "Baker", "isActive": True}],
            },
        )
        assert definition.status_code == 201, definition.text
        assert definition.json()["id"] == "Engineering_Project"
        assert (
            client.post(
                "/v1.0/directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues",
                json={"id": "Cascade", "isActive": True},
            ).status_code
            == 201
        )
        expanded = client.get("/v1.0/directory/customSecurityAttributeDefinitions?$expand=allowedValues").json()
        assert [v["id"] for v in expanded["value"][0]["allowedValues"]] == ["Baker", "Cascade"]
        boolean = client.post(
            "/v1.0/directory/customSecurityAttributeDefinitions",
            json={
                "attributeSet": "Engineering",
                "isCollection": True,
                "isSearchable": False,
                "name": "Flag",
                "status": "Available",
                "type": "Boolean",
                "usePreDefinedValuesOnly": False,
            },
        )
        assert boolean.status_code == 400
        assert (
            client.patch(
                "/v1.0/directory/customSecurityAttributeDefinitions/Engineering_Project",
                json={"usePreDefinedValuesOnly": False},
            ).status_code
            == 204
        )
        assert (
            client.patch(
                "/v1.0/directory/customSecurityAttributeDefinitions/Engineering_Project", json={"type": "Integer"}
            ).status_code
            == 400
        )
        audits = client.get("/v1.0/auditLogs/directoryAudits?$filter=category eq 'AttributeManagement'").json()
        assert {"Add an attribute set", "Add custom security attribute definition in an attribute set"} <= {
            entry["activityDisplayName"] for entry in audits["value"]
        }


def test_an_application_filter_excludes_tagged_apps_from_an_all_apps_policy(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    """The seed: require a compliant device for all apps, but exclude the MDM app tagged with a custom security
    attribute so devices can still register and enrol."""
    token = app_token(directory_server, tenant, PERMISSIONS)
    grant_delegated(directory_server, tenant, tenant.public_app, ["EWS.AccessAsUser.All"], EXCHANGE)
    grant_delegated(directory_server, tenant, tenant.public_app, ["User.Read"], GRAPH)
    with graph(directory_server, token) as client:
        client.post("/v1.0/directory/attributeSets", json={"id": "ConditionalAccess"})
        client.post(
            "/v1.0/directory/customSecurityAttributeDefinitions",
            json={
                "attributeSet": "ConditionalAccess",
                "isCollection": False,
                "isSearchable": True,
                "name": "mdmApp",
                "status": "Available",
                "type": "String",
                "usePreDefinedValuesOnly": False,
            },
        )
        tagged = client.patch(
            f"/v1.0/servicePrincipals(appId='{EXCHANGE}')",
            json={
                "customSecurityAttributes": {
                    "ConditionalAccess": {
                        "@odata.type": "#Microsoft.DirectoryServices.CustomSecurityAttributeValue",
                        "mdmApp": "true",
                    }
                }
            },
        )
        assert tagged.status_code == 204, tagged.text
        policy = client.post(
            "/v1.0/identity/conditionalAccess/policies",
            json={
                "displayName": "All apps require a compliant device, except the MDM app",
                "state": "enabled",
                "conditions": {
                    "users": {"includeUsers": ["All"]},
                    "clientAppTypes": ["all"],
                    "applications": {
                        "includeApplications": ["All"],
                        "applicationFilter": {
                            "mode": "exclude",
                            "rule": 'CustomSecurityAttribute.ConditionalAccess_mdmApp -eq "true"',
                        },
                    },
                },
                "grantControls": {"operator": "OR", "builtInControls": ["compliantDevice"]},
            },
        )
        assert policy.status_code == 201, policy.text

    excluded = redeem(
        directory_server,
        tenant,
        tenant.public_app,
        browser_code(
            directory_server, tenant, tenant.user, tenant.public_app, "https://outlook.office365.com/.default openid"
        ),
    )
    assert excluded.status_code == 200, excluded.text
    blocked = redeem(
        directory_server,
        tenant,
        tenant.public_app,
        browser_code(directory_server, tenant, tenant.user, tenant.public_app, "User.Read openid"),
    )
    assert blocked.status_code == 400
    assert blocked.json()["error_codes"][0] in (50097, 53000)
