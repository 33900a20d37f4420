"""Conditional Access decides every user sign-in at the token endpoint and logs it in /auditLogs/signIns.

The scenario of the seed: "require device to be marked as compliant" for Exchange Online; a registered
device signs in with a device proof; its compliance flips; the next refresh is decided on the new state.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from posturebridge.directory.models import Device
from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.graph_support import app_token, graph
from tests.integration.directory.helpers import (
    browser_code,
    claims_of,
    device_proof,
    grant_delegated,
    redeem,
    register,
    srv_challenge,
)
from tests.integration.directory.test_graph_conditional_access import EXCHANGE, compliant_device_policy

pytestmark = pytest.mark.integration
SCOPE = "https://outlook.office365.com/.default openid offline_access"


def _set_compliance(server: DirectoryServer, device_id: str, compliant: bool) -> None:
    with server.session() as session:
        device = session.scalars(select(Device).where(Device.device_id == device_id)).one()
        device.is_compliant, device.is_managed = compliant, True
        session.commit()


def _refresh(server: DirectoryServer, tenant: SeededTenant, refresh_token: str) -> httpx.Response:
    with server.client() as http:
        return http.post(
            f"/{tenant.id}/oauth2/v2.0/token",
            data={
                "grant_type": "refresh_token",
                "client_id": tenant.public_app.client_id,
                "refresh_token": refresh_token,
                "scope": SCOPE,
            },
        )


def _policy(
    server: DirectoryServer, tenant: SeededTenant, admin: httpx.Client, state: str = "enabled"
) -> dict[str, Any]:
    response = admin.post("/v1.0/identity/conditionalAccess/policies", json=compliant_device_policy(state))
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_compliance_decides_each_sign_in_and_the_log_explains_it(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    token = app_token(directory_server, tenant, ["Policy.ReadWrite.ConditionalAccess", "AuditLog.Read.All"])
    grant_delegated(directory_server, tenant, tenant.public_app, ["EWS.AccessAsUser.All"], EXCHANGE)
    device = register(directory_server, tenant, tenant.user)
    _set_compliance(directory_server, device.device_id, True)
    with graph(directory_server, token) as admin:
        policy = _policy(directory_server, tenant, admin)

        code = browser_code(directory_server, tenant, tenant.user, tenant.public_app, SCOPE)
        proof = device_proof(directory_server, tenant, device, srv_challenge(directory_server, tenant.id))
        granted = redeem(directory_server, tenant, tenant.public_app, code, device_credential=proof)
        assert granted.status_code == 200, granted.text
        assert claims_of(granted.json()["access_token"])["deviceid"] == device.device_id

        _set_compliance(directory_server, device.device_id, False)
        blocked = _refresh(directory_server, tenant, granted.json()["refresh_token"])
        assert blocked.status_code == 400
        assert blocked.json()["error_codes"] == [53000]
        assert blocked.json()["error_description"].startswith("AADSTS53000")

        _set_compliance(directory_server, device.device_id, True)
        again = _refresh(directory_server, tenant, granted.json()["refresh_token"])
        assert again.status_code == 200, "a refused sign-in does not spend the refresh token"

        entries = admin.get("/beta/auditLogs/signIns?$filter=signInEventTypes/any(t: t eq 'nonInteractiveUser')")
        assert entries.status_code == 200, entries.text
        refused = [e for e in entries.json()["value"] if e["status"]["errorCode"] == 53000]
        assert len(refused) == 1
        entry = refused[0]
        assert entry["conditionalAccessStatus"] == "failure"
        assert entry["deviceDetail"]["deviceId"] == device.device_id
        assert entry["deviceDetail"]["isCompliant"] is False
        applied = {p["id"]: p for p in entry["appliedConditionalAccessPolicies"]}
        assert applied[policy["id"]]["result"] == "failure"
        assert entry["resourceId"] == EXCHANGE
        interactive = admin.get("/v1.0/auditLogs/signIns").json()["value"]
        assert any(e["isInteractive"] and e["status"]["errorCode"] == 0 for e in interactive)
        assert all("signInEventTypes" not in e for e in interactive), "beta-only property stays out of v1.0"


def test_an_unregistered_device_cannot_satisfy_the_compliant_device_control(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    token = app_token(directory_server, tenant, ["Policy.ReadWrite.ConditionalAccess", "AuditLog.Read.All"])
    grant_delegated(directory_server, tenant, tenant.public_app, ["EWS.AccessAsUser.All"], EXCHANGE)
    with graph(directory_server, token) as admin:
        _policy(directory_server, tenant, admin)
        code = browser_code(directory_server, tenant, tenant.user, tenant.public_app, SCOPE)
        refused = redeem(directory_server, tenant, tenant.public_app, code)
        assert refused.status_code == 400
        assert refused.json()["error_codes"][0] in (50097, 53000)
        log = admin.get(f"/v1.0/auditLogs/signIns?$filter=userId eq '{tenant.user.id}'").json()["value"]
        assert log[0]["conditionalAccessStatus"] == "failure" and log[0]["deviceDetail"]["deviceId"] == ""


def test_report_only_policies_are_logged_and_never_enforced(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    token = app_token(directory_server, tenant, ["Policy.ReadWrite.ConditionalAccess", "AuditLog.Read.All"])
    grant_delegated(directory_server, tenant, tenant.public_app, ["EWS.AccessAsUser.All"], EXCHANGE)
    with graph(directory_server, token) as admin:
        policy = _policy(directory_server, tenant, admin, state="enabledForReportingButNotEnforced")
        code = browser_code(directory_server, tenant, tenant.user, tenant.public_app, SCOPE)
        assert redeem(directory_server, tenant, tenant.public_app, code).status_code == 200
        entry = admin.get("/beta/auditLogs/signIns", headers={"Prefer": "include-unknown-enum-members"}).json()[
            "value"
        ][0]
        result = {p["id"]: p["result"] for p in entry["appliedConditionalAccessPolicies"]}[policy["id"]]
        assert result == "reportOnlyFailure"
        assert entry["status"]["errorCode"] == 0
