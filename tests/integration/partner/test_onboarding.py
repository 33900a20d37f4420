"""Onboarding as the seed walks it, over loopback: the MDM's "enable" (refused without the Intelligence opt-in
and Directory Services), the partner's registration, admin consent in the directory's browser pages (accepted
or cancelled), "complete setup" (Intune partner tenant provisioned, partnerState enabled), delivery by the
worker the partner service hosts, and the heartbeat that keeps the partner from becoming unresponsive.

Real services: the directory (HTTPS, session scope), the partner service app and the MDM app (uvicorn threads,
one pair per test); the partner's multi-tenant application is created by the demo seed's own function.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from posturebridge.cli import app as cli
from posturebridge.common.clock import utcnow
from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.common.errors import CommandError
from posturebridge.common.settings import Settings
from posturebridge.demo.seed import PARTNER_APP_NAME, ensure_partner_application
from posturebridge.directory.intune.partners import effective_state
from posturebridge.directory.models import (
    AppRoleAssignment,
    ComplianceManagementPartner,
    Device,
    ServicePrincipal,
)
from posturebridge.mdm.app import create_app as create_mdm_app
from posturebridge.mdm.client import MdmApiError, MdmClient
from posturebridge.mdm.config import MdmConfig
from posturebridge.mdm.service import credentials
from posturebridge.partner.app import create_app as create_partner_app
from posturebridge.partner.settings import PartnerSettings
from tests.integration.directory.browser import redirect_params, sign_in, submit
from tests.integration.directory.conftest import DirectoryServer, SeededTenant, seed_tenant
from tests.integration.directory.graph_support import app_token, graph
from tests.integration.directory.intune_support import add_device, group_target, license_partner_group
from tests.integration.partner.conftest import serve_app, wait_until
from tests.support import free_port

pytestmark = pytest.mark.integration

REGISTRATION_KEY = "test-registration-key"
IOS_POLICY = {
    "displayName": "iOS baseline",
    "platform": "iOS",
    "rules": [{"type": "passcodeRequired"}],
    "scheduledActions": [{"actionType": "block"}],
    "assignment": {"allDevices": True},
}


@dataclass
class Onboarding:
    directory: DirectoryServer
    tenant: SeededTenant
    partner_url: str
    partner_stop: ExitStack
    mdm_url: str
    mdm_client_id: str
    mdm_client_secret: str
    partner_app_id: str
    group_id: str
    admin_token: str
    mdm_sessions: sessionmaker[Session]

    def mdm(self) -> MdmClient:
        return MdmClient.with_client_credentials(self.mdm_url, self.mdm_client_id, self.mdm_client_secret)

    def prepare_mdm(self) -> None:
        """The seed's first two checks: Intelligence opt-in and Directory Services with the tenant."""
        with self.mdm() as mdm:
            mdm.set_intelligence(True)
            mdm.set_directory_services({"entraIntegrationEnabled": True, "directoryId": self.tenant.id})

    def add_partner_record(self) -> None:
        """The Intune administrator adds the partner for iOS and assigns the group (partnerState unknown)."""
        body = {
            "displayName": PARTNER_APP_NAME,
            "iosOnboarded": True,
            "iosEnrollmentAssignments": [{"target": group_target(self.group_id)}],
        }
        with graph(self.directory, self.admin_token) as client:
            created = client.post("/beta/deviceManagement/complianceManagementPartners", json=body)
        assert created.status_code == 201, created.text

    def partner_record(self) -> dict[str, Any]:
        with graph(self.directory, self.admin_token) as client:
            listing = client.get("/beta/deviceManagement/complianceManagementPartners")
        assert listing.status_code == 200, listing.text
        records: list[dict[str, Any]] = listing.json()["value"]
        assert len(records) == 1
        return records[0]

    def consent(self, consent_url: str, decision: str) -> httpx.Response:
        """The administrator opens the consent URL, signs in, reviews the permissions and decides; the browser
        then follows the directory's redirect to the partner's callback."""
        with closing(self.directory.client()) as browser:
            page = browser.get(consent_url)
            review = sign_in(browser, page, self.tenant.admin.upn, self.tenant.admin.password)
            for permission in ("Device.ReadWrite.All", "DeviceManagementServiceConfig.ReadWrite.All"):
                assert permission in review.text
            answer = submit(browser, review, decision=decision)
        location = answer.headers["location"]
        assert location.startswith(f"{self.partner_url}/api/v1/consent/callback?"), location
        redirect_params(answer)  # a well-formed redirect to the client
        return httpx.get(location, timeout=10)

    def granted_roles(self) -> list[str]:
        with self.directory.session() as session:
            principal = session.scalars(
                select(ServicePrincipal).where(
                    ServicePrincipal.tenant_id == self.tenant.id, ServicePrincipal.app_id == self.partner_app_id
                )
            ).first()
            if principal is None:
                return []
            return list(
                session.scalars(
                    select(AppRoleAssignment.app_role_id).where(AppRoleAssignment.principal_id == principal.id)
                )
            )


