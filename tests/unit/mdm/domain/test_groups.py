from __future__ import annotations

from typing import Any

import pytest

from posturebridge.mdm.domain import (
    Ownership,
    Platform,
    SmartGroup,
    ValidationError,
    device_group_ids,
    is_member,
    parse_os_version,
    policies_for_device,
)

from .factories import make_device, make_policy

GROUP: dict[str, Any] = {
    "id": "sg-corp-apple",
    "name": "Corporate Apple phones on iOS 17",
    "platforms": ["iOS", "iPadOS"],
    "ownerships": ["corporate", "shared"],
    "osVersions": [{"platform": "iOS", "minimum": "17.0", "maximum": "17.99"}],
    "models": ["iPhone15,2", "iPad13,4"],
    "userGroups": ["grp-staff", "grp-contractors"],
}


def group(**changes: Any) -> SmartGroup:
    return SmartGroup.from_dict({**GROUP, **changes})


@pytest.mark.parametrize(
    ("device_changes", "member", "reason"),
    [
        ({}, True, ""),
        ({"ownership": Ownership.SHARED}, True, ""),
        ({"ownership": Ownership.EMPLOYEE_OWNED}, False, "ownership employeeOwned"),
        ({"os_version": parse_os_version(Platform.IOS, "16.7")}, False, "OS version 16.7 is outside"),
        ({"os_version": parse_os_version(Platform.IOS, "18.0")}, False, "OS version 18.0 is outside"),
        ({"os_version": parse_os_version(Platform.IOS, "17.99")}, True, ""),
        ({"os_version": None}, False, "OS version unknown"),
        ({"model": "IPHONE15,2"}, True, ""),
        ({"model": "iPhone12,1"}, False, "model iPhone12,1"),
        ({"user_group_ids": frozenset({"grp-contractors"})}, True, ""),
        ({"user_group_ids": frozenset()}, False, "none of the group's user groups"),
    ],
)
def test_smart_group_membership_needs_every_criterion(
    device_changes: dict[str, Any], member: bool, reason: str
) -> None:
    device = make_device(Platform.IOS, **device_changes)
    assert is_member(device, group()) is member
    assert reason in " ".join(group().mismatches(device))


def test_a_device_of_another_platform_is_not_a_member() -> None:
    android = make_device(Platform.ANDROID, model="iPhone15,2")
    assert group().mismatches(android)[0] == "platform Android is not one of the group's platforms"


def test_an_ipad_matches_an_ios_version_range() -> None:
    ipad = make_device(Platform.IPADOS, os_version=parse_os_version(Platform.IPADOS, "17.2"))
    assert is_member(ipad, group())


def test_a_smart_group_without_criteria_holds_every_device() -> None:
    everyone = SmartGroup.from_dict({"id": "sg-all", "name": "All devices"})
    assert all(is_member(make_device(p), everyone) for p in Platform)


@pytest.mark.parametrize(
    ("ranges", "version", "member"),
    [
        ([{"platform": "windows", "minimum": "10.0.22000"}], "10.0.22631.3007", True),
        ([{"platform": "windows", "minimum": "10.0.22000"}], "10.0.19045.4291", False),
        ([{"platform": "windows", "maximum": "10.0.19045.9999"}], "10.0.19045.4291", True),
        (
            [
                {"platform": "windows", "maximum": "10.0.19045.9999"},
                {"platform": "windows", "minimum": "10.0.26100"},
            ],
            "10.0.26100.1",
            True,
        ),
    ],
)
def test_os_version_ranges_are_inclusive_and_alternatives(
    ranges: list[dict[str, Any]], version: str, member: bool
) -> None:
    smart_group = SmartGroup.from_dict({"id": "sg-win", "name": "Windows", "osVersions": ranges})
    device = make_device(Platform.WINDOWS, os_version=parse_os_version(Platform.WINDOWS, version))
    assert is_member(device, smart_group) is member


def test_a_smart_group_round_trips_through_its_dict() -> None:
    assert SmartGroup.from_dict(group().to_dict()) == group()


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"platforms": ["iOS", "symbian"]}, "platforms"),
        ({"ownerships": ["rented"]}, "ownerships"),
        ({"osVersions": [{"platform": "iOS", "minimum": "99"}]}, "osVersions[0].minimum"),
        (
            {"osVersions": [{"platform": "iOS", "minimum": "17.2", "maximum": "17.1"}]},
            "osVersions[0].maximum",
        ),
        ({"osVersions": [{"minimum": "17.2"}]}, "osVersions[0].platform"),
        ({"name": None}, "name"),
        ({"criteria": {}}, "criteria"),
    ],
)
def test_an_invalid_smart_group_names_the_field(changes: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        group(**changes)
    assert path in {e.path for e in caught.value.errors}


# --- assignment --------------------------------------------------------------------------------

SMART = SmartGroup.from_dict({"id": "sg-corporate", "name": "Corporate", "ownerships": ["corporate"]})
TO_STAFF = make_policy(id="to-staff", assignment={"includeGroups": ["grp-staff"]})
TO_SMART = make_policy(id="to-smart", assignment={"includeGroups": ["sg-corporate"]})
TO_ALL = make_policy(id="to-all", assignment={"allDevices": True})
TO_ALL_BUT_SMART = make_policy(id="to-all-but", assignment={"allDevices": True, "excludeGroups": ["sg-corporate"]})
TO_STAFF_BUT_STAFF = make_policy(
    id="in-and-out", assignment={"includeGroups": ["grp-staff"], "excludeGroups": ["grp-staff"]}
)
TO_NOBODY = make_policy(id="unassigned", assignment={})
WINDOWS_TO_ALL = make_policy(Platform.WINDOWS, rules=[{"type": "bitLockerEnabled"}], id="win")
IPADOS_TO_ALL = make_policy(Platform.IPADOS, id="ipad")
ALL_POLICIES = [
    TO_STAFF,
    TO_SMART,
    TO_ALL,
    TO_ALL_BUT_SMART,
    TO_STAFF_BUT_STAFF,
    TO_NOBODY,
    WINDOWS_TO_ALL,
    IPADOS_TO_ALL,
]


@pytest.mark.parametrize(
    ("device_changes", "expected"),
    [
        ({}, ["to-staff", "to-smart", "to-all"]),
        ({"ownership": Ownership.EMPLOYEE_OWNED}, ["to-staff", "to-all", "to-all-but"]),
        ({"user_group_ids": frozenset(), "ownership": Ownership.SHARED}, ["to-all", "to-all-but"]),
    ],
)
def test_policies_apply_by_group_and_smart_group_and_exclusion_wins(
    device_changes: dict[str, Any], expected: list[str]
) -> None:
    device = make_device(Platform.IOS, **device_changes)
    assert [p.id for p in policies_for_device(device, ALL_POLICIES, [SMART])] == expected


def test_an_ipad_gets_ios_and_ipados_policies() -> None:
    ipad = make_device(Platform.IPADOS)
    applied = [p.id for p in policies_for_device(ipad, ALL_POLICIES, {SMART.id: SMART})]
    assert applied == ["to-staff", "to-smart", "to-all", "ipad"]


def test_a_device_belongs_to_its_user_groups_and_its_smart_groups() -> None:
    device = make_device(Platform.IOS)
    assert device_group_ids(device, [SMART]) == {"grp-staff", "sg-corporate"}
