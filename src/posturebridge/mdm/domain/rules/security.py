"""Device integrity and protection rules.

``securityBlockJailbrokenDevices`` (iOS/iPadOS/Android, Intune's name), ``activeFirewallRequired``
(Windows; macOS too, as Intune's macOS "Firewall" setting), ``antivirusRequired`` and
``secureBootEnabled`` (Windows), ``systemIntegrityProtectionEnabled`` (macOS) and ``mdmProfilePresent``
(every platform with an MDM profile, so not Linux).
https://learn.microsoft.com/mem/intune/protect/compliance-policy-create-macos
https://learn.microsoft.com/mem/intune/protect/compliance-policy-create-windows
"""

from __future__ import annotations

from dataclasses import dataclass

from ..sample import PostureSample
from ..vocabulary import Platform
from .base import ALL_PLATFORMS, MOBILE_PLATFORMS, RULE_TYPES, ParameterlessRule, RuleCheck, RuleContext
from .feature import FeatureOnRule


@RULE_TYPES.register
@dataclass(frozen=True)
class SecurityBlockJailbrokenDevices(ParameterlessRule):
    rule_type = "securityBlockJailbrokenDevices"
    platforms = MOBILE_PLATFORMS

    @property
    def requirement(self) -> str:
        return "the device is not jailbroken or rooted"

    def check(self, context: RuleContext) -> RuleCheck:
        compromised = context.sample.compromised
        word = "rooted" if context.device.platform is Platform.ANDROID else "jailbroken"
        if compromised is None:
            return RuleCheck.not_reported("compromised")
        if compromised:
            return RuleCheck.failed(f"the device is {word}")
        return RuleCheck.passed(f"the device is not {word}")


@RULE_TYPES.register
@dataclass(frozen=True)
class ActiveFirewallRequired(FeatureOnRule):
    rule_type = "activeFirewallRequired"
    platforms = frozenset({Platform.WINDOWS, Platform.MACOS})
    feature = "the firewall"
    wire_field = "firewallEnabled"

    @staticmethod
    def reading(sample: PostureSample) -> bool | None:
        return sample.firewall_enabled


@RULE_TYPES.register
@dataclass(frozen=True)
class AntivirusRequired(FeatureOnRule):
    rule_type = "antivirusRequired"
    platforms = frozenset({Platform.WINDOWS})
    feature = "antivirus"
    wire_field = "antivirusEnabled"

    @staticmethod
    def reading(sample: PostureSample) -> bool | None:
        return sample.antivirus_enabled


@RULE_TYPES.register
@dataclass(frozen=True)
class SecureBootEnabled(FeatureOnRule):
    rule_type = "secureBootEnabled"
    platforms = frozenset({Platform.WINDOWS})
    feature = "Secure Boot"
    wire_field = "secureBootEnabled"

    @staticmethod
    def reading(sample: PostureSample) -> bool | None:
        return sample.secure_boot_enabled


@RULE_TYPES.register
@dataclass(frozen=True)
class SystemIntegrityProtectionEnabled(FeatureOnRule):
    rule_type = "systemIntegrityProtectionEnabled"
    platforms = frozenset({Platform.MACOS})
    feature = "System Integrity Protection"
    wire_field = "systemIntegrityProtectionEnabled"

    @staticmethod
    def reading(sample: PostureSample) -> bool | None:
        return sample.system_integrity_protection_enabled


@RULE_TYPES.register
@dataclass(frozen=True)
class MdmProfilePresent(FeatureOnRule):
    rule_type = "mdmProfilePresent"
    platforms = ALL_PLATFORMS - {Platform.LINUX}
    feature = "the MDM profile"
    wire_field = "mdmProfilePresent"

    @property
    def requirement(self) -> str:
        return "the MDM profile is installed"

    @staticmethod
    def reading(sample: PostureSample) -> bool | None:
        return sample.mdm_profile_present

    def check(self, context: RuleContext) -> RuleCheck:
        present = self.reading(context.sample)
        if present is None:
            return RuleCheck.not_reported(self.wire_field)
        if present:
            return RuleCheck.passed("the MDM profile is installed")
        return RuleCheck.failed("the MDM profile has been removed")
