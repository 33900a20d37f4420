from __future__ import annotations

import pytest

from posturebridge.mdm.domain import Platform, RuleOutcome

from .cases import RuleCase, assert_case

P, F, E = RuleOutcome.PASSED, RuleOutcome.FAILED, RuleOutcome.ERROR
JAILBREAK = {"type": "securityBlockJailbrokenDevices"}

CASES = [
    RuleCase("compromised_ios_clean", Platform.IOS, JAILBREAK, P, "not jailbroken"),
    RuleCase(
        "compromised_ios_jailbroken",
        Platform.IOS,
        JAILBREAK,
        F,
        "is jailbroken",
        sample={"compromised": True},
    ),
    RuleCase(
        "compromised_android_rooted",
        Platform.ANDROID,
        JAILBREAK,
        F,
        "is rooted",
        sample={"compromised": True},
    ),
    RuleCase("compromised_not_reported", Platform.IPADOS, JAILBREAK, E, "compromised", sample={"compromised": None}),
    RuleCase("firewall_on", Platform.WINDOWS, {"type": "activeFirewallRequired"}, P, "the firewall is on"),
    RuleCase(
        "firewall_off_macos",
        Platform.MACOS,
        {"type": "activeFirewallRequired"},
        F,
        "the firewall is off",
        sample={"firewall_enabled": False},
    ),
    RuleCase("antivirus_on", Platform.WINDOWS, {"type": "antivirusRequired"}, P, "antivirus is on"),
    RuleCase(
        "antivirus_off",
        Platform.WINDOWS,
        {"type": "antivirusRequired"},
        F,
        "antivirus is off",
        sample={"antivirus_enabled": False},
    ),
    RuleCase("secure_boot_on", Platform.WINDOWS, {"type": "secureBootEnabled"}, P, "Secure Boot is on"),
    RuleCase(
        "secure_boot_off",
        Platform.WINDOWS,
        {"type": "secureBootEnabled"},
        F,
        "Secure Boot is off",
        sample={"secure_boot_enabled": False},
    ),
    RuleCase(
        "secure_boot_not_reported",
        Platform.WINDOWS,
        {"type": "secureBootEnabled"},
        E,
        "secureBootEnabled",
        sample={"secure_boot_enabled": None},
    ),
    RuleCase(
        "sip_on",
        Platform.MACOS,
        {"type": "systemIntegrityProtectionEnabled"},
        P,
        "System Integrity Protection is on",
    ),
    RuleCase(
        "sip_off",
        Platform.MACOS,
        {"type": "systemIntegrityProtectionEnabled"},
        F,
        "System Integrity Protection is off",
        sample={"system_integrity_protection_enabled": False},
    ),
    RuleCase("mdm_profile_present", Platform.IOS, {"type": "mdmProfilePresent"}, P, "MDM profile is installed"),
    RuleCase(
        "mdm_profile_removed",
        Platform.MACOS,
        {"type": "mdmProfilePresent"},
        F,
        "MDM profile has been removed",
        sample={"mdm_profile_present": False},
    ),
    RuleCase(
        "mdm_profile_not_reported",
        Platform.ANDROID,
        {"type": "mdmProfilePresent"},
        E,
        "mdmProfilePresent",
        sample={"mdm_profile_present": None},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_security_rules_require_integrity_and_protection(case: RuleCase) -> None:
    assert_case(case)