def _customer(directory: DirectoryServer) -> tuple[SeededTenant, str, str]:
    """A tenant with Entra ID P1 and Intune, Megan licensed and in the partner group; an Intune admin token."""
    tenant = seed_tenant(directory)
    with directory.session() as session:
        group_id = license_partner_group(session, tenant.id, tenant.user.id, "Conditional access users", utcnow())
        session.commit()
    token = app_token(
        directory, tenant, ["DeviceManagementServiceConfig.ReadWrite.All", "Device.Read.All"], name="Intune admin"
    )
    return tenant, group_id, token


@pytest.fixture
def onboarding(directory_server: DirectoryServer, tmp_path: Path) -> Iterator[Onboarding]:
    partner_port, mdm_port = free_port(), free_port()
    settings = Settings(
        data_dir=tmp_path,
        host="127.0.0.1",
        directory_port=int(directory_server.url.rsplit(":", 1)[1]),
        mdm_port=mdm_port,
        partner_port=partner_port,
    )
    with directory_server.session() as session:
        partner_app = ensure_partner_application(session, settings)
        session.commit()
    partner_engine = make_engine(settings.database_url("partner"))
    migrate(partner_engine, "partner")
    partner_settings = PartnerSettings(
        data_dir=tmp_path,
        client_id=partner_app["client_id"],
        client_secret=partner_app["client_secret"],
        authority_host=directory_server.url,
        graph_url=directory_server.url,
        ca_bundle=directory_server.ca_file,
        registration_key=REGISTRATION_KEY,
        heartbeat_seconds=0.3,
        hosting_interval_seconds=0.2,
        feed_wait_seconds=1.0,
        idle_seconds=0.1,
        message_poll_seconds=0.05,
    )
    mdm_engine = make_engine(settings.database_url("mdm"))
    migrate(mdm_engine, "mdm")
    with unit_of_work(sessionmaker(mdm_engine, expire_on_commit=False)) as session:
        org = credentials.create_organisation(session, "Contoso", utcnow())
        session.commit()
    mdm_app = create_mdm_app(
        settings,
        mdm_engine,
        config=MdmConfig(
            sweep_interval_seconds=0.5,
            feed_poll_interval_seconds=0.05,
            partner_registration_key=REGISTRATION_KEY,
        ),
    )
    tenant, group_id, admin_token = _customer(directory_server)
    mdm_stop, partner_stop = ExitStack(), ExitStack()
    try:
        mdm_url = mdm_stop.enter_context(serve_app(mdm_app, mdm_port))
        partner_url = partner_stop.enter_context(
            serve_app(create_partner_app(settings, partner_engine, partner=partner_settings), partner_port)
        )
        yield Onboarding(
            directory_server,
            tenant,
            partner_url,
            partner_stop,
            mdm_url,
            org.client.id,
            org.client.secret,
            partner_app["client_id"],
            group_id,
            admin_token,
            sessionmaker(mdm_engine, expire_on_commit=False),
        )
    finally:
        partner_stop.close()  # the partner first: its hosted workers read the MDM until they stop
        mdm_stop.close()
        partner_engine.dispose()
        mdm_engine.dispose()


def _enabled(world: Onboarding) -> None:
    """The whole onboarding, checked step by step, up to partnerState enabled."""
    world.prepare_mdm()
    world.add_partner_record()
    assert world.partner_record()["partnerState"] == "unknown"
    with world.mdm() as mdm:
        pending = mdm.enable_compliance_partner(["iOS"])
    assert pending.state == "consentPending" and pending.tenant_id == world.tenant.id
    assert pending.admin_consent_url is not None
    assert pending.admin_consent_url.startswith(f"{world.directory.url}/{world.tenant.id}/v2.0/adminconsent?")
    assert f"client_id={world.partner_app_id}" in pending.admin_consent_url
    callback = world.consent(pending.admin_consent_url, "accept")
    assert callback.status_code == 200 and "Consent granted" in callback.text
    assert len(world.granted_roles()) == 3
    with world.mdm() as mdm:
        assert mdm.compliance_partner().state == "consented"
        enabled = mdm.complete_compliance_partner_setup()
    assert enabled.state == "enabled", enabled.last_error
    assert enabled.last_error is None
    record = world.partner_record()
    assert record["partnerState"] == "enabled" and record["lastHeartbeatDateTime"] is not None


