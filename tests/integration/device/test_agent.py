"""The device agent against the real MDM and directory: enrol, report posture, follow the registration
link, sign in to Exchange Online with a device proof, survive a restart; refuse unknown links; a proof
by any other key is not this device."""

from __future__ import annotations

import base64
import datetime as dt
import stat
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select

from posturebridge.device.agent import (
    DeviceAgent,
    DevicePlatform,
    InteractionRequiredError,
    SignInBlocked,
    SignInError,
    TokenResponse,
)
from posturebridge.device.deeplinks import DeepLinkError, parse_registration_link
from posturebridge.device.keys import DeviceKey, generate_device_key, load_private_key_pem
from posturebridge.device.platforms import Platform
from posturebridge.directory.models import Device
from posturebridge.mdm.client import MdmApiError
from tests.integration.device.conftest import EXCHANGE_SCOPE, World, add_mdm_application
from tests.integration.directory.graph_support import app_token, graph
from tests.integration.directory.test_graph_conditional_access import compliant_device_policy

pytestmark = pytest.mark.integration
HUB_LINK = "wsonehub://conditionalaccess?partner=Microsoft"


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def enrolled_and_registered(world: World, name: str, platform: DevicePlatform = DevicePlatform.IOS) -> DeviceAgent:
    agent = world.new_agent(name, platform)
    agent.enrol(world.enrolment_token(platform), world.mdm_user_name)
    agent.register(HUB_LINK, world.tenant.user.upn, world.tenant.user.password)
    return agent


def directory_device(world: World, device_id: str) -> Device:
    with world.directory.session() as session:
        row = session.scalars(select(Device).where(Device.device_id == device_id)).one()
        session.expunge(row)
        return row


def mark_compliant(world: World, device_id: str, compliant: bool) -> None:
    """What the partner service will do once it delivers the MDM's verdict (not part of this slice)."""
    with world.directory.session() as session:
        row = session.scalars(select(Device).where(Device.device_id == device_id)).one()
        row.is_compliant, row.is_managed = compliant, True
        session.commit()


def require_compliant_device_for_exchange(world: World) -> None:
    token = app_token(world.directory, world.tenant, ["Policy.ReadWrite.ConditionalAccess"])
    with graph(world.directory, token) as admin:
        created = admin.post("/v1.0/identity/conditionalAccess/policies", json=compliant_device_policy())
        assert created.status_code == 201, created.text


def test_enrol_check_in_register_and_sign_in_from_the_device_across_a_restart(world: World) -> None:
    agent = world.new_agent("iphone", DevicePlatform.IOS)
    device = agent.enrol(world.enrolment_token(DevicePlatform.IOS), world.mdm_user_name)
    assert device.platform == "iOS" and device.user_id == world.mdm_user_id

    first = agent.check_in({"passcodePresent": True, "storageEncrypted": True, "compromised": False})
    second = agent.check_in({"compromised": True})
    assert (first.disposition, second.disposition) == ("accepted", "accepted")
    assert agent.state.sample_sequence == 2
    assert agent.state.posture["compromised"] is True and agent.state.posture["passcodePresent"] is True

    sent = world.admin.send_notification(
        device.id, title="Register your device", body="Open the link to keep access to email", deep_link=HUB_LINK
    )
    inbox = agent.notifications()
    assert [n.id for n in inbox] == [sent.id]
    link = inbox[0].deep_link
    assert link is not None

    registration = agent.register(link, world.tenant.user.upn, world.tenant.user.password)
    assert registration.trust_type == "Workplace" and registration.tenant_id == world.tenant.id
    assert registration.user_principal_name == world.tenant.user.upn
    assert world.admin.get_device(device.id).entra_device_id == registration.entra_device_id
    assert agent.state.entra_device_id_reported
    row = directory_device(world, registration.entra_device_id)
    assert (row.trust_type, row.operating_system, row.account_enabled) == ("Workplace", "iOS", True)
    assert agent.state.device_key_pem is not None
    key = load_private_key_pem(agent.state.device_key_pem.encode())
    assert row.device_public_key_pem == key.public_key_pem().decode()

    interactive = agent.sign_in(EXCHANGE_SCOPE, interactive=True, password=world.tenant.user.password)
    assert isinstance(interactive, TokenResponse), interactive
    assert claims_of(interactive.access_token)["deviceid"] == registration.entra_device_id
    assert agent.state.refresh_token == interactive.refresh_token

    state_file = world.tmp_path / "iphone" / "state.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    agent.close()

    restarted = world.reload("iphone")
    assert restarted.state == agent.state
    silent = restarted.sign_in(EXCHANGE_SCOPE, interactive=False)
    assert isinstance(silent, TokenResponse), silent
    assert claims_of(silent.access_token)["deviceid"] == registration.entra_device_id
    assert silent.refresh_token not in (None, interactive.refresh_token)
    assert world.reload("iphone").state.refresh_token == silent.refresh_token, "the rotated token is kept"
    after_restart = restarted.check_in({"compromised": False})
    assert after_restart.disposition == "accepted" and restarted.state.sample_sequence == 3


