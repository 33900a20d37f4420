"""The Intune partner compliance channel over HTTPS, driven as a partner drives it (partner-compliance-wire.md):
tokens, endPoints discovery, tenant provisioning, partner compliance policies, device data upload messages."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import jwt

from posturebridge.common.clock import utcnow
from posturebridge.directory import catalog, tenants
from posturebridge.directory.models import ComplianceManagementPartner, ServicePrincipal, SubscribedSku, Tenant
from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.graph_support import graph
from tests.integration.directory.intune_support import (
    ENTRA_P1_SKU,
    INTUNE_SCOPE,
    PartnerWorld,
    add_device,
    add_group_member,
    add_user,
    onboard,
    ready,
    seed_world,
    upload_body,
)


def test_full_partner_flow_marks_the_device_managed_compliant_then_not_compliant(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    world = seed_world(directory_server, tenant)
    created = onboard(world)
    assert created["partnerState"] == "unknown"
    assert created["lastHeartbeatDateTime"] is None

    intune_token = world.token(INTUNE_SCOPE)
    claims = jwt.decode(intune_token, options={"verify_signature": False})
    assert claims["aud"] == catalog.INTUNE_APP_ID and claims["idtyp"] == "app"
    urls = world.discover()
    assert urls["PartnerTenantDataSyncService"] == f"{directory_server.url}/intune/{tenant.id}/TenantDataSync"
    assert urls["PartnerDeviceDataSyncService"] == f"{directory_server.url}/intune/{tenant.id}/DeviceDataSync"

    with directory_server.client(headers={"Authorization": f"Bearer {intune_token}"}) as intune:
        provisioned = world.provision(intune)
        assert provisioned.status_code == 200, provisioned.text
        body = provisioned.json()
        assert body["ContextId"] == tenant.id and body["Provisioned"] == 1 and body["HttpStatusCode"] == 200
        assert body["ErrorDetail"] is None and uuid.UUID(body["Key"])
        partner = world.partner_record()
        assert partner["partnerState"] == "enabled"
        assert partner["lastHeartbeatDateTime"] is not None

        policies = f"{world.tenant_sync}/PartnerCompliancePolicies?api-version=1.6"
        policy_body = {
            "DisplayName": "Workspace ONE compliance policy",
            "Description": "Compliance policy managed by Workspace ONE",
            "Platform": "iOS",
            "PartnerManagedCompliance": True,
        }
        first = intune.post(policies, json=policy_body)
        assert first.status_code == 201, first.text
        assert first.json()["Platform"] == "iOS" and first.json()["PartnerManagedCompliance"] is True
        again = intune.post(policies, json=policy_body)
        assert again.status_code == 409
        listed = intune.get(policies)
        policy_id = listed.json()["value"][0]["Id"]
        assert policy_id == first.json()["Id"]
        assigned = intune.post(
            f"{world.tenant_sync}/PartnerCompliancePolicies(guid'{policy_id}')/Assign?api-version=1.6",
            json={"assignments": [world.group_id]},
        )
        assert assigned.status_code == 200, assigned.text
        assert assigned.json()["value"] == f'{{"assignments": ["{world.group_id}"]}}'

        t1 = utcnow()
        message_id = world.upload(intune, world.report(compliant=True, last_update=t1, ownership="company"))
        status = world.wait(intune, message_id)
        assert status["Status"] == "Completed", status
        assert status["ErrorDetail"] is None
        device = world.device()
        assert device["isManaged"] is True and device["isCompliant"] is True
        assert device["managementType"] == "mdm" and device["deviceOwnership"] == "company"
        expires = dt.datetime.fromisoformat(device["complianceExpirationDateTime"])
        assert dt.timedelta(days=29) < expires - t1 < dt.timedelta(days=31)

        flipped = world.upload(intune, world.report(compliant=False, last_update=t1 + dt.timedelta(minutes=1)))
        assert world.wait(intune, flipped)["Status"] == "Completed"
    assert world.device()["isCompliant"] is False

    with world.admin() as admin:
        audits = admin.get("/v1.0/auditLogs/directoryAudits").json()["value"]
    updates = [e for e in audits if e["activityDisplayName"] == "Update device"]
    assert len(updates) == 2
    assert all(e["initiatedBy"]["app"]["appId"] == catalog.INTUNE_APP_ID for e in updates)
    names = {p["displayName"] for e in updates for p in e["targetResources"][0]["modifiedProperties"]}
    assert {"IsManaged", "IsCompliant", "ComplianceExpirationDateTime"} <= names
    no_longer = [e for e in audits if e["activityDisplayName"] == "Device no longer compliant"]
    assert len(no_longer) == 1 and no_longer[0]["targetResources"][0]["id"] == world.device_object_id
    assert no_longer[0]["initiatedBy"]["app"]["appId"] == catalog.INTUNE_APP_ID


def _failure(world: PartnerWorld, body: dict[str, Any]) -> dict[str, Any]:
    with world.intune() as intune:
        status = world.wait(intune, world.upload(intune, body))
    assert status["Status"] == "Failed", status
    return status


def test_every_refusal_reason_fails_the_message_and_says_why(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    world = seed_world(directory_server, tenant)
    now = utcnow()
    onboard(world)
    # Not provisioned yet: the partner is configured but has not called PartnerTenants.
    status = _failure(world, world.report(compliant=True, last_update=now))
    assert status["ErrorCode"] == "TenantNotProvisioned"
    assert f"Device {world.device_id}: tenant '{tenant.id}' is not provisioned" in str(status["ErrorDetail"])
    with world.intune() as intune:
        assert world.provision(intune).status_code == 200

    outsider = add_user(directory_server, tenant, "outsider")
    _, outsider_device = add_device(directory_server, tenant.id, outsider)
    unlicensed = add_user(directory_server, tenant, "unlicensed", licensed=False)
    add_group_member(directory_server, world.group_id, unlicensed)
    _, unlicensed_device = add_device(directory_server, tenant.id, unlicensed)
    _, android_device = add_device(directory_server, tenant.id, world.user_id, os="Android")
    _, someone_elses = add_device(directory_server, tenant.id, outsider)
    cases = [
        (world.report(compliant=True, last_update=now, device_id=str(uuid.uuid4())), "DeviceNotFound", "no device"),
        (
            world.report(compliant=True, last_update=now, device_id=android_device, os="Android"),
            "PlatformNotOnboarded",
            "not onboarded for platform 'android'",
        ),
        (
            world.report(compliant=True, last_update=now, device_id=outsider_device, user_id=outsider),
            "UserNotInScope",
            "is not in the groups assigned to partner",
        ),
        (
            world.report(compliant=True, last_update=now, device_id=unlicensed_device, user_id=unlicensed),
            "UserNotLicensed",
            "has no Intune licence (service plan INTUNE_A)",
        ),
        (
            world.report(compliant=True, last_update=now, device_id=someone_elses),
            "DeviceUserMismatch",
            "is registered to another user",
        ),
    ]
    for body, code, text in cases:
        status = _failure(world, body)
        assert status["ErrorCode"] == code, status
        assert text in str(status["ErrorDetail"]), status

    with directory_server.session() as session:
        sku = session.get(SubscribedSku, (tenant.id, ENTRA_P1_SKU))
        assert sku is not None
        session.delete(sku)
        session.commit()
    status = _failure(world, world.report(compliant=True, last_update=now))
    assert status["ErrorCode"] == "TenantNotLicensed"
    assert "no Microsoft Entra ID P1 subscription (service plan AAD_PREMIUM)" in str(status["ErrorDetail"])
    device = world.device()
    assert device["isCompliant"] is None and device["isManaged"] is None


def _intune_token(server: DirectoryServer, tenant_id: str, client_id: str, secret: str) -> str:
    with server.client() as client:
        response = client.post(
            f"/{tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": INTUNE_SCOPE,
            },
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_tokens_that_are_not_the_partners_are_refused(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    world = seed_world(directory_server, tenant)
    message_id = str(uuid.uuid4())
    url = f"{world.device_sync}/DataUploadMessages(guid'{message_id}')?api-version=1.2"
    body = world.report(compliant=True, last_update=utcnow())
    with ready(world) as intune, directory_server.client() as anonymous:
        graph_token = world.token("https://graph.microsoft.com/.default")
        wrong_audience = anonymous.put(url, json=body, headers={"Authorization": f"Bearer {graph_token}"})
        assert wrong_audience.status_code == 401
        assert "not valid for Microsoft Intune" in wrong_audience.json()["odata.error"]["message"]["value"]
        assert anonymous.put(url, json=body).status_code == 401
        unknown = intune.put(url.replace(tenant.id, str(uuid.uuid4())), json=body)
        assert unknown.status_code == 404
        assert intune.get(url.replace("api-version=1.2", "api-version=9.9")).status_code == 400

    # An application of the tenant holding an Intune token, but without admin consent.
    with directory_server.session() as session:
        row = session.get(Tenant, tenant.id)
        assert row is not None
        created = tenants.add_application(session, row, display_name="Some other app", now=utcnow())
        session.commit()
        client_id, secret, principal_id = (
            created.application.app_id,
            created.client_secret,
            created.service_principal.id,
        )
    token = _intune_token(directory_server, tenant.id, client_id, secret)
    with directory_server.client(headers={"Authorization": f"Bearer {token}"}) as other:
        refused = other.put(url, json=body)
        assert refused.status_code == 403
        assert "holds no admin consent" in refused.json()["odata.error"]["message"]["value"]

    # Consented, but not the registered compliance partner: the message is taken and fails, saying why.
    with directory_server.session() as session:
        row = session.get(Tenant, tenant.id)
        principal = session.get(ServicePrincipal, principal_id)
        assert row is not None and principal is not None
        tenants.grant_application_permissions(session, row, principal, ["Device.Read.All"], now=utcnow())
        session.commit()
    with directory_server.client(headers={"Authorization": f"Bearer {token}"}) as other:
        assert other.put(url, json=body).status_code == 202
        status = world.wait(other, message_id)
    assert status["Status"] == "Failed" and status["ErrorCode"] == "TenantNotProvisioned"
    assert client_id in str(status["ErrorDetail"])
    with world.intune() as intune:  # the partner cannot read another application's message
        missing = intune.get(url)
        assert missing.status_code == 404


def test_the_same_message_applies_once_and_an_older_report_never_wins(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    world = seed_world(directory_server, tenant)
    newer, older = utcnow(), utcnow() - dt.timedelta(minutes=5)
    with ready(world) as intune:
        body = world.report(compliant=False, last_update=newer)
        message_id = world.upload(intune, body)
        assert world.wait(intune, message_id)["Status"] == "Completed"
        assert world.upload(intune, body, message_id) == message_id  # a retry: accepted, not applied twice
        assert world.wait(intune, message_id)["Status"] == "Completed"
        reused = intune.put(
            f"{world.device_sync}/DataUploadMessages(guid'{message_id}')?api-version=1.2",
            json=world.report(compliant=True, last_update=newer),
        )
        assert reused.status_code == 409
        stale = world.upload(intune, world.report(compliant=True, last_update=older))
        assert world.wait(intune, stale)["Status"] == "Completed"
    assert world.device()["isCompliant"] is False
    with world.admin() as admin:
        audits = admin.get("/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Update device'").json()
    assert len(audits["value"]) == 1


def test_heartbeat_keeps_the_partner_enabled_and_silence_makes_it_unresponsive(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    world = seed_world(directory_server, tenant)
    ready(world).close()
    first = world.partner_record()
    assert first["partnerState"] == "enabled"
    # Eight days of silence (the token validator checks iat/exp against real time, so the heartbeat is moved
    # back instead of the clock forward).
    with directory_server.session() as session:
        for partner in session.query(ComplianceManagementPartner).filter_by(tenant_id=tenant.id):
            partner.last_heartbeat_date_time = utcnow() - dt.timedelta(days=8)
        session.commit()
    silent = world.partner_record()
    assert silent["partnerState"] == "unresponsive"
    with world.intune() as intune:
        listed = intune.get(f"{world.tenant_sync}/PartnerCompliancePolicies?api-version=1.6")
        assert listed.status_code == 200
        again = world.partner_record()
        assert again["partnerState"] == "enabled"
        assert again["lastHeartbeatDateTime"] > silent["lastHeartbeatDateTime"]
        deprovisioned = world.provision(intune, provisioned=2)
        assert deprovisioned.status_code == 200 and deprovisioned.json()["Provisioned"] == 2
        assert world.partner_record()["partnerState"] == "terminated"
        refused = intune.get(f"{world.tenant_sync}/PartnerCompliancePolicies?api-version=1.6")
        assert refused.status_code == 403


def test_malformed_uploads_are_refused_with_the_field_named(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    world = seed_world(directory_server, tenant)
    good = upload_body(tenant.id, world.device_id, world.user_id, compliant=True, last_update=utcnow())
    with ready(world) as intune:
        url = f"{world.device_sync}/DataUploadMessages(guid'{uuid.uuid4()}')?api-version=1.2"
        only_inventory = {**good, "Content": good["Content"].replace('"EntityType": 4', '"EntityType": 9')}
        refused = intune.put(url, json=only_inventory)
        assert refused.status_code == 400
        assert "EntityType 9" in refused.json()["odata.error"]["message"]["value"]
        wrong_status = {
            **good,
            "Content": good["Content"].replace('"notCompliant"', '"maybe"').replace('"compliant"', '"maybe"'),
        }
        assert "complianceStatus" in intune.put(url, json=wrong_status).json()["odata.error"]["message"]["value"]
        other_tenant = {**good, "TenantId": str(uuid.uuid4())}
        assert intune.put(url, json=other_tenant).status_code == 400


def test_graph_device_reads_use_the_double_slash_scope_token_only_for_intune(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    world = seed_world(directory_server, tenant)
    intune_token = world.token(INTUNE_SCOPE)
    with graph(directory_server, intune_token) as client:
        assert client.get("/v1.0/devices").status_code == 401  # an Intune token is not a Graph token