def _flips_reach_the_directory(world: Onboarding) -> str:
    """Megan's iPhone, enrolled in the MDM and registered in Entra, goes non-compliant and back; each state
    reaches the directory through the hosted worker. Returns the MDM device id."""
    entra_object_id, entra_device_id = add_device(world.directory, world.tenant.id, world.tenant.user.id)
    with world.mdm() as admin:
        admin.create_policy(IOS_POLICY)
        user = admin.create_user("megan", userPrincipalName=world.tenant.user.upn, displayName="Megan Bowen")
        token = admin.create_enrollment_token(user_id=user.id, platform="iOS").token
        assert token is not None
        with MdmClient(world.mdm_url) as anonymous:
            enrolled = anonymous.enroll(token, platform="iOS", model="iPhone15,2", os_version="17.5")
        admin.set_entra_device_id(enrolled.device_id, entra_device_id)

    def directory_state() -> tuple[bool | None, bool | None]:
        with world.directory.session() as session:
            row = session.get(Device, entra_object_id)
            assert row is not None
            return row.is_managed, row.is_compliant

    def check_in(agent: MdmClient, sequence: int, passcode: bool) -> None:
        sample = {
            "sequence": sequence,
            "nonce": uuid.uuid4().hex,
            "sampledDateTime": utcnow().isoformat(),
            "osVersion": "17.5",
            "passcodePresent": passcode,
        }
        agent.check_in(enrolled.device_id, sample)
        wait_until(lambda: directory_state() == (True, passcode), 30, f"isCompliant {passcode} in the directory")

    with MdmClient.for_device(world.mdm_url, enrolled.device_token) as agent:
        check_in(agent, 1, passcode=False)
        check_in(agent, 2, passcode=True)
    return enrolled.device_id


def test_onboarding_ends_enabled_and_the_hosted_worker_delivers_a_compliance_flip(onboarding: Onboarding) -> None:
    world = onboarding
    _enabled(world)
    device_id = _flips_reach_the_directory(world)
    with world.mdm() as mdm:
        wait_until(lambda: len(mdm.ca_log(device_id)) > 0, 30, "the CA log entries")
        assert any(entry.channel == "Intune partner compliance" for entry in mdm.ca_log(device_id))


def test_two_organisations_are_onboarded_and_delivered_side_by_side(onboarding: Onboarding, tmp_path: Path) -> None:
    first = onboarding
    _enabled(first)
    tenant, group_id, admin_token = _customer(first.directory)
    with unit_of_work(first.mdm_sessions) as session:
        org = credentials.create_organisation(session, "Fabrikam", utcnow())
        session.commit()
    second = replace(
        first,
        tenant=tenant,
        group_id=group_id,
        admin_token=admin_token,
        mdm_client_id=org.client.id,
        mdm_client_secret=org.client.secret,
    )
    _enabled(second)  # while the first organisation's worker runs: no restart
    assert len(list(tmp_path.glob("partner-org-*.db"))) == 2  # one queue database per organisation
    _flips_reach_the_directory(second)
    _flips_reach_the_directory(first)


def test_enable_is_refused_without_intelligence_opt_in_or_directory_services(onboarding: Onboarding) -> None:
    with onboarding.mdm() as mdm:
        with pytest.raises(MdmApiError) as no_opt_in:
            mdm.enable_compliance_partner()
        assert no_opt_in.value.status_code == 409 and no_opt_in.value.code == "intelligenceOptInRequired"
        mdm.set_intelligence(True)
        with pytest.raises(MdmApiError) as no_directory:
            mdm.enable_compliance_partner()
        assert no_directory.value.status_code == 409 and no_directory.value.code == "directoryServicesRequired"
        assert "Directory Services" in no_directory.value.message
        assert mdm.compliance_partner().state == "notEnabled"


