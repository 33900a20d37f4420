"""Microsoft's own Graph SDK (msgraph-sdk + azure-identity) works against the directory unchanged.

Only the base URL and the TLS trust anchor change: the SDK authenticates through azure-identity's
ClientSecretCredential (msal underneath) at the directory's token endpoint.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httpx
import pytest

from posturebridge.common.clock import utcnow
from posturebridge.directory import tenants
from posturebridge.directory.models import Tenant
from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.graph_support import add_devices

msgraph = pytest.importorskip("msgraph", reason="msgraph-sdk is not installed (pip install -e '.[msgraph]')")
pytestmark = pytest.mark.integration


def _client(server: DirectoryServer, tenant_id: str, client_id: str, secret: str) -> Any:
    from azure.identity.aio import ClientSecretCredential
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import GraphClientFactory

    credential = ClientSecretCredential(
        tenant_id,
        client_id,
        secret,
        authority=server.url.removeprefix("https://"),
        disable_instance_discovery=True,
        connection_verify=str(server.ca_file),
    )
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1"]
    )
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(server.ca_file)))
    )
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"{server.url}/v1.0"
    return GraphServiceClient(request_adapter=adapter), credential


def test_graph_service_client_lists_filters_pages_gets_patches_and_reads_audits(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.devices.devices_request_builder import DevicesRequestBuilder
    from msgraph.generated.models.device import Device

    now = utcnow()
    with directory_server.session() as session:
        row = session.get(Tenant, tenant.id)
        assert row is not None
        created = tenants.add_application(session, row, display_name="msgraph-sdk", now=now)
        tenants.grant_application_permissions(
            session, row, created.service_principal, ["Device.ReadWrite.All", "AuditLog.Read.All"], now=now
        )
        session.commit()
        client_id, secret = created.application.app_id, created.client_secret
    devices = add_devices(directory_server, tenant.id, 120, operating_system="Windows", trust_type="AzureAd")

    async def scenario() -> None:
        client, credential = _client(directory_server, tenant.id, client_id, secret)
        async with credential:
            page = await client.devices.get()
            ids = [d.id for d in page.value]
            while page.odata_next_link:
                page = await client.devices.with_url(page.odata_next_link).get()
                ids.extend(d.id for d in page.value)
            assert len(ids) == len(set(ids)) == 120

            query = DevicesRequestBuilder.DevicesRequestBuilderGetQueryParameters(
                filter=f"deviceId eq '{devices[7].device_id}'", select=["id", "displayName", "deviceId"], top=5
            )
            found = await client.devices.get(request_configuration=RequestConfiguration(query_parameters=query))
            assert [d.id for d in found.value] == [devices[7].id]

            one = await client.devices.by_device_id(devices[7].id).get()
            assert one.device_id == devices[7].device_id and one.trust_type == "AzureAd"

            await client.devices.by_device_id(devices[7].id).patch(Device(display_name="LAPTOP-SDK"))
            again = await client.devices.by_device_id(devices[7].id).get()
            assert again.display_name == "LAPTOP-SDK"

            audits = await client.audit_logs.directory_audits.get()
            assert any(a.activity_display_name == "Update device" for a in audits.value)

    asyncio.run(scenario())
