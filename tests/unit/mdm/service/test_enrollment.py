"""Enrolment: a token becomes a device with a credential, its first verdict and feed entries; bad input
is refused with the field named and nothing stored."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.mdm.models import DeviceRow, FeedEntry
from posturebridge.mdm.service import credentials, enrollment
from posturebridge.mdm.service.errors import BadRequest, Forbidden, MdmError, NotFound, Unauthenticated
from tests.unit.mdm.world import NOW, World


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    world = World(sessions, NOW)
    world.organisation()
    world.policy()
    return world


def test_enrolment_records_identifiers_and_first_transitions(world: World) -> None:
    user_id = world.user("alice")
    enrolled = world.enroll(
        "android", "14", model="Pixel 8", serial_number="SN1", udid="U1", imei="490154203237518", user_name="alice"
    )
    device = world.device(enrolled.device.id)
    assert (device.platform, device.os_version, device.serial_number, device.imei) == (
        "android",
        "14",
        "SN1",
        "490154203237518",
    )
    assert device.user_id == user_id
    assert device.enrollment_status == "enrolled"
    assert device.entra_device_id is None
    assert [(e.kind, e.previous_value, e.value) for e in world.feed()] == [
        ("enrollmentStatusChanged", None, "enrolled"),
        ("complianceStateChanged", None, "notApplicable"),
    ]
    principal = world.run(lambda s: credentials.authenticate_device(s, enrolled.device_token), commit=False)
    assert principal.device_id == enrolled.device.id


def test_ios_device_without_sample_is_not_evaluated(world: World) -> None:
    enrolled = world.enroll("iOS", "17.4")
    assert world.device(enrolled.device.id).compliance_state == "notEvaluated"
    assert world.device(enrolled.device.id).is_compliant is False


@pytest.mark.parametrize(
    ("fields", "error", "target"),
    [
        ({"platform": "blackberry"}, BadRequest, "platform"),
        ({"platform": "iOS", "os_version": "19.0"}, BadRequest, "osVersion"),
        ({"platform": "windows", "os_version": "11"}, BadRequest, "osVersion"),
        ({"platform": "macOS", "os_version": "14.5", "imei": "490154203237518"}, BadRequest, "imei"),
        ({"platform": "android", "os_version": "14", "imei": "490154203237519"}, BadRequest, "imei"),
        ({"platform": "iOS", "os_version": "17.4", "model": " "}, BadRequest, "model"),
        ({"platform": "iOS", "os_version": "17.4", "ownership": "rented"}, BadRequest, "ownership"),
        ({"platform": "iOS", "os_version": "17.4", "user_name": "nobody"}, NotFound, "userName"),
    ],
)
def test_bad_enrolment_names_the_field_and_stores_nothing(
    world: World, fields: dict[str, str], error: type[MdmError], target: str
) -> None:
    token = world.token()
    fields = dict(fields)
    request = enrollment.EnrollmentRequest(
        enrollment_token=token,
        platform=fields.pop("platform"),
        model=fields.pop("model", "m"),
        **fields,  # type: ignore[arg-type]
    )
    with pytest.raises(error) as raised:
        world.run(lambda s: enrollment.enroll(s, request, NOW, world.cache))
    assert raised.value.target == target
    assert world.count(DeviceRow) == 0
    assert world.count(FeedEntry) == 0


def test_unknown_expired_and_used_up_tokens_are_refused(world: World) -> None:
    def attempt(token: str, at: dt.datetime = NOW) -> None:
        request = enrollment.EnrollmentRequest(enrollment_token=token, platform="iOS", model="m", os_version="17.4")
        world.run(lambda s: enrollment.enroll(s, request, at, world.cache))

    with pytest.raises(Unauthenticated) as unknown:
        attempt("pbe_not-a-token")
    assert unknown.value.code == "invalidEnrollmentToken"
    short = world.run(lambda s: enrollment.create_token(s, world.organisation_id, NOW, expires_in_hours=1)).token
    with pytest.raises(Unauthenticated, match="expired"):
        attempt(short, NOW + dt.timedelta(hours=1))
    once = world.token()
    attempt(once)
    with pytest.raises(Unauthenticated, match="used as often"):
        attempt(once)
    assert world.count(DeviceRow) == 1


def test_a_token_for_one_platform_refuses_another(world: World) -> None:
    token = world.run(lambda s: enrollment.create_token(s, world.organisation_id, NOW, platform="android")).token
    request = enrollment.EnrollmentRequest(enrollment_token=token, platform="iOS", model="m", os_version="17.4")
    with pytest.raises(BadRequest) as raised:
        world.run(lambda s: enrollment.enroll(s, request, NOW, world.cache))
    assert raised.value.target == "platform"


def test_an_unenrolled_device_credential_stops_working(world: World) -> None:
    from posturebridge.mdm.domain import EnrollmentStatus
    from posturebridge.mdm.service import devices

    enrolled = world.enroll()
    world.run(
        lambda s: devices.change_enrollment_status(
            s, world.organisation_id, enrolled.device.id, EnrollmentStatus.UNENROLLED, NOW, world.cache
        )
    )
    with pytest.raises(Forbidden):
        world.run(lambda s: credentials.authenticate_device(s, enrolled.device_token), commit=False)
    assert world.entries_of(enrolled.device.id, "enrollmentStatusChanged")[-1] == ("enrolled", "unenrolled")
    assert world.entries_of(enrolled.device.id)[-1] == ("notEvaluated", "noncompliant")


def test_imei_check_digit() -> None:
    assert enrollment.is_valid_imei("490154203237518")
    assert not enrollment.is_valid_imei("490154203237517")
    assert not enrollment.is_valid_imei("49015420323751")
