"""Every platform's registration and sign-in path, and the MDM user scope that decides a Windows join.

The Windows join follows the tenant's mobility (MDM) policy for the MDM application named at join, as the
portal's "MDM user scope" does (graph-facts.md §8): all users, the members of selected groups, or nobody.
"""

from __future__ import annotations

import uuid

import jwt
import pytest

from posturebridge.common.clock import utcnow
from posturebridge.device.agent import DevicePlatform, RegistrationError, TokenResponse
from posturebridge.directory.models import Group, GroupMember
from tests.integration.device.conftest import EXCHANGE_SCOPE, World, add_mdm_application
from tests.integration.device.test_agent import HUB_LINK, directory_device

pytestmark = pytest.mark.integration

TRUST = {DevicePlatform.WINDOWS: "AzureAd"}
OPERATING_SYSTEM = {
    DevicePlatform.IOS: "iOS",
    DevicePlatform.IPADOS: "iPadOS",
    DevicePlatform.ANDROID: "Android",
    DevicePlatform.MACOS: "macOS",
    DevicePlatform.WINDOWS: "Windows",
    DevicePlatform.LINUX: "Linux",
}


def _device_of(token: TokenResponse) -> str:
    claims = jwt.decode(token.access_token, options={"verify_signature": False})
    return str(claims.get("deviceid"))


@pytest.mark.parametrize("platform", list(DevicePlatform))
def test_each_platform_registers_and_signs_in_from_the_device(world: World, platform: DevicePlatform) -> None:
    mdm_app_id = add_mdm_application(world, "all") if platform is DevicePlatform.WINDOWS else None
    agent = world.new_agent(platform.value, platform)
    agent.enrol(world.enrolment_token(platform), world.mdm_user_name)
    registration = agent.register(HUB_LINK, world.tenant.user.upn, world.tenant.user.password, mdm_app_id=mdm_app_id)
    row = directory_device(world, registration.entra_device_id)
    assert (row.trust_type, row.operating_system, row.mdm_app_id) == (
        TRUST.get(platform, "Workplace"),
        OPERATING_SYSTEM[platform],
        mdm_app_id,
    )
    assert world.admin.get_device(str(agent.state.mdm_device_id)).entra_device_id == registration.entra_device_id

    interactive = agent.sign_in(EXCHANGE_SCOPE, interactive=True, password=world.tenant.user.password)
    assert isinstance(interactive, TokenResponse), interactive
    silent = agent.sign_in(EXCHANGE_SCOPE, interactive=False)
    assert isinstance(silent, TokenResponse), silent
    assert _device_of(interactive) == _device_of(silent) == registration.entra_device_id


def _group_with(world: World, member: str | None) -> str:
    with world.directory.session() as session:
        group = Group(
            id=str(uuid.uuid4()),
            tenant_id=world.tenant.id,
            display_name="Windows pilot",
            mail_nickname="winpilot",
            security_enabled=True,
            mail_enabled=False,
            created_date_time=utcnow(),
        )
        session.add(group)
        session.flush()
        if member is not None:
            session.add(GroupMember(group_id=group.id, member_id=member, member_type="user"))
        session.commit()
        return group.id


@pytest.mark.parametrize(
    ("scope", "in_group", "allowed"),
    [
        ("all", False, True),
        ("selected", True, True),
        ("selected", False, False),
        ("none", False, False),
    ],
)
def test_the_mdm_user_scope_decides_who_may_join_through_the_mdm_application(
    world: World, scope: str, in_group: bool, allowed: bool
) -> None:
    groups = [_group_with(world, world.tenant.user.id if in_group else None)] if scope == "selected" else []
    mdm_app_id = add_mdm_application(world, scope, groups)
    agent = world.new_agent(f"pc-{scope}-{in_group}", DevicePlatform.WINDOWS)
    agent.enrol(world.enrolment_token(DevicePlatform.WINDOWS), world.mdm_user_name)
    if allowed:
        registration = agent.register(
            HUB_LINK, world.tenant.user.upn, world.tenant.user.password, mdm_app_id=mdm_app_id
        )
        assert directory_device(world, registration.entra_device_id).mdm_app_id == mdm_app_id
        return
    with pytest.raises(RegistrationError, match="MDM user scope") as refused:
        agent.register(HUB_LINK, world.tenant.user.upn, world.tenant.user.password, mdm_app_id=mdm_app_id)
    assert refused.value.status_code == 403
    assert agent.state.entra_device_id is None, "a refused join leaves the device unregistered"


def test_an_application_that_is_not_an_mdm_application_cannot_be_joined_through(world: World) -> None:
    agent = world.new_agent("pc-unknown", DevicePlatform.WINDOWS)
    agent.enrol(world.enrolment_token(DevicePlatform.WINDOWS), world.mdm_user_name)
    with pytest.raises(RegistrationError, match="not an MDM application"):
        agent.register(
            HUB_LINK,
            world.tenant.user.upn,
            world.tenant.user.password,
            mdm_app_id="0000000a-0000-0000-c000-000000000000",
        )