@pytest.mark.parametrize(
    "link",
    [
        "wsonehub://conditionalacces?partner=Microsoft",
        "wsonehub://conditionalaccess?partner=Contoso",
        "https://conditionalaccess?partner=Microsoft",
        "awagent://com.airwatch.androidagent?component=conditionalaccess&partnertype=microsoft",  # Android only
    ],
)
def test_an_unknown_or_foreign_deep_link_is_refused_before_anything_is_sent(world: World, link: str) -> None:
    agent = world.new_agent("refusing", DevicePlatform.IOS)
    agent.enrol(world.enrolment_token(DevicePlatform.IOS), world.mdm_user_name)
    with pytest.raises(DeepLinkError) as refused:
        agent.register(link, world.tenant.user.upn, world.tenant.user.password)
    with pytest.raises(DeepLinkError) as expected:
        parse_registration_link(link, platform=Platform.IOS)
    assert str(refused.value) == str(expected.value)
    assert agent.state.entra_device_id is None and agent.state.device_key_pem is None
    assert world.admin.get_device(str(agent.state.mdm_device_id)).entra_device_id is None


def test_legacy_links_are_refused_on_platforms_without_them(world: World) -> None:
    linux = world.new_agent("linux", DevicePlatform.LINUX)
    with pytest.raises(DeepLinkError, match="only the wsonehub form"):
        linux.register("airwatch://conditionalaccess?partner=microsoft", world.tenant.user.upn, "x")


def test_a_proof_by_another_key_does_not_make_the_sign_in_come_from_the_device(world: World) -> None:
    require_compliant_device_for_exchange(world)
    honest = enrolled_and_registered(world, "honest")
    entra_device_id = str(honest.state.entra_device_id)
    mark_compliant(world, entra_device_id, True)
    granted = honest.sign_in(EXCHANGE_SCOPE, interactive=False)
    assert isinstance(granted, TokenResponse), granted
    assert claims_of(granted.access_token)["deviceid"] == entra_device_id
    honest.close()

    forger = generate_device_key()

    def forge(
        key: DeviceKey,
        *,
        nonce: str,
        audience: str,
        client_id: str,
        now: dt.datetime,
        device_certificate: bytes | None = None,
    ) -> str:
        """The device's certificate and a fresh nonce, signed by a key that is not the device's."""
        assert device_certificate is not None
        claims: dict[str, Any] = {"aud": audience, "iss": client_id, "client_id": client_id, "request_nonce": nonce}
        claims |= {"iat": int(now.timestamp()), "exp": int(now.timestamp()) + 300}
        certificate = base64.b64encode(device_certificate).decode()
        forged.append(jwt.encode(claims, forger.private_key, algorithm="RS256", headers={"x5c": [certificate]}))
        return forged[-1]

    forged: list[str] = []
    stolen = world.reload("honest", sign_proof=forge)
    blocked = stolen.sign_in(EXCHANGE_SCOPE, interactive=True, password=world.tenant.user.password)
    assert len(forged) == 1, "the forged proof was sent"
    assert isinstance(blocked, SignInBlocked), blocked
    assert (blocked.error_code, blocked.remediation) == (50097, HUB_LINK)
    assert blocked.description.startswith("AADSTS50097")