def test_complete_before_consent_is_refused(onboarding: Onboarding) -> None:
    onboarding.prepare_mdm()
    with onboarding.mdm() as mdm:
        mdm.enable_compliance_partner()
        with pytest.raises(MdmApiError) as refused:
            mdm.complete_compliance_partner_setup()
        assert refused.value.status_code == 409 and refused.value.code == "consentRequired"
        assert mdm.compliance_partner().state == "consentPending"


def test_a_cancelled_consent_changes_nothing_and_shows_why(onboarding: Onboarding) -> None:
    world = onboarding
    world.prepare_mdm()
    world.add_partner_record()
    with world.mdm() as mdm:
        pending = mdm.enable_compliance_partner()
    assert pending.admin_consent_url is not None
    callback = world.consent(pending.admin_consent_url, "cancel")
    assert callback.status_code == 400 and "Consent not granted" in callback.text
    with world.mdm() as mdm:
        status = mdm.compliance_partner()
        assert status.state == "consentPending"
        assert status.last_error is not None and "admin consent was not granted" in status.last_error
        assert "AADSTS65004" in status.last_error
        with pytest.raises(MdmApiError) as refused:
            mdm.complete_compliance_partner_setup()
    assert refused.value.code == "consentRequired" and "AADSTS65004" in refused.value.message
    assert world.granted_roles() == []
    assert world.partner_record()["partnerState"] == "unknown"


def test_heartbeats_move_while_enabled_and_a_stopped_partner_becomes_unresponsive(onboarding: Onboarding) -> None:
    world = onboarding
    _enabled(world)
    with world.mdm() as mdm:
        enabled_at = mdm.compliance_partner().enabled_date_time
        assert enabled_at is not None

        def hosted_heartbeat() -> bool:
            beat = mdm.compliance_partner().last_heartbeat_date_time
            return beat is not None and beat > enabled_at

        # The hosted worker's own heartbeat holds its tokens before the clock moves: the directory checks a
        # token's iat against the real time, so tokens issued on an advanced clock would be refused.
        wait_until(hosted_heartbeat, 15, "the hosted worker's first heartbeat")
    first = dt.datetime.fromisoformat(world.partner_record()["lastHeartbeatDateTime"])
    world.directory.clock.advance(dt.timedelta(minutes=2))  # past the directory's 30 s heartbeat resolution
    wait_until(
        lambda: (
            dt.datetime.fromisoformat(world.partner_record()["lastHeartbeatDateTime"]) > first + dt.timedelta(minutes=1)
        ),
        15,
        "a heartbeat on the advanced clock",
    )
    assert world.partner_record()["partnerState"] == "enabled"
    with world.mdm() as mdm:
        assert mdm.compliance_partner().last_heartbeat_date_time is not None
    world.partner_stop.close()  # the partner service stops: no more heartbeats
    world.directory.clock.advance(dt.timedelta(days=8))  # past the 7-day threshold
    # Read as Graph renders it (effective_state); the test's own Graph token expired on the advanced clock.
    with world.directory.session() as session:
        record = session.scalars(
            select(ComplianceManagementPartner).where(ComplianceManagementPartner.tenant_id == world.tenant.id)
        ).one()
        assert effective_state(record, world.directory.clock()) == "unresponsive"


def test_the_admin_cli_enables_with_one_line_errors_and_prints_the_consent_url(onboarding: Onboarding) -> None:
    runner = CliRunner()
    auth = ["--url", onboarding.mdm_url, "--client-id", onboarding.mdm_client_id]
    auth += ["--client-secret", onboarding.mdm_client_secret]
    refused = runner.invoke(cli, ["mdm", "partner", "enable", *auth])
    assert refused.exit_code != 0 and isinstance(refused.exception, CommandError)
    message = str(refused.exception)
    assert "\n" not in message and "intelligenceOptInRequired" in message and "Intelligence" in message
    onboarding.prepare_mdm()
    enabled = runner.invoke(cli, ["mdm", "partner", "enable", "--platform", "iOS", *auth])
    assert enabled.exit_code == 0, enabled.output
    assert "compliance partner: consentPending" in enabled.output
    assert f"{onboarding.directory.url}/{onboarding.tenant.id}/v2.0/adminconsent?" in enabled.output
    status = runner.invoke(cli, ["mdm", "partner", "status", "--json", *auth])
    assert status.exit_code == 0 and '"state": "consentPending"' in status.output
    early = runner.invoke(cli, ["mdm", "partner", "complete", *auth])
    assert isinstance(early.exception, CommandError) and "consentRequired" in str(early.exception)
