from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from posturebridge.mdm.domain import (
    RULE_TYPES,
    Platform,
    RuleCheck,
    RuleContext,
    RuleOutcome,
    RuleRegistry,
    ValidationError,
)
from posturebridge.mdm.domain.rules import ParameterlessRule

from . import test_apps, test_device_state, test_encryption, test_os_version, test_passcode, test_security

ALL_CASES = [
    *test_apps.CASES,
    *test_device_state.CASES,
    *test_encryption.CASES,
    *test_os_version.CASES,
    *test_passcode.CASES,
    *test_security.CASES,
]

# One valid document per rule type, for the round trip.
EXAMPLES: dict[str, tuple[Platform, dict[str, Any]]] = {
    "osMinimumVersion": (Platform.IOS, {"version": "17.0"}),
    "osMaximumVersion": (Platform.WINDOWS, {"version": "10.0.22631.9999"}),
    "passcodeRequired": (Platform.LINUX, {}),
    "passcodeComplexity": (Platform.ANDROID, {"minimumComplexity": "high"}),
    "storageRequireEncryption": (Platform.IOS, {}),
    "fileVaultEnabled": (Platform.MACOS, {}),
    "bitLockerEnabled": (Platform.WINDOWS, {}),
    "securityBlockJailbrokenDevices": (Platform.ANDROID, {}),
    "activeFirewallRequired": (Platform.MACOS, {}),
    "antivirusRequired": (Platform.WINDOWS, {}),
    "secureBootEnabled": (Platform.WINDOWS, {}),
    "systemIntegrityProtectionEnabled": (Platform.MACOS, {}),
    "mdmProfilePresent": (Platform.IPADOS, {}),
    "restrictedApps": (Platform.IOS, {"apps": ["b.app", "a.app"]}),
    "requiredApps": (Platform.ANDROID, {"apps": ["com.example.vpn"]}),
    "deviceModelAllowList": (Platform.ANDROID, {"models": ["Pixel 8"]}),
    "deviceLastSeen": (Platform.LINUX, {"maximumHours": 72}),
    "securityPatchAge": (Platform.ANDROID, {"maximumDays": 60}),
    "minimumFreeStorage": (Platform.WINDOWS, {"minimumMegabytes": 2048}),
}


@pytest.mark.parametrize("outcome", [RuleOutcome.PASSED, RuleOutcome.FAILED])
def test_every_registered_rule_type_has_cases_for_both_sides(outcome: RuleOutcome) -> None:
    covered = {case.rule["type"] for case in ALL_CASES if case.expected is outcome}
    assert covered == set(RULE_TYPES.names())


def test_every_registered_rule_type_has_a_round_trip_example() -> None:
    assert set(EXAMPLES) == set(RULE_TYPES.names())


@pytest.mark.parametrize("rule_type", sorted(EXAMPLES))
def test_rule_documents_round_trip(rule_type: str) -> None:
    platform, params = EXAMPLES[rule_type]
    rule = RULE_TYPES.parse({"type": rule_type, **params}, platform)
    assert rule.rule_type == rule_type
    assert RULE_TYPES.parse(rule.to_dict(), platform) == rule
    assert rule.requirement


@pytest.mark.parametrize(
    ("rule_type", "platform", "message"),
    [
        ("bitLockerEnabled", Platform.IOS, "bitLockerEnabled does not apply to iOS (only Windows)"),
        ("fileVaultEnabled", Platform.WINDOWS, "does not apply to Windows (only macOS)"),
        ("systemIntegrityProtectionEnabled", Platform.IOS, "only macOS"),
        ("secureBootEnabled", Platform.MACOS, "only Windows"),
        ("antivirusRequired", Platform.LINUX, "only Windows"),
        ("securityBlockJailbrokenDevices", Platform.WINDOWS, "only Android, iOS, iPadOS"),
        ("securityPatchAge", Platform.IOS, "only Android"),
        ("mdmProfilePresent", Platform.LINUX, "does not apply to Linux"),
    ],
)
def test_a_rule_type_of_another_platform_is_refused(rule_type: str, platform: Platform, message: str) -> None:
    params = EXAMPLES[rule_type][1]
    with pytest.raises(ValidationError) as caught:
        RULE_TYPES.parse({"type": rule_type, **params}, platform, "rules[3]")
    assert [e.path for e in caught.value.errors] == ["rules[3].type"]
    assert message in str(caught.value)


def test_an_unknown_rule_type_is_refused_with_the_known_ones_listed() -> None:
    with pytest.raises(ValidationError, match=r"unknown rule type 'osMinimum'.*osMinimumVersion"):
        RULE_TYPES.parse({"type": "osMinimum", "version": "17"}, Platform.IOS)


def test_a_misspelt_rule_parameter_is_refused_rather_than_ignored() -> None:
    with pytest.raises(ValidationError) as caught:
        RULE_TYPES.parse({"type": "deviceLastSeen", "maximumHour": 3}, Platform.IOS, "rules[0]")
    assert {e.path for e in caught.value.errors} == {"rules[0].maximumHours"}
    with pytest.raises(ValidationError) as caught:
        RULE_TYPES.parse({"type": "deviceLastSeen", "maximumHours": 3, "x": 1}, Platform.IOS, "rules[0]")
    assert [e.path for e in caught.value.errors] == ["rules[0].x"]


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"type": "deviceLastSeen", "maximumHours": 0}, "maximumHours"),
        ({"type": "deviceLastSeen", "maximumHours": True}, "maximumHours"),
        ({"type": "passcodeComplexity", "minimumComplexity": "extreme"}, "minimumComplexity"),
        ({"type": "restrictedApps", "apps": ["ok", ""]}, "apps[1]"),
        ({"type": "restrictedApps", "apps": "com.example"}, "apps"),
        ({"type": 7}, "type"),
    ],
)
def test_bad_rule_parameters_name_their_field(document: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RULE_TYPES.parse(document, Platform.ANDROID)
    assert caught.value.errors[0].path == path


def test_a_registry_accepts_new_rule_types_without_touching_the_engine() -> None:
    registry = RuleRegistry()

    @registry.register
    @dataclass(frozen=True)
    class AlwaysFails(ParameterlessRule):
        rule_type = "alwaysFails"
        platforms = frozenset({Platform.LINUX})

        @property
        def requirement(self) -> str:
            return "never satisfied"

        def check(self, context: RuleContext) -> RuleCheck:
            return RuleCheck.failed("by design")

    assert registry.names() == ("alwaysFails",)
    assert isinstance(registry.parse({"type": "alwaysFails"}, Platform.LINUX), AlwaysFails)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(AlwaysFails)