def test_blocked_sign_ins_say_where_to_go_next(world: World) -> None:
    require_compliant_device_for_exchange(world)
    unregistered = world.new_agent("unregistered", DevicePlatform.ANDROID)
    unregistered.enrol(world.enrolment_token(DevicePlatform.ANDROID), world.mdm_user_name)
    blocked = unregistered.sign_in(
        EXCHANGE_SCOPE, interactive=True, username=world.tenant.user.upn, password=world.tenant.user.password
    )
    assert isinstance(blocked, SignInBlocked) and blocked.error_code == 50097
    assert blocked.remediation == unregistered.registration_link() == HUB_LINK

    registered = enrolled_and_registered(world, "noncompliant", DevicePlatform.MACOS)
    not_compliant = registered.sign_in(EXCHANGE_SCOPE, interactive=False)
    assert isinstance(not_compliant, SignInBlocked) and not_compliant.error_code == 53000
    page = f"{world.mdm.url}/compliance/{registered.state.mdm_device_id}?t="
    assert not_compliant.remediation is not None and not_compliant.remediation.startswith(page)
    opened = httpx.get(not_compliant.remediation, timeout=10)  # the signed link opens the device's page
    assert opened.status_code == 200 and str(registered.state.mdm_device_id) in opened.text
    assert registered.state.refresh_token is not None, "a refused sign-in does not spend the refresh token"

    mark_compliant(world, str(registered.state.entra_device_id), True)
    granted = registered.sign_in(EXCHANGE_SCOPE, interactive=False)
    assert isinstance(granted, TokenResponse), granted
    assert claims_of(granted.access_token)["deviceid"] == registered.state.entra_device_id


def test_a_windows_device_joins_with_its_mdm_application(world: World) -> None:
    mdm_app_id = add_mdm_application(world, "all")
    agent = world.new_agent("surface", DevicePlatform.WINDOWS)
    agent.enrol(world.enrolment_token(DevicePlatform.WINDOWS), world.mdm_user_name)
    registration = agent.register(HUB_LINK, world.tenant.user.upn, world.tenant.user.password, mdm_app_id=mdm_app_id)
    row = directory_device(world, registration.entra_device_id)
    assert (registration.trust_type, row.trust_type, row.mdm_app_id, row.operating_system) == (
        "AzureAd",
        "AzureAd",
        mdm_app_id,
        "Windows",
    )


def test_interactive_sign_in_without_a_password_needs_the_user(world: World) -> None:
    agent = enrolled_and_registered(world, "fresh")
    agent.close()
    restarted = world.reload("fresh")  # a new process: no browser session with the directory
    with pytest.raises(InteractionRequiredError):
        restarted.sign_in(EXCHANGE_SCOPE, interactive=True)


def test_a_wrong_password_stops_registration(world: World) -> None:
    agent = world.new_agent("typo", DevicePlatform.IOS)
    agent.enrol(world.enrolment_token(DevicePlatform.IOS), world.mdm_user_name)
    with pytest.raises(SignInError, match="refused the sign-in"):
        agent.register(HUB_LINK, world.tenant.user.upn, "not-the-password")
    assert agent.state.entra_device_id is None and agent.state.device_key_pem is None


class MdmDownForTheCallback(httpx.BaseTransport):
    """The real MDM, except that the first registration callback cannot reach it."""

    def __init__(self) -> None:
        self.real = httpx.HTTPTransport()
        self.dropped = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and request.url.path.endswith("/device/entraDeviceId") and not self.dropped:
            self.dropped += 1
            raise httpx.ConnectError("the MDM is unreachable", request=request)
        return self.real.handle_request(request)

    def close(self) -> None:
        self.real.close()


def test_a_lost_registration_callback_is_kept_and_sent_again(world: World) -> None:
    transport = MdmDownForTheCallback()
    agent = world.new_agent("offline", DevicePlatform.IOS, mdm_transport=transport)
    agent.enrol(world.enrolment_token(DevicePlatform.IOS), world.mdm_user_name)
    with pytest.raises(MdmApiError):
        agent.register(HUB_LINK, world.tenant.user.upn, world.tenant.user.password)
    assert transport.dropped == 1
    device_id = str(agent.state.mdm_device_id)
    assert world.admin.get_device(device_id).entra_device_id is None

    restarted = world.reload("offline")
    assert restarted.state.entra_device_id is not None and not restarted.state.entra_device_id_reported
    assert restarted.report_registration().entra_device_id == restarted.state.entra_device_id
    assert world.admin.get_device(device_id).entra_device_id == restarted.state.entra_device_id
    assert world.reload("offline").state.entra_device_id_reported
