from __future__ import annotations

import pytest

from posturebridge.mdm.domain import Platform, RuleOutcome, parse_os_version

from .cases import RuleCase, assert_case

P, F, E = RuleOutcome.PASSED, RuleOutcome.FAILED, RuleOutcome.ERROR
IOS, WIN = Platform.IOS, Platform.WINDOWS


def v(platform: Platform, text: str) -> dict[str, object]:
    return {"os_version": parse_os_version(platform, text)}


CASES = [
    RuleCase("minimum_met", IOS, {"type": "osMinimumVersion", "version": "17.0"}, P, "meets the minimum 17.0"),
    RuleCase("minimum_equal_passes", IOS, {"type": "osMinimumVersion", "version": "17.4.1"}, P, "meets"),
    RuleCase(
        "minimum_missed",
        IOS,
        {"type": "osMinimumVersion", "version": "17.10"},
        F,
        "17.4.1 is older than the minimum 17.10",
    ),
    RuleCase(
        "minimum_windows_build_revision_missed",
        WIN,
        {"type": "osMinimumVersion", "version": "10.0.22631.3155"},
        F,
        "10.0.22631.3007 is older",
    ),
    RuleCase(
        "minimum_not_reported",
        IOS,
        {"type": "osMinimumVersion", "version": "17.0"},
        E,
        "did not report osVersion",
        sample={"os_version": None},
    ),
    RuleCase("maximum_met", IOS, {"type": "osMaximumVersion", "version": "17.5"}, P, "within the maximum"),
    RuleCase(
        "maximum_exceeded",
        IOS,
        {"type": "osMaximumVersion", "version": "17.4"},
        F,
        "17.4.1 is newer than the maximum allowed 17.4",
    ),
    RuleCase(
        "maximum_android_major",
        Platform.ANDROID,
        {"type": "osMaximumVersion", "version": "13"},
        F,
        "14 is newer",
        sample=v(Platform.ANDROID, "14"),
    ),
    RuleCase(
        "maximum_not_reported",
        IOS,
        {"type": "osMaximumVersion", "version": "17.0"},
        E,
        "did not report osVersion",
        sample={"os_version": None},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_os_version_rules_compare_the_reported_version_with_the_bound(case: RuleCase) -> None:
    assert_case(case)


@pytest.mark.parametrize("rule_type", ["osMinimumVersion", "osMaximumVersion"])
def test_an_impossible_version_bound_is_refused_for_the_policy_platform(rule_type: str) -> None:
    from posturebridge.mdm.domain import RULE_TYPES, ValidationError

    with pytest.raises(ValidationError) as caught:
        RULE_TYPES.parse({"type": rule_type, "version": "99.0"}, Platform.IOS, "rules[0]")
    assert caught.value.errors[0].path == "rules[0].version"
    assert "iOS 99 does not exist" in caught.value.errors[0].message
