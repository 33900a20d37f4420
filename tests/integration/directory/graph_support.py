"""Helpers for the Graph tests: app tokens with chosen permissions, devices seeded in bulk."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from posturebridge.common.clock import utcnow
from posturebridge.directory import tenants
from posturebridge.directory.models import Device, Tenant
from tests.integration.directory.conftest import DirectoryServer, SeededTenant


def app_token(
    server: DirectoryServer, tenant: SeededTenant, permissions: list[str], *, name: str = "graph test"
) -> str:
    """A client-credentials token for a new application granted ``permissions`` on Microsoft Graph."""
    now = utcnow()
    with server.session() as session:
        row = session.get(Tenant, tenant.id)
        assert row is not None
        created = tenants.add_application(session, row, display_name=name, now=now)
        tenants.grant_application_permissions(session, row, created.service_principal, permissions, now=now)
        session.commit()
        client_id, secret = created.application.app_id, created.client_secret
    with server.client() as client:
        response = client.post(
            f"/{tenant.id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": "https://graph.microsoft.com/.default",
            },
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def add_devices(server: DirectoryServer, tenant_id: str, count: int, **properties: Any) -> list[Device]:
    now = utcnow()
    devices = []
    with server.session() as session:
        for index in range(count):
            values: dict[str, Any] = {
                "display_name": f"DEVICE-{index:05d}",
                "operating_system": "iOS",
                "operating_system_version": "17.5",
                "trust_type": "Workplace",
                "extension_attributes": {},
                "physical_ids": [],
                "system_labels": [],
                "alternative_security_ids": [],
                **properties,
            }
            device = Device(
                id=str(uuid.uuid4()),
                tenant_id=tenant_id,
                device_id=str(uuid.uuid4()),
                created_date_time=now,
                registration_date_time=now,
                **values,
            )
            session.add(device)
            devices.append(device)
        session.commit()
    return devices


def graph(server: DirectoryServer, token: str) -> httpx.Client:
    return server.client(headers={"Authorization": f"Bearer {token}"})
