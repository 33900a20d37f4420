"""Encryption rules: ``storageRequireEncryption`` (every platform, the platform's own mechanism),
``fileVaultEnabled`` (macOS) and ``bitLockerEnabled`` (Windows)."""

from __future__ import annotations

from dataclasses import dataclass

from ..sample import PostureSample
from ..vocabulary import Platform
from .base import ALL_PLATFORMS, RULE_TYPES, ParameterlessRule, RuleCheck, RuleContext
from .feature import FeatureOnRule

_MECHANISM = {
    Platform.IOS: "data protection",
    Platform.IPADOS: "data protection",
    Platform.ANDROID: "device encryption",
    Platform.MACOS: "FileVault",
    Platform.WINDOWS: "BitLocker device encryption",
    Platform.LINUX: "disk encryption",
}


@RULE_TYPES.register
@dataclass(frozen=True)
class StorageRequireEncryption(ParameterlessRule):
    rule_type = "storageRequireEncryption"
    platforms = ALL_PLATFORMS

    @property
    def requirement(self) -> str:
        return "device storage is encrypted"

    def check(self, context: RuleContext) -> RuleCheck:
        platform = context.device.platform
        sample = context.sample
        encrypted = sample.storage_encrypted
        # Agents that report only the platform-specific flag are read through it.
        if encrypted is None and platform is Platform.MACOS:
            encrypted = sample.file_vault_enabled
        if encrypted is None and platform is Platform.WINDOWS:
            encrypted = sample.bitlocker_enabled
        mechanism = _MECHANISM[platform]
        if encrypted is None:
            return RuleCheck.not_reported("storageEncrypted")
        if encrypted:
            return RuleCheck.passed(f"storage is encrypted ({mechanism})")
        return RuleCheck.failed(f"storage is not encrypted ({mechanism} is off)")


@RULE_TYPES.register
@dataclass(frozen=True)
class FileVaultEnabled(FeatureOnRule):
    rule_type = "fileVaultEnabled"
    platforms = frozenset({Platform.MACOS})
    feature = "FileVault"
    wire_field = "fileVaultEnabled"

    @staticmethod
    def reading(sample: PostureSample) -> bool | None:
        return sample.file_vault_enabled


@RULE_TYPES.register
@dataclass(frozen=True)
class BitLockerEnabled(FeatureOnRule):
    rule_type = "bitLockerEnabled"
    platforms = frozenset({Platform.WINDOWS})
    feature = "BitLocker"
    wire_field = "bitLockerEnabled"

    @staticmethod
    def reading(sample: PostureSample) -> bool | None:
        return sample.bitlocker_enabled
