from __future__ import annotations

import copy
from typing import Any

import pytest

from posturebridge.mdm.domain import (
    ActionType,
    CompliancePolicy,
    FailWhen,
    Platform,
    ScheduledAction,
    ValidationError,
)
from posturebridge.mdm.domain.rules import OsMinimumVersion, SecureBootEnabled

from .factories import make_policy

DOCUMENT: dict[str, Any] = {
    "id": "pol-ios",
    "displayName": "iOS baseline",
    "description": "Corporate iPhones and iPads",
    "platform": "iOS",
    "failWhen": "anyRuleFails",
    "rules": [
        {"type": "osMinimumVersion", "version": "17.0"},
        {"type": "passcodeComplexity", "minimumComplexity": "medium"},
        {"type": "securityBlockJailbrokenDevices"},
        {"type": "restrictedApps", "apps": ["com.example.torrent"]},
    ],
    "scheduledActions": [
        {"actionType": "notification", "gracePeriodHours": 0},
        {"actionType": "block", "gracePeriodHours": 72},
        {"actionType": "notification", "gracePeriodHours": 48},
    ],
    "assignment": {"includeGroups": ["grp-staff"], "excludeGroups": ["grp-kiosk"], "allDevices": False},
}


def errors_of(document: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        CompliancePolicy.from_dict(document)
    return {e.path: e.message for e in caught.value.errors}


def with_changes(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(DOCUMENT)
    document.update(changes)
    return document


def test_a_policy_document_builds_a_policy() -> None:
    policy = CompliancePolicy.from_dict(DOCUMENT)
    assert policy.platform is Platform.IOS
    assert [r.rule_type for r in policy.rules] == [
        "osMinimumVersion",
        "passcodeComplexity",
        "securityBlockJailbrokenDevices",
        "restrictedApps",
    ]
    assert policy.grace_period.total_seconds() == 72 * 3600
    assert policy.assignment.include_groups == {"grp-staff"}


def test_a_policy_round_trips_through_its_dict() -> None:
    policy = CompliancePolicy.from_dict(DOCUMENT)
    again = CompliancePolicy.from_dict(policy.to_dict())
    assert again == policy
    assert again.to_dict() == policy.to_dict()


def test_the_escalation_schedule_is_kept_in_time_order() -> None:
    policy = CompliancePolicy.from_dict(DOCUMENT)
    assert [a.key for a in policy.scheduled_actions] == ["notification@0h", "notification@48h", "block@72h"]


def test_without_a_schedule_the_device_is_marked_noncompliant_at_once() -> None:
    document = with_changes()
    del document["scheduledActions"]
    policy = CompliancePolicy.from_dict(document)
    assert policy.scheduled_actions == (ScheduledAction(ActionType.BLOCK, 0),)
    assert policy.grace_period.total_seconds() == 0


def test_defaults_fill_the_optional_fields() -> None:
    policy = CompliancePolicy.from_dict(
        {"id": "p", "displayName": "P", "platform": "linux", "rules": [{"type": "passcodeRequired"}]}
    )
    assert policy.fail_when is FailWhen.ANY_RULE_FAILS
    assert policy.description == ""
    assert not policy.assignment.all_devices
    assert CompliancePolicy.from_dict(policy.to_dict()) == policy


def test_a_rule_of_the_wrong_platform_is_a_validation_error_on_the_policy() -> None:
    document = with_changes(rules=[{"type": "passcodeRequired"}, {"type": "bitLockerEnabled"}])
    assert errors_of(document) == {"rules[1].type": "bitLockerEnabled does not apply to iOS (only Windows)"}


def test_a_rule_of_the_wrong_platform_is_refused_when_built_directly_too() -> None:
    with pytest.raises(ValidationError, match=r"rules\[0\]\.type: secureBootEnabled does not apply to macOS"):
        CompliancePolicy("p", "P", Platform.MACOS, (SecureBootEnabled(),))


def test_every_problem_in_a_policy_is_reported_with_its_path() -> None:
    document = with_changes(
        displayName="",
        rules=[
            {"type": "osMinimumVersion", "version": "99"},
            {"type": "fileVaultEnabled"},
            {"type": "nope"},
        ],
        scheduledActions=[{"actionType": "explode"}, {"actionType": "block", "gracePeriodHours": -1}],
        assignment={"includeGroups": "grp"},
        colour="blue",
    )
    errors = errors_of(document)
    assert set(errors) == {
        "displayName",
        "rules[0].version",
        "rules[1].type",
        "rules[2].type",
        "scheduledActions[0].actionType",
        "scheduledActions[1].gracePeriodHours",
        "assignment.includeGroups",
        "colour",
    }
    assert "iOS 99 does not exist" in errors["rules[0].version"]


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"platform": "blackberry"}, "platform", "not one of"),
        ({"rules": []}, "rules", "at least one rule"),
        ({"rules": None}, "rules", "is required"),
        ({"rules": {"type": "passcodeRequired"}}, "rules", "must be a list"),
        ({"rules": ["passcodeRequired"]}, "rules[0]", "expected an object"),
        ({"failWhen": "sometimes"}, "failWhen", "not one of"),
        (
            {"scheduledActions": [{"actionType": "notification"}]},
            "scheduledActions",
            "exactly one block action",
        ),
        (
            {"scheduledActions": [{"actionType": "block"}, {"actionType": "block", "gracePeriodHours": 5}]},
            "scheduledActions",
            "exactly one block action (mark device noncompliant), found 2",
        ),
        (
            {
                "scheduledActions": [
                    {"actionType": "block"},
                    {"actionType": "notification", "gracePeriodHours": 5},
                    {"actionType": "notification", "gracePeriodHours": 5},
                ]
            },
            "scheduledActions",
            "notification@5h is scheduled twice",
        ),
        (
            {"scheduledActions": [{"actionType": "block", "gracePeriodHours": 365 * 24 + 1}]},
            "scheduledActions[0].gracePeriodHours",
            "between 0 and 8760",
        ),
        (
            {"rules": [{"type": "passcodeRequired"}, {"type": "passcodeRequired"}]},
            "rules[1].type",
            "appears twice (first at rules[0])",
        ),
    ],
)
def test_an_invalid_policy_names_the_field(changes: dict[str, Any], path: str, message: str) -> None:
    errors = errors_of(with_changes(**changes))
    assert path in errors, errors
    assert message in errors[path]


def test_a_policy_document_must_be_an_object() -> None:
    assert errors_of("policy") == {"": "expected an object"}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("policy_platform", "device_platform", "applies"),
    [
        (Platform.IOS, Platform.IOS, True),
        (Platform.IOS, Platform.IPADOS, True),
        (Platform.IPADOS, Platform.IPADOS, True),
        (Platform.IPADOS, Platform.IOS, False),
        (Platform.IOS, Platform.MACOS, False),
        (Platform.WINDOWS, Platform.LINUX, False),
    ],
)
def test_a_policy_applies_to_its_platform_and_ios_policies_cover_ipados(
    policy_platform: Platform, device_platform: Platform, applies: bool
) -> None:
    assert make_policy(policy_platform).applies_to(device_platform) is applies


def test_a_policy_finds_its_rule_by_type() -> None:
    policy = CompliancePolicy.from_dict(DOCUMENT)
    rule = policy.rule("osMinimumVersion")
    assert isinstance(rule, OsMinimumVersion)
    assert str(rule.version) == "17.0"
    assert policy.rule("fileVaultEnabled") is None
