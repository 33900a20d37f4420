"""Compliance rule types. Importing this package registers every built-in type in ``RULE_TYPES``."""

from __future__ import annotations

from .apps import RequiredApps, RestrictedApps
from .base import (
    ALL_PLATFORMS,
    MOBILE_PLATFORMS,
    RULE_TYPES,
    ComplianceRule,
    ParameterlessRule,
    RuleCheck,
    RuleContext,
    RuleRegistry,
    platform_mismatch,
)
from .device_state import DeviceLastSeen, DeviceModelAllowList, MinimumFreeStorage, SecurityPatchAge
from .encryption import BitLockerEnabled, FileVaultEnabled, StorageRequireEncryption
from .feature import FeatureOnRule
from .os_version import OsMaximumVersion, OsMinimumVersion
from .passcode import PasscodeMinimumComplexity, PasscodeRequired
from .security import (
    ActiveFirewallRequired,
    AntivirusRequired,
    MdmProfilePresent,
    SecureBootEnabled,
    SecurityBlockJailbrokenDevices,
    SystemIntegrityProtectionEnabled,
)

__all__ = [
    "ALL_PLATFORMS",
    "MOBILE_PLATFORMS",
    "RULE_TYPES",
    "ActiveFirewallRequired",
    "AntivirusRequired",
    "BitLockerEnabled",
    "ComplianceRule",
    "DeviceLastSeen",
    "DeviceModelAllowList",
    "FeatureOnRule",
    "FileVaultEnabled",
    "MdmProfilePresent",
    "MinimumFreeStorage",
    "OsMaximumVersion",
    "OsMinimumVersion",
    "ParameterlessRule",
    "PasscodeMinimumComplexity",
    "PasscodeRequired",
    "RequiredApps",
    "RestrictedApps",
    "RuleCheck",
    "RuleContext",
    "RuleRegistry",
    "SecureBootEnabled",
    "SecurityBlockJailbrokenDevices",
    "SecurityPatchAge",
    "StorageRequireEncryption",
    "SystemIntegrityProtectionEnabled",
    "platform_mismatch",
]
