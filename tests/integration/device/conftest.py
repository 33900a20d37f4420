"""The real MDM (HTTP) and the real directory (HTTPS) on loopback, and the world a device agent lives in:
a tenant whose broker application may register devices and sign in to Exchange Online, and the same
user in the MDM with an enrolment token for each device."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from posturebridge.device.agent import AgentEndpoints, BrokerApplication, DeviceAgent, DevicePlatform
from posturebridge.directory import tenants
from posturebridge.mdm.client import MdmClient
from tests.integration.directory.conftest import (  # noqa: F401  (fixtures)
    DirectoryServer,
    SeededTenant,
    _reset_clock,
    directory_server,
    seed_tenant,
)
from tests.integration.directory.helpers import add_windows_mdm_application, grant_delegated
from tests.integration.directory.test_graph_conditional_access import EXCHANGE
from tests.integration.mdm.conftest import LiveMdm, live_mdm  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class World:
    directory: DirectoryServer
    mdm: LiveMdm
    tenant: SeededTenant
    admin: MdmClient
    mdm_user_name: str
    mdm_user_id: str
    endpoints: AgentEndpoints
    tmp_path: Path
    _clients: list[httpx.Client]

    def enrolment_token(self, platform: DevicePlatform) -> str:
        created = self.admin.create_enrollment_token(user_id=self.mdm_user_id, platform=platform.value)
        assert created.token is not None
        return created.token

    def http(self, mdm_transport: httpx.BaseTransport | None = None) -> tuple[httpx.Client, httpx.Client]:
        """(directory client trusting only the test CA, MDM client); closed at the end of the test."""
        directory = httpx.Client(verify=self.directory.ssl_context, timeout=10.0, trust_env=False)
        mdm = httpx.Client(timeout=10.0, trust_env=False, transport=mdm_transport)
        self._clients += [directory, mdm]
        return directory, mdm

    def new_agent(
        self,
        name: str,
        platform: DevicePlatform,
        *,
        mdm_transport: httpx.BaseTransport | None = None,
        **options: object,
    ) -> DeviceAgent:
        directory, mdm = self.http(mdm_transport)
        return DeviceAgent.create(
            self.tmp_path / name / "state.json",
            platform,
            self.endpoints,
            clock=utc_now,
            directory_http=directory,
            mdm_http=mdm,
            **options,  # type: ignore[arg-type]
        )

    def reload(self, name: str, **options: object) -> DeviceAgent:
        directory, mdm = self.http()
        return DeviceAgent.load(
            self.tmp_path / name / "state.json",
            self.endpoints,
            clock=utc_now,
            directory_http=directory,
            mdm_http=mdm,
            **options,  # type: ignore[arg-type]
        )


@pytest.fixture
def world(
    directory_server: DirectoryServer,  # noqa: F811
    live_mdm: LiveMdm,  # noqa: F811
    tmp_path: Path,
) -> Iterator[World]:
    tenant = seed_tenant(directory_server)
    broker = tenant.public_app
    grant_delegated(
        directory_server, tenant, broker, ["user_impersonation"], tenants.DEVICE_REGISTRATION_SERVICE_APP_ID
    )
    grant_delegated(directory_server, tenant, broker, ["EWS.AccessAsUser.All"], EXCHANGE)
    admin = live_mdm.admin()
    user_name = tenant.user.upn.split("@")[0] + "-" + tenant.id[:8]
    mdm_user = admin.create_user(user_name, userPrincipalName=tenant.user.upn, displayName="Megan Bowen")
    endpoints = AgentEndpoints(
        mdm_url=live_mdm.url,
        directory_url=directory_server.url,
        broker=BrokerApplication(broker.client_id, broker.redirect_uri),
        tenant=tenant.id,  # the seeded broker application is single-tenant, so /organizations refuses it
    )
    clients: list[httpx.Client] = []
    try:
        yield World(directory_server, live_mdm, tenant, admin, user_name, mdm_user.id, endpoints, tmp_path, clients)
    finally:
        for client in clients:
            client.close()
        admin.close()


def add_mdm_application(world: World, applies_to: str, groups: list[str] | None = None) -> str:
    """A Windows MDM application in the tenant (Mobility (MDM and MAM)) with the given MDM user scope."""
    app_id, _secret = add_windows_mdm_application(
        world.directory, world.tenant.id, applies_to=applies_to, groups=groups, name="Contoso MDM"
    )
    return app_id
