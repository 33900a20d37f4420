"""Inventory queries and changes: filters and paging, the Entra device ID from registration, users,
groups and smart groups deciding assignments, settings, credentials, the CA log and notifications."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.mdm.domain import ImmutableIdMissingError, ValidationError
from posturebridge.mdm.service import credentials, device_logs, devices, directory, policies, settings
from posturebridge.mdm.service.devices import DeviceFilter
from posturebridge.mdm.service.errors import BadRequest, Conflict, NotFound, OAuthError, Unauthenticated
from tests.unit.mdm.world import IOS_POLICY, NOW, World

HOUR = dt.timedelta(hours=1)
ENTRA_ID = "0f4a0c1e-2f8b-4c57-9a2b-1d3e5f708192"


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    world = World(sessions, NOW)
    world.organisation()
    world.policy()
    return world


def _ids(world: World, **criteria: Any) -> set[str]:
    page = world.run(
        lambda s: devices.list_devices(s, world.organisation_id, DeviceFilter(**criteria), 0, 500), commit=False
    )
    return {d.device.id for d in page.devices}


def test_filters_combine_and_pages_cover_everything(world: World) -> None:
    world.user("alice")
    ios = world.enroll("iOS", "17.4", user_name="alice").device.id
    android = world.enroll("android", "14", model="Pixel 8", ownership="employeeOwned").device.id
    mac = world.enroll("macOS", "14.5", model="MacBookPro18,3").device.id
    world.check_in(ios, world.sample("17.4"), NOW + HOUR)
    world.run(lambda s: devices.set_entra_device_id(s, world.organisation_id, mac, ENTRA_ID, NOW))
    assert _ids(world, platform="iOS") == {ios}
    assert _ids(world, ownership="employeeOwned") == {android}
    assert _ids(world, compliance_state="compliant") == {ios}
    assert _ids(world, user_name="alice") == {ios}
    assert _ids(world, registered_in_entra=True) == {mac}
    assert _ids(world, registered_in_entra=False) == {ios, android}
    assert _ids(world, last_seen_after=NOW + HOUR) == {ios}
    assert _ids(world, last_seen_before=NOW + HOUR) == {android, mac}
    pages = [
        world.run(lambda s, p=p: devices.list_devices(s, world.organisation_id, DeviceFilter(), p, 2), commit=False)
        for p in range(2)
    ]
    assert [len(p.devices) for p in pages] == [2, 1] and pages[0].total == 3
    assert {d.device.id for p in pages for d in p.devices} == {ios, android, mac}


@pytest.mark.parametrize(
    ("criteria", "target"),
    [({"platform": "symbian"}, "platform"), ({"compliance_state": "good"}, "complianceState")],
)
def test_unknown_filter_values_name_the_parameter(world: World, criteria: dict[str, str], target: str) -> None:
    with pytest.raises(BadRequest) as raised:
        _ids(world, **criteria)
    assert raised.value.target == target


def test_the_entra_device_id_is_recorded_once_and_announced(world: World) -> None:
    first = world.enroll().device.id
    second = world.enroll().device.id
    world.run(lambda s: devices.set_entra_device_id(s, world.organisation_id, first, ENTRA_ID, NOW))
    world.run(lambda s: devices.set_entra_device_id(s, world.organisation_id, first, ENTRA_ID, NOW))
    assert world.entries_of(first, "entraDeviceIdChanged") == [(None, ENTRA_ID)]
    with pytest.raises(Conflict):
        world.run(lambda s: devices.set_entra_device_id(s, world.organisation_id, second, ENTRA_ID, NOW))
    with pytest.raises(BadRequest) as raised:
        world.run(lambda s: devices.set_entra_device_id(s, world.organisation_id, second, "not-a-guid", NOW))
    assert raised.value.target == "entraDeviceId"
    other = world.organisation("Fabrikam").organisation.id
    with pytest.raises(NotFound):
        world.run(lambda s: devices.set_entra_device_id(s, other, first, None, NOW))


def test_smart_groups_and_user_groups_decide_which_policy_applies(world: World) -> None:
    world.run(
        lambda s: [
            policies.delete_policy(s, world.organisation_id, p.id, NOW)
            for p in policies.list_policies(s, world.organisation_id)
        ]
    )
    alice = world.user("alice")
    world.user("bob")
    staff = world.run(lambda s: directory.create_user_group(s, world.organisation_id, "staff", NOW)).id
    corporate = world.run(
        lambda s: policies.create_smart_group(
            s,
            world.organisation_id,
            {"name": "Corporate iPhones", "platforms": ["iOS"], "ownerships": ["corporate"]},
            NOW,
        )
    ).id
    assignment = {"includeGroups": [corporate], "excludeGroups": [staff]}
    world.policy({**IOS_POLICY, "assignment": assignment})
    alices = world.enroll(user_name="alice").device.id
    bobs = world.enroll(user_name="bob").device.id
    personal = world.enroll(ownership="employeeOwned").device.id
    states = {d: world.device(d).compliance_state for d in (alices, bobs, personal)}
    assert states == {alices: "notEvaluated", bobs: "notEvaluated", personal: "notApplicable"}
    world.run(lambda s: directory.add_member(s, world.organisation_id, staff, alice, NOW))
    world.sweep(NOW)
    assert world.device(alices).compliance_state == "notApplicable"
    assert world.device(bobs).compliance_state == "notEvaluated"


def test_policies_are_validated_by_the_domain_and_group_references_checked(world: World) -> None:
    with pytest.raises(ValidationError) as raised:
        world.policy({**IOS_POLICY, "rules": [{"type": "bitLockerEnabled"}]})
    assert raised.value.errors[0].path == "rules[0].type"
    with pytest.raises(BadRequest) as unknown:
        world.policy({**IOS_POLICY, "assignment": {"includeGroups": ["nope"]}})
    assert unknown.value.target == "assignment"


def test_directory_services_and_the_immutable_id(world: World) -> None:
    user = world.user(
        "alice", user_principal_name="alice@contoso.example", object_guid="6f1a7c1e-1d2b-4c3d-8e9f-0a1b2c3d4e5f"
    )
    mapping, value = world.run(lambda s: directory.immutable_id(s, world.organisation_id, user), commit=False)
    assert (mapping.source_name, value) == ("objectGUID", "HnwabysdPUyOnwobLD1OXw==")

    def configure(**changes: Any) -> settings.DirectoryServices:
        values: dict[str, Any] = {
            "entra_integration_enabled": True,
            "directory_id": ENTRA_ID,
            "use_entra_id_for_identity_services": True,
            "tenant_name": "contoso.onmicrosoft.com",
            "immutable_id_mapping": {"attribute": "mail"},
            "send_compliance_for_windows_devices": True,
            **changes,
        }
        return world.run(lambda s: settings.set_directory_services(s, world.organisation_id, now=NOW, **values))

    with pytest.raises(BadRequest) as missing:
        configure(directory_id=None)
    assert missing.value.target == "directoryId"
    with pytest.raises(ValidationError) as bad_mapping:
        configure(immutable_id_mapping={"attribute": "mail", "dataType": "binary"})
    assert bad_mapping.value.errors[0].path == "immutableIdMapping.dataType"
    configure()
    with pytest.raises(ImmutableIdMissingError):
        world.run(lambda s: directory.immutable_id(s, world.organisation_id, user), commit=False)
    request = world.run(lambda s: settings.request_directory_sync(s, world.organisation_id, "admin", NOW))
    [entry] = [e for e in world.feed() if e.kind == "directorySyncRequested"]
    assert entry.value == request.id and entry.payload["directoryId"] == ENTRA_ID
    assert world.run(lambda s: settings.last_directory_sync(s, world.organisation_id), commit=False).id == request.id


def test_directory_sync_needs_the_entra_integration(world: World) -> None:
    with pytest.raises(Conflict):
        world.run(lambda s: settings.request_directory_sync(s, world.organisation_id, "admin", NOW))


def test_intelligence_opt_in_is_recorded_with_its_time(world: World) -> None:
    assert world.run(lambda s: settings.intelligence(s, world.organisation_id), commit=False) == (False, None)
    world.run(lambda s: settings.set_intelligence(s, world.organisation_id, True, NOW))
    assert world.run(lambda s: settings.intelligence(s, world.organisation_id), commit=False) == (True, NOW)


def test_credentials_authenticate_only_their_organisation(world: World) -> None:
    created = world.organisation("Fabrikam")
    token, lifetime = world.run(lambda s: credentials.issue_token(s, created.client.id, created.client.secret, NOW))
    principal = world.run(lambda s: credentials.authenticate_bearer(s, token, NOW), commit=False)
    assert principal.organisation_id == created.organisation.id and lifetime == 3600
    with pytest.raises(Unauthenticated):
        world.run(lambda s: credentials.authenticate_bearer(s, token, NOW + 2 * HOUR), commit=False)
    with pytest.raises(OAuthError):
        world.run(lambda s: credentials.issue_token(s, created.client.id, "wrong", NOW))
    key = world.run(lambda s: credentials.authenticate_api_key(s, created.api_key.secret), commit=False)
    assert key.organisation_id == created.organisation.id
    with pytest.raises(Conflict):
        world.organisation("Fabrikam")


def test_the_ca_log_and_notifications_belong_to_one_device(world: World) -> None:
    device_id = world.enroll().device.id
    fields = device_logs.CaLogFields(NOW, "graph", "PATCH /devices/x isCompliant=true", 204, None, "corr-1")
    world.run(lambda s: device_logs.append_ca_log(s, world.organisation_id, device_id, fields, NOW))
    [entry] = world.run(lambda s: device_logs.ca_log(s, world.organisation_id, device_id), commit=False)
    assert (entry.channel, entry.response_status, entry.correlation_id) == ("graph", 204, "corr-1")
    other = world.organisation("Fabrikam").organisation.id
    with pytest.raises(NotFound):
        world.run(lambda s: device_logs.ca_log(s, other, device_id), commit=False)
    note = world.run(
        lambda s: device_logs.send_notification(
            s,
            world.organisation_id,
            device_id,
            title="Register",
            body="Tap to register",
            deep_link="wsonehub://conditionalaccess?partner=Microsoft",
            priority="urgent",
            now=NOW,
        )
    )
    world.run(lambda s: device_logs.mark_read(s, world.organisation_id, device_id, note.id, NOW + HOUR))
    [read] = world.run(lambda s: device_logs.inbox(s, world.organisation_id, device_id), commit=False)
    assert read.read_at == NOW + HOUR
    assert (
        world.run(lambda s: device_logs.inbox(s, world.organisation_id, device_id, unread_only=True), commit=False)
        == []
    )
