from __future__ import annotations

import pytest

from posturebridge.mdm.domain import PasscodeComplexity, Platform, RuleOutcome

from .cases import RuleCase, assert_case

P, F, E = RuleOutcome.PASSED, RuleOutcome.FAILED, RuleOutcome.ERROR
COMPLEXITY = {"type": "passcodeComplexity", "minimumComplexity": "medium"}

CASES = [
    RuleCase("required_present", Platform.IOS, {"type": "passcodeRequired"}, P, "a passcode is set"),
    RuleCase(
        "required_absent",
        Platform.ANDROID,
        {"type": "passcodeRequired"},
        F,
        "no passcode is set",
        sample={"passcode_present": False},
    ),
    RuleCase(
        "required_not_reported",
        Platform.LINUX,
        {"type": "passcodeRequired"},
        E,
        "passcodePresent",
        sample={"passcode_present": None},
    ),
    RuleCase("complexity_higher_passes", Platform.ANDROID, COMPLEXITY, P, "high meets the minimum medium"),
    RuleCase(
        "complexity_equal_passes",
        Platform.ANDROID,
        COMPLEXITY,
        P,
        "medium meets",
        sample={"passcode_complexity": PasscodeComplexity.MEDIUM},
    ),
    RuleCase(
        "complexity_lower_fails",
        Platform.ANDROID,
        COMPLEXITY,
        F,
        "low is below the minimum medium",
        sample={"passcode_complexity": PasscodeComplexity.LOW},
    ),
    RuleCase(
        "complexity_without_passcode_fails",
        Platform.IOS,
        COMPLEXITY,
        F,
        "no passcode is set",
        sample={"passcode_present": False, "passcode_complexity": None},
    ),
    RuleCase(
        "complexity_not_reported",
        Platform.IOS,
        COMPLEXITY,
        E,
        "passcodeComplexity",
        sample={"passcode_complexity": None},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_passcode_rules_require_a_passcode_of_enough_complexity(case: RuleCase) -> None:
    assert_case(case)
