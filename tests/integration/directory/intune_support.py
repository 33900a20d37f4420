"""A tenant ready for a compliance partner, and the partner's calls as partner-compliance-wire.md records them."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.orm import Session

from posturebridge.common.clock import utcnow
from posturebridge.directory import catalog, tenants
from posturebridge.directory.auth.consent import ResourcePermissions, grant_admin_consent
from posturebridge.directory.models import (
    DeviceRegisteredPrincipal,
    Group,
    GroupMember,
    SubscribedSku,
    Tenant,
    User,
    UserLicense,
)
from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.graph_support import add_devices, app_token, graph

PARTNER_NAME = "Workspace ONE conditional access"
INTUNE_SKU = "061f9ace-7d42-4136-88ac-31dc755f143f"
ENTRA_P1_SKU = "078d2b04-f1bd-4111-bbd4-b4b1b354cef4"
INTUNE_SCOPE = "https://api.manage.microsoft.com//.default"  # double slash, as the partner sends it
TERMINAL = ("Completed", "Failed")


@dataclass
class PartnerWorld:
    server: DirectoryServer
    tenant: SeededTenant
    app_id: str
    secret: str
    group_id: str
    user_id: str
    device_id: str  # Entra deviceId of the user's registered iOS device
    device_object_id: str
    admin_token: str
    urls: dict[str, str] = field(default_factory=dict)

    def token(self, scope: str) -> str:
        with self.server.client() as client:
            response = client.post(
                f"/{self.tenant.id}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.app_id,
                    "client_secret": self.secret,
                    "scope": scope,
                },
            )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def intune(self) -> httpx.Client:
        return self.server.client(headers={"Authorization": f"Bearer {self.token(INTUNE_SCOPE)}"})

    def admin(self) -> httpx.Client:
        return graph(self.server, self.admin_token)

    def discover(self) -> dict[str, str]:
        """The partner services, found as the partner finds them: Intune's service principal endPoints."""
        with graph(self.server, self.token("https://graph.microsoft.com/.default")) as client:
            found = client.get(f"/v1.0/servicePrincipals?$filter=appId eq '{catalog.INTUNE_APP_ID}'")
            assert found.status_code == 200, found.text
            principal_id = found.json()["value"][0]["id"]
            endpoints = client.get(f"/v1.0/servicePrincipals/{principal_id}/endPoints")
            assert endpoints.status_code == 200, endpoints.text
        self.urls = {item["providerName"]: item["uri"] for item in endpoints.json()["value"]}
        return self.urls

    @property
    def tenant_sync(self) -> str:
        return (self.urls or self.discover())["PartnerTenantDataSyncService"]

    @property
    def device_sync(self) -> str:
        return (self.urls or self.discover())["PartnerDeviceDataSyncService"]

    def provision(self, client: httpx.Client, provisioned: int = 1) -> httpx.Response:
        return client.put(
            f"{self.tenant_sync}/PartnerTenants(guid'{self.tenant.id}')?api-version=1.6",
            json={
                "Provisioned": provisioned,
                "PartnerEnrollmentUrl": "https://partner.example/enroll",
                "PartnerRemediationUrl": "https://partner.example/remediate",
            },
        )

    def upload(self, client: httpx.Client, body: dict[str, Any], message_id: str | None = None) -> str:
        message_id = message_id or str(uuid.uuid4())
        response = client.put(f"{self.device_sync}/DataUploadMessages(guid'{message_id}')?api-version=1.2", json=body)
        assert response.status_code == 202, response.text
        return message_id

    def wait(self, client: httpx.Client, message_id: str) -> dict[str, Any]:
        """Poll the message status until Completed or Failed (the partner's loop, wire §5)."""
        deadline = time.monotonic() + 10
        while True:
            response = client.get(f"{self.device_sync}/DataUploadMessages(guid'{message_id}')?api-version=1.2")
            assert response.status_code == 200, response.text
            status: dict[str, Any] = response.json()
            if status["Status"] in TERMINAL or time.monotonic() > deadline:
                return status
            time.sleep(0.01)

    def report(
        self,
        *,
        compliant: bool,
        last_update: dt.datetime,
        device_id: str | None = None,
        user_id: str | None = None,
        managed: bool = True,
        os: str = "iOS",
        ownership: str | None = None,
    ) -> dict[str, Any]:
        return upload_body(
            self.tenant.id,
            device_id or self.device_id,
            user_id or self.user_id,
            compliant=compliant,
            last_update=last_update,
            managed=managed,
            os=os,
            ownership=ownership,
        )

    def device(self) -> dict[str, Any]:
        with self.admin() as client:
            response = client.get(f"/v1.0/devices/{self.device_object_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def partner_record(self) -> dict[str, Any]:
        with self.admin() as client:
            response = client.get("/beta/deviceManagement/complianceManagementPartners")
        assert response.status_code == 200, response.text
        value: list[dict[str, Any]] = response.json()["value"]
        assert len(value) == 1
        return value[0]


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def upload_body(
    tenant_id: str,
    device_id: str,
    user_id: str,
    *,
    compliant: bool,
    last_update: dt.datetime,
    managed: bool = True,
    os: str = "iOS",
    ownership: str | None = None,
) -> dict[str, Any]:
    """PUT DataUploadMessages body: Content is the JSON *string* of [inventory (1), compliance (4)] (wire §4)."""
    inventory: dict[str, Any] = {
        "EntityType": 1,
        "TenantId": tenant_id,
        "DeviceManagementState": "managed" if managed else "notManaged",
        "DeviceId": device_id,
        "DeviceName": "Megan's iPhone",
        "UserId": user_id,
        "LastCheckInTime": iso(last_update - dt.timedelta(seconds=5)),
        "LastUpdateTime": iso(last_update),
        "Os": os,
        "OsVersion": "17.5",
        "EasIds": [],
        "State": 0,
    }
    if ownership is not None:
        inventory["DeviceOwnership"] = ownership
    compliance = {
        "EntityType": 4,
        "TenantId": tenant_id,
        "DeviceId": device_id,
        "UserId": user_id,
        "LastUpdateTime": iso(last_update),
        "complianceStatus": "compliant" if compliant else "notCompliant",
    }
    return {"TenantId": tenant_id, "UploadTime": iso(utcnow()), "Content": json.dumps([inventory, compliance])}


def add_user(server: DirectoryServer, tenant: SeededTenant, alias: str, *, licensed: bool = True) -> str:
    with server.session() as session:
        row = session.get(Tenant, tenant.id)
        assert row is not None
        user = tenants.add_user(
            session,
            row,
            user_principal_name=f"{alias}@{tenant.domain}",
            display_name=alias,
            password=None,
            now=utcnow(),
            usage_location="US",
        )
        session.flush()
        if licensed:
            session.add(UserLicense(user_id=user.id, sku_id=INTUNE_SKU, disabled_plans=[]))
        session.commit()
        return user.id


def add_group_member(server: DirectoryServer, group_id: str, user_id: str) -> None:
    with server.session() as session:
        session.add(GroupMember(group_id=group_id, member_id=user_id, member_type="user"))
        session.commit()


def add_device(server: DirectoryServer, tenant_id: str, owner_id: str | None, *, os: str = "iOS") -> tuple[str, str]:
    """A registered device (owner and user ``owner_id``); returns (object id, deviceId)."""
    device = add_devices(server, tenant_id, 1, operating_system=os)[0]
    if owner_id is not None:
        with server.session() as session:
            for relationship in ("owner", "user"):
                session.add(
                    DeviceRegisteredPrincipal(device_object_id=device.id, user_id=owner_id, relationship=relationship)
                )
            session.commit()
    return device.id, device.device_id


def seed_world(server: DirectoryServer, tenant: SeededTenant) -> PartnerWorld:
    """The customer tenant (Entra ID P1, Intune licence, a partner user group, a registered iPhone) and the
    partner's multi-tenant application from its own tenant, admin-consented in the customer tenant."""
    now = utcnow()
    prefix = f"v{uuid.uuid4().hex[:10]}"
    with server.session() as session:
        vendor = tenants.create_tenant(
            session, display_name="Partner vendor", initial_domain_prefix=prefix, verified_domain=None, now=now
        )
        app = tenants.add_application(session, vendor, display_name=PARTNER_NAME, now=now)
        app.application.sign_in_audience = "AzureADMultipleOrgs"
        customer = session.get(Tenant, tenant.id)
        admin = session.get(User, tenant.admin.id)
        assert customer is not None and admin is not None
        graph_permissions = ("Application.Read.All", "Device.Read.All", "User.Read.All", "Group.Read.All")
        grant_admin_consent(
            session,
            customer,
            admin,
            app.application,
            [ResourcePermissions(catalog.MICROSOFT_GRAPH_APP_ID, "Microsoft Graph", graph_permissions, ())],
            ip_address=None,
            now=now,
        )
        group_id = license_partner_group(session, tenant.id, tenant.user.id, "Workspace ONE users", now)
        session.commit()
        app_id, secret = app.application.app_id, app.client_secret
    object_id, device_id = add_device(server, tenant.id, tenant.user.id)
    admin_token = app_token(
        server,
        tenant,
        ["DeviceManagementServiceConfig.ReadWrite.All", "Device.Read.All", "AuditLog.Read.All"],
        name="Intune admin",
    )
    return PartnerWorld(server, tenant, app_id, secret, group_id, tenant.user.id, device_id, object_id, admin_token)


def license_partner_group(session: Session, tenant_id: str, user_id: str, name: str, now: dt.datetime) -> str:
    """Entra ID P1 and Intune for the tenant, an Intune licence for the user, and a group holding the user (the
    group the compliance partner is assigned to); returns the group id. The caller commits."""
    for sku in (ENTRA_P1_SKU, INTUNE_SKU):
        session.add(SubscribedSku(tenant_id=tenant_id, sku_id=sku))
    group = Group(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        display_name=name,
        mail_nickname="".join(c for c in name.lower() if c.isalnum())[:64],
        group_types=[],
        created_date_time=now,
    )
    session.add(group)
    session.add(UserLicense(user_id=user_id, sku_id=INTUNE_SKU, disabled_plans=[]))
    session.flush()
    session.add(GroupMember(group_id=group.id, member_id=user_id, member_type="user"))
    return group.id


def onboard(world: PartnerWorld, **platforms: list[dict[str, Any]]) -> dict[str, Any]:
    """The administrator adds the partner for ``platforms`` (default: iOS for the partner group)."""
    if not platforms:
        platforms = {"ios": [group_target(world.group_id)]}
    body: dict[str, Any] = {"displayName": PARTNER_NAME}
    for platform, targets in platforms.items():
        body[f"{platform}Onboarded"] = True
        body[f"{platform}EnrollmentAssignments"] = [
            {"@odata.type": "microsoft.graph.complianceManagementPartnerAssignment", "target": target}
            for target in targets
        ]
    with world.admin() as client:
        created = client.post("/beta/deviceManagement/complianceManagementPartners", json=body)
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


def group_target(group_id: str, *, exclude: bool = False) -> dict[str, Any]:
    kind = "exclusionGroupAssignmentTarget" if exclude else "groupAssignmentTarget"
    return {"@odata.type": f"#microsoft.graph.{kind}", "groupId": group_id}


def ready(world: PartnerWorld) -> httpx.Client:
    """Partner onboarded by the admin and provisioned by the partner; returns the partner's Intune client."""
    onboard(world)
    with world.intune() as client:
        provisioned = world.provision(client)
    assert provisioned.status_code == 200, provisioned.text
    return world.intune()
