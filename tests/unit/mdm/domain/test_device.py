from __future__ import annotations

import datetime as dt

import pytest

from posturebridge.mdm.domain import Device, EnrollmentStatus, Platform, ValidationError

from .factories import HOUR, NOW, make_device


def test_a_device_round_trips_through_its_dict() -> None:
    device = make_device(Platform.WINDOWS)
    assert Device.from_dict(device.to_dict()) == device


def test_last_contact_is_the_last_check_in_or_else_the_enrolment() -> None:
    assert make_device(last_seen_at=NOW - HOUR).last_contact == NOW - HOUR
    assert make_device(last_seen_at=None, enrolled_at=NOW - 5 * HOUR).last_contact == NOW - 5 * HOUR


def test_only_an_enrolled_device_is_enrolled() -> None:
    assert make_device().is_enrolled
    assert not make_device(enrollment_status=EnrollmentStatus.WIPED).is_enrolled


def test_a_device_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_device(enrolled_at=dt.datetime(2024, 1, 1))


def test_a_device_document_is_validated_against_its_platform() -> None:
    document = make_device(Platform.ANDROID).to_dict()
    document["osVersion"] = "99"
    document["ownership"] = "leased"
    with pytest.raises(ValidationError) as caught:
        Device.from_dict(document)
    assert {e.path for e in caught.value.errors} == {"osVersion", "ownership"}
